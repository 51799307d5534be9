/** Pure helpers of the ingest loop: batch planning and where a message goes. */
import type { Disposition, MessageRef } from './types.js';

export interface BatchLimits {
  /** Messages per batch. */
  maxMessages: number;
  /** Bytes per batch (the sum of the listed sizes); a single larger message is a batch of its own. */
  maxBytes: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxMessages: 100, maxBytes: 32 * 1024 * 1024 };

/** Splits a listing into batches in order, each within both limits (or a single message). */
export function planBatches<T extends MessageRef>(refs: readonly T[], limits: BatchLimits): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const ref of refs) {
    if (current.length > 0 && (current.length >= limits.maxMessages || bytes + ref.size > limits.maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(ref);
    bytes += ref.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export type ReportKind = 'aggregate' | 'forensic' | 'smtp_tls';

const FOLDER_OF_KIND: Record<ReportKind, Disposition> = {
  aggregate: 'Aggregate',
  forensic: 'Forensic',
  smtp_tls: 'SMTP-TLS',
};

/**
 * The archive subfolder of a message, from the kinds of the reports parsed out of it (errors left out):
 * the first report's kind, like the original (one report per message in practice); no report at all means
 * the message is Invalid.
 */
export function dispositionOf(kinds: readonly ReportKind[]): Disposition {
  const first = kinds[0];
  return first === undefined ? 'Invalid' : FOLDER_OF_KIND[first];
}

/** Groups refs by disposition (archive subfolder), keeping the listing order inside each group. */
export function groupByDisposition<T, D extends string>(
  items: readonly T[],
  dispositions: readonly D[],
): Map<D, T[]> {
  const groups = new Map<D, T[]>();
  items.forEach((item, index) => {
    const disposition = dispositions[index];
    if (disposition === undefined) return;
    const group = groups.get(disposition);
    if (group) group.push(item);
    else groups.set(disposition, [item]);
  });
  return groups;
}
