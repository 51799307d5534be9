/**
 * The combined results on stdout, the same document the original prints. Aggregate reports stream; the
 * (small) forensic and SMTP TLS reports are kept until the end because their keys come after.
 */
import type { Writable } from 'node:stream';
import { compactJson, indentedJson, JsonArrayWriter } from '@parsedmarc-ts/output';
import { isFirstPart, isLastPart, type ResultItem, type ResultSink, type SinkRefusal } from './contract.js';

/** Pieces are joined into writes of about this many characters, never into one huge string. */
const writeChars = 1 << 20;

/** Buffers text and writes it to a stream with backpressure. */
class StreamText {
  private pending: string[] = [];
  constructor(private readonly stream: Writable) {}
  add = (chunk: string): void => {
    this.pending.push(chunk);
  };
  async drain(): Promise<void> {
    const pieces = this.pending;
    this.pending = [];
    for (let start = 0; start < pieces.length;) {
      let end = start;
      let chars = 0;
      while (end < pieces.length && (end === start || chars + pieces[end]!.length <= writeChars)) {
        chars += pieces[end]!.length;
        end += 1;
      }
      const text = end === start + 1 ? pieces[start]! : pieces.slice(start, end).join('');
      start = end;
      if (!this.stream.write(text)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
    }
  }
}

/**
 * The combined results on stdout: {"aggregate_reports": [...], "forensic_reports": [...], "smtp_tls_reports": [...]},
 * the same document the original prints. Aggregate reports stream; the (small) forensic and SMTP TLS
 * reports are kept until the end because their keys come after.
 */
export class StdoutJsonSink implements ResultSink {
  readonly name = 'stdout';
  private readonly text: StreamText;
  private readonly aggregates: JsonArrayWriter;
  /** Rendered as they come (the document lists them after every aggregate report), one string each. */
  private readonly forensic: string[] = [];
  private readonly smtpTls: string[] = [];

  /** @param prettify the original's indented document; false: one line (its --no-prettify-json) */
  constructor(
    stream: Writable,
    private readonly prettify = true,
  ) {
    this.text = new StreamText(stream);
    this.text.add(prettify ? '{\n  "aggregate_reports": ' : '{"aggregate_reports": ');
    this.aggregates = new JsonArrayWriter(this.text.add, 2, false, prettify ? 'indented' : 'compact');
  }

  /** One element of the forensic or SMTP TLS array, laid out as JSON.stringify would inside the document. */
  private render(report: unknown): string {
    return this.prettify ? indentedJson(report, 4) : compactJson(report);
  }

  /** `key` then the array of rendered elements, piece by piece. */
  private addArray(key: string, elements: readonly string[]): void {
    this.text.add(key);
    if (elements.length === 0) {
      this.text.add('[]');
      return;
    }
    elements.forEach((element, i) => {
      this.text.add(this.prettify ? `${i === 0 ? '[' : ','}\n    ` : i === 0 ? '[' : ', ');
      this.text.add(element);
    });
    this.text.add(this.prettify ? '\n  ]' : ']');
  }

  /** Nothing was printed yet (the header waits for the first write): print nothing. */
  async discard(): Promise<void> {}

  async write(item: ResultItem): Promise<void> {
    const { parsed } = item;
    if (parsed.report_type === 'aggregate') {
      this.aggregates.addAggregatePart(parsed.report, isFirstPart(item), isLastPart(item));
      await this.text.drain();
    } else if (parsed.report_type === 'forensic') this.forensic.push(this.render(parsed.report));
    else this.smtpTls.push(this.render(parsed.report));
  }

  async flush(): Promise<SinkRefusal[]> {
    await this.text.drain();
    return [];
  }

  async close(): Promise<void> {
    this.aggregates.close();
    this.addArray(this.prettify ? ',\n  "forensic_reports": ' : ', "forensic_reports": ', this.forensic);
    this.addArray(this.prettify ? ',\n  "smtp_tls_reports": ' : ', "smtp_tls_reports": ', this.smtpTls);
    this.text.add(this.prettify ? '\n}\n' : '}\n');
    await this.text.drain();
  }
}
