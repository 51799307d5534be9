// Captures the Splunk HEC events the original parsedmarc (the PyPI release the bench uses) sends for a few
// sample reports, into test/golden/hec/original/<family>/<sample>.jsonl: the reference our events are
// compared with (libs/output/src/hec/events.test.ts). Run it again after a new release of the original:
//   TZ=UTC node test/golden/hec/capture-original.mjs
// It starts a throwaway HTTP listener that answers like a collector and runs the original's command line
// with a [splunk_hec] section, offline, on each sample. The envelope's host (the machine's FQDN) is replaced
// by "HOST" so the files do not depend on where they were captured.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';

import { CAPTURED_SAMPLES, originalCli, root } from '../original-cli.mjs';

const out = join(root, 'test/golden/hec/original');
const original = originalCli();

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
try {
  for (const sample of CAPTURED_SAMPLES) {
    bodies = [];
    await original.run(sample, [
      '[splunk_hec]',
      `url = http://127.0.0.1:${port}/services/collector`,
      'token = 00000000-0000-0000-0000-000000000000',
      'index = email',
    ]);
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
  original.close();
}
