// Another version of the original (parsedmarc from PyPI) beside the pinned one of original.mjs, in its own
// virtual environment, installed idempotently: bench/.venv/peers/parsedmarc-<version>/ (inside bench/.venv/,
// which git ignores, and apart from the pinned version's site-packages). Used where a case wants the
// newest original as the peer (the search writer: 11.x) without moving the pin the CLI cases compare with.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { originalEnv } from './original.mjs';

/** The newest parsedmarc on PyPI when this was written (2025-12): the 11.x line. */
export const LATEST_VERSION = '11.1.0';

/** The Python module each extra brings, to tell whether it is installed. */
const moduleOfExtra = { elastic: 'elasticsearch', opensearch: 'opensearchpy' };

function findPython() {
  for (const py of ['python3.11', 'python3.12', 'python3']) {
    const r = spawnSync(py, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
      encoding: 'utf8',
    });
    if (r.status === 0) return { py, version: r.stdout.trim() };
  }
  throw new Error('no python3 found: the original (parsedmarc) needs Python >= 3.10');
}

/**
 * Creates the peer's venv and installs parsedmarc[extras]==version unless it is already there (11.x moved the
 * Elasticsearch and OpenSearch clients into the extras "elastic" and "opensearch").
 * @returns {{ bin: string, python: string, venv: string, version: string, pythonVersion: string,
 *   libs: Record<string, string|null> }}
 */
export function ensureOriginalPeer(
  benchDir,
  version = LATEST_VERSION,
  log = () => {},
  extras = ['elastic', 'opensearch'],
) {
  const venv = join(benchDir, '.venv', 'peers', `parsedmarc-${version}`);
  const bin = join(venv, 'bin', 'parsedmarc');
  const python = join(venv, 'bin', 'python');
  const installed = () => {
    if (!existsSync(bin)) return null;
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', env: originalEnv() });
    return r.status === 0 ? (r.stdout + r.stderr).trim().split('\n').pop() : null;
  };
  const spec = `parsedmarc${extras.length > 0 ? `[${extras.join(',')}]` : ''}==${version}`;
  const extrasThere = () =>
    extras.every(
      (e) => spawnSync(python, ['-c', `import ${moduleOfExtra[e] ?? e}`], { stdio: 'ignore' }).status === 0,
    );
  let got = installed();
  if (got !== version || !extrasThere()) {
    const { py, version: pyVersion } = findPython();
    log(`original peer: installing ${spec} into ${venv} (python ${pyVersion}; was: ${got ?? 'absent'})`);
    mkdirSync(venv, { recursive: true });
    if (!existsSync(python)) execFileSync(py, ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', spec], {
      stdio: 'inherit',
    });
    got = installed();
    if (got !== version || !extrasThere()) throw new Error(`${spec} did not install (got ${got})`);
  }
  const pyVersion = spawnSync(python, ['-c', 'import sys; print(sys.version.split()[0])'], {
    encoding: 'utf8',
  }).stdout.trim();
  const probe = spawnSync(
    python,
    [
      '-c',
      [
        'import importlib.metadata as m, json',
        'out = {}',
        'for p in ("elasticsearch", "elasticsearch-dsl", "opensearch-py", "lxml"):',
        '    try: out[p] = m.version(p)',
        '    except m.PackageNotFoundError: out[p] = None',
        'print(json.dumps(out))',
      ].join('\n'),
    ],
    { encoding: 'utf8' },
  );
  let libs = {};
  try {
    libs = JSON.parse(probe.stdout);
  } catch {
    // reported as unknown
  }
  return { bin, python, venv, version: got, pythonVersion: pyVersion, libs };
}
