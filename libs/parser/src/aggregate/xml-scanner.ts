/**
 * The XML tokenizer of the aggregate parser: a fast scanner for the plain XML that reports are made of,
 * with saxes behind it for everything else.
 *
 * saxes reads one character at a time; on a big report it was a quarter of the command's time. The scanner
 * finds markup with indexOf and reads a segment (the text up to a tag, and the tag) at a time. It reads only
 * what it can check as saxes would: an XML 1.0 declaration, elements with ASCII names, quoted attributes,
 * text with the five predefined entities and character references, LF or CRLF line ends.
 *
 * It hands the rest of the document to saxes at the start of the segment it cannot read: a comment, CDATA,
 * a processing instruction, a non-ASCII name, a character saxes refuses, a mismatched close tag, anything
 * but blank space after the root element, an input that ends early, a segment too long to keep reading
 * again. saxes then starts from the state it would have reached: it is primed with the declaration and the
 * open elements, given the scanner's line, column and position, and fed the chunks as they were written.
 * So what it reports, well-formedness errors with their line:column included, is what it would have
 * reported reading the whole document. A differential test (xml-scanner.test.ts) holds the two to the same
 * events on the samples and on thousands of damaged copies.
 */
import { SaxesParser } from 'saxes';

export interface XmlScannerHandlers {
  open(name: string, attributes: Readonly<Record<string, string>>): void;
  close(): void;
  /** Text and CDATA inside the root element; text only while wantText is set. */
  text(text: string): void;
  /** A well-formedness error, as saxes words it ("line:column: message"); reading goes on. */
  error(message: string): void;
  doctype(): void;
  /**
   * Text about to go to saxes (from the hand-over on): the caller may refuse it by throwing, before saxes
   * buffers it. The fast path reads no markup declaration ('<!'): each one is in this text.
   */
  saxesInput(text: string): void;
}

/** saxes's position fields: public in its JavaScript, private in its types. Set once, at the hand-over. */
interface SaxesPosition {
  line: number;
  column: number;
  positionAtNewLine: number;
  chunkPosition: number;
}

const enum Mode {
  Prologue,
  Fast,
  /** The root element has closed: blank space may follow (anything else goes to saxes). */
  AfterRoot,
  Saxes,
}

/** Characters to look at in an attribute value: '&', and everything saxes refuses or decodes. */
const SPECIAL_TEST = /[^\t\n\r\x20-\x25\x27-\x5c\x5e-\ud7ff\ue000-\ufffd]/;
/** The declarations saxes accepts silently, in the forms reports use (XML 1.0 only: 1.1 changes the rules). */
const XML_DECLARATION =
  /^<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*(["'])1\.0\1(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(["'])[A-Za-z][A-Za-z0-9._-]*\2)?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(["'])(?:yes|no)\3)?[ \t\n]*\?>$/;
const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze(
  Object.create(null) as Record<string, string>,
);

/** UTF-16 units of one unfinished segment (text and tag) kept for the next chunk; beyond, saxes reads on. */
const MAX_SEGMENT = 256 * 1024;
/** Chunks one unfinished segment may be carried over (the chunks of a file or a stream are kilobytes). */
const MAX_CARRIES = 32;
const LT = 60;
const GT = 62;
const SLASH = 47;
const EQUALS = 61;
const AMP = 38;
const CR = 13;
const LF = 10;

function isSpace(c: number): boolean {
  return c === 32 || c === LF || c === 9 || c === CR;
}

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}

function isNameChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 58) || // digits and ':'
    c === 95 ||
    c === 45 ||
    c === 46
  );
}

/** A character saxes refuses (XML 1.0 Char), or a surrogate: left to saxes, which counts columns by them. */
function isRefused(c: number): boolean {
  return (c < 0x20 && c !== 9 && c !== LF && c !== CR) || (c >= 0xd800 && (c <= 0xdfff || c >= 0xfffe));
}

/** A character reference or predefined entity (the name between '&' and ';'), or undefined. */
function decodeEntity(name: string): string | undefined {
  switch (name) {
    case 'amp':
      return '&';
    case 'lt':
      return '<';
    case 'gt':
      return '>';
    case 'quot':
      return '"';
    case 'apos':
      return "'";
  }
  let code: number;
  if (/^#x[0-9a-fA-F]{1,6}$/.test(name)) code = parseInt(name.slice(2), 16);
  else if (/^#[0-9]{1,7}$/.test(name)) code = parseInt(name.slice(1), 10);
  else return undefined;
  const isChar =
    code === 9 ||
    code === LF ||
    code === CR ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff);
  return isChar ? String.fromCodePoint(code) : undefined;
}

/** Thrown inside a segment the fast path cannot read; caught where the segment started. */
const HAND_OVER = Symbol('hand over to saxes');
/** A segment that runs past the end of the buffer: wait for more input. */
const INCOMPLETE = -1;

export class XmlScanner {
  readonly #handlers: XmlScannerHandlers;
  #mode: Mode = Mode.Prologue;
  #sax: SaxesParser<{ xmlns: false }> | undefined;
  #wantText = false;
  readonly #saxText = (text: string): void => this.#handlers.text(text);

  /** Input not read yet (the start of a segment), and the stream position of its first character. */
  #rest = '';
  #restAt = 0;
  /** Times the segment at #restAt has been carried over to a next chunk. */
  #carries = 0;
  /** Line (1-based) of the next character to read, and the stream position where that line starts. */
  #line = 1;
  #lineStart = 0;
  readonly #stack: string[] = [];
  #rootName = '';
  /**
   * The chunks as written that are not wholly read yet, and the stream position of the first. saxes reports
   * text outside the root element where a chunk ends, so a hand-over gives it the chunks as they came.
   */
  readonly #pending: string[] = [];
  #pendingAt = 0;
  /** The XML declaration read, for priming saxes (it remembers what the declaration held). */
  #declaration = '';
  #eventPosition = 0;

  // The tag just read by #openTag or #closeTag: its name, and whether blank space or attributes (which may
  // hold line ends) are in it.
  #tagSpaced = false;
  #tagName = '';
  #tagAttributes: Readonly<Record<string, string>> = NO_ATTRIBUTES;
  #tagSelfClosing = false;

  constructor(handlers: XmlScannerHandlers) {
    this.#handlers = handlers;
  }

  /** Whether text events are wanted (saxes builds no strings for text nobody reads, nor does the scanner). */
  set wantText(value: boolean) {
    this.#wantText = value;
    if (this.#sax !== undefined) {
      if (value) this.#sax.on('text', this.#saxText);
      else this.#sax.off('text');
    }
  }

  /** Whether saxes reads the document now (the fast path met something it does not read). */
  get handedOver(): boolean {
    return this.#sax !== undefined;
  }

  /** Stream position (UTF-16 units read); at an open or close event, just past its '>'. */
  get position(): number {
    return this.#sax !== undefined ? this.#sax.position : this.#eventPosition;
  }

  write(chunk: string): void {
    if (this.#sax !== undefined) {
      this.#handlers.saxesInput(chunk);
      this.#sax.write(chunk);
      return;
    }
    if (chunk.length === 0) return;
    this.#pending.push(chunk);
    this.#scanChunk(chunk);
    if (this.#sax !== undefined) return;
    const pending = this.#pending;
    while (pending.length > 0 && this.#pendingAt + pending[0]!.length <= this.#restAt) {
      this.#pendingAt += pending.shift()!.length;
    }
  }

  #scanChunk(chunk: string): void {
    const rest = this.#rest;
    const restAt = this.#restAt;
    if (rest.length === 0) {
      this.#scanAndKeep(chunk, 0, restAt);
      return;
    }
    // Joining the unread rest to the whole chunk would make a rope that every later read of the chunk pays
    // for. The rest is the start of one segment: complete it with the chunk up to its first '>', then go on
    // in the chunk itself. (That '>' may not end the segment, e.g. in an attribute value: then join whole.)
    const firstGt = chunk.indexOf('>');
    if (firstGt < 0) {
      this.#scanAndKeep(rest + chunk, 0, restAt);
      return;
    }
    const joined = rest + chunk.slice(0, firstGt + 1);
    const stop = this.#scan(joined, 0, restAt);
    if (this.#sax !== undefined) return;
    if (stop === joined.length) {
      this.#scanAndKeep(chunk, firstGt + 1, restAt + rest.length);
    } else {
      this.#scanAndKeep(joined.slice(stop) + chunk.slice(firstGt + 1), 0, restAt + stop);
    }
  }

  close(): void {
    // After the root element, only blank space was left: saxes would have nothing to say.
    if (this.#mode === Mode.AfterRoot) return;
    if (this.#sax === undefined) this.#handOver(this.#restAt);
    this.#sax?.close();
  }

  /** Scans buf (whose first character is at stream position `base`) from `from`; keeps the rest. */
  #scanAndKeep(buf: string, from: number, base: number): void {
    const stop = this.#scan(buf, from, base);
    if (this.#sax !== undefined) return;
    const restAt = base + stop;
    this.#carries = restAt === this.#restAt ? this.#carries + 1 : 0;
    this.#restAt = restAt;
    // An unfinished segment is read again with the next chunk. One this long is no report's (a huge text,
    // an attribute value full of '<'), and one carried over this often comes in tiny chunks: reading them
    // again and again would take quadratic time, so saxes, which goes on where it stopped, takes over.
    if (buf.length - stop > MAX_SEGMENT || this.#carries > MAX_CARRIES) {
      this.#handOver(restAt);
      return;
    }
    this.#rest = stop === 0 ? buf : buf.slice(stop);
  }

  /**
   * Reads the segments of buf from `from` until one is incomplete (its start is returned) or the document
   * has gone to saxes.
   */
  #scan(buf: string, from: number, base: number): number {
    this.#rest = '';
    let pos = from;
    for (;;) {
      let end: number;
      try {
        const mode = this.#mode;
        end =
          mode === Mode.Fast
            ? this.#segment(buf, pos, base)
            : mode === Mode.Prologue
              ? this.#prologue(buf, pos, base)
              : afterRoot(buf, pos);
      } catch (error) {
        if (error !== HAND_OVER) throw error;
        this.#handOver(base + pos);
        return pos;
      }
      if (end === INCOMPLETE || this.#sax !== undefined) return pos;
      pos = end;
    }
  }

  /**
   * The XML declaration, blank space and the root's start tag. Anything else goes to saxes from the start
   * (nothing has been delivered yet: this is always read from stream position 0).
   */
  #prologue(buf: string, from: number, base: number): number {
    let i = from;
    if (buf.startsWith('<?xml', from)) {
      const end = buf.indexOf('?>', from);
      if (end < 0) return INCOMPLETE;
      const declaration = buf.slice(from, end + 2);
      if (!XML_DECLARATION.test(declaration)) throw HAND_OVER;
      this.#declaration = declaration;
      i = end + 2;
    } else if (buf.length - from < 5 && '<?xml'.startsWith(buf.slice(from))) {
      return INCOMPLETE;
    }
    while (i < buf.length && isSpace(buf.charCodeAt(i))) i++;
    if (i + 1 >= buf.length) return INCOMPLETE;
    if (buf.charCodeAt(i) !== LT || !isNameStart(buf.charCodeAt(i + 1))) throw HAND_OVER;
    const end = this.#openTag(buf, i);
    if (end === INCOMPLETE) return INCOMPLETE;
    this.#mode = Mode.Fast;
    this.#rootName = this.#tagName;
    this.#countLines(buf, from, end, base);
    this.#emitOpen(end, base);
    return end;
  }

  /** One segment inside the root element: text, then a start or end tag. Returns the index past its '>'. */
  #segment(buf: string, from: number, base: number): number {
    const lt = buf.indexOf('<', from);
    if (lt < 0 || lt + 1 >= buf.length) return INCOMPLETE;
    // One pass over the text (usually a line end and indentation, or a short value): its line ends, and
    // whether it holds anything to decode or check.
    let lineEnds = 0;
    let lastLf = -1;
    let special = false;
    for (let i = from; i < lt; i++) {
      const c = buf.charCodeAt(i);
      if (c < 0x20) {
        if (c === LF) {
          lineEnds++;
          lastLf = i;
        } else if (c !== 9) {
          special = true; // CR, or a control character saxes refuses
        }
      } else if (c === AMP || c === 93 || c >= 0xd800) {
        special = true;
      }
    }
    let text: string | undefined;
    // (Text with an '&', a ']', a CR or a character saxes refuses.)
    if (special) text = decodeReferences(buf, from, lt, literal, true);
    else if (this.#wantText && lt > from) text = buf.slice(from, lt);
    let end: number;
    const next = buf.charCodeAt(lt + 1);
    if (next === SLASH) {
      end = this.#closeTag(buf, lt + 2);
    } else if (isNameStart(next)) {
      end = this.#openTag(buf, lt);
    } else {
      throw HAND_OVER;
    }
    if (end === INCOMPLETE) return INCOMPLETE;
    // Read: count its lines.
    if (special) {
      this.#countLines(buf, from, lt, base);
    } else if (lineEnds > 0) {
      this.#line += lineEnds;
      this.#lineStart = base + lastLf + 1;
    }
    if (this.#tagSpaced) this.#countLines(buf, lt, end, base);
    if (text !== undefined && text.length > 0 && this.#wantText) this.#handlers.text(text);
    if (next === SLASH) this.#emitClose(end, base);
    else this.#emitOpen(end, base);
    return end;
  }

  #emitOpen(end: number, base: number): void {
    const name = this.#tagName;
    this.#eventPosition = base + end;
    this.#stack.push(name);
    this.#handlers.open(name, this.#tagAttributes);
    if (this.#tagSelfClosing) this.#emitClose(end, base);
  }

  #emitClose(end: number, base: number): void {
    this.#eventPosition = base + end;
    this.#stack.pop();
    this.#handlers.close();
    if (this.#stack.length === 0) this.#mode = Mode.AfterRoot;
  }

  /** Reads 'name S? >' after '</', where name is the open element's; returns the index past '>'. */
  #closeTag(buf: string, at: number): number {
    const top = this.#stack[this.#stack.length - 1]!;
    const nameEnd = at + top.length;
    if (nameEnd >= buf.length) return INCOMPLETE;
    // (A loop the compiler inlines; startsWith is a call into the runtime.)
    for (let k = 0; k < top.length; k++) {
      if (buf.charCodeAt(at + k) !== top.charCodeAt(k)) throw HAND_OVER;
    }
    if (isNameChar(buf.charCodeAt(nameEnd))) throw HAND_OVER;
    let i = nameEnd;
    while (i < buf.length && isSpace(buf.charCodeAt(i))) i++;
    this.#tagSpaced = i > nameEnd;
    if (i >= buf.length) return INCOMPLETE;
    if (buf.charCodeAt(i) !== GT) throw HAND_OVER;
    return i + 1;
  }

  /** Reads a start tag at `lt` ('<' and a name start); returns the index past its '>'. */
  #openTag(buf: string, lt: number): number {
    const length = buf.length;
    let i = lt + 2;
    while (i < length && isNameChar(buf.charCodeAt(i))) i++;
    if (i >= length) return INCOMPLETE;
    const nameEnd = i;
    let attributes: Record<string, string> | undefined;
    this.#tagSpaced = false;
    for (;;) {
      let c = buf.charCodeAt(i);
      if (c === GT || c === SLASH) {
        const selfClosing = c === SLASH;
        if (selfClosing) {
          if (i + 1 >= length) return INCOMPLETE;
          if (buf.charCodeAt(i + 1) !== GT) throw HAND_OVER;
          i++;
        }
        this.#tagName = buf.slice(lt + 1, nameEnd);
        this.#tagAttributes = attributes ?? NO_ATTRIBUTES;
        this.#tagSelfClosing = selfClosing;
        return i + 1;
      }
      if (!isSpace(c)) throw HAND_OVER;
      this.#tagSpaced = true;
      while (i < length && isSpace(buf.charCodeAt(i))) i++;
      if (i >= length) return INCOMPLETE;
      c = buf.charCodeAt(i);
      if (c === GT || c === SLASH) continue;
      if (!isNameStart(c)) throw HAND_OVER;
      // An attribute: name S? '=' S? quoted value.
      const nameStart = i;
      while (i < length && isNameChar(buf.charCodeAt(i))) i++;
      const name = buf.slice(nameStart, i);
      while (i < length && isSpace(buf.charCodeAt(i))) i++;
      if (i >= length) return INCOMPLETE;
      if (buf.charCodeAt(i) !== EQUALS) throw HAND_OVER;
      i++;
      while (i < length && isSpace(buf.charCodeAt(i))) i++;
      if (i >= length) return INCOMPLETE;
      const quote = buf[i]!;
      if (quote !== '"' && quote !== "'") throw HAND_OVER;
      const valueEnd = buf.indexOf(quote, i + 1);
      if (valueEnd < 0) return INCOMPLETE;
      attributes ??= Object.create(null) as Record<string, string>;
      if (attributes[name] !== undefined) throw HAND_OVER;
      attributes[name] = attributeValue(buf.slice(i + 1, valueEnd));
      i = valueEnd + 1;
      if (i >= length) return INCOMPLETE;
      c = buf.charCodeAt(i);
      if (c !== GT && c !== SLASH && !isSpace(c)) throw HAND_OVER;
    }
  }

  /** Counts the line ends in [from, to) as saxes does: LF, CRLF and a lone CR are one each. */
  #countLines(buf: string, from: number, to: number, base: number): void {
    for (let i = from; i < to; i++) {
      const c = buf.charCodeAt(i);
      if (c === LF || (c === CR && buf.charCodeAt(i + 1) !== LF)) {
        this.#line++;
        this.#lineStart = base + i + 1;
      }
    }
  }

  /** Hands the document to saxes from stream position `at` (nothing after it has been delivered). */
  #handOver(at: number): void {
    const sax = new SaxesParser({ xmlns: false, position: true });
    if (this.#mode !== Mode.Prologue) {
      // Without handlers yet, priming emits nothing. A closed root is primed as an empty root element.
      const open = this.#stack.map((name) => `<${name}>`).join('');
      sax.write(this.#declaration + (this.#stack.length > 0 ? open : `<${this.#rootName}/>`));
      const position = sax as unknown as SaxesPosition;
      position.line = this.#line;
      position.column = at - this.#lineStart;
      position.positionAtNewLine = this.#lineStart;
      position.chunkPosition = at;
    }
    const handlers = this.#handlers;
    sax.on('error', (error) => handlers.error(error.message));
    sax.on('doctype', () => handlers.doctype());
    sax.on('opentag', (tag) => handlers.open(tag.name, tag.attributes));
    sax.on('closetag', () => handlers.close());
    sax.on('cdata', this.#saxText);
    if (this.#wantText) sax.on('text', this.#saxText);
    this.#sax = sax;
    this.#mode = Mode.Saxes;
    this.#rest = '';
    let chunkAt = this.#pendingAt;
    for (const chunk of this.#pending.splice(0)) {
      if (chunkAt + chunk.length > at) {
        const text = at > chunkAt ? chunk.slice(at - chunkAt) : chunk;
        handlers.saxesInput(text);
        sax.write(text);
      }
      chunkAt += chunk.length;
    }
  }
}

/** Blank space after the root element is left unread until the end (nothing to report); else, saxes. */
function afterRoot(buf: string, from: number): number {
  for (let i = from; i < buf.length; i++) if (!isSpace(buf.charCodeAt(i))) throw HAND_OVER;
  return INCOMPLETE;
}

/** Literal text as saxes delivers it: CRLF and lone CR read as LF. */
function literal(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

/** A quoted attribute value as saxes delivers it: entities decoded, TAB, LF, CR and CRLF read as a space. */
function attributeValue(raw: string): string {
  if (raw.includes('<')) throw HAND_OVER;
  return SPECIAL_TEST.test(raw) ? decodeReferences(raw, 0, raw.length, spaced, false) : spaced(raw);
}

/**
 * buf[from, to) as saxes delivers it: character references and predefined entities decoded, `normalize`
 * applied to the literal runs between them (line ends in text, blank space in attribute values). Whatever
 * saxes would refuse (another entity, a character it refuses, ']]>' in text) is left to it.
 */
function decodeReferences(
  buf: string,
  from: number,
  to: number,
  normalize: (literal: string) => string,
  inText: boolean,
): string {
  let decoded = '';
  let literalFrom = from;
  for (let i = from; i < to; i++) {
    const c = buf.charCodeAt(i);
    if (c === AMP) {
      const semicolon = buf.indexOf(';', i + 1);
      if (semicolon < 0 || semicolon >= to) throw HAND_OVER;
      const character = decodeEntity(buf.slice(i + 1, semicolon));
      if (character === undefined) throw HAND_OVER;
      decoded += normalize(buf.slice(literalFrom, i)) + character;
      i = semicolon;
      literalFrom = semicolon + 1;
    } else if (c === 93) {
      if (inText && buf.startsWith(']]>', i)) throw HAND_OVER;
    } else if (isRefused(c)) {
      throw HAND_OVER;
    }
  }
  return decoded + normalize(buf.slice(literalFrom, to));
}

function spaced(text: string): string {
  return /[\t\n\r]/.test(text) ? text.replace(/\r\n|[\t\n\r]/g, ' ') : text;
}
