/**
 * The search server killed (SIGKILL) in the middle of a run of `parsedmarc -E`, and in the middle of
 * apps/sink-elastic's consumption of the report topic, then started again with its data: the command and
 * the service retry with backoff while it is away and, once it is back, every document is there exactly
 * once. A private Elasticsearch (tools/elasticsearch/ctl.sh on other ports and another
 * state dir), so the shared test server is never disturbed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { createKafka, ensureTopics, prefixedTopicNames } from '@parsedmarc-ts/kafka';
import {
  buildServices,
  ensureServers,
  freePort,
  repoRoot,
  startService,
  uniquePrefix,
  type ServiceProcess,
} from '../pipeline/harness.js';
import { committedSum, endOffsetSum, waitFor } from '../pipeline/sink-harness.js';
import { runCli } from '../cli/helpers.js';
import { documentsOf, rest } from './helpers.js';

const records = 60_000;
const stateDir = mkdtempSync(join(tmpdir(), 'pdm-es-killed-'));
let env: NodeJS.ProcessEnv;
let url: string;
let input: string;

/** The server is killed outright while `paused` is stopped (so the kill surely lands mid-run), then started
 * again with its data once `paused` runs on against nothing. */
async function killServerWhilePaused(
  paused: { kill(signal: NodeJS.Signals): void },
  whilePaused: () => Promise<void> = async () => undefined,
): Promise<void> {
  paused.kill('SIGSTOP');
  await whilePaused();
  process.kill(Number(/pid (\d+)/.exec(ctl('status'))![1]), 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 500));
  paused.kill('SIGCONT');
  ctl('start', { ELASTICSEARCH_KEEP_DATA: '1' });
}

async function firstDocuments(pattern: string, alive: () => boolean): Promise<void> {
  for (;;) {
    const { count } = (await rest(url, 'GET', `/${pattern}/_count?allow_no_indices=true`).catch(() => ({
      count: 0,
    }))) as { count: number };
    if (count > 0) return;
    if (!alive()) throw new Error('it ended before any document was in');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ctl = (action: string, extra: NodeJS.ProcessEnv = {}): string =>
  execFileSync(join(repoRoot, 'tools/elasticsearch/ctl.sh'), [action], {
    env: { ...env, ...extra },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });

/** One aggregate report with `count` records, each from another IP (so each is its own document). */
function hugeReport(count: number): string {
  const rows: string[] = [];
  for (let i = 0; i < count; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    rows.push(
      `<record><row><source_ip>${ip}</source_ip><count>${1 + (i % 7)}</count><policy_evaluated>` +
        `<disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>` +
        `<identifiers><header_from>example.com</header_from></identifiers><auth_results>` +
        `<dkim><domain>example.com</domain><result>pass</result><selector>s1</selector></dkim>` +
        `<spf><domain>example.com</domain><result>fail</result></spf></auth_results></record>`,
    );
  }
  return (
    `<?xml version="1.0"?><feedback><report_metadata><org_name>killed.example</org_name>` +
    `<email>noreply@killed.example</email><report_id>killed-1</report_id><date_range>` +
    `<begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>` +
    `<policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p>` +
    `<sp>none</sp><pct>100</pct></policy_published>${rows.join('')}</feedback>`
  );
}

beforeAll(async () => {
  const [port, transportPort] = [await freePort(), await freePort()];
  env = {
    ...process.env,
    PDM_STATE_DIR: stateDir,
    ELASTICSEARCH_TEST_PORT: String(port),
    ELASTICSEARCH_TEST_TRANSPORT_PORT: String(transportPort),
  };
  ctl('start');
  input = join(mkdtempSync(join(tmpdir(), 'pdm-killed-input-')), 'huge.xml');
  writeFileSync(input, hugeReport(records));
  url = /ELASTICSEARCH_URL=(\S+)/.exec(ctl('env'))![1]!;
  buildServices(['apps/cli', 'apps/sink-elastic']);
}, 300_000);

afterAll(() => {
  ctl('stop');
  // The server's files live where its system user can reach them (a symlink target under /var/lib).
  rmSync(realpathSync(join(stateDir, 'elasticsearch/work')), { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

it('parsedmarc -E writes every document exactly once when the server is killed mid-run and comes back', async () => {
  const cli = spawn(
    process.execPath,
    [
      join(repoRoot, 'apps/cli/bin/parsedmarc.js'),
      '--offline',
      '-s',
      '-E',
      url,
      '--save-aggregate',
      '--elasticsearch-index-prefix',
      'cli_',
      '--elasticsearch-retry-seconds',
      '600',
      input,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  cli.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number>((resolve) => cli.on('exit', (code) => resolve(code ?? -1)));

  await firstDocuments('cli_dmarc_aggregate*', () => cli.exitCode === null);
  await killServerWhilePaused(cli);

  expect(await exited, stderr).toBe(0);
  // It saw the server go away and retried (rather than finishing before the kill).
  expect(stderr).toMatch(/SINK_UNREACHABLE|cannot reach|retrying/);
  expect((await documentsOf(url, 'cli_dmarc_aggregate*')).count).toBe(records);
}, 600_000);

it('sink-elastic writes every document exactly once when the server is killed mid-consumption and comes back', async () => {
  const servers = ensureServers();
  const prefix = uniquePrefix('killed');
  const topics = prefixedTopicNames(prefix);
  const admin: Admin = createKafka({ brokers: servers.brokers, clientId: 'killed-test-admin' }).admin();
  await admin.connect();
  let service: ServiceProcess | null = null;
  try {
    await ensureTopics(admin, Object.values(topics), { partitions: 3 });
    // The huge report onto the aggregate topic, in parts, as the embedded CLI publishes it.
    const published = await runCli([
      '--offline',
      '-s',
      '-K',
      ...servers.brokers,
      '--schema-registry',
      servers.registryUrl,
      '--kafka-aggregate-topic',
      topics.aggregate,
      input,
    ]);
    expect(published.stderr).toBe('');
    const end = await endOffsetSum(admin, [topics.aggregate]);
    expect(end).toBeGreaterThan(10);

    service = await startService('sink-elastic', {
      servers,
      prefix,
      env: {
        ELASTICSEARCH_HOSTS: url,
        ELASTICSEARCH_INDEX_PREFIX: 'svc_',
        ELASTICSEARCH_RETRY_BUDGET_SECONDS: '600',
        SAVE_FORENSIC: 'false',
        SAVE_SMTP_TLS: 'false',
        MAX_MESSAGES_PER_FLUSH: '2',
      },
    });
    const group = `${prefix}sink-elastic`;
    await firstDocuments('svc_dmarc_aggregate*', () => true);
    const running = service;
    await killServerWhilePaused(running, async () => {
      // Mid-consumption indeed: some of the topic is still uncommitted when the server goes.
      expect(await committedSum(admin, group, [topics.aggregate])).toBeLessThan(end);
    });
    await waitFor(
      'offsets committed to the end',
      async () => (await committedSum(admin, group, [topics.aggregate])) === end,
      300_000,
    );
    expect((await documentsOf(url, 'svc_dmarc_aggregate*')).count).toBe(records);
    expect(running.logs.join('\n')).toMatch(/retry|cannot reach|SINK_UNREACHABLE/i);
  } finally {
    await service?.stop();
    await admin.disconnect();
  }
}, 600_000);
