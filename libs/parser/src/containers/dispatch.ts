// The recursive walk: detect what a byte stream is, open containers, hand reports to their parsers, and turn
// every failure into an outcome naming its source.
import { looksLikeAggregateXml } from '../aggregate/index.js';
import { parseEmail, type ParsedEmail } from '../email/index.js';
import { ParseError, limitExceeded, type ParseErrorCode } from '../errors.js';
import { forensicReportFromEmail } from '../forensic/index.js';
import type { ParseLimits } from '../limits.js';
import { looksLikeSmtpTlsJson, parseSmtpTlsReportJson } from '../smtp-tls/index.js';
import { aggregateReportParts } from './aggregate-parts.js';
import {
  InputStreamError,
  collectStream,
  peekStream,
  streamOfBytes,
  type ByteStream,
  type PeekedStream,
} from './bytes.js';
import { detectFormat } from './detect.js';
import { checkRenderedSize } from './rendered-size.js';
import { gunzip } from './gzip.js';
import type { ParseOutcome } from './index.js';
import { splitMbox } from './mbox.js';
import { decodeUtf8Lenient } from './text.js';
import { isJunkEntry, readZipDirectory, zipMemberStream } from './zip.js';

/** Bytes read before deciding what an input is: enough for the report parsers' sniffing of the text. */
export const sniffBytes = 8 * 1024;

export interface WalkContext {
  source: string;
  /** Container layers entered so far (0 for the input itself). */
  depth: number;
  /**
   * 'input': this must be a report or hold one; anything else is an error outcome.
   * 'member': a zip member or email attachment; content that is no report is skipped without an outcome
   * (an archive may hold a README, an email a logo). Failures of recognized reports are still outcomes.
   */
  role: 'input' | 'member';
  limits: ParseLimits;
  partRecords: number;
  convertOutlookMsg: ((msg: Uint8Array) => Promise<Uint8Array>) | undefined;
}

export const unrecognizedFormatMessage =
  'Not a recognized report format (not a DMARC aggregate XML report, an SMTP TLS JSON report, or a DMARC report email)';

/**
 * The outcome for an exception: ParseErrors keep their code (and gain the source), anything else (a bug or
 * an unexpected failure in a parser) becomes `fallback` with the original as its cause. A failure of the
 * caller's input stream is an I/O error, not bad input: it is rethrown.
 */
export function failure(error: unknown, source: string, fallback: ParseErrorCode): ParseOutcome {
  if (error instanceof InputStreamError) throw error;
  const parseError = ParseError.is(error)
    ? error.withSource(source)
    : new ParseError(
        fallback,
        error instanceof Error ? error.message : String(error),
        { source },
        { cause: error },
      );
  return { ok: false, source, error: parseError };
}

function fail(
  code: ParseErrorCode,
  message: string,
  source: string,
  context: Record<string, unknown> = {},
): ParseOutcome {
  return { ok: false, source, error: new ParseError(code, message, { ...context, source }) };
}

/** Context for the contents of a container; throws LIMIT_EXCEEDED (maxNestingDepth) if one layer too many. */
function enter(ctx: WalkContext, source: string, role: WalkContext['role']): WalkContext {
  const depth = ctx.depth + 1;
  if (depth > ctx.limits.maxNestingDepth) {
    throw limitExceeded('maxNestingDepth', ctx.limits.maxNestingDepth, 'container nesting depth', {
      source: ctx.source,
    });
  }
  return { ...ctx, source, depth, role };
}

/** Yields every outcome of one byte stream; never throws but for InputStreamError. */
/** The byte order of text that starts with a UTF-16 byte order mark, else null. */
function utf16ByteOrder(head: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return null;
}

/** UTF-16 text as UTF-8, chunk by chunk (the mark dropped; malformed units become U+FFFD). */
async function* utf16ToUtf8(stream: ByteStream, encoding: 'utf-16le' | 'utf-16be'): ByteStream {
  const decoder = new TextDecoder(encoding);
  const encoder = new TextEncoder();
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    if (text !== '') yield encoder.encode(text);
  }
  const rest = decoder.decode();
  if (rest !== '') yield encoder.encode(rest);
}

export async function* walk(stream: ByteStream, ctx: WalkContext): AsyncGenerator<ParseOutcome> {
  let peeked: PeekedStream;
  try {
    peeked = await peekStream(stream, sniffBytes);
  } catch (error) {
    yield failure(error, ctx.source, 'INVALID_ARCHIVE');
    return;
  }
  const utf16 = utf16ByteOrder(peeked.head);
  if (utf16 !== null) {
    // UTF-16 with a byte order mark (some Windows reporters): transparent, like gzip.
    yield* walk(utf16ToUtf8(peeked.stream, utf16), ctx);
    return;
  }
  const format = detectFormat(peeked.head);
  try {
    switch (format) {
      case 'empty':
      case 'unknown':
        await peeked.close();
        if (ctx.role === 'input') {
          // The original's words for input it cannot place, whatever the reason.
          yield fail(
            format === 'empty' ? 'EMPTY_INPUT' : 'UNRECOGNIZED_FORMAT',
            unrecognizedFormatMessage,
            ctx.source,
          );
        }
        return;
      case 'gzip': {
        // gzip is transparent: its content stands for the input itself (same source, same role).
        const inner = enter(ctx, ctx.source, ctx.role);
        yield* walk(gunzip(peeked.stream, ctx.limits, ctx.source), inner);
        return;
      }
      case 'zip':
        yield* walkZip(peeked, ctx);
        return;
      case 'outlook-msg':
        yield* walkOutlookMsg(peeked, ctx);
        return;
      case 'mbox':
        yield* walkMbox(peeked, ctx);
        return;
      case 'email': {
        // Handed on without a name here, so that walkEmail can let the message go once it is parsed.
        yield* walkEmail(
          await collectStream(
            peeked.stream,
            'maxInputBytes',
            ctx.limits.maxInputBytes,
            'email size',
            ctx.source,
          ),
          ctx,
        );
        return;
      }
      case 'xml':
        yield* walkXml(peeked, ctx);
        return;
      case 'json':
        yield* walkJson(peeked, ctx);
        return;
    }
  } catch (error) {
    await peeked.close();
    yield failure(error, ctx.source, 'INVALID_ARCHIVE');
  }
}

async function* walkZip(peeked: PeekedStream, ctx: WalkContext): AsyncGenerator<ParseOutcome> {
  const bytes = await collectStream(
    peeked.stream,
    'maxInputBytes',
    ctx.limits.maxInputBytes,
    'zip archive size',
    ctx.source,
  );
  const entries = readZipDirectory(bytes, ctx.limits, ctx.source);
  let outcomes = 0;
  for (const entry of entries) {
    if (isJunkEntry(entry.name)) continue;
    const member = enter(ctx, `${ctx.source}!${entry.name}`, 'member');
    for await (const outcome of walk(zipMemberStream(bytes, entry, ctx.limits, member.source), member)) {
      outcomes++;
      yield outcome;
    }
  }
  if (outcomes === 0 && ctx.role === 'input') {
    yield fail(
      'UNRECOGNIZED_FORMAT',
      `${unrecognizedFormatMessage}: the zip archive holds no report`,
      ctx.source,
    );
  }
}

async function* walkOutlookMsg(peeked: PeekedStream, ctx: WalkContext): AsyncGenerator<ParseOutcome> {
  if (ctx.convertOutlookMsg === undefined) {
    await peeked.close();
    yield fail(
      'MISSING_TOOL',
      'Outlook .msg input needs msgconvert (the Perl Email::Outlook::Message tool) to convert it to RFC 822',
      ctx.source,
      {
        tool: 'msgconvert',
      },
    );
    return;
  }
  const msg = await collectStream(
    peeked.stream,
    'maxInputBytes',
    ctx.limits.maxInputBytes,
    'Outlook .msg size',
    ctx.source,
  );
  let email: Uint8Array;
  try {
    email = await ctx.convertOutlookMsg(msg);
  } catch (error) {
    yield failure(error, ctx.source, 'INVALID_EMAIL');
    return;
  }
  yield* walkEmail(email, ctx);
}

async function* walkMbox(peeked: PeekedStream, ctx: WalkContext): AsyncGenerator<ParseOutcome> {
  let messages = 0;
  let outcomes = 0;
  try {
    for await (const message of splitMbox(peeked.stream, ctx.limits, ctx.source)) {
      messages++;
      // Like a zip's members: a message that is no report (ordinary mail) is skipped without a word, as the
      // original skips it; a report that is broken is still an outcome of its own.
      const inner = enter(ctx, `${ctx.source}#${message.number}`, 'member');
      for await (const outcome of walkEmail(message.bytes, inner)) {
        outcomes++;
        yield outcome;
      }
    }
  } catch (error) {
    yield failure(error, ctx.source, 'INVALID_EMAIL');
    return;
  }
  if (outcomes === 0 && ctx.role === 'input') {
    const what =
      messages === 0 ? 'no message' : `no report in its ${messages} message${messages === 1 ? '' : 's'}`;
    yield fail('UNRECOGNIZED_FORMAT', `${unrecognizedFormatMessage}: the mbox holds ${what}`, ctx.source);
  }
}

const EMPTY_BYTES = new Uint8Array(0);

/** One email: its forensic report if it is one, else every report among its attachments. */
async function* walkEmail(bytes: Uint8Array, ctx: WalkContext): AsyncGenerator<ParseOutcome> {
  let email: ParsedEmail;
  try {
    email = await parseEmail(bytes, { limits: ctx.limits, source: ctx.source });
  } catch (error) {
    // An attachment that merely looked like headers is not a report: skip it quietly.
    if (ctx.role === 'input') yield failure(error, ctx.source, 'INVALID_EMAIL');
    return;
  }
  try {
    const forensic = await forensicReportFromEmail(email, { limits: ctx.limits, source: ctx.source });
    if (forensic !== null) {
      checkRenderedSize(forensic, ctx.limits, ctx.source);
      // The rest of a failure report email is the failed message, not reports of its own.
      yield {
        ok: true,
        source: ctx.source,
        parsed: { report_type: 'forensic', report: forensic, email: bytes },
      };
      return;
    }
  } catch (error) {
    yield failure(error, ctx.source, 'INVALID_FORENSIC_REPORT');
    return;
  }
  // Not a failure report: the raw message is no longer needed while its attachments are read (a big
  // report's email is megabytes).
  bytes = EMPTY_BYTES;
  let outcomes = 0;
  for (const [index, attachment] of email.attachments.entries()) {
    const name = attachment.filename === null ? '' : `:${attachment.filename}`;
    const source = `${ctx.source}!attachment[${index}]${name}`;
    let inner: WalkContext;
    try {
      inner = enter(ctx, source, 'member');
    } catch (error) {
      outcomes++;
      yield failure(error, ctx.source, 'LIMIT_EXCEEDED');
      break;
    }
    for await (const outcome of walk(streamOfBytes(attachment.content), inner)) {
      outcomes++;
      yield outcome;
    }
  }
  if (outcomes === 0 && ctx.role === 'input') {
    const subject = email.subject === null ? '' : ` with subject "${email.subject}"`;
    yield fail(
      'UNRECOGNIZED_FORMAT',
      `Message${subject} is not a valid report (no DMARC or SMTP TLS report found)`,
      ctx.source,
      {
        subject: email.subject,
      },
    );
  }
}

async function* walkXml(peeked: PeekedStream, ctx: WalkContext): AsyncGenerator<ParseOutcome> {
  if (ctx.role === 'member' && !looksLikeAggregateXml(decodeUtf8Lenient(peeked.head))) {
    await peeked.close();
    return;
  }
  const options = { limits: ctx.limits, source: ctx.source };
  try {
    for await (const piece of aggregateReportParts(peeked.stream, ctx.partRecords, options)) {
      const parsed = { report_type: 'aggregate' as const, report: piece.report };
      yield piece.part === undefined
        ? { ok: true, source: ctx.source, parsed }
        : { ok: true, source: ctx.source, parsed, part: piece.part };
    }
  } catch (error) {
    yield failure(error, ctx.source, 'INVALID_AGGREGATE_REPORT');
  }
}

async function* walkJson(peeked: PeekedStream, ctx: WalkContext): AsyncGenerator<ParseOutcome> {
  if (ctx.role === 'member' && !looksLikeSmtpTlsJson(decodeUtf8Lenient(peeked.head))) {
    await peeked.close();
    return;
  }
  try {
    const bytes = await collectStream(
      peeked.stream,
      'maxInputBytes',
      ctx.limits.maxInputBytes,
      'JSON report size',
      ctx.source,
    );
    const report = parseSmtpTlsReportJson(decodeUtf8Lenient(bytes), { source: ctx.source });
    checkRenderedSize(report, ctx.limits, ctx.source);
    yield { ok: true, source: ctx.source, parsed: { report_type: 'smtp_tls', report } };
  } catch (error) {
    yield failure(error, ctx.source, 'INVALID_SMTP_TLS_REPORT');
  }
}
