/**
 * The streaming aggregate report parser: a SAX pass (xml-scanner.ts: a fast scanner, saxes behind it) that
 * keeps only the element stack, the header fields and the one record being read, so memory stays flat
 * whatever the number of records.
 *
 * saxes is strict (it reports every well-formedness error) but, given an error handler, goes on after one;
 * its recovery (an unexpected close tag closes the elements left open, a broken tag is read as far as it
 * makes sense) keeps the data of the usual broken reports, the way the original's recovering lxml pass
 * does. Each such error is recorded in report_metadata.errors as "Invalid XML: ...".
 */
import { TextDecoder } from 'node:util';

import { InvalidAggregateReport, ParseError, limitExceeded } from '../errors.js';
import { resolveLimits, type ParseLimits } from '../limits.js';
import type { AggregateRecord, AggregateReportHeader } from '../types.js';
import {
  ReportDataError,
  buildHeader,
  emitRecord,
  orgNameBaseDomain,
  type ReportTimespan,
} from './normalize.js';
import {
  newRawAuthResult,
  newRawPolicyPublished,
  newRawRecord,
  newRawReportMetadata,
  type RawAuthResult,
  type RawPolicyPublished,
  type RawReason,
  type RawRecord,
  type RawReportMetadata,
  type RawText,
} from './raw.js';
import * as S from './schema.js';
import { XmlScanner } from './xml-scanner.js';

export interface AggregateParseOptions {
  limits?: Partial<ParseLimits>;
  /** Names the input in errors. */
  source?: string;
  /**
   * Reduces an organisation name that looks like a host name to its registrable domain (the original does
   * this with the public suffix list). Defaults to the bundled list; enrichment may pass its own.
   */
  orgNameBaseDomain?: (name: string) => string | null;
}

/**
 * Push parser for bounded memory: feed text chunks, receive the header once (before the first record) and
 * each normalized record (already split into UTC days when the report spans more than 24 hours).
 */
export interface AggregateStreamHandlers {
  onHeader(header: AggregateReportHeader): void;
  onRecord(record: AggregateRecord): void;
  /**
   * Optional: a problem found after the header was delivered (an XML error further down the document, a
   * record that had to be skipped). parseAggregateReportXml appends these to report_metadata.errors.
   */
  onProblem?(message: string): void;
}

/** Past this many recorded problems the rest are only counted: garbage input must not grow memory. */
const MAX_PROBLEMS = 100;
/** Slots of the table of shared values (a power of two). */
const INTERNED_SLOTS = 1024;
/** Only short values repeat ("pass", a domain); a long one kept in the table would live as long as the parser. */
const MAX_INTERNED_LENGTH = 256;

export class AggregateReportStreamParser {
  readonly #handlers: AggregateStreamHandlers;
  readonly #limits: ParseLimits;
  readonly #source: string | undefined;
  readonly #baseDomain: (name: string) => string | null;
  readonly #xml: XmlScanner;

  /** Set once a fatal error was thrown; every later call throws it again. */
  #failure: unknown = undefined;
  #ended = false;
  #atStart = true;

  // Screening of the raw text, before saxes buffers it.
  #tail = '';
  #runWithoutMarkup = 0;
  #inTag = false;
  #decoder: TextDecoder | undefined;
  #reportedBadUtf8 = false;

  // Element stack: the context of each open element, and (outside <feedback>) its attributes, for
  // resolving the namespace <feedback> is in.
  readonly #contexts: number[] = [];
  readonly #outsideAttributes: Readonly<Record<string, string>>[] = [];
  #feedbackState: 'before' | 'inside' | 'after' = 'before';
  #prefix = '';
  #namespace: string | null = null;

  // Text of the open text element (only one can be open: their children are ignored).
  #textDepth = -1;
  #lastTagPosition = 0;
  #text = '';

  // What has been read so far.
  #version: RawText = undefined;
  #metadata: RawReportMetadata | undefined;
  #policy: RawPolicyPublished | undefined;
  #record: RawRecord | undefined;
  #recordHasRow = false;
  #recordHasPolicyEvaluated = false;
  #recordHasIdentifiers = false;
  #reason: RawReason | undefined;
  #auth: RawAuthResult | undefined;

  #header: AggregateReportHeader | undefined;
  #timespan: ReportTimespan | undefined;
  readonly #problems: string[] = [];
  #problemsDropped = 0;
  #problemsInHeader = 0;

  #recordsRead = 0;
  #recordsSkipped = 0;
  #recordsEmitted = 0;
  #lastSkipReason = '';
  #xmlErrors = 0;
  readonly #interned: string[] = new Array<string>(INTERNED_SLOTS).fill('');

  constructor(handlers: AggregateStreamHandlers, options: AggregateParseOptions = {}) {
    this.#handlers = handlers;
    this.#limits = resolveLimits(options.limits);
    this.#source = options.source;
    this.#baseDomain = options.orgNameBaseDomain ?? orgNameBaseDomain;
    // Text is wanted only inside the elements whose text we read: the whitespace and ignored text between
    // elements are skipped without building strings for them.
    this.#xml = new XmlScanner({
      open: (name, attributes) => this.#open(name, attributes),
      close: () => this.#close(),
      text: (text) => this.#onText(text),
      error: (message) => this.#xmlError(message),
      saxesInput: (text) => this.#screenDeclarations(text),
      doctype: () => {
        throw this.#forbidden('<!DOCTYPE');
      },
    });
  }

  /** Feed the next chunk of XML text. Throws ParseError. */
  write(chunk: string): void {
    this.#guard();
    try {
      this.#feed(chunk);
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /**
   * Feed the next chunk of raw bytes (UTF-8, like every aggregate report seen; the XML declaration's
   * encoding is not consulted, as by the original). Byte sequences that are not UTF-8 are dropped, the
   * way the original decodes with errors="ignore", and the problem is recorded once.
   */
  writeBytes(chunk: Uint8Array): void {
    this.#guard();
    try {
      this.#decoder ??= new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });
      this.#feed(this.#dropInvalidUtf8(this.#decoder.decode(chunk, { stream: true })));
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /** Signal end of input; throws ParseError if no report could be recovered. */
  end(): void {
    this.#guard();
    this.#ended = true;
    try {
      if (this.#decoder !== undefined) this.#feed(this.#dropInvalidUtf8(this.#decoder.decode()));
      this.#xml.close();
      if (this.#record !== undefined) {
        // The document ended inside a record: what it holds is partial (counts without their auth results),
        // so it is dropped rather than reported as if whole.
        this.#record = undefined;
        this.#recordsSkipped++;
        this.#lastSkipReason = 'the document ends inside it';
        this.#problem(`Record ${this.#recordsRead} dropped: the document ends inside it`);
      }
      if (this.#xmlErrors > 1)
        this.#problem(`Invalid XML: ${this.#xmlErrors - 1} more errors after the first`);
      if (this.#feedbackState === 'before') {
        throw this.#invalid('not a DMARC aggregate report: no <feedback> element');
      }
      if (this.#header === undefined) {
        // No record: a missing header field, if any, says more about what is wrong.
        this.#buildHeader();
        throw this.#invalid('Missing field: record (the report has no <record>)');
      }
      if (this.#recordsRead > 0 && this.#recordsRead === this.#recordsSkipped) {
        throw this.#invalid(`no usable record (${this.#lastSkipReason})`);
      }
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /** Every problem recorded so far (XML errors, skipped records), in order. */
  get problems(): readonly string[] {
    return this.#problemsDropped === 0
      ? this.#problems
      : [...this.#problems, `... and ${this.#problemsDropped} more problems`];
  }

  /** How many of `problems` were already in the header's report_metadata.errors. */
  get problemsInHeader(): number {
    return this.#problemsInHeader;
  }

  /** Characters of XML read so far (the size of what was parsed, for bounding parts by it). */
  get charactersRead(): number {
    return this.#xml.position;
  }

  get recordsEmitted(): number {
    return this.#recordsEmitted;
  }

  // ---------------------------------------------------------------------------------------------------
  // Input screening

  /** The decoder marks each byte sequence that is not UTF-8 with U+FFFD. */
  #dropInvalidUtf8(text: string): string {
    if (!text.includes('\uFFFD')) return text;
    if (!this.#reportedBadUtf8) {
      this.#reportedBadUtf8 = true;
      this.#problem('Invalid UTF-8: byte sequences that are not UTF-8 were dropped');
    }
    return text.replaceAll('\uFFFD', '');
  }

  #feed(text: string): void {
    if (this.#atStart) {
      // A byte order mark and blank lines before the XML declaration are common and harmless.
      text = text.replace(/^[\uFEFF\s]+/, '');
      if (text.length === 0) return;
      this.#atStart = false;
    }
    if (text.length === 0) return;
    this.#screen(text);
    this.#xml.write(text);
  }

  /** Refuses DTDs and entity declarations before saxes sees (and buffers) them. */
  #screenDeclarations(chunk: string): void {
    const boundary = this.#tail + chunk.slice(0, 16);
    for (let i = boundary.indexOf('<!'); i >= 0 && i < this.#tail.length; i = boundary.indexOf('<!', i + 1)) {
      this.#checkDeclaration(boundary, i);
    }
    for (let i = chunk.indexOf('<!'); i >= 0; i = chunk.indexOf('<!', i + 1)) {
      this.#checkDeclaration(chunk, i);
    }
    this.#tail = chunk.length >= 8 ? chunk.slice(-8) : (this.#tail + chunk).slice(-8);
  }

  /**
   * Bounds what the tokenizer would accumulate across chunks: a text or markup run without '<' longer
   * than maxXmlTextBytes is a huge text node (measured in UTF-16 code units, at most the UTF-8 byte count).
   */
  #screen(chunk: string): void {
    const lastMarkup = chunk.lastIndexOf('<');
    const lastTagEnd = chunk.lastIndexOf('>');
    // Inside a tag when its '<' came last: what runs on is its attributes, not text.
    if (lastMarkup > lastTagEnd) this.#inTag = true;
    else if (lastTagEnd >= 0) this.#inTag = false;
    this.#runWithoutMarkup =
      lastMarkup < 0 ? this.#runWithoutMarkup + chunk.length : chunk.length - lastMarkup - 1;
    if (this.#runWithoutMarkup > this.#limits.maxXmlTextBytes) {
      throw this.#limit(
        'maxXmlTextBytes',
        this.#limits.maxXmlTextBytes,
        this.#inTag ? 'A tag (its attributes)' : 'A text node',
      );
    }
  }

  #checkDeclaration(text: string, at: number): void {
    const word = text.slice(at + 2, at + 9).toUpperCase();
    if (word.startsWith('DOCTYPE')) throw this.#forbidden('<!DOCTYPE');
    if (word.startsWith('ENTITY')) throw this.#forbidden('<!ENTITY');
  }

  // ---------------------------------------------------------------------------------------------------
  // SAX events

  #open(name: string, attributes: Readonly<Record<string, string>>): void {
    const contexts = this.#contexts;
    if (contexts.length >= this.#limits.maxXmlDepth) {
      throw this.#limit('maxXmlDepth', this.#limits.maxXmlDepth, 'Element nesting depth');
    }
    this.#checkGapSinceLastTag();
    const parent = contexts.length === 0 ? S.OUTSIDE : (contexts[contexts.length - 1] as number);
    let context: number = S.IGNORED;

    if (parent === S.OUTSIDE) {
      if (this.#feedbackState === 'before') {
        if (localName(name) === 'feedback') {
          context = S.FEEDBACK;
          this.#enterFeedback(name, attributes);
        } else {
          context = S.OUTSIDE;
          this.#outsideAttributes.push(attributes);
        }
      }
    } else if (parent !== S.IGNORED && !S.isTextElement[parent]) {
      const prefix = this.#prefix;
      // Elements in another namespace than <feedback>'s are extensions: ignored. (Unprefixed, a prefixed
      // name is simply not among the known names.)
      const local =
        prefix === ''
          ? name
          : name.startsWith(prefix) && name.charCodeAt(prefix.length) === 58
            ? name.slice(prefix.length + 1)
            : undefined;
      if (local !== undefined) {
        context = S.children[parent]?.get(local) ?? S.IGNORED;
        if (context !== S.IGNORED) context = this.#enter(context);
      }
    }

    contexts.push(context);
    if (S.isTextElement[context]) {
      this.#textDepth = contexts.length;
      this.#text = '';
      this.#xml.wantText = true;
    }
  }

  /** Starts an element we read; returns its context, or IGNORED for a repeat of a one-only element. */
  #enter(context: number): number {
    switch (context) {
      case S.METADATA:
        if (this.#metadata !== undefined) return S.IGNORED;
        this.#metadata = newRawReportMetadata();
        return context;
      case S.POLICY:
        // Some reporters repeat <policy_published>; the first one counts, as for the original.
        if (this.#policy !== undefined) return S.IGNORED;
        this.#policy = newRawPolicyPublished();
        return context;
      case S.RECORD:
        this.#startRecord();
        return context;
      case S.ROW:
        if (this.#record === undefined || this.#recordHasRow) return S.IGNORED;
        this.#recordHasRow = true;
        return context;
      case S.POLICY_EVALUATED:
        if (this.#recordHasPolicyEvaluated) return S.IGNORED;
        this.#recordHasPolicyEvaluated = true;
        return context;
      case S.IDENTIFIERS:
        if (this.#record === undefined || this.#recordHasIdentifiers) return S.IGNORED;
        this.#recordHasIdentifiers = true;
        return context;
      case S.REASON:
        this.#reason = { type: undefined, comment: undefined };
        this.#record?.reasons.push(this.#reason);
        return context;
      case S.AUTH_DKIM:
        this.#auth = newRawAuthResult();
        this.#record?.dkimResults.push(this.#auth);
        return context;
      case S.AUTH_SPF:
        this.#auth = newRawAuthResult();
        this.#record?.spfResults.push(this.#auth);
        return context;
      default:
        return context;
    }
  }

  #close(): void {
    this.#checkGapSinceLastTag();
    const contexts = this.#contexts;
    const depth = contexts.length;
    const context = contexts.pop();
    if (context === undefined || context === S.IGNORED) return;
    if (depth === this.#textDepth) {
      this.#textDepth = -1;
      this.#xml.wantText = false;
      const trimmed = this.#text.trim();
      this.#text = '';
      this.#setText(
        context,
        trimmed === '' ? null : context === S.SOURCE_IP ? trimmed : this.#intern(trimmed),
      );
      return;
    }
    switch (context) {
      case S.OUTSIDE:
        this.#outsideAttributes.pop();
        break;
      case S.FEEDBACK:
        this.#feedbackState = 'after';
        break;
      case S.RECORD:
        this.#finishRecord();
        break;
    }
  }

  /**
   * Text and markup between two tags longer than maxXmlTextBytes: a huge text node, even in an element we
   * do not read (saxes skips those without buffering, but such input is an attack, not a report).
   */
  #checkGapSinceLastTag(): void {
    const position = this.#xml.position;
    if (position - this.#lastTagPosition > this.#limits.maxXmlTextBytes) {
      throw this.#limit('maxXmlTextBytes', this.#limits.maxXmlTextBytes, 'A text node');
    }
    this.#lastTagPosition = position;
  }

  #onText(text: string): void {
    if (text.length > this.#limits.maxXmlTextBytes) {
      throw this.#limit('maxXmlTextBytes', this.#limits.maxXmlTextBytes, 'A text node');
    }
    if (this.#contexts.length === this.#textDepth) {
      this.#text += text;
      if (this.#text.length > this.#limits.maxXmlTextBytes) {
        throw this.#limit('maxXmlTextBytes', this.#limits.maxXmlTextBytes, 'The text of an element');
      }
    }
  }

  /**
   * Reports repeat the same few words and domains in every record ("pass", "example.com"...): sharing one
   * string per value keeps a parsed report's memory and the garbage collector's work down.
   */
  #intern(value: string): string {
    const length = value.length;
    if (length === 0 || length > MAX_INTERNED_LENGTH) return value;
    // A slot per length and first and last character: a value that repeats finds its first copy there
    // (string equality, no hashing); a new one takes the slot.
    const slot =
      (length * 31 + value.charCodeAt(0) * 7 + value.charCodeAt(length - 1)) & (INTERNED_SLOTS - 1);
    const known = this.#interned[slot]!;
    if (known === value) return known;
    this.#interned[slot] = value;
    return value;
  }

  /** Stores a text element's value; the first occurrence of each counts. */
  #setText(context: number, value: string | null): void {
    const target = S.textFields[context];
    if (target === undefined) {
      if (context === S.VERSION && this.#version === undefined) this.#version = value;
      const m = this.#metadata;
      if (context === S.ERROR && m && value !== null && m.errors.length < MAX_PROBLEMS) m.errors.push(value);
      return;
    }
    const holder = this.#holder(target[0]) as Record<string, string | null | undefined> | undefined;
    if (holder !== undefined && holder[target[1]] === undefined) holder[target[1]] = value;
  }

  #holder(holder: S.TextHolder): object | undefined {
    switch (holder) {
      case 'metadata':
        return this.#metadata;
      case 'policy':
        return this.#policy;
      case 'record':
        return this.#record;
      case 'reason':
        return this.#reason;
      case 'auth':
        return this.#auth;
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Report structure

  #enterFeedback(name: string, attributes: Readonly<Record<string, string>>): void {
    this.#feedbackState = 'inside';
    const colon = name.indexOf(':');
    this.#prefix = colon < 0 ? '' : name.slice(0, colon);
    const declaration = this.#prefix === '' ? 'xmlns' : `xmlns:${this.#prefix}`;
    // The namespace may be declared on <feedback> or on a wrapper around it.
    let namespace = attributes[declaration];
    for (let i = this.#outsideAttributes.length - 1; namespace === undefined && i >= 0; i--) {
      namespace = this.#outsideAttributes[i]?.[declaration];
    }
    this.#namespace = namespace === undefined || namespace === '' ? null : namespace;
    this.#outsideAttributes.length = 0;
  }

  #startRecord(): void {
    if (this.#header === undefined) this.#emitHeader();
    this.#recordsRead++;
    if (this.#recordsRead > this.#limits.maxRecords) {
      throw this.#limit('maxRecords', this.#limits.maxRecords, 'The number of records');
    }
    this.#record = newRawRecord();
    this.#recordHasRow = false;
    this.#recordHasPolicyEvaluated = false;
    this.#recordHasIdentifiers = false;
    this.#reason = undefined;
    this.#auth = undefined;
  }

  #finishRecord(): void {
    const raw = this.#record;
    const timespan = this.#timespan;
    this.#record = undefined;
    this.#reason = undefined;
    this.#auth = undefined;
    if (raw === undefined || timespan === undefined) return;
    try {
      emitRecord(raw, timespan, (record) => {
        this.#recordsEmitted++;
        if (this.#recordsEmitted > this.#limits.maxRecords) {
          throw this.#limit('maxRecords', this.#limits.maxRecords, 'The number of records (split into days)');
        }
        this.#handlers.onRecord(record);
      });
    } catch (error) {
      if (!(error instanceof ReportDataError)) throw error;
      // Like the original, one bad record does not sink the report; end() refuses a report of only bad ones.
      this.#recordsSkipped++;
      this.#lastSkipReason = error.message;
      this.#problem(`Record ${this.#recordsRead} skipped: ${error.message}`);
    }
  }

  #emitHeader(): void {
    const header = this.#buildHeader();
    this.#header = header;
    this.#problemsInHeader = this.#problems.length;
    this.#handlers.onHeader(header);
  }

  #buildHeader(): AggregateReportHeader {
    try {
      const { header, timespan } = buildHeader(
        this.#version,
        this.#namespace,
        this.#metadata,
        this.#policy,
        this.#problems,
        this.#baseDomain,
      );
      this.#timespan = timespan;
      return header;
    } catch (error) {
      if (error instanceof ReportDataError) throw this.#invalid(error.message);
      throw error;
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Problems and errors

  /**
   * Only the first XML error is worth reading (the next ones are mostly its consequences, as the
   * original also reports just the first); the others are counted and summarized at the end.
   */
  #xmlError(message: string): void {
    if (this.#xmlErrors++ === 0) this.#problem(`Invalid XML: ${message}`);
  }

  #problem(message: string): void {
    if (this.#problems.length >= MAX_PROBLEMS) {
      this.#problemsDropped++;
      return;
    }
    this.#problems.push(message);
    if (this.#header !== undefined) this.#handlers.onProblem?.(message);
  }

  #guard(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#ended) throw new Error('AggregateReportStreamParser: input already ended');
  }

  /** Remembers a fatal error (the SAX state is no longer trustworthy) and names the source in it. */
  #fail(error: unknown): unknown {
    const failure =
      ParseError.is(error) && this.#source !== undefined ? error.withSource(this.#source) : error;
    this.#failure = failure;
    return failure;
  }

  #context(): { source?: string } {
    return this.#source === undefined ? {} : { source: this.#source };
  }

  #invalid(message: string): ParseError {
    return new InvalidAggregateReport(message, this.#context());
  }

  #forbidden(construct: string): ParseError {
    return new ParseError(
      'FORBIDDEN_XML_CONSTRUCT',
      `${construct} is not allowed in a report (no DTD or entity declarations are processed)`,
      this.#context(),
    );
  }

  #limit(limit: keyof ParseLimits, value: number, what: string): ParseError {
    return limitExceeded(limit, value, what, this.#context());
  }
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}
