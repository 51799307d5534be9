/**
 * parsedmarc --hec when the collector dies in the middle of a run (a private receiver, SIGKILLed while the
 * command waits for the acknowledgement of a request it holds): restarted, the command sends what the
 * collector lost and every event arrives once; gone for good, the command fails clearly within its retry
 * bound (exit 1) and its -o files are complete.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, samples } from '../cli/helpers.js';
import {
  createToken,
  eventsOf,
  spawnReceiver,
  statsOf,
  updateToken,
  waitFor,
  type PrivateReceiver,
} from './receiver-client.js';

const inputs = [
  samples('aggregate/old_draft_from_wiki.xml'),
  samples('aggregate/addisonfoods.com!example.com!1536105600!1536191999.xml'),
];

/** Waits until the receiver holds a request of `token` and the command has polled for its ack since. */
async function heldAndPolled(url: string, token: string): Promise<void> {
  await waitFor('a request accepted and held', async () => (await statsOf(url, token)).pending > 0);
  const polled = (await statsOf(url, token)).acksPolled;
  await waitFor('an acknowledgement poll', async () => (await statsOf(url, token)).acksPolled > polled);
}

const filesOf = (dir: string): Record<string, string> =>
  Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), 'utf8')]));

describe('parsedmarc --hec, the collector killed mid-run', () => {
  let receiver: PrivateReceiver;
  beforeAll(async () => {
    receiver = await spawnReceiver();
  });
  afterAll(async () => {
    await receiver?.stop();
  });

  const send = (token: string, ...extra: string[]) =>
    runCli([
      '--offline',
      '-s',
      '--hec',
      receiver.url,
      '--hec-token',
      token,
      '--save-aggregate',
      ...extra,
      ...inputs,
    ]);

  it('sends again what the restarted collector lost, and every event arrives once', async () => {
    const token = await createToken(receiver.url, { ack: true, holdIndexingAfterRequests: 0 });
    const running = send(token, '--hec-ack-timeout', '1', '--hec-retry-seconds', '120');
    await heldAndPolled(receiver.url, token);
    await receiver.restart();
    await updateToken(receiver.url, token, { holdIndexing: false });
    const run = await running;
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/not acknowledged within 1 s; sending them again/);
    // One event per record, each once, all from the one request sent after the restart.
    const output = JSON.parse((await runCli(['--offline', ...inputs])).stdout) as {
      aggregate_reports: { records: unknown[] }[];
    };
    const records = output.aggregate_reports.reduce((n, r) => n + r.records.length, 0);
    const events = await eventsOf(receiver.url, token);
    expect(events).toHaveLength(records);
    expect(new Set(events.map((e) => JSON.stringify(e.event))).size).toBe(records);
    expect(new Set(events.map((e) => e.request)).size).toBe(1);
  }, 120_000);

  it('gives up within its retry bound when the collector stays away, with the -o files complete', async () => {
    const reference = mkdtempSync(join(tmpdir(), 'pdm-hec-ref-'));
    expect((await runCli(['--offline', '-s', '-o', reference, ...inputs])).code).toBe(0);

    const token = await createToken(receiver.url, { ack: true, holdIndexingAfterRequests: 0 });
    const out = mkdtempSync(join(tmpdir(), 'pdm-hec-out-'));
    const running = send(token, '-o', out, '--hec-retry-seconds', '2');
    await heldAndPolled(receiver.url, token);
    await receiver.kill();
    const run = await running;
    await receiver.restart();
    // Mid-run, as with the search servers: exit 1 (exit 2 is for what fails at start or is a setting).
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`splunk-hec (${receiver.url}): SINK_UNREACHABLE`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stderr).not.toContain(token);
    expect(filesOf(out)).toEqual(filesOf(reference));
  }, 120_000);
});
