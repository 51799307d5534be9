/**
 * Deterministic document ids. The original avoids duplicates by searching before each save (a hit skips
 * the report); bulk writes cannot, so each document gets an `_id` derived from the report's identity
 * instead: writing a document again (a retried request, a re-run over the same mailbox, a report received
 * twice) replaces it with itself, and the server answers 200 "updated" where it first said 201 "created".
 *
 * Format: base64url (no padding) of the first 20 bytes of SHA-256 over the canonical JSON of an array of
 * identity fields: 27 characters, URL- and filename-safe, 160 bits (no accidental collision in any real
 * corpus). The array starts with the family and a format version, so the three families never share an id
 * and a later change of identity can be told apart.
 *
 * Identity per family (only what stays the same when the same report is parsed again):
 * - aggregate, per record: org_name, report_id, policy domain (the original's de-duplication key), the
 *   record's UTC interval (the report's date range, or the record's day when a report spanning days is
 *   split into UTC days), its position in the whole report, and its source IP. The position is that of the
 *   record among all the records the parser emits for the report (after the split into days), counted
 *   across parts: the same bytes give the same records in the same order, whatever the container (a report
 *   received once as .xml.gz, once in a zip) and whatever the part size of a huge report. The position is
 *   what tells apart records that are otherwise identical (some reporters repeat rows; each counts). Record
 *   content that enrichment or parser upgrades may change (counts shared out by day, result words, names)
 *   is left out; the source IP is in as a guard, so a wrong position can never make two different rows one.
 * - forensic, per report: the original's de-duplication key (arrival date, sample From, To and Subject)
 *   plus the reported domain, the source IP, the Message-ID and the SHA-256 of the sample with line endings
 *   normalized (CRLF and LF copies of one report are one document; two reports about different messages
 *   with the same subject and addresses in the same second are two).
 * - SMTP TLS, per report: organization name, report id, begin and end dates (in UTC when readable).
 */
import { createHash } from 'node:crypto';

const ID_FORMAT_VERSION = 1;

export type IdentityField = string | number | boolean | null;

export function documentId(family: string, fields: readonly IdentityField[]): string {
  const canonical = JSON.stringify([family, ID_FORMAT_VERSION, ...fields]);
  return createHash('sha256').update(canonical, 'utf8').digest().subarray(0, 20).toString('base64url');
}

/** Hex SHA-256 of a text with CRLF (and lone CR) line endings made LF. */
export function normalizedTextDigest(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n?/g, '\n'), 'utf8').digest('hex');
}
