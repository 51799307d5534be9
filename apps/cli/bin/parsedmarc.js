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

const { main } = await import('../bundle/parsedmarc.js');
process.exitCode = await main(process.argv.slice(2));
