/**
 * JSON in the original's layout (two-space indent, UTF-8 kept as is), produced incrementally so that a
 * report of 100,000 records is written part by part and never held whole: a JSON array writer that merges
 * consecutive parts of one aggregate report back into a single report object.
 */
import type { AggregateRecord, AggregateReport } from '@parsedmarc-ts/parser';

/** JSON.stringify with two-space indent, every line after the first shifted right by `indent` spaces. */
export function indentedJson(value: unknown, indent = 0): string {
  const text = JSON.stringify(value, null, 2);
  if (indent === 0) return text;
  const pad = ' '.repeat(indent);
  return text.replace(/\n/g, `\n${pad}`);
}

const RECORDS_PLACEHOLDER = '__parsedmarc_ts_records_placeholder__';

/** Splits the JSON of an aggregate report around its records array, for writing records in between. */
function splitAggregateJson(report: AggregateReport, indent: number): { head: string; tail: string } {
  // Spreading keeps `records` at its own position among the keys, so the key order stays the model's.
  const text = indentedJson({ ...report, records: RECORDS_PLACEHOLDER }, indent);
  const at = text.indexOf(`"${RECORDS_PLACEHOLDER}"`);
  return { head: text.slice(0, at), tail: text.slice(at + RECORDS_PLACEHOLDER.length + 2) };
}

export type WriteChunk = (chunk: string) => void;

/**
 * Writes the elements of one JSON array, `[` ... `]`, element by element. Aggregate reports may arrive in
 * parts (same header, consecutive slices of records): pass each part with isLast; the parts are merged
 * into one element.
 */
export class JsonArrayWriter {
  private count = 0;
  private open: { tail: string; records: number } | null = null;
  private readonly itemIndent: string;

  /**
   * @param write receives the text in order
   * @param indent indentation of the array's own brackets (e.g. 2 for a value of a top-level key)
   * @param resume continue an array whose text so far ends just before its closing bracket and that has
   *   at least one element (appending to an existing file); nothing is written until the first element
   */
  constructor(
    private readonly write: WriteChunk,
    private readonly indent = 0,
    resume = false,
  ) {
    this.itemIndent = ' '.repeat(indent + 2);
    if (resume) this.count = 1;
    else write('[');
  }

  get size(): number {
    return this.count;
  }

  private startItem(): void {
    this.write(this.count === 0 ? '\n' : ',\n');
    this.write(this.itemIndent);
    this.count += 1;
  }

  /** Adds a whole element. */
  add(value: unknown): void {
    if (this.open) throw new Error('an aggregate report is still open');
    this.startItem();
    this.write(indentedJson(value, this.indent + 2));
  }

  /** Adds one part of an aggregate report (a whole report is one part with isLast true). */
  addAggregatePart(part: AggregateReport, isFirst: boolean, isLast: boolean): void {
    if (isFirst) {
      if (this.open) throw new Error('an aggregate report is still open');
      this.startItem();
      const { head, tail } = splitAggregateJson(part, this.indent + 2);
      this.write(head);
      this.write('[');
      this.open = { tail, records: 0 };
    } else if (!this.open) {
      throw new Error('aggregate part without its first part');
    }
    const open = this.open!;
    const recordIndent = this.indent + 6;
    const pad = ' '.repeat(recordIndent);
    const pieces: string[] = [];
    for (const record of part.records as AggregateRecord[]) {
      pieces.push(`${open.records === 0 ? '\n' : ',\n'}${pad}${indentedJson(record, recordIndent)}`);
      open.records += 1;
    }
    // One write per part, not per record: the sink's write may be a syscall.
    if (pieces.length > 0) this.write(pieces.join(''));
    if (isLast) {
      this.write(open.records === 0 ? ']' : `\n${' '.repeat(this.indent + 4)}]`);
      this.write(open.tail);
      this.open = null;
    }
  }

  close(): void {
    if (this.open) throw new Error('an aggregate report is still open');
    this.write(this.count === 0 ? ']' : `\n${' '.repeat(this.indent)}]`);
  }
}
