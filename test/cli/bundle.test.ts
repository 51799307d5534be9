/**
 * The bundled command starts from the V8 code caches the build leaves beside its chunks (a one-report run
 * takes ~60 ms less with them): they must fit this Node, or every run silently compiles from source again.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

describe('the bundled command', () => {
  it('loads its start-up chunks from code caches this Node accepts', async () => {
    // A process of its own: what a run of `parsedmarc` compiles, under the flags it runs with.
    const script = `import(${JSON.stringify(`${repoRoot}apps/cli/bin/load-bundle.js`)}).then((m) => {
      const { main, cache } = m.loadBundle();
      console.log(JSON.stringify({ main: typeof main, cache }));
    });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script]);
    const { main, cache } = JSON.parse(stdout) as {
      main: string;
      cache: { accepted: number; rejected: number; missing: number };
    };
    expect(main).toBe('function');
    expect(cache.rejected).toBe(0);
    expect(cache.missing).toBe(0);
    // The entry chunk and the chunks it needs at once (the parser, the sinks' configuration, ...).
    expect(cache.accepted).toBeGreaterThan(3);
  });
});
