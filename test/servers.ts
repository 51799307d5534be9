/**
 * The real test servers (tools/<name>/ctl.sh): the one way a test finds a server's address. The variable
 * the runner exported (tools/test.sh, `eval "$(tools/servers.sh env ...)"`) wins; otherwise the server is
 * started with its script (idempotent: a running one is kept) and the variables its `env` prints are
 * exported into this process, so that later calls and the processes a test spawns see them.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** `variable` (e.g. HEC_URL) of the test server `name` (e.g. hec), starting the server when unset. */
export function testServer(name: string, variable: string): string {
  const given = process.env[variable];
  if (given) return given;
  const ctl = `${repoRoot}tools/${name}/ctl.sh`;
  execFileSync(ctl, ['start'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exports = execFileSync(ctl, ['env'], { encoding: 'utf8' });
  for (const match of exports.matchAll(/(?:^|\s)(?:export\s+)?([A-Z][A-Z0-9_]*)=('[^']*'|"[^"]*"|\S+)/gm)) {
    process.env[match[1]!] = match[2]!.replace(/^['"]|['"]$/g, '');
  }
  const value = process.env[variable];
  if (!value) throw new Error(`tools/${name}/ctl.sh env printed no ${variable}: ${exports}`);
  return value;
}
