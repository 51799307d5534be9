// Loads the bundled CLI (bundle/*.cjs, written by scripts/bundle.mjs) with V8 code caches: compiling the
// start-up chunks' megabyte of JavaScript was a third of a one-report run, and Node 20 has no compile cache
// of its own for modules (module.enableCompileCache is Node 22.1+). Each chunk is compiled as a script with
// the cache the build left beside it (bundle/<chunk>.cjs.cache); V8 checks the cache against the source, its
// own version and flags, and compiles from source when it does not fit (a different Node): slower, same
// result.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

const bundleDir = fileURLToPath(new URL('../bundle/', import.meta.url));

const chunkName = /^[\w-]+\.cjs$/;

/**
 * Loads the bundle's entry chunk and returns its exports (`main`), and what its code caches did. With
 * `recordScripts`, the compiled scripts are kept so that `writeCodeCaches` can save them (the build does, after
 * a warm-up run, so the caches hold the functions a run compiles, not only the top level).
 */
export function loadBundle({ recordScripts = false } = {}) {
  // Before anything is compiled: V8 refuses a code cache made under other flags. A report's records are
  // garbage soon after they are written, but many live through two scavenges and are promoted: with V8's
  // default growth the old space grows to about 100 MB of them before a full collection. Doubling from the
  // live size instead keeps a 100,000-record run near 130 MB (from 160 MB) at the same speed; a larger live
  // set still gets all the heap it needs.
  v8.setFlagsFromString('--heap-growing-percent=100');
  const nodeRequire = module.createRequire(join(bundleDir, 'parsedmarc.cjs'));
  const loaded = new Map();
  const scripts = new Map();
  const cache = { accepted: 0, rejected: 0, missing: 0 };

  const requireFromChunk = Object.assign(
    (id) => (id.startsWith('./') ? load(id.slice(2)) : nodeRequire(id)),
    { resolve: nodeRequire.resolve, cache: nodeRequire.cache },
  );

  function load(name) {
    const done = loaded.get(name);
    if (done) return done.exports;
    if (!chunkName.test(name)) throw new Error(`not a chunk of the bundle: ${name}`);
    const chunk = { exports: {} };
    loaded.set(name, chunk);
    const file = join(bundleDir, name);
    const script = compile(file, cache);
    if (recordScripts) scripts.set(name, script);
    script
      .runInThisContext()
      .call(chunk.exports, chunk.exports, requireFromChunk, chunk, file, bundleDir, pathToFileURL(file).href);
    return chunk.exports;
  }

  const entry = load('parsedmarc.cjs');
  return {
    main: entry.main,
    cache,
    /** Saves a code cache beside every chunk: the ones run so far with what they compiled, the rest as compiled. */
    writeCodeCaches() {
      for (const name of readdirSync(bundleDir).filter((n) => chunkName.test(n))) {
        const script = scripts.get(name) ?? compile(join(bundleDir, name), null);
        writeFileSync(join(bundleDir, `${name}.cache`), script.createCachedData());
      }
    },
  };
}

function compile(file, cache) {
  const source = readFileSync(file, 'utf8');
  let cachedData;
  if (cache) {
    try {
      cachedData = readFileSync(`${file}.cache`);
    } catch {
      cache.missing += 1;
    }
  }
  // The chunks were ES modules: strict mode, as they ran before; `__pdmImportMetaUrl` stands for their
  // import.meta.url.
  const wrapped = `(function (exports, require, module, __filename, __dirname, __pdmImportMetaUrl) {"use strict";${source}\n})`;
  const script = new vm.Script(wrapped, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  if (cache && cachedData) cache[script.cachedDataRejected ? 'rejected' : 'accepted'] += 1;
  return script;
}
