// Bundles the compiled CLI (dist/, from tsc) with its dependencies into bundle/ (esbuild): start-up is
// dominated by resolving and reading hundreds of small module files, which one entry file and a few chunks
// avoid. Parts loaded on demand (a mailbox, Kafka, each sink) stay separate chunks, loaded only when used.
//
// The chunks are then turned into CommonJS (bin/load-bundle.js compiles each as a script, which is what V8's
// code cache works with on Node 20), and a warm-up run over a few sample reports leaves a code cache beside
// every chunk holding the functions a run compiles.
import { build, transform } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = fileURLToPath(new URL('..', import.meta.url));
const repo = fileURLToPath(new URL('../../..', import.meta.url));

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

const out = join(app, 'bundle');
rmSync(out, { recursive: true, force: true });
const { outputFiles } = await build({
  entryPoints: { parsedmarc: `${app}dist/main.js` },
  outdir: out,
  write: false,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  plugins: [zodEnglishOnly],
  logLevel: 'warning',
});

mkdirSync(out, { recursive: true });
for (const file of outputFiles) {
  // Chunks import one another as "./chunk-X.js": they are loaded as "./chunk-X.cjs".
  const esm = file.text.replace(/((?:from|import)\s*\(?\s*")(\.\/[\w-]+)\.js"/g, '$1$2.cjs"');
  const { code } = await transform(esm, {
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    define: { 'import.meta.url': '__pdmImportMetaUrl' },
    // import("./chunk.cjs") becomes require(): a script compiled by vm has no module loader for import().
    supported: { 'dynamic-import': false },
    logLevel: 'warning',
  });
  writeFileSync(join(out, basename(file.path).replace(/\.js$/, '.cjs')), code);
}

// The warm-up: an aggregate report as XML, gzip, zip and email, a failure report and an SMTP TLS report.
const samples = join(repo, 'test/fixtures/samples');
const warmUpInputs = [
  'aggregate/example.net!example.com!1529366400!1529452799.xml',
  'aggregate/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz',
  'aggregate/estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip',
  'aggregate/twilight.eml',
  'failure/dmarc_ruf_report_linkedin.eml',
  'smtp_tls/rfc8460.json',
].map((name) => join(samples, name));
// The run must not reach for servers a PARSEDMARC_* variable of the builder's shell may name.
for (const name of Object.keys(process.env)) if (name.startsWith('PARSEDMARC_')) delete process.env[name];
const { loadBundle } = await import('../bin/load-bundle.js');
const bundle = loadBundle({ recordScripts: true });
const warmUpOut = mkdtempSync(join(tmpdir(), 'parsedmarc-warm-up-'));
try {
  const status = await bundle.main(['--offline', '-s', '-o', warmUpOut, ...warmUpInputs]);
  if (status !== 0) throw new Error(`the warm-up run over ${samples} exited with ${status}`);
} finally {
  rmSync(warmUpOut, { recursive: true, force: true });
}
bundle.writeCodeCaches();
