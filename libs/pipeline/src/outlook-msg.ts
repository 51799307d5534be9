/**
 * Outlook .msg → RFC 822 through the `msgconvert` Perl tool (Debian: libemail-outlook-message-perl), like the
 * original. The parser library stays free of I/O; it receives this function.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParseError } from '@parsedmarc-ts/parser';

export async function convertOutlookMsg(msg: Uint8Array): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'parsedmarc-msg-'));
  try {
    const input = join(dir, 'input.msg');
    const output = join(dir, 'output.eml');
    await writeFile(input, msg);
    await new Promise<void>((resolve, reject) => {
      execFile('msgconvert', ['--outfile', output, input], { timeout: 60_000 }, (error, _stdout, stderr) => {
        if (!error) return resolve();
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new ParseError(
              'MISSING_TOOL',
              'Outlook .msg input needs the msgconvert tool (Debian/Ubuntu: apt install libemail-outlook-message-perl)',
              {
                tool: 'msgconvert',
              },
            ),
          );
        } else
          reject(
            new ParseError(
              'UNRECOGNIZED_FORMAT',
              `msgconvert failed: ${String(stderr).trim() || error.message}`,
            ),
          );
      });
    });
    return new Uint8Array(await readFile(output));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
