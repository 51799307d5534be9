// Counts what a CLI run wrote into its -o folder, so the benchmark can tell when the two tools did not do the
// same work (a run that parses nothing is fast, and must not pass for a win).
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const JSON_PARSE_LIMIT = 64 * 1024 * 1024;

async function countCsvRows(path) {
  let newlines = 0;
  let last = 10;
  for await (const chunk of createReadStream(path)) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) newlines++;
    last = chunk[chunk.length - 1];
  }
  const lines = newlines + (last === 10 ? 0 : 1);
  return Math.max(0, lines - 1); // header
}

function jsonLength(path) {
  if (!existsSync(path)) return null;
  const v = JSON.parse(readFileSync(path, 'utf8'));
  return Array.isArray(v) ? v.length : null;
}

/**
 * @returns {{ aggregateReports: number|null, aggregateRecords: number|null, forensicReports: number|null,
 *   smtpTlsReports: number|null }}
 */
export async function countOutputs(dir) {
  const out = { aggregateReports: null, aggregateRecords: null, forensicReports: null, smtpTlsReports: null };
  const aggJson = join(dir, 'aggregate.json');
  const aggCsv = join(dir, 'aggregate.csv');
  if (existsSync(aggJson) && statSync(aggJson).size <= JSON_PARSE_LIMIT) {
    const reports = JSON.parse(readFileSync(aggJson, 'utf8'));
    out.aggregateReports = reports.length;
    out.aggregateRecords = reports.reduce((n, r) => n + (r.records?.length ?? 0), 0);
  } else if (existsSync(aggCsv)) {
    // too big to parse comfortably: one CSV row per record (the generated reports have no multi-line cells)
    out.aggregateRecords = await countCsvRows(aggCsv);
  } else {
    out.aggregateReports = 0;
    out.aggregateRecords = 0;
  }
  // The original's documented name is forensic.json; parsedmarc 10.x calls it failure.json.
  out.forensicReports = jsonLength(join(dir, 'forensic.json')) ?? jsonLength(join(dir, 'failure.json')) ?? 0;
  out.smtpTlsReports = jsonLength(join(dir, 'smtp_tls.json')) ?? 0;
  return out;
}

/** Differences between two output counts (null = not known, not compared). */
export function compareCounts(a, b) {
  const diffs = [];
  for (const k of ['aggregateReports', 'aggregateRecords', 'forensicReports', 'smtpTlsReports']) {
    if (a[k] !== null && b[k] !== null && a[k] !== undefined && b[k] !== undefined && a[k] !== b[k])
      diffs.push(`${k}: ${a[k]} vs ${b[k]}`);
  }
  return diffs;
}
