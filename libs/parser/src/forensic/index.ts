// Forensic (failure, ruf) report parsing: RFC 6591 / RFC 9991 feedback reports and text-only reports.
import { InvalidForensicReport, ParseError } from '../errors.js';
import { unenrichedSource, type ForensicReport } from '../types.js';
import type { EmailAttachment, ParsedEmail, EmailParseOptions } from '../email/index.js';
import { formatUtcMs, isoformatUtc, parseMailDate } from '../email/date.js';
import { normalizeNewlines } from '../email/headers.js';
import { parseSample } from './parsed-sample.js';

export { parseSample, receivedHops, filenameSafeString } from './parsed-sample.js';

/** MIME types a reporter may give the sample part (RFC 6591 says message/rfc822 or text/rfc822-headers). */
export const forensicSampleContentTypes: readonly string[] = [
  'message/rfc822',
  'message/rfc-822',
  'message/rfc822-headers',
  'message/rfc-822-headers',
  'text/rfc822',
  'text-rfc-822',
  'text/rfc822-headers',
  'text/rfc-822-headers',
];

/** What the plain-text reports of some MTAs (Exim/cPanel) say instead of sending a feedback-report part. */
const textOnlyReportMarker = 'A message claiming to be from you has failed';

// One "Name: value" line of a feedback report (RFC 5965). Continuation lines are not part of any value,
// as with the original.
const feedbackField = /^([\w-]+):[ \t]+(.*\S)[ \t]*$/gm;

function context(options: EmailParseOptions): { source?: string } {
  return options.source === undefined ? {} : { source: options.source };
}

/** Feedback report fields, keys lower-cased with dashes as underscores; a repeated field keeps its last value. */
export function parseFeedbackFields(feedbackReport: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const m of normalizeNewlines(feedbackReport).matchAll(feedbackField)) {
    fields.set((m[1] ?? '').toLowerCase().replace(/-/g, '_'), m[2] ?? '');
  }
  return fields;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

async function buildReport(
  feedbackReport: string,
  sample: string,
  msgDate: Date | null,
  options: EmailParseOptions,
): Promise<ForensicReport> {
  const ctx = context(options);
  const fields = parseFeedbackFields(feedbackReport);
  const field = (name: string): string | null => fields.get(name) ?? null;

  let arrivalDate = field('arrival_date');
  if (arrivalDate === null) {
    if (msgDate === null) {
      throw new InvalidForensicReport(
        'the feedback report has no Arrival-Date and the email has no usable Date',
        ctx,
      );
    }
    arrivalDate = isoformatUtc(msgDate);
  }
  const arrival = parseMailDate(arrivalDate);
  if (arrival === null) throw new InvalidForensicReport(`unparsable Arrival-Date: ${arrivalDate}`, ctx);

  const sourceIp = field('source_ip')?.split(/\s/)[0];
  if (sourceIp === undefined || sourceIp === '') {
    throw new InvalidForensicReport('the feedback report has no Source-IP', ctx);
  }

  const identityAlignment = field('identity_alignment')?.trim();
  const authenticationMechanisms =
    identityAlignment === undefined || identityAlignment.toLowerCase() === 'none'
      ? []
      : splitList(identityAlignment);

  const parsedSample = await parseSample(sample, options);

  return {
    feedback_type: field('feedback_type') ?? 'auth-failure',
    user_agent: field('user_agent'),
    version: field('version'),
    original_mail_from: field('original_mail_from'),
    original_rcpt_to: field('original_rcpt_to'),
    arrival_date: arrivalDate,
    message_id: field('message_id'),
    authentication_results: field('authentication_results'),
    // The original keeps the reporter's word (e.g. "smg-policy-action"); only a missing one becomes "other".
    delivery_result: field('delivery_result') ?? 'other',
    auth_failure: splitList(field('auth_failure') ?? 'dmarc'),
    reported_domain: field('reported_domain') ?? (parsedSample.from?.domain || null),
    arrival_date_utc: formatUtcMs(arrival.utcMs),
    source: unenrichedSource(sourceIp),
    authentication_mechanisms: authenticationMechanisms,
    original_envelope_id: field('original_envelope_id'),
    dkim_domain: field('dkim_domain'),
    sample_headers_only: parsedSample.attachments.length === 0 && parsedSample.body === null,
    sample,
    parsed_sample: parsedSample,
  };
}

/** The original's API: a feedback report (message/feedback-report body) and its sample (headers or whole message). */
export async function parseForensicReport(
  feedbackReport: string,
  sample: string,
  msgDate: Date | null,
  options: EmailParseOptions = {},
): Promise<ForensicReport> {
  try {
    return await buildReport(feedbackReport, normalizeNewlines(sample), msgDate, options);
  } catch (error) {
    if (ParseError.is(error)) throw options.source === undefined ? error : error.withSource(options.source);
    throw new InvalidForensicReport(
      `the forensic report could not be parsed: ${String(error)}`,
      context(options),
      {
        cause: error,
      },
    );
  }
}

const utf8 = new TextDecoder('utf-8');

function feedbackText(part: EmailAttachment): string {
  const text = utf8.decode(part.content);
  // Some reporters base64-encode the report inside a part that claims no transfer encoding.
  if (!/^[\w-]+:/m.test(text) && /^[A-Za-z0-9+/=\s]+$/.test(text)) {
    return Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  return text;
}

/**
 * The sample as text. A message/rfc822 sample is given the way the original prints it (it re-serializes
 * the embedded message): one space after each header field's colon, and a line break after the closing
 * boundary of a multipart message. Line endings are LF.
 */
export function sampleText(part: EmailAttachment): string {
  const text = normalizeNewlines(utf8.decode(part.content));
  if (!part.contentType.startsWith('message/')) return text;
  const end = text.search(/\n\n|^\n/);
  const headEnd = end === -1 ? text.length : end;
  const head = text.slice(0, headEnd).replace(/^([\x21-\x39\x3b-\x7e]+):[ \t]*/gm, '$1: ');
  const result = head + text.slice(headEnd);
  const isMultipart = /^content-type:[ \t]*multipart\//im.test(head);
  return isMultipart && !result.endsWith('\n') ? `${result}\n` : result;
}

function textOnlyReport(text: string, options: EmailParseOptions): { feedback: string; sample: string } {
  const ctx = context(options);
  const detected = text.indexOf('detected.');
  if (detected === -1) {
    throw new InvalidForensicReport(
      'plain-text failure report without the "...detected." line before its sample',
      ctx,
    );
  }
  const fields = new Map<string, string>();
  for (const line of normalizeNewlines(text.slice(0, detected)).split('\n')) {
    const m = /^\s*([a-zA-Z][a-zA-Z ]*):\s(.+)$/.exec(line);
    if (m) fields.set((m[1] ?? '').trim().toLowerCase().replace(/ /g, '-'), (m[2] ?? '').trim());
  }
  const received = fields.get('received-date');
  const ip = fields.get('sender-ip-address');
  if (received === undefined || ip === undefined) {
    throw new InvalidForensicReport(
      'plain-text failure report without "Received date" and "Sender IP Address"',
      ctx,
    );
  }
  return {
    feedback: `Arrival-Date: ${received}\nSource-IP: ${ip}`,
    sample: normalizeNewlines(text.slice(detected + 'detected.'.length)).replace(/^\s+/, ''),
  };
}

/**
 * If this email is a forensic/failure report (an ARF feedback-report part, or a text-only report some MTAs
 * send), returns it; null if the email is not a forensic report. Throws InvalidForensicReport when it is one
 * but cannot be parsed.
 */
export async function forensicReportFromEmail(
  email: ParsedEmail,
  options: EmailParseOptions = {},
): Promise<ForensicReport | null> {
  const parts = email.attachments;
  const feedbackIndex = parts.findIndex((p) => p.contentType === 'message/feedback-report');
  if (feedbackIndex !== -1) {
    const isSample = (p: EmailAttachment): boolean => forensicSampleContentTypes.includes(p.contentType);
    // RFC 6591: the sample is the part after the report; take an earlier one only if there is none after.
    const samplePart = parts.slice(feedbackIndex + 1).find(isSample) ?? parts.find(isSample);
    if (samplePart === undefined) {
      throw new InvalidForensicReport(
        `feedback report email (subject ${JSON.stringify(email.subject)}) has no sample part (message/rfc822 or text/rfc822-headers)`,
        context(options),
      );
    }
    return parseForensicReport(
      feedbackText(parts[feedbackIndex] as EmailAttachment),
      sampleText(samplePart),
      email.date,
      options,
    );
  }
  if (email.text !== null && email.text.includes(textOnlyReportMarker)) {
    const { feedback, sample } = textOnlyReport(email.text, options);
    return parseForensicReport(feedback, sample, email.date, options);
  }
  return null;
}
