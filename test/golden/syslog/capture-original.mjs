// Captures the syslog messages the original parsedmarc (the PyPI release the bench uses) sends for the
// samples of test/golden/hec/samples.json, into test/golden/syslog/original/<family>/<sample>.jsonl, one
// datagram per line as a JSON string (exact, with its "<14>" priority and trailing NUL): the reference our
// messages are compared with (libs/output/src/syslog.test.ts). Run it again after a new release:
//   TZ=UTC node test/golden/syslog/capture-original.mjs
// It listens on a throwaway UDP port and runs the original's command line with a [syslog] section, offline.
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { CAPTURED_SAMPLES, originalCli, root } from '../original-cli.mjs';

const out = join(root, 'test/golden/syslog/original');
const original = originalCli();

let datagrams = [];
const socket = createSocket('udp4');
socket.on('message', (message) => datagrams.push(message.toString('utf8')));
await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
const { port } = socket.address();
try {
  for (const sample of CAPTURED_SAMPLES) {
    datagrams = [];
    await original.run(sample, ['[syslog]', 'server = 127.0.0.1', `port = ${port}`]);
    // Datagrams to 127.0.0.1 arrive before the sender exits; one more turn of the loop delivers them.
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (datagrams.length === 0) throw new Error(`${sample}: the original sent nothing`);
    const file = join(out, `${sample}.jsonl`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${datagrams.map((d) => JSON.stringify(d)).join('\n')}\n`);
    console.error(`${sample}: ${datagrams.length} messages`);
  }
} finally {
  socket.close();
  original.close();
}
