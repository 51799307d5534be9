#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ and bundled into bundle/ by `npm run build` (run automatically
// by `npm ci`).
import module from 'node:module';

// Node 22.1+ keeps compiled module code on disk between runs: start-up is dominated by loading our modules
// and their dependencies, not by parsing (no-op on Node 20, which lacks it).
module.enableCompileCache?.();

// `parsedmarc … | head`: the reader went away; stop quietly like other Unix tools instead of crashing.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// `parsedmarc --version` alone: answered without loading the command (loading is most of a short run);
// the same line commander prints.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  process.stdout.write(`${module.createRequire(import.meta.url)('../package.json').version}\n`);
  process.exit(0);
}

// A report's records are garbage soon after they are written, but many live through two scavenges and
// are promoted: with V8's default growth the old space grows to about 100 MB of them before a full
// collection. Doubling from the live size instead keeps a 100,000-record run near 130 MB (from 160 MB) at
// the same speed; a larger live set still gets all the heap it needs.
(await import('node:v8')).setFlagsFromString('--heap-growing-percent=100');

const { main } = await import('../bundle/parsedmarc.js');
process.exitCode = await main(args);
