// What the capture scripts (hec/, syslog/) share: the original's command line, run offline on one sample
// with every save_* on and one output section of its parsedmarc.ini, in a throwaway folder.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureOriginalPeer } from '../../bench/lib/original-peer.mjs';

export const root = fileURLToPath(new URL('../../', import.meta.url));
/** The samples captured (a few per family, chosen for variety), also read by the comparing tests. */
export const CAPTURED_SAMPLES = JSON.parse(readFileSync(join(root, 'test/golden/hec/samples.json'), 'utf8'));

/** The original's command line (installed into bench/.venv when missing). */
export function originalCli() {
  if (process.env.TZ !== 'UTC') throw new Error('run with TZ=UTC (the original dates aggregate metadata locally)');
  const peer = ensureOriginalPeer(join(root, 'bench'), undefined, (line) => console.error(line), []);
  const work = mkdtempSync(join(tmpdir(), 'pdm-original-capture-'));
  return {
    /** Runs it on test/fixtures/samples/<sample> with `section` (INI lines) beside [general]; throws unless 0. */
    async run(sample, section) {
      const ini = join(work, 'parsedmarc.ini');
      const general = ['[general]', 'save_aggregate = True', 'save_failure = True', 'save_smtp_tls = True'];
      writeFileSync(ini, [...general, 'offline = True', 'silent = True', ...section, ''].join('\n'));
      // Spawned asynchronously: the listener in this process answers the original meanwhile.
      const child = await new Promise((resolve, reject) => {
        const p = spawn(peer.bin, ['-c', ini, join(root, 'test/fixtures/samples', sample)], {
          env: { ...process.env, TZ: 'UTC' },
        });
        let stderr = '';
        p.stderr.on('data', (c) => (stderr += c));
        p.on('error', reject);
        p.on('close', (status) => resolve({ status, stderr }));
      });
      if (child.status !== 0) throw new Error(`${sample}: the original exited ${child.status}: ${child.stderr}`);
    },
    close() {
      rmSync(work, { recursive: true, force: true });
    },
  };
}
