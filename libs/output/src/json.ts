/**
 * JSON in the original's layouts (two-space indent, or with --no-prettify-json Python's single line with
 * ", " and ": " separators; UTF-8 kept as is), produced incrementally so that a report of 100,000 records
 * is written part by part and never held whole: a JSON array writer that merges consecutive parts of one
 * aggregate report back into a single report object.
 */
import type { AggregateRecord, AggregateReport } from '@parsedmarc-ts/parser';

/**
 * JSON.stringify with two-space indent, every line after the first shifted right by `indent` spaces.
 *
 * For an even indent the value is stringified nested that many levels deep in arrays and cut out, so the
 * native stringify writes the indentation itself: no second pass over the text (on a 100,000-record report
 * that pass and its copies cost as much as the stringify).
 */
export function indentedJson(value: unknown, indent = 0): string {
  if (indent === 0) return JSON.stringify(value, null, 2);
  if (indent % 2 === 0 && value !== undefined && typeof value !== 'function') {
    const depth = indent / 2;
    let nested: unknown = value;
    for (let i = 0; i < depth; i++) nested = [nested];
    const text = JSON.stringify(nested, null, 2);
    const { head, tail } = nestingOf(depth);
    return text.slice(head, text.length - tail);
  }
  const text = JSON.stringify(value, null, 2);
  const pad = ' '.repeat(indent);
  return text.replace(/\n/g, `\n${pad}`);
}

/** Lengths of the text around a value stringified `depth` arrays deep: "[\n  [\n    " ... "\n  ]\n]". */
function nestingOf(depth: number): { head: number; tail: number } {
  let head = 0;
  let tail = 0;
  for (let level = 0; level < depth; level++) {
    head += 1 + 1 + 2 * (level + 1); // "[", then the newline and indent of the next line
    tail += 1 + 2 * level + 1; // the newline, indent and "]" of a closing line
  }
  return { head, tail };
}

/**
 * JSON on one line as Python's json.dumps writes it without indent: ", " between items, ": " after keys.
 * Same values as JSON.stringify (toJSON honoured, undefined and functions left out of objects, null in
 * arrays), so only the spacing differs.
 */
export function compactJson(value: unknown): string {
  return compactValue(value) ?? 'null';
}

function compactValue(value: unknown): string | undefined {
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    value = (value as { toJSON(): unknown }).toJSON();
  }
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    return `[${value.map((item) => compactValue(item) ?? 'null').join(', ')}]`;
  }
  const members: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    const text = compactValue(item);
    if (text !== undefined) members.push(`${JSON.stringify(key)}: ${text}`);
  }
  return `{${members.join(', ')}}`;
}

/** How a JsonArrayWriter lays out its text. */
export type JsonLayout = 'indented' | 'compact';

const RECORDS_PLACEHOLDER = '__parsedmarc_ts_records_placeholder__';

/** Splits the JSON of an aggregate report around its records array, for writing records in between. */
function splitAggregateJson(
  report: AggregateReport,
  indent: number,
  layout: JsonLayout,
): { head: string; tail: string } {
  // Spreading keeps `records` at its own position among the keys, so the key order stays the model's.
  const withPlaceholder = { ...report, records: RECORDS_PLACEHOLDER };
  const text = layout === 'compact' ? compactJson(withPlaceholder) : indentedJson(withPlaceholder, indent);
  const at = text.indexOf(`"${RECORDS_PLACEHOLDER}"`);
  return { head: text.slice(0, at), tail: text.slice(at + RECORDS_PLACEHOLDER.length + 2) };
}

export type WriteChunk = (chunk: string) => void;

/**
 * Writes one aggregate report that arrives in parts (same header, consecutive slices of records) as the
 * JSON of the whole report: the header up to its records, each part's records, then the rest.
 */
export class AggregateJsonWriter {
  private open: { tail: string; records: number } | null = null;

  /** @param indent the indentation of the report's own braces (its first line is not indented) */
  constructor(
    private readonly write: WriteChunk,
    private readonly indent = 0,
    private readonly layout: JsonLayout = 'indented',
  ) {}

  get isOpen(): boolean {
    return this.open !== null;
  }

  /** Adds one part (a whole report is one part, first and last). */
  addPart(part: AggregateReport, isFirst: boolean, isLast: boolean): void {
    if (isFirst) {
      if (this.open) throw new Error('an aggregate report is still open');
      const { head, tail } = splitAggregateJson(part, this.indent, this.layout);
      this.write(head);
      this.write('[');
      this.open = { tail, records: 0 };
    } else if (!this.open) {
      throw new Error('aggregate part without its first part');
    }
    const open = this.open!;
    const compact = this.layout === 'compact';
    const records = part.records as AggregateRecord[];
    // One write per part, not per record: the sink's write may be a syscall.
    if (records.length > 0 && compact) {
      const pieces = records.map(
        (record, i) => `${open.records + i === 0 ? '' : ', '}${compactJson(record)}`,
      );
      this.write(pieces.join(''));
    } else if (records.length > 0) {
      // The part's records as one indented array at its place, without its brackets: the same text as
      // record by record, in one native stringify (far fewer small strings).
      const text = indentedJson(records, this.indent + 2);
      const inner = text.slice(1, text.length - (this.indent + 4));
      this.write(open.records === 0 ? inner : `,${inner}`);
    }
    open.records += records.length;
    if (isLast) {
      this.write(compact || open.records === 0 ? ']' : `\n${' '.repeat(this.indent + 2)}]`);
      this.write(open.tail);
      this.open = null;
    }
  }
}

/**
 * Writes the elements of one JSON array, `[` ... `]`, element by element. Aggregate reports may arrive in
 * parts: pass each part with isLast; the parts are merged into one element.
 */
export class JsonArrayWriter {
  private count = 0;
  private readonly itemIndent: string;
  private readonly aggregate: AggregateJsonWriter;

  /**
   * @param write receives the text in order
   * @param indent indentation of the array's own brackets (e.g. 2 for a value of a top-level key)
   * @param resume continue an array whose text so far ends just before its closing bracket and that has
   *   at least one element (appending to an existing file); nothing is written until the first element
   * @param layout indented (the original's files, and stdout by default) or compact (one line)
   */
  constructor(
    private readonly write: WriteChunk,
    private readonly indent = 0,
    resume = false,
    private readonly layout: JsonLayout = 'indented',
  ) {
    this.itemIndent = ' '.repeat(indent + 2);
    this.aggregate = new AggregateJsonWriter(write, indent + 2, layout);
    if (resume) this.count = 1;
    else write('[');
  }

  get size(): number {
    return this.count;
  }

  private startItem(): void {
    if (this.aggregate.isOpen) throw new Error('an aggregate report is still open');
    if (this.layout === 'compact') {
      if (this.count > 0) this.write(', ');
    } else {
      this.write(this.count === 0 ? '\n' : ',\n');
      this.write(this.itemIndent);
    }
    this.count += 1;
  }

  /** Adds a whole element. */
  add(value: unknown): void {
    this.startItem();
    this.write(this.layout === 'compact' ? compactJson(value) : indentedJson(value, this.indent + 2));
  }

  /** Adds one part of an aggregate report (a whole report is one part with isLast true). */
  addAggregatePart(part: AggregateReport, isFirst: boolean, isLast: boolean): void {
    if (isFirst) this.startItem();
    this.aggregate.addPart(part, isFirst, isLast);
  }

  close(): void {
    if (this.aggregate.isOpen) throw new Error('an aggregate report is still open');
    this.write(this.count === 0 || this.layout === 'compact' ? ']' : `\n${' '.repeat(this.indent)}]`);
  }
}
