/**
 * parsedmarc.get_report_zip: the files of the output folder (JSON, CSV, forensic samples) as one zip, for
 * emailing the results. Built in memory: results emailed are one run's, not a 100k-record archive.
 */
import { zipSync, strToU8 } from 'fflate';
import { filenameSafeString, type ParseResults } from '@parsedmarc-ts/parser';
import { parsedAggregateReportsToCsv, parsedForensicReportsToCsv, parsedSmtpTlsReportsToCsv } from './csv.js';
import { indentedJson } from './json.js';

/**
 * Control characters (C0, DEL, C1) and the bidirectional overrides that make a name display as another:
 * never in a file name.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_IN_NAMES = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** File names are at most 255 bytes; this leaves room for " (123456).eml". */
const maxBaseBytes = 200;
const utf8 = new TextEncoder();

/** The file name base for a subject: attacker-controlled, so never a path, a control character or too long. */
function sampleBase(subject: string | null): string {
  // Sanitized again: a subject must never become a path ("../x").
  let base = filenameSafeString(subject)
    .replace(UNSAFE_IN_NAMES, '')
    .replace(/^[.\s]+/, '');
  if (utf8.encode(base).length > maxBaseBytes) {
    const chars = Array.from(base);
    while (utf8.encode(chars.join('')).length > maxBaseBytes) chars.pop();
    base = chars.join('');
  }
  return base || 'sample';
}

/**
 * Unique sample file names, "<subject>.eml", then "<subject> (1).eml"...: each subject's next number is
 * remembered, so naming n samples of one subject probes about n names, not n squared.
 */
export class SampleNamer {
  private readonly next = new Map<string, number>();
  /** Every name given, so a subject that reads "X (1)" cannot meet the second sample of "X". */
  private readonly given = new Set<string>();

  /** @param taken whether a name (without ".eml") is already used elsewhere (a file from an earlier run) */
  constructor(private readonly taken: (name: string) => boolean = () => false) {}

  name(subject: string | null): string {
    const base = sampleBase(subject);
    let n = this.next.get(base) ?? 0;
    let name = n === 0 ? base : `${base} (${n})`;
    while (this.given.has(name) || this.taken(name)) {
      n += 1;
      name = `${base} (${n})`;
    }
    this.next.set(base, n + 1);
    this.given.add(name);
    return `${name}.eml`;
  }
}

/** Unique sample file names for the subjects, in order. */
export function sampleFileNames(
  subjects: readonly (string | null)[],
  taken: (name: string) => boolean = () => false,
): string[] {
  const namer = new SampleNamer(taken);
  return subjects.map((subject) => namer.name(subject));
}

export function getReportZip(results: ParseResults): Uint8Array {
  const files: Record<string, Uint8Array> = {
    'aggregate.json': strToU8(indentedJson(results.aggregate_reports)),
    'aggregate.csv': strToU8(parsedAggregateReportsToCsv(results.aggregate_reports)),
    'forensic.json': strToU8(indentedJson(results.forensic_reports)),
    'forensic.csv': strToU8(parsedForensicReportsToCsv(results.forensic_reports)),
    'smtp_tls.json': strToU8(indentedJson(results.smtp_tls_reports)),
    'smtp_tls.csv': strToU8(parsedSmtpTlsReportsToCsv(results.smtp_tls_reports)),
  };
  const names = sampleFileNames(
    results.forensic_reports.map((r) => r.parsed_sample.filename_safe_subject ?? r.parsed_sample.subject),
  );
  results.forensic_reports.forEach((report, i) => {
    files[`samples/${names[i]}`] = strToU8(report.sample);
  });
  return zipSync(files, { level: 6 });
}
