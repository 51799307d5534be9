/**
 * The combined results on stdout, the same document the original prints. Aggregate reports stream; the
 * (small) forensic and SMTP TLS reports are kept until the end because their keys come after.
 */
import type { Writable } from 'node:stream';
import { compactJson, indentedJson, JsonArrayWriter } from '@parsedmarc-ts/output';
import { isFirstPart, isLastPart, type ResultItem, type ResultSink, type SinkRefusal } from './contract.js';

/** Buffers text and writes it to a stream with backpressure. */
class StreamText {
  private pending: string[] = [];
  constructor(private readonly stream: Writable) {}
  add = (chunk: string): void => {
    this.pending.push(chunk);
  };
  async drain(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    if (!this.stream.write(text)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
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
  private readonly forensic: unknown[] = [];
  private readonly smtpTls: unknown[] = [];

  /** @param prettify the original's indented document; false: one line (its --no-prettify-json) */
  constructor(
    stream: Writable,
    private readonly prettify = true,
  ) {
    this.text = new StreamText(stream);
    this.text.add(prettify ? '{\n  "aggregate_reports": ' : '{"aggregate_reports": ');
    this.aggregates = new JsonArrayWriter(this.text.add, 2, false, prettify ? 'indented' : 'compact');
  }

  /** Nothing was printed yet (the header waits for the first write): print nothing. */
  async discard(): Promise<void> {}

  async write(item: ResultItem): Promise<void> {
    const { parsed } = item;
    if (parsed.report_type === 'aggregate') {
      this.aggregates.addAggregatePart(parsed.report, isFirstPart(item), isLastPart(item));
      await this.text.drain();
    } else if (parsed.report_type === 'forensic') this.forensic.push(parsed.report);
    else this.smtpTls.push(parsed.report);
  }

  async flush(): Promise<SinkRefusal[]> {
    await this.text.drain();
    return [];
  }

  async close(): Promise<void> {
    this.aggregates.close();
    if (this.prettify) {
      this.text.add(`,\n  "forensic_reports": ${indentedJson(this.forensic, 2)}`);
      this.text.add(`,\n  "smtp_tls_reports": ${indentedJson(this.smtpTls, 2)}\n}\n`);
    } else {
      this.text.add(`, "forensic_reports": ${compactJson(this.forensic)}`);
      this.text.add(`, "smtp_tls_reports": ${compactJson(this.smtpTls)}}\n`);
    }
    await this.text.drain();
  }
}
