/**
 * parsedmarc --hec against the HEC test receiver (tools/hec, proven against Splunk's own client library in
 * receiver.test.ts): every event as the original sends it, exactly once when nothing fails; the collector
 * busy, away, refusing or acknowledging; the token never in a message.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hecEventsOf } from '@parsedmarc-ts/output';
import type { ParsedReport } from '@parsedmarc-ts/parser';
import { runCli, samples } from '../cli/helpers.js';
import { startTlsProxy, type TlsProxy } from '../cli/tls-proxy.js';
import {
  createToken,
  eventsOf,
  hecUrl,
  sentLineOf,
  statsOf,
  updateToken,
  waitFor,
} from './receiver-client.js';

const save = ['--save-aggregate', '--save-forensic', '--save-smtp-tls'];

interface Combined {
  aggregate_reports: unknown[];
  forensic_reports: unknown[];
  smtp_tls_reports: unknown[];
}

/** The events the CLI must send for its own JSON output of the same inputs, as parsed JSON texts. */
function expectedEvents(output: Combined, host: string, index: string): string[] {
  const lines: string[] = [];
  const add = (parsed: ParsedReport): void => {
    const result = hecEventsOf(parsed, { host, index });
    if (!result.ok) throw new Error(result.reason);
    lines.push(...result.events);
  };
  for (const report of output.aggregate_reports) add({ report_type: 'aggregate', report } as ParsedReport);
  for (const report of output.forensic_reports) add({ report_type: 'forensic', report } as ParsedReport);
  for (const report of output.smtp_tls_reports) add({ report_type: 'smtp_tls', report } as ParsedReport);
  return lines;
}

const sorted = (lines: string[]): string[] => [...lines].sort();

/** A port nothing listens on (taken and released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const small = samples('aggregate/old_draft_from_wiki.xml');

/** parsedmarc --offline -s --hec URL --hec-token TOKEN [extra...] --save-aggregate <small report>. */
const sendSmall = (url: string, token: string, ...extra: string[]) =>
  runCli(['--offline', '-s', '--hec', url, '--hec-token', token, ...extra, '--save-aggregate', small]);

describe('parsedmarc --hec', () => {
  let url: string;
  beforeAll(() => {
    url = hecUrl();
  });

  it('sends every aggregate record, forensic and SMTP TLS report once, as the original shapes them', async () => {
    const token = await createToken(url, { index: 'email' });
    const args = ['--offline', '--hec', url, '--hec-token', token, '--hec-index', 'email', ...save];
    const run = await runCli([...args, samples('')]);
    // The corpus holds inputs that are not reports (each named on stderr, exit 1); every report is sent.
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(/refused|SINK_/);
    expect(run.stderr).not.toContain(token);
    const stored = await eventsOf(url, token);
    const host = stored[0]!.host;
    const expected = expectedEvents(JSON.parse(run.stdout) as Combined, host, 'email');
    expect(expected.length).toBeGreaterThan(2000);
    expect(sorted(stored.map(sentLineOf))).toEqual(
      sorted(expected.map((l) => JSON.stringify(JSON.parse(l)))),
    );
    const types = new Set(stored.map((e) => e.sourcetype));
    expect(types).toEqual(new Set(['dmarc:aggregate', 'dmarc:forensic', 'smtp:tls']));
    expect(stored.every((e) => e.source === 'parsedmarc' && e.index === 'email')).toBe(true);
    // Every request compressed.
    const stats = await statsOf(url, token);
    expect(stats.gzipRequests).toBe(stats.accepted);
  }, 120_000);

  it('sends only the selected report types, and forensic ones as dmarc:failure when asked', async () => {
    const token = await createToken(url);
    const run = await runCli([
      '--offline',
      '-s',
      '--hec',
      url,
      '--hec-token',
      token,
      '--save-failure',
      '--hec-failure-sourcetype',
      samples('failure'),
      small,
    ]);
    expect(run.code).toBe(0);
    const stored = await eventsOf(url, token);
    expect(stored.length).toBeGreaterThan(0);
    // No --hec-index: the token's default index.
    expect(new Set(stored.map((e) => `${e.sourcetype} ${e.index}`))).toEqual(new Set(['dmarc:failure main']));
  });

  it('takes the token from a file or the environment and never prints it', async () => {
    const token = await createToken(url);
    const file = join(mkdtempSync(join(tmpdir(), 'pdm-hec-')), 'token');
    writeFileSync(file, `${token}\n`);
    const base = ['--offline', '-s', '--hec', url, '--save-aggregate', small];
    expect((await runCli([...base, '--hec-token-file', file])).code).toBe(0);
    expect((await runCli(base, { PARSEDMARC_SPLUNK_HEC_TOKEN: token })).code).toBe(0);
    expect((await eventsOf(url, token)).length).toBe(2);
    const missing = await runCli(base);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--hec needs a token');
  });

  it('waits out a busy collector (503, Retry-After) and loses nothing', async () => {
    const token = await createToken(url, { busyRequests: 3, retryAfterSeconds: 1 });
    const run = await sendSmall(url, token);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('Server is busy');
    expect(run.stderr).toContain('retrying');
    expect((await statsOf(url, token)).busy).toBe(3);
    expect((await eventsOf(url, token)).length).toBe(1);
  });

  it('moves on only after the collector acknowledges the events as indexed', async () => {
    const token = await createToken(url, { ack: true, holdIndexing: true });
    const running = sendSmall(url, token);
    let finished = false;
    void running.then(() => (finished = true));
    await waitFor('the request accepted and held', async () => (await statsOf(url, token)).pending > 0);
    // Accepted but not indexed: the command still waits (it polls the acknowledgement endpoint).
    await waitFor('an acknowledgement poll', async () => (await statsOf(url, token)).acksPolled > 0);
    expect(finished).toBe(false);
    await updateToken(url, token, { holdIndexing: false });
    const run = await running;
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/SINK_|refused|retrying/);
    expect((await eventsOf(url, token)).length).toBe(1);
  });

  it('refuses a wrong token (exit 2, nothing sent, the token not printed)', async () => {
    const token = 'not-a-known-token-1234';
    const run = await sendSmall(url, token);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`splunk-hec (${url}): SINK_AUTH_FAILED`);
    expect(run.stderr).toContain('Invalid token');
    expect(run.stderr).not.toContain(token);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses an index the token may not write to (exit 2)', async () => {
    const token = await createToken(url, { index: 'main' });
    const run = await sendSmall(url, token, '--hec-index', 'email');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('INVALID_SINK_CONFIG');
    expect(run.stderr).toContain('Incorrect index');
    expect(await eventsOf(url, token)).toEqual([]);
  });

  it('fails clearly (exit 2, nothing sent) when the collector cannot be reached at start', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pdm-hec-out-'));
    const away = `http://127.0.0.1:${await closedPort()}`;
    const run = await runCli([
      '--offline',
      '-s',
      '-o',
      out,
      '--hec',
      away,
      '--hec-token',
      'whatever',
      '--hec-retry-seconds',
      '1',
      '--save-aggregate',
      small,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`splunk-hec (${away}): SINK_UNREACHABLE`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('gives up after its retry budget when the collector stays busy (exit 2 at start)', async () => {
    const token = await createToken(url, { busyRequests: 1_000_000 });
    const run = await sendSmall(url, token);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('SINK_UNAVAILABLE');
    expect(run.stderr).toContain('Server is busy');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('abandons requests slower than --hec-timeout and gives up within --hec-retry-seconds (exit 2 at start)', async () => {
    const token = await createToken(url, { delayMs: 5000 });
    const run = await sendSmall(url, token, '--hec-timeout', '0.5', '--hec-retry-seconds', '1');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('SINK_UNREACHABLE');
    expect(run.stderr).toContain('no answer within 0.5 s (the request timeout)');
    expect(await eventsOf(url, token)).toEqual([]);
  });

  it('says that an answer lost after the collector took the events makes the retry a duplicate', async () => {
    // What the README says of HEC: without ids, a request whose outcome is unknown is sent again.
    const token = await createToken(url, { dropRequests: 1 });
    const run = await sendSmall(url, token);
    expect(run.code).toBe(0);
    expect((await statsOf(url, token)).dropped).toBe(1);
    expect((await eventsOf(url, token)).length).toBe(2);
  });
});

describe('parsedmarc --hec over https (a TLS proxy of ours in front of the receiver)', () => {
  let proxy: TlsProxy;
  let token: string;
  beforeAll(async () => {
    proxy = await startTlsProxy(new URL(hecUrl()));
    token = await createToken(hecUrl());
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('refuses a certificate it cannot verify (exit 2, naming the way out)', async () => {
    const run = await sendSmall(proxy.url, token);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`splunk-hec (${proxy.url}): SINK_TLS_FAILED`);
    expect(run.stderr).toContain('--hec-ca-file');
  });

  it('trusts the collector with its CA file, or with verification skipped', async () => {
    for (const extra of [['--hec-ca-file', proxy.caFile], ['--hec-skip-certificate-verification']]) {
      const run = await sendSmall(proxy.url, token, ...extra);
      expect(run.stderr, extra.join(' ')).toBe('');
      expect(run.code).toBe(0);
    }
    expect((await eventsOf(hecUrl(), token)).length).toBe(2);
  });
});
