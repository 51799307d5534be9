// Captures the Splunk HEC events the original parsedmarc (the PyPI release the bench uses) sends for a few
// sample reports, into test/golden/hec/original/<family>/<sample>.jsonl: the reference our events are
// compared with (libs/output/src/hec/events.test.ts). Run it again after a new release of the original:
//   TZ=UTC node test/golden/hec/capture-original.mjs
// It starts a throwaway HTTP listener that answers like a collector and runs the original's command line
// with a [splunk_hec] section, offline, on each sample. The envelope's host (the machine's FQDN) is replaced
// by "HOST" so the files do not depend on where they were captured.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureOriginalPeer } from '../../../bench/lib/original-peer.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const samples = join(root, 'test/fixtures/samples');
const out = join(root, 'test/golden/hec/original');

/** The samples captured (a few per family, chosen for variety): samples.json, also read by the test. */
const CAPTURED_SAMPLES = JSON.parse(readFileSync(join(root, 'test/golden/hec/samples.json'), 'utf8'));

if (process.env.TZ !== 'UTC') throw new Error('run with TZ=UTC (the original dates aggregate metadata locally)');
const peer = ensureOriginalPeer(join(root, 'bench'), undefined, (line) => console.error(line), []);

let bodies = [];
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    bodies.push(Buffer.concat(chunks).toString('utf8'));
    res.setHeader('content-type', 'application/json');
    res.end('{"text":"Success","code":0}');
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const work = mkdtempSync(join(tmpdir(), 'pdm-hec-capture-'));
try {
  for (const sample of CAPTURED_SAMPLES) {
    bodies = [];
    const ini = join(work, 'parsedmarc.ini');
    writeFileSync(
      ini,
      [
        '[general]',
        'save_aggregate = True',
        'save_failure = True',
        'save_smtp_tls = True',
        'offline = True',
        'silent = True',
        '[splunk_hec]',
        `url = http://127.0.0.1:${port}/services/collector`,
        'token = 00000000-0000-0000-0000-000000000000',
        'index = email',
        '',
      ].join('\n'),
    );
    // Spawned asynchronously: the listener in this process answers the original meanwhile.
    const child = await new Promise((resolve, reject) => {
      const p = spawn(peer.bin, ['-c', ini, join(samples, sample)], { env: { ...process.env, TZ: 'UTC' } });
      let stderr = '';
      p.stderr.on('data', (c) => (stderr += c));
      p.on('error', reject);
      p.on('close', (status) => resolve({ status, stderr }));
    });
    if (child.status !== 0) throw new Error(`${sample}: the original exited ${child.status}: ${child.stderr}`);
    const lines = bodies
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const event = JSON.parse(l);
        event.host = 'HOST';
        return JSON.stringify(event);
      });
    if (lines.length === 0) throw new Error(`${sample}: the original sent nothing`);
    const file = join(out, `${sample}.jsonl`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${lines.join('\n')}\n`);
    console.error(`${sample}: ${lines.length} events`);
  }
} finally {
  server.close();
  rmSync(work, { recursive: true, force: true });
}
