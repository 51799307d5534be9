// One library-level part, measured in its own process (so its peak RSS is its own):
//   node --expose-gc bench/lib/parts-worker.mjs <part> <input file> <result file>
// Writes { ms, bytesIn, bytesOut, records, note } as JSON to <result file>, or { todo: reason } when the
// library API this part measures does not exist yet. The timed section excludes reading the input file and
// module loading; where a part needs parsed records as its input (output writing), the parse is untimed.
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

const REPO = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const [part, input, resultFile] = process.argv.slice(2);

class Todo extends Error {}

async function lib(relPath, names) {
  let mod;
  try {
    mod = await import(pathToFileURL(join(REPO, relPath)).href);
  } catch (err) {
    throw new Todo(`${relPath} not built or not present (${String(err.message ?? err).split('\n')[0]})`);
  }
  for (const n of names) if (!(n in mod)) throw new Todo(`${relPath} has no export ${n}`);
  return mod;
}

const notImplemented = (err) => /not implemented/i.test(String(err?.message ?? err));

function timed(fn) {
  globalThis.gc?.();
  const t = performance.now();
  const r = fn();
  return { ms: performance.now() - t, r };
}

async function timedAsync(fn) {
  globalThis.gc?.();
  const t = performance.now();
  const r = await fn();
  return { ms: performance.now() - t, r };
}

/** Feeds the XML text to our stream parser in 64 KB pieces; returns the header and the records. */
async function parseAggregate(text, keepRecords) {
  const { AggregateReportStreamParser } = await lib('libs/parser/dist/index.js', [
    'AggregateReportStreamParser',
  ]);
  let header = null;
  const records = [];
  let count = 0;
  const parser = new AggregateReportStreamParser({
    onHeader: (h) => {
      header = h;
    },
    onRecord: (r) => {
      count++;
      if (keepRecords) records.push(r);
    },
  });
  try {
    for (let i = 0; i < text.length; i += 65536) parser.write(text.slice(i, i + 65536));
    parser.end();
  } catch (err) {
    if (notImplemented(err)) throw new Todo('AggregateReportStreamParser is not implemented yet');
    throw err;
  }
  return { header, records, count };
}

/** The report cut into parts of the size parseReports yields (its default), as the CLI writes them. */
async function inParts(header, records) {
  const mod = await lib('libs/parser/dist/index.js', []);
  const size = typeof mod.defaultAggregatePartRecords === 'number' ? mod.defaultAggregatePartRecords : 5000;
  const parts = [];
  for (let i = 0; i < records.length || i === 0; i += size)
    parts.push({ ...header, records: records.slice(i, i + size) });
  return parts;
}

const parts = {
  /** Our gzip decompressor (containers/gzip: streaming, with bomb checks). */
  async 'gunzip-ours'() {
    const bytes = readFileSync(input);
    const { gunzip } = await lib('libs/parser/dist/containers/gzip.js', ['gunzip']);
    const { streamOfBytes } = await lib('libs/parser/dist/containers/bytes.js', ['streamOfBytes']);
    const { resolveLimits } = await lib('libs/parser/dist/index.js', ['resolveLimits']);
    const { ms, r: out } = await timedAsync(async () => {
      let n = 0;
      for await (const chunk of gunzip(streamOfBytes(bytes), resolveLimits(), 'bench')) n += chunk.length;
      return n;
    });
    return { ms, bytesIn: bytes.length, bytesOut: out };
  },
  /** Reference: node:zlib gunzipSync on the whole buffer (no limits, no streaming). */
  async 'gunzip-zlib'() {
    const bytes = readFileSync(input);
    const { ms, r } = timed(() => gunzipSync(bytes));
    return { ms, bytesIn: bytes.length, bytesOut: r.length };
  },
  /** Reference: saxes (the XML tokenizer our aggregate parser is built on), events only, no objects. */
  async 'xml-saxes'() {
    const text = readFileSync(input, 'utf8');
    let SaxesParser;
    try {
      const { createRequire } = await import('node:module');
      const require = createRequire(join(REPO, 'libs', 'parser', 'package.json'));
      ({ SaxesParser } = await import(pathToFileURL(require.resolve('saxes')).href));
    } catch (err) {
      throw new Todo(`saxes not installed (${err.message})`);
    }
    const { ms, r } = timed(() => {
      const p = new SaxesParser();
      let elements = 0;
      let textBytes = 0;
      p.on('opentag', () => elements++);
      p.on('text', (t) => (textBytes += t.length));
      for (let i = 0; i < text.length; i += 65536) p.write(text.slice(i, i + 65536));
      p.close();
      return elements;
    });
    return { ms, bytesIn: Buffer.byteLength(text), note: `${r} elements` };
  },
  /** Our streaming aggregate parser: XML parsing and normalization to the output model, record by record. */
  async 'aggregate-stream'() {
    const text = readFileSync(input, 'utf8');
    await lib('libs/parser/dist/index.js', ['AggregateReportStreamParser']);
    const { ms, r } = await timedAsync(() => parseAggregate(text, false));
    return { ms, bytesIn: Buffer.byteLength(text), records: r.count };
  },
  /** Our JSON writer (libs/output JsonArrayWriter), fed the parsed report in parts as the CLI does. */
  async 'output-json'() {
    const text = readFileSync(input, 'utf8');
    const { JsonArrayWriter } = await lib('libs/output/dist/index.js', ['JsonArrayWriter']);
    const { header, records } = await parseAggregate(text, true);
    const parts = await inParts(header, records);
    const { ms, r } = timed(() => {
      let n = 0;
      const w = new JsonArrayWriter((s) => (n += s.length));
      parts.forEach((p, i) => w.addAggregatePart(p, i === 0, i === parts.length - 1));
      w.close();
      return n;
    });
    return {
      ms,
      bytesIn: Buffer.byteLength(text),
      bytesOut: r,
      records: records.length,
      note: `input: the parsed report in ${parts.length} part(s), held in memory; text counted, not kept`,
    };
  },
  /** Our CSV writer (libs/output aggregateCsvLines), per part. */
  async 'output-csv'() {
    const text = readFileSync(input, 'utf8');
    const { aggregateCsvLines, aggregateCsvHeader } = await lib('libs/output/dist/index.js', [
      'aggregateCsvLines',
      'aggregateCsvHeader',
    ]);
    const { header, records } = await parseAggregate(text, true);
    const parts = await inParts(header, records);
    const { ms, r } = timed(() =>
      parts.reduce((n, p) => n + aggregateCsvLines(p).length, aggregateCsvHeader().length),
    );
    return {
      ms,
      bytesIn: Buffer.byteLength(text),
      bytesOut: r,
      records: records.length,
      note: `input: the parsed report in ${parts.length} part(s), held in memory`,
    };
  },
  /** parseReports end to end in-process: file stream → detection → gunzip → parse → outcomes. */
  async 'parse-reports'() {
    const { parseReports } = await lib('libs/parser/dist/index.js', ['parseReports']);
    const { ms, r } = await timedAsync(async () => {
      let records = 0;
      let errors = 0;
      try {
        for await (const o of parseReports(createReadStream(input), { source: input })) {
          if (o.ok && o.parsed.report_type === 'aggregate') records += o.parsed.report.records.length;
          else if (!o.ok) {
            if (notImplemented(o.error)) throw new Todo('parseReports is not implemented yet');
            errors++;
          }
        }
      } catch (err) {
        if (notImplemented(err)) throw new Todo('parseReports is not implemented yet');
        throw err;
      }
      return { records, errors };
    });
    return {
      ms,
      bytesIn: readFileSync(input).length,
      records: r.records,
      note: r.errors ? `${r.errors} error outcome(s)` : undefined,
    };
  },
};

let result;
try {
  if (!parts[part]) throw new Error(`unknown part ${part}`);
  result = await parts[part]();
} catch (err) {
  result =
    err instanceof Todo
      ? { todo: err.message }
      : {
          error: String(err.stack ?? err)
            .split('\n')
            .slice(0, 6)
            .join('\n'),
        };
}
writeFileSync(resultFile, JSON.stringify(result));
