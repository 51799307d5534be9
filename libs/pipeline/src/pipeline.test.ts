import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ResultItem, ResultSink, SinkRefusal } from '@parsedmarc-ts/sinks';
import { EmbeddedPipeline } from './pipeline.js';
import { bytesInput, fileInput } from './inputs.js';

const sample = (p: string): string =>
  new URL(`../../../test/fixtures/samples/${p}`, import.meta.url).pathname;

/** Records what reaches it; refuses the items whose source matches `refuse` at flush. */
class RecordingSink implements ResultSink {
  readonly name = 'recording';
  readonly items: ResultItem[] = [];
  flushes = 0;
  private refused: SinkRefusal[] = [];
  constructor(private readonly refuse?: RegExp) {}
  async write(item: ResultItem): Promise<void> {
    this.items.push(item);
    if (this.refuse?.test(item.source))
      this.refused.push({ sink: this.name, source: item.source, code: 'DOCUMENT_REFUSED', reason: 'test' });
  }
  async flush(): Promise<SinkRefusal[]> {
    this.flushes += 1;
    const refused = this.refused;
    this.refused = [];
    return refused;
  }
  async close(): Promise<void> {}
}

const wiki = sample('aggregate/old_draft_from_wiki.xml');
const large = sample('aggregate/!large-example.com!1711897200!1711983600.xml');
const smtpTls = sample('smtp_tls/rfc8460.json');

describe('EmbeddedPipeline', () => {
  it('writes results in input order, tells the report types of each input, and needs no progress callback', async () => {
    const sink = new RecordingSink();
    const errors: string[] = [];
    const pipeline = new EmbeddedPipeline({
      sinks: [sink],
      onError: (source, error) => errors.push(`${source}: ${error.code}`),
      onRefused: () => undefined,
    });
    const kinds = await pipeline.run([
      fileInput(wiki),
      bytesInput('garbage', Buffer.from('not a report')),
      fileInput(smtpTls),
    ]);
    expect(kinds).toEqual([['aggregate'], [], ['smtp_tls']]);
    expect(errors).toEqual(['garbage: UNRECOGNIZED_FORMAT']);
    expect(sink.items.map((i) => i.parsed.report_type)).toEqual(['aggregate', 'smtp_tls']);
    expect(pipeline.stats).toMatchObject({ inputs: 3, reports: 2, failures: 1, duplicates: 0 });
  });

  it('takes its inputs one at a time as they come: the first is written before the last is asked for', async () => {
    const events: string[] = [];
    class EventSink extends RecordingSink {
      override async write(item: ResultItem): Promise<void> {
        events.push(`written ${item.source}`);
        await super.write(item);
      }
    }
    const pipeline = new EmbeddedPipeline({
      sinks: [new EventSink()],
      window: 1,
      onError: () => undefined,
      onRefused: () => undefined,
    });
    const files = [wiki, smtpTls, smtpTls, smtpTls];
    function* inputs() {
      for (const [i, file] of files.entries()) {
        events.push(`asked ${i}`);
        yield bytesInput(`input-${i}`, readFileSync(file));
      }
    }
    expect(await pipeline.run(inputs())).toEqual([['aggregate'], ['smtp_tls'], ['smtp_tls'], ['smtp_tls']]);
    expect(events.indexOf('written input-0')).toBeLessThan(events.indexOf('asked 3'));
    expect(pipeline.stats.inputs).toBe(4);
  });

  it('hands a huge report over in parts that carry their first record, and skips a duplicate across runs', async () => {
    const sink = new RecordingSink();
    const pipeline = new EmbeddedPipeline({
      sinks: [sink],
      aggregatePartRecords: 500,
      onError: () => undefined,
      onRefused: () => undefined,
    });
    await pipeline.run([fileInput(large)]);
    const parts = sink.items.map((i) => i.part!);
    expect(parts.length).toBeGreaterThan(3);
    let next = 0;
    for (const [index, part] of parts.entries()) {
      expect(part).toMatchObject({ index, isLast: index === parts.length - 1, firstRecord: next });
      next += (sink.items[index]!.parsed as { report: { records: unknown[] } }).report.records.length;
    }
    expect(pipeline.stats.records).toBe(next);

    // The same report again, in a later run() (a later mailbox batch): skipped, still filed as aggregate.
    const again = await pipeline.run([bytesInput('copy', readFileSync(large))]);
    expect(again).toEqual([['aggregate']]);
    expect(sink.items).toHaveLength(parts.length);
    expect(pipeline.stats.duplicates).toBe(1);
  });

  it('reports what a sink refused at flush, and counts it', async () => {
    const sink = new RecordingSink(/smtp_tls/);
    const refused: string[] = [];
    const pipeline = new EmbeddedPipeline({
      sinks: [sink],
      onError: () => undefined,
      onRefused: (r) => refused.push(`${r.source}: ${r.code}`),
    });
    await pipeline.run([fileInput(wiki), fileInput(smtpTls)]);
    expect(refused).toEqual([]);
    await pipeline.flush();
    expect(refused).toEqual([`${smtpTls}: DOCUMENT_REFUSED`]);
    expect(pipeline.stats.refused).toBe(1);
  });
});
