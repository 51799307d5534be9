#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ and bundled into bundle/ by `npm run build` (run automatically
// by `npm ci`); load-bundle.js loads it.
import module from 'node:module';

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

const { loadBundle } = await import('./load-bundle.js');
process.exitCode = await loadBundle().main(args);
