// Bundles the compiled CLI (dist/, from tsc) with its dependencies into bundle/ (esbuild): start-up is
// dominated by resolving and reading hundreds of small module files, which one entry file and a few chunks
// avoid. Parts loaded on demand (a mailbox, Kafka, each sink) stay separate chunks, loaded only when used.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const app = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${app}bundle`, { recursive: true, force: true });
await build({
  entryPoints: { parsedmarc: `${app}dist/main.js` },
  outdir: `${app}bundle`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __pdmRequire } from 'node:module'; const require = __pdmRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
