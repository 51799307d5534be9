import { testServer } from '../servers.js';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../apps/cli/src/main.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const samples = (p: string): string => `${repoRoot}test/fixtures/samples/${p}`;
export const conformance = (p: string): string => `${repoRoot}test/fixtures/conformance/${p}`;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured stdout/stderr and the given environment. */
export async function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const code = await main(args, { stdout, stderr, env });
  return { code, stdout: out, stderr: err };
}

/** Runs fn with process.env.TZ set (Node re-reads TZ when it is assigned). */
export async function withTimeZone<T>(tz: string, fn: () => Promise<T>): Promise<T> {
  const previous = process.env.TZ;
  process.env.TZ = tz;
  try {
    return await fn();
  } finally {
    if (previous === undefined) delete process.env.TZ;
    else process.env.TZ = previous;
  }
}

/** The local DNS test server's address, starting it with the repo's script when the runner has not. */
export const dnsServer = (): string => testServer('dns', 'PDM_DNS_SERVER');
