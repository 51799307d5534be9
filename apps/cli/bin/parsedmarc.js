#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run automatically by `npm ci`).
import module from 'node:module';

// Node 22.1+ keeps compiled module code on disk between runs: start-up is dominated by loading our modules
// and their dependencies, not by parsing (no-op on Node 20, which lacks it).
module.enableCompileCache?.();

const { main } = await import('../dist/main.js');
process.exitCode = await main(process.argv.slice(2));
