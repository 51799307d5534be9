// Forensic (failure, ruf) report parsing: RFC 6591 / RFC 9991 feedback reports and text-only reports.
import type { ForensicReport } from '../types.js';
import type { ParsedEmail, EmailParseOptions } from '../email/index.js';

/** Seed API: a feedback report (message/feedback-report body) and its sample (headers or whole message). */
export async function parseForensicReport(
  _feedbackReport: string,
  _sample: string,
  _msgDate: Date | null,
  _options: EmailParseOptions = {},
): Promise<ForensicReport> {
  throw new Error('not implemented yet');
}

/**
 * If this email is a forensic/failure report (an ARF feedback-report part, or a text-only report some MTAs
 * send), returns it; null if the email is not a forensic report. Throws InvalidForensicReport when it is one
 * but cannot be parsed.
 */
export async function forensicReportFromEmail(_email: ParsedEmail, _options: EmailParseOptions = {}): Promise<ForensicReport | null> {
  throw new Error('not implemented yet');
}
