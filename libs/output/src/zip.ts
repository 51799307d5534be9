/**
 * parsedmarc.get_report_zip: the files of the output folder (JSON, CSV, forensic samples) as one zip, for
 * emailing the results. Built in memory: results emailed are one run's, not a 100k-record archive.
 */
import { zipSync, strToU8 } from 'fflate';
import { filenameSafeString, type ParseResults } from '@parsedmarc-ts/parser';
import { parsedAggregateReportsToCsv, parsedForensicReportsToCsv, parsedSmtpTlsReportsToCsv } from './csv.js';
import { indentedJson } from './json.js';

/** Unique sample file names, "<subject>.eml", then "<subject> (1).eml"... */
export function sampleFileNames(
  subjects: readonly (string | null)[],
  taken: (name: string) => boolean = () => false,
): string[] {
  const used = new Set<string>();
  return subjects.map((subject) => {
    // Sanitized again: a subject is attacker-controlled and must never become a path ("../x").
    const base = filenameSafeString(subject).replace(/^[.\s]+/, '') || 'sample';
    let name = base;
    for (let n = 1; used.has(name) || taken(name); n += 1) name = `${base} (${n})`;
    used.add(name);
    return `${name}.eml`;
  });
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
