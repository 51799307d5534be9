// The original tool, parsedmarc from PyPI, in a private virtual environment (bench/.venv), installed
// idempotently at a pinned version, and run so that it never touches the network.
//
// Why no network: with --offline, parsedmarc 10.4.3 skips reverse DNS and uses its bundled copies of the
// IP database (ipinfo_lite.mmdb), the reverse-DNS map and the PSL overrides (utils.load_ip_db,
// load_reverse_dns_map, load_psl_overrides all test `offline` before calling httpx). The public suffix
// list comes from the publicsuffixlist package's bundled copy. As a guard, any HTTP(S) request would go to
// a proxy on a closed local port and fail at once instead of hanging on a timeout; and verifyOffline()
// checks the debug log of a real run for download attempts before any timing starts.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PINNED_VERSION = '10.4.3';

const DEAD_PROXY = 'http://127.0.0.1:9';

export function originalEnv(base = process.env) {
  return {
    ...base,
    TZ: 'UTC',
    HTTP_PROXY: DEAD_PROXY,
    HTTPS_PROXY: DEAD_PROXY,
    ALL_PROXY: DEAD_PROXY,
    http_proxy: DEAD_PROXY,
    https_proxy: DEAD_PROXY,
    all_proxy: DEAD_PROXY,
    NO_PROXY: '',
    no_proxy: '',
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

function findPython() {
  for (const py of ['python3.11', 'python3']) {
    const r = spawnSync(py, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
      encoding: 'utf8',
    });
    if (r.status === 0) return { py, version: r.stdout.trim() };
  }
  throw new Error('no python3 found: the original (parsedmarc) needs Python >= 3.10');
}

/** Creates bench/.venv and installs parsedmarc==PINNED_VERSION unless it is already there. */
export function ensureOriginal(benchDir, log = () => {}) {
  const venv = join(benchDir, '.venv');
  const bin = join(venv, 'bin', 'parsedmarc');
  const python = join(venv, 'bin', 'python');
  const installed = () => {
    if (!existsSync(bin)) return null;
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', env: originalEnv() });
    return r.status === 0 ? (r.stdout + r.stderr).trim() : null;
  };
  let version = installed();
  if (version !== PINNED_VERSION) {
    const { py, version: pyVersion } = findPython();
    log(
      `original: installing parsedmarc==${PINNED_VERSION} into ${venv} (python ${pyVersion}; was: ${version ?? 'absent'})`,
    );
    if (!existsSync(python)) execFileSync(py, ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(
      join(venv, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `parsedmarc==${PINNED_VERSION}`],
      {
        stdio: 'inherit',
      },
    );
    version = installed();
    if (version !== PINNED_VERSION)
      throw new Error(`parsedmarc ${PINNED_VERSION} did not install (got ${version})`);
  }
  const pyVersion = spawnSync(python, ['-c', 'import sys; print(sys.version.split()[0])'], {
    encoding: 'utf8',
  }).stdout.trim();
  const libs = spawnSync(
    python,
    [
      '-c',
      'import importlib.metadata as m; print(" ".join(p + " " + m.version(p) for p in ("lxml", "xmltodict", "mailsuite", "mail-parser")))',
    ],
    { encoding: 'utf8' },
  ).stdout.trim();
  return { bin, version, pythonVersion: pyVersion, libs };
}

/**
 * Runs the original once with --debug on `sampleFile` and fails if its log shows any attempt to download
 * (the lines parsedmarc logs before and after an httpx request), or if the run takes long enough to suggest
 * a network timeout.
 */
export function verifyOffline(bin, sampleFile) {
  const out = mkdtempSync(join(tmpdir(), 'pdm-bench-offline-'));
  try {
    const started = Date.now();
    const r = spawnSync(bin, ['--offline', '--debug', '-o', out, sampleFile], {
      encoding: 'utf8',
      env: originalEnv(),
      timeout: 120_000,
    });
    const ms = Date.now() - started;
    const log = `${r.stdout}\n${r.stderr}`;
    const attempts = log
      .split('\n')
      .filter((l) =>
        /Trying to fetch|Failed to fetch|Downloading|HTTP Request|httpx|Connection refused|api\.ipinfo/i.test(
          l,
        ),
      );
    if (r.status !== 0)
      throw new Error(`original failed on ${sampleFile}: exit ${r.status}\n${r.stderr.slice(-2000)}`);
    if (attempts.length > 0)
      throw new Error(`original attempted network access with --offline:\n${attempts.join('\n')}`);
    return { ok: true, ms };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
