/** What the embedded pipeline (the CLI's library stages) gives for the sample corpus: the oracle of the e2e tests. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createEnricher } from '@parsedmarc-ts/enrich';
import { parseReports, type ParsedReport } from '@parsedmarc-ts/parser';
import {
  aggregateFromAvro,
  forensicFromAvro,
  smtpTlsFromAvro,
  type AggregateReportMessage,
  type TopicKind,
  type TopicValues,
} from '@parsedmarc-ts/avro';
import { repoRoot, type Decoded } from './harness.js';

export const samplesDir = join(repoRoot, 'test/fixtures/samples');

/** Every sample file, with its path relative to the corpus (used as the raw-mail source). */
export function sampleInputs(dir = samplesDir): { path: string; source: string }[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory()
        ? sampleInputs(path)
        : [{ path, source: relative(samplesDir, path) }];
    });
}

export interface Expected {
  /** outcome source → report JSON (enriched offline), for each report. */
  reports: Map<string, { report_type: ParsedReport['report_type']; json: string }[]>;
  /** outcome source → error codes. */
  errors: Map<string, string[]>;
}

const push = <V>(map: Map<string, V[]>, key: string, value: V) =>
  map.set(key, [...(map.get(key) ?? []), value]);

export async function expectedOf(inputs: { path: string; source: string }[]): Promise<Expected> {
  const enricher = await createEnricher({ offline: true });
  const expected: Expected = { reports: new Map(), errors: new Map() };
  try {
    for (const { path, source } of inputs) {
      for await (const outcome of parseReports(readFileSync(path), { source })) {
        if (!outcome.ok) {
          push(expected.errors, outcome.source, outcome.error.code);
          continue;
        }
        const enriched = await enricher.enrichReport(outcome.parsed);
        push(expected.reports, outcome.source, {
          report_type: enriched.report_type,
          json: JSON.stringify(enriched.report),
        });
      }
    }
  } finally {
    await enricher.close();
  }
  return expected;
}

/**
 * The reports on the report topics, parts of one report merged (grouped by key and origin, in part order),
 * as model JSON: outcome source → reports.
 */
export function actualOf(
  received: Decoded<TopicKind>[],
): Map<string, { report_type: string; json: string }[]> {
  const out = new Map<string, { report_type: string; json: string }[]>();
  const parts = new Map<string, AggregateReportMessage[]>();
  for (const m of received) {
    if (m.topic.endsWith('dmarc_aggregate')) {
      const value = m.value as AggregateReportMessage;
      if (value.part === null) {
        push(out, value.origin.source, {
          report_type: 'aggregate',
          json: JSON.stringify(aggregateFromAvro(value)),
        });
      } else {
        push(parts, `${m.key}|${value.origin.source}|${value.origin.raw_sha256}`, value);
      }
    } else if (m.topic.endsWith('dmarc_forensic')) {
      const value = m.value as TopicValuesOf<'dmarc_forensic'>;
      push(out, value.origin.source, {
        report_type: 'forensic',
        json: JSON.stringify(forensicFromAvro(value)),
      });
    } else if (m.topic.endsWith('dmarc_smtp_tls')) {
      const value = m.value as TopicValuesOf<'dmarc_smtp_tls'>;
      push(out, value.origin.source, {
        report_type: 'smtp_tls',
        json: JSON.stringify(smtpTlsFromAvro(value)),
      });
    }
  }
  for (const group of parts.values()) {
    group.sort((a, b) => a.part!.index - b.part!.index);
    const complete = group.every((p, i) => p.part!.index === i) && group[group.length - 1]!.part!.is_last;
    const merged = { ...group[0]!, records: group.flatMap((p) => p.records) };
    push(out, group[0]!.origin.source, {
      report_type: complete ? 'aggregate' : 'aggregate (incomplete parts)',
      json: JSON.stringify(aggregateFromAvro(merged)),
    });
  }
  return out;
}

type TopicValuesOf<K extends TopicKind> = TopicValues[K];

/** Number of report messages expected on the report topics when aggregate reports are split every `partRecords`. */
export function expectedMessageCount(expected: Expected, partRecords: number): number {
  let n = 0;
  for (const reports of expected.reports.values()) {
    for (const r of reports) {
      if (r.report_type !== 'aggregate') n += 1;
      else
        n += Math.max(
          1,
          Math.ceil((JSON.parse(r.json) as { records: unknown[] }).records.length / partRecords),
        );
    }
  }
  return n;
}
