/**
 * parsedmarc -E against the real Elasticsearch 8.19 and OpenSearch 3.6 (tools/elasticsearch, tools/opensearch): every document
 * exactly once (deterministic ids; a second run changes nothing), the dashboards' fields in the mapping
 * the sink really produced, refusals reported while the rest is written, and clear exit-2 errors for a
 * server that cannot be used.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchDocumentsOf, type SearchIndexOptions } from '@parsedmarc-ts/output';
import type { ParsedReport } from '@parsedmarc-ts/parser';
import {
  fieldsUsed,
  grafanaFieldsUsed,
  checkFieldsAgainstMappings,
  parseNdjson,
} from '../dashboards/saved-objects.js';
import { GRAFANA_DATASOURCES } from '../../dashboards/generate.mjs';
import { repoRoot, runCli, samples } from '../cli/helpers.js';
import { startTlsProxy, type TlsProxy } from '../cli/tls-proxy.js';
import { uniquePrefix } from '../pipeline/harness.js';
import { documentsOf, rest, searchServer, type SearchServerName } from './helpers.js';

const save = ['--save-aggregate', '--save-forensic', '--save-smtp-tls'];

interface Combined {
  aggregate_reports: unknown[];
  forensic_reports: unknown[];
  smtp_tls_reports: unknown[];
}

/** The ids the sink must write for the CLI's own JSON output of the same inputs. */
function expectedIds(output: Combined, options: SearchIndexOptions): Record<string, Set<string>> {
  const ids: Record<string, Set<string>> = { aggregate: new Set(), forensic: new Set(), smtp_tls: new Set() };
  const add = (parsed: ParsedReport): void => {
    const result = searchDocumentsOf(parsed, options);
    if (!result.ok) throw new Error(result.reason);
    for (const d of result.documents) ids[parsed.report_type]!.add(d.id);
  };
  for (const report of output.aggregate_reports) add({ report_type: 'aggregate', report } as ParsedReport);
  for (const report of output.forensic_reports) add({ report_type: 'forensic', report } as ParsedReport);
  for (const report of output.smtp_tls_reports) add({ report_type: 'smtp_tls', report } as ParsedReport);
  return ids;
}

const families = { aggregate: 'dmarc_aggregate*', forensic: 'dmarc_forensic*', smtp_tls: 'smtp_tls*' };

describe.each<SearchServerName>(['elasticsearch', 'opensearch'])('parsedmarc -E against %s', (name) => {
  let url: string;
  beforeAll(() => {
    url = searchServer(name);
  });

  it('writes every aggregate record, forensic and SMTP TLS report exactly once, and a second run changes nothing', async () => {
    const prefix = uniquePrefix('all');
    const args = ['--offline', '-E', url, ...save, '--elasticsearch-index-prefix', prefix, samples('')];
    const first = await runCli(args);
    // The corpus holds inputs that are not reports (each named on stderr, exit 1); every report is written.
    expect(first.code).toBe(1);
    expect(first.stderr).not.toMatch(/refused|SINK_/);
    const output = JSON.parse(first.stdout) as Combined;
    const expected = expectedIds(output, { prefix });
    expect(expected.aggregate!.size).toBeGreaterThan(2000);

    for (const run of [1, 2]) {
      if (run === 2) expect((await runCli(['-s', ...args])).code).toBe(1);
      for (const [family, pattern] of Object.entries(families)) {
        const stored = await documentsOf(url, `${prefix}${pattern}`);
        expect(stored.count, `${family} documents, run ${run}`).toBe(expected[family]!.size);
        expect(new Set(stored.ids), family).toEqual(expected[family]);
      }
    }
  }, 120_000);

  it("stores documents in the original's shape, in the original's dated index names", async () => {
    const prefix = uniquePrefix('shape');
    const run = await runCli([
      '--offline',
      '-s',
      '-E',
      url,
      ...save,
      '--elasticsearch-index-prefix',
      prefix,
      '--elasticsearch-index-suffix',
      'eu',
      samples('aggregate/old_draft_from_wiki.xml'),
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const indexes = (await rest(url, 'GET', `/_cat/indices/${prefix}*?format=json`)) as { index: string }[];
    expect(indexes.map((i) => i.index)).toEqual([`${prefix}dmarc_aggregate_eu-2012-04-28`]);
    const { sources } = await documentsOf(url, `${prefix}*`);
    expect(sources).toHaveLength(1);
    expect(sources[0]).toMatchObject({
      org_name: 'acme.com',
      report_id: '9391651994964116463',
      date_begin: '2012-04-28T00:00:00+00:00',
      published_policy: { domain: 'example.com', p: 'none' },
      source_ip_address: '72.150.241.94',
      message_count: 2,
      passed_dmarc: true,
      dkim_aligned: false,
      spf_aligned: true,
    });
  });

  it('has every field the Kibana and Grafana dashboards use, typed as they need it, in the mapping it wrote', async () => {
    const prefix = uniquePrefix('dash');
    const run = await runCli([
      '--offline',
      '-s',
      '-E',
      url,
      ...save,
      '--elasticsearch-index-prefix',
      prefix,
      samples(''),
    ]);
    expect(run.code).toBe(1);
    const ndjson = readFileSync(join(repoRoot, 'dashboards/kibana/parsedmarc.ndjson'), 'utf8');
    const grafana = JSON.parse(
      readFileSync(join(repoRoot, 'dashboards/grafana/parsedmarc-elasticsearch.json'), 'utf8'),
    );
    const datasources = Object.fromEntries(
      Object.entries(GRAFANA_DATASOURCES as Record<string, { pattern: string }>).map(([k, v]) => [
        k,
        v.pattern,
      ]),
    );
    const uses = [...fieldsUsed(parseNdjson(ndjson).objects), ...grafanaFieldsUsed(grafana, { datasources })];
    expect(uses.length).toBeGreaterThan(50);
    const mapping = async (pattern: string): Promise<unknown> =>
      rest(url, 'GET', `/${prefix}${pattern}/_mapping`);
    const problems = checkFieldsAgainstMappings(uses, {
      '*dmarc_aggregate*': await mapping('dmarc_aggregate*'),
      '*dmarc_f*': await mapping('dmarc_f*'),
      '*smtp_tls*': await mapping('smtp_tls*'),
    });
    expect(problems.map((p) => p.message)).toEqual([]);
  }, 60_000);

  it('reports a document the server refuses for good (stderr, exit 1) and writes the others', async () => {
    const prefix = uniquePrefix('refuse');
    // An index made beforehand with a conflicting type for one field: documents of that day are refused.
    await rest(url, 'PUT', `/${prefix}dmarc_aggregate-2018-06-19`, {
      settings: { number_of_replicas: 0 },
      mappings: { properties: { message_count: { type: 'boolean' } } },
    });
    const inputs = [
      samples('aggregate/example.net!example.com!1529366400!1529452799.xml'),
      samples('aggregate/old_draft_from_wiki.xml'),
    ];
    const run = await runCli([
      '--offline',
      '-s',
      '-E',
      url,
      '--save-aggregate',
      '--elasticsearch-index-prefix',
      prefix,
      ...inputs,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /example\.net!example\.com!1529366400!1529452799\.xml: elasticsearch refused it: DOCUMENT_REFUSED: .*(mapper_parsing_exception|failed to parse)/,
    );
    expect((await documentsOf(url, `${prefix}dmarc_aggregate-2012-04-28`)).count).toBe(1);
    expect((await documentsOf(url, `${prefix}dmarc_aggregate-2018-06-19`)).count).toBe(0);
  });
});

describe('parsedmarc -E with a server it cannot use', () => {
  const servers: Server[] = [];
  /** A stand-in HTTP server (Elasticsearch and OpenSearch here run without security, so they never say 401). */
  const standIn = async (
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<string> => {
    const server = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    return `http://127.0.0.1:${address.port}`;
  };
  afterAll(() => {
    for (const server of servers) server.close();
  });

  it('exits 2 naming the host when nothing listens there', async () => {
    const run = await runCli([
      '--offline',
      '-s',
      '-E',
      '127.0.0.1:9',
      '--save-aggregate',
      samples('aggregate/old_draft_from_wiki.xml'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/elasticsearch \(http:\/\/127\.0\.0\.1:9\): SINK_UNREACHABLE: cannot reach/);
  }, 60_000);

  it('exits 2 naming the host when the credentials are refused, and never prints the secret', async () => {
    const url = await standIn(
      401,
      { error: { type: 'security_exception', reason: 'unable to authenticate user' } },
      {
        'x-elastic-product': 'Elasticsearch',
      },
    );
    const run = await runCli(
      [
        '--offline',
        '-s',
        '-E',
        url,
        '--elasticsearch-user',
        'dmarc',
        '--save-aggregate',
        samples('aggregate/old_draft_from_wiki.xml'),
      ],
      { PARSEDMARC_ELASTICSEARCH_PASSWORD: 'hunter2-secret' },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`elasticsearch (${url}): SINK_AUTH_FAILED`);
    expect(run.stderr).toContain('security_exception');
    expect(run.stderr).not.toContain('hunter2');
  });

  it('exits 2 when the host is not a search server', async () => {
    const url = await standIn(200, { hello: 'world' });
    const run = await runCli([
      '--offline',
      '-s',
      '-E',
      url,
      '--save-aggregate',
      samples('aggregate/old_draft_from_wiki.xml'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/SINK_INCOMPATIBLE: .* is neither Elasticsearch nor OpenSearch/);
  });

  it('exits 2 on a bad setting, naming the flag', async () => {
    const file = samples('aggregate/old_draft_from_wiki.xml');
    for (const [args, flag] of [
      [['-E', 'ftp://x', '--save-aggregate'], '-E/--elasticsearch-host'],
      [['-E', 'localhost', '--elasticsearch-timeout', 'soon', '--save-aggregate'], '--elasticsearch-timeout'],
      [
        ['-E', 'localhost', '--elasticsearch-number-of-shards', '0', '--save-aggregate'],
        '--elasticsearch-number-of-shards',
      ],
      [['-E', 'https://user:pw@localhost', '--save-aggregate'], 'not in the URL'],
    ] as const) {
      const run = await runCli(['--offline', '-s', ...args, file]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(flag);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('parsedmarc -E through an overloaded server (a proxy of ours in front of the real Elasticsearch)', () => {
  it('retries a refused bulk request (429) and a rejected item (es_rejected_execution_exception) until all is in', async () => {
    const upstream = searchServer('elasticsearch');
    let bulks = 0;
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const isBulk = req.url?.startsWith('/_bulk') ?? false;
        if (isBulk && ++bulks === 1) {
          res.writeHead(429, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({ error: { type: 'es_rejected_execution_exception', reason: 'queue full' } }),
          );
          return;
        }
        const answer = await fetch(`${upstream}${req.url}`, {
          method: req.method,
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
          body: ['GET', 'HEAD'].includes(req.method!) ? undefined : Buffer.concat(chunks),
        });
        let text = await answer.text();
        if (isBulk && bulks === 2) {
          // The server did index it, but says it did not: the retry writes it again under the same id.
          const body = JSON.parse(text) as { errors: boolean; items: { index: Record<string, unknown> }[] };
          body.errors = true;
          body.items[0]!.index = {
            ...body.items[0]!.index,
            status: 429,
            error: { type: 'es_rejected_execution_exception', reason: 'rejected execution (test)' },
          };
          text = JSON.stringify(body);
        }
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        const product = answer.headers.get('x-elastic-product');
        if (product) headers['x-elastic-product'] = product;
        res.writeHead(answer.status, headers);
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
      const prefix = uniquePrefix('busy');
      const run = await runCli([
        '--offline',
        '-E',
        url,
        ...save,
        '--elasticsearch-index-prefix',
        prefix,
        samples('aggregate'),
      ]);
      // 2,345 records in batches of 2,000: the first batch refused whole, sent again, its rejected item sent
      // once more, then the second batch.
      expect(bulks).toBe(4);
      expect(run.stderr).toMatch(/bulk: .*HTTP 429.*retrying/);
      expect(run.stderr).not.toMatch(/refused it/);
      const expected = expectedIds(JSON.parse(run.stdout) as Combined, { prefix });
      const stored = await documentsOf(upstream, `${prefix}dmarc_aggregate*`);
      expect(new Set(stored.ids)).toEqual(expected.aggregate);
    } finally {
      proxy.close();
    }
  }, 120_000);
});

describe('parsedmarc -E over https (a TLS proxy of ours in front of the real Elasticsearch)', () => {
  let url: string;
  let caFile: string;
  let proxy: TlsProxy;
  beforeAll(async () => {
    proxy = await startTlsProxy(new URL(searchServer('elasticsearch')));
    ({ url, caFile } = proxy);
  });
  afterAll(async () => {
    await proxy.close();
  });
  const file = samples('aggregate/old_draft_from_wiki.xml');

  it('refuses a certificate it cannot verify (exit 2, naming the host and the way out)', async () => {
    const run = await runCli(['--offline', '-s', '-E', url, '--save-aggregate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`elasticsearch (${url}): SINK_TLS_FAILED`);
    expect(run.stderr).toContain('--elasticsearch-ca-file');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('trusts the server with its CA file, or with verification skipped', async () => {
    for (const extra of [
      ['--elasticsearch-ca-file', caFile],
      ['--elasticsearch-skip-certificate-verification'],
    ]) {
      const prefix = uniquePrefix('tls');
      const run = await runCli([
        '--offline',
        '-s',
        '-E',
        url,
        ...extra,
        '--save-aggregate',
        '--elasticsearch-index-prefix',
        prefix,
        file,
      ]);
      expect(run.stderr, extra.join(' ')).toBe('');
      expect(run.code).toBe(0);
      expect((await documentsOf(searchServer('elasticsearch'), `${prefix}dmarc_aggregate*`)).count).toBe(1);
    }
  });
});

describe('--save-* without -E', () => {
  it('means the local Elasticsearch (localhost:9200), as the original says', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pdm-save-'));
    // Nothing listens on 9200 here: the error names the implied host.
    const run = await runCli([
      '--offline',
      '-s',
      '-o',
      out,
      '--save-aggregate',
      samples('aggregate/old_draft_from_wiki.xml'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('http://localhost:9200');
  }, 60_000);
});
