// Bundles the compiled CLI (dist/, from tsc) with its dependencies into bundle/ (esbuild): start-up is
// dominated by resolving and reading hundreds of small module files, which one entry file and a few chunks
// avoid. Parts loaded on demand (a mailbox, Kafka, each sink) stay separate chunks, loaded only when used.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// zod exports all its ~50 message locales as one namespace, so none can be tree-shaken: a third of the
// start-up chunk, compiled on every run. The CLI's messages are English; zod itself configures `en`.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: 'zod-locales', namespace: 'zod-english-only' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, () => ({
      contents: "export { default as en } from 'zod/v4/locales/en.js';",
      resolveDir: app,
    }));
  },
};

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
  plugins: [zodEnglishOnly],
  logLevel: 'warning',
});
