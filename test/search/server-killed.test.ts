/**
 * The search server killed (SIGKILL) in the middle of a run of `parsedmarc -E`, then started again with
 * its data: the command retries with backoff while it is away and, once it is back, every document is
 * there exactly once. A private Elasticsearch (tools/elasticsearch/ctl.sh on other ports and another
 * state dir), so the shared test server is never disturbed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildServices, freePort, repoRoot } from '../pipeline/harness.js';
import { documentsOf, rest } from './helpers.js';

const records = 60_000;
const stateDir = mkdtempSync(join(tmpdir(), 'pdm-es-killed-'));
let env: NodeJS.ProcessEnv;
let url: string;

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
  url = /ELASTICSEARCH_URL=(\S+)/.exec(ctl('env'))![1]!;
  buildServices(['apps/cli']);
}, 300_000);

afterAll(() => {
  ctl('stop');
  // The server's files live where its system user can reach them (a symlink target under /var/lib).
  rmSync(realpathSync(join(stateDir, 'elasticsearch/work')), { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

it('writes every document exactly once when the server is killed mid-run and comes back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pdm-killed-input-'));
  const input = join(dir, 'huge.xml');
  writeFileSync(input, hugeReport(records));
  const cli = spawn(
    process.execPath,
    [
      join(repoRoot, 'apps/cli/bin/parsedmarc.js'),
      '--offline',
      '-s',
      '-E',
      url,
      '--save-aggregate',
      '--elasticsearch-retry-seconds',
      '600',
      input,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  cli.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number>((resolve) => cli.on('exit', (code) => resolve(code ?? -1)));

  // Once the first batches are in, the command is paused (so the kill surely lands mid-run), the server is
  // killed outright, the command resumes against nothing, and the server comes back with its data.
  for (;;) {
    const { count } = (await rest(url, 'GET', '/dmarc_aggregate*/_count?allow_no_indices=true').catch(() => ({
      count: 0,
    }))) as { count: number };
    if (count > 0) break;
    if (cli.exitCode !== null) throw new Error(`the command ended before any document was in: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  cli.kill('SIGSTOP');
  process.kill(Number(/pid (\d+)/.exec(ctl('status'))![1]), 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 500));
  cli.kill('SIGCONT');
  ctl('start', { ELASTICSEARCH_KEEP_DATA: '1' });

  expect(await exited, stderr).toBe(0);
  // It saw the server go away and retried (rather than finishing before the kill).
  expect(stderr).toMatch(/SINK_UNREACHABLE|cannot reach|retrying/);
  const stored = await documentsOf(url, 'dmarc_aggregate*');
  expect(stored.count).toBe(records);
}, 600_000);
