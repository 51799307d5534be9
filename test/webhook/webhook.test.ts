/**
 * [webhook] as the original's users write it, against a real HTTP receiver on 127.0.0.1: each report of a
 * saved type posted to its URL, the body byte for byte what Python's json.dumps makes of the printed
 * report; a busy receiver retried, a refusal reported, and the URL's secret path never printed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, samples } from '../cli/helpers.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const SECRET = 'T0KEN-in-the-path';
let server: Server;
let base: string;
let received: Received[] = [];
/** Statuses to answer, in order, before answering 200. */
let answers: number[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answers.shift() ?? 200;
      if (status === 200) {
        received.push({
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      }
      res.writeHead(status, status === 503 ? { 'retry-after': '0' } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received = [];
  answers = [];
});

const AGGREGATE = samples('aggregate/old_draft_from_wiki.xml');
const FORENSIC = samples(
  'failure/DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml',
);
const SMTP_TLS = samples('smtp_tls/rfc8460.json');

const URLS = () => `aggregate_url = ${base}/hooks/${SECRET}/aggregate
failure_url = ${base}/hooks/${SECRET}/failure
smtp_tls_url = ${base}/hooks/${SECRET}/smtp_tls`;

function iniFile(general: string, webhook = URLS()): string {
  const dir = mkdtempSync(join(tmpdir(), 'pdm-webhook-'));
  const path = join(dir, 'parsedmarc.ini');
  writeFileSync(
    path,
    `[general]
offline = True
silent = False
${general}

[webhook]
${webhook}
timeout = 10
`,
  );
  return path;
}

/** What the original posts for each printed report: json.dumps(report, ensure_ascii=False, indent=...). */
function expectedBodies(printed: string, indent: number | null): Record<string, string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pdm-webhook-expected-'));
  writeFileSync(join(dir, 'printed.json'), printed);
  const script = `
import json, sys
results = json.load(open(sys.argv[1], encoding="utf-8"))
indent = None if sys.argv[2] == "none" else int(sys.argv[2])
dump = lambda r: json.dumps(r, ensure_ascii=False, indent=indent)
print(json.dumps({
    "aggregate": [dump(r) for r in results["aggregate_reports"]],
    "failure": [dump(r) for r in results["forensic_reports"]],
    "smtp_tls": [dump(r) for r in results["smtp_tls_reports"]],
}))
`;
  return JSON.parse(
    execFileSync('python3', ['-c', script, join(dir, 'printed.json'), String(indent ?? 'none')], {
      encoding: 'utf8',
    }),
  ) as Record<string, string[]>;
}

const bodiesOf = (type: string): string[] =>
  received.filter((r) => r.path === `/hooks/${SECRET}/${type}`).map((r) => r.body);

describe('[webhook]', () => {
  it('posts each saved report to the URL of its type, as json.dumps writes it', async () => {
    const ini = iniFile('save_aggregate = True\nsave_failure = True\nsave_smtp_tls = True');
    const run = await runCli(['-c', ini, AGGREGATE, FORENSIC, SMTP_TLS]);
    expect(run.stderr).toContain('in clear over http');
    expect(run.code).toBe(0);
    const expected = expectedBodies(run.stdout, 2);
    expect(bodiesOf('aggregate')).toEqual(expected.aggregate);
    expect(bodiesOf('failure')).toEqual(expected.failure);
    expect(bodiesOf('failure')[0]).toMatch(/[^ -~\s]/); // UTF-8 kept, as ensure_ascii=False
    expect(bodiesOf('smtp_tls')).toEqual(expected.smtp_tls);
    expect(received.every((r) => r.headers['content-type'] === 'application/json')).toBe(true);
    const keys = received.map((r) => r.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(3);
    expect(keys.every((k) => typeof k === 'string' && /^[0-9a-f]{64}$/.test(k))).toBe(true);
  });

  it('posts one line with prettify_json = False, and only the types save_* selects', async () => {
    const ini = iniFile('save_aggregate = True\nprettify_json = False');
    const run = await runCli(['-c', ini, AGGREGATE, FORENSIC, SMTP_TLS]);
    expect(run.code).toBe(0);
    expect(bodiesOf('aggregate')).toEqual(expectedBodies(run.stdout, null).aggregate);
    expect(received).toHaveLength(1);
  });

  it('retries a busy receiver (503) and delivers once; the secret path is never printed', async () => {
    answers = [503, 503];
    const ini = iniFile('save_aggregate = True');
    const run = await runCli(['-c', ini, AGGREGATE]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`webhook (${base}): ${base} answered HTTP 503; retrying`);
    expect(bodiesOf('aggregate')).toHaveLength(1);
    expect(run.stderr).not.toContain(SECRET);
  });

  it('reports a refusal (400) with exit 1, the other reports still posted', async () => {
    answers = [400];
    const ini = iniFile('save_aggregate = True\nsave_smtp_tls = True');
    const run = await runCli(['-c', ini, AGGREGATE, SMTP_TLS]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`webhook refused it: WEBHOOK_REFUSED: ${base} answered HTTP 400`);
    expect(run.stderr).not.toContain(SECRET);
    expect(bodiesOf('smtp_tls')).toHaveLength(1);
  });

  it('refuses a URL that is not http(s), naming the key and not the value (exit 2)', async () => {
    const ini = iniFile('save_aggregate = True', `aggregate_url = ftp://example.com/${SECRET}`);
    const run = await runCli(['-c', ini, AGGREGATE]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('[webhook] aggregate_url');
    expect(run.stderr).not.toContain(SECRET);
  });
});
