// SMTP TLS reports (RFC 8460).
import type { SmtpTlsReport } from '../types.js';

/** Parses an RFC 8460 JSON report (text or bytes). Throws InvalidSmtpTlsReport. */
export function parseSmtpTlsReportJson(_json: string | Uint8Array, _options: { source?: string } = {}): SmtpTlsReport {
  throw new Error('not implemented yet');
}

/** Cheap sniff on decoded text: is this an RFC 8460 JSON report? */
export function looksLikeSmtpTlsJson(_head: string): boolean {
  throw new Error('not implemented yet');
}
