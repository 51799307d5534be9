import { describe, expect, it } from 'vitest';
import { dispositionOf, groupByDisposition, planBatches } from './batches.js';

const refs = (...sizes: number[]) => sizes.map((size, i) => ({ id: String(i + 1), size }));

describe('planBatches', () => {
  it('cuts at the message limit, keeping order', () => {
    const batches = planBatches(refs(1, 1, 1, 1, 1), { maxMessages: 2, maxBytes: 1000 });
    expect(batches.map((b) => b.map((r) => r.id))).toEqual([['1', '2'], ['3', '4'], ['5']]);
  });

  it('cuts at the byte limit; a message above it is a batch of its own', () => {
    const batches = planBatches(refs(40, 40, 30, 500, 10), { maxMessages: 100, maxBytes: 100 });
    expect(batches.map((b) => b.map((r) => r.id))).toEqual([['1', '2'], ['3'], ['4'], ['5']]);
  });

  it('plans nothing for an empty folder', () => {
    expect(planBatches([], { maxMessages: 10, maxBytes: 10 })).toEqual([]);
  });
});

describe('dispositionOf', () => {
  it('files a message by its first report, and as Invalid without any', () => {
    expect(dispositionOf(['aggregate'])).toBe('Aggregate');
    expect(dispositionOf(['forensic', 'aggregate'])).toBe('Forensic');
    expect(dispositionOf(['smtp_tls'])).toBe('SMTP-TLS');
    expect(dispositionOf([])).toBe('Invalid');
  });
});

describe('groupByDisposition', () => {
  it('groups in listing order', () => {
    const groups = groupByDisposition(['a', 'b', 'c', 'd'], ['Invalid', 'Aggregate', 'Invalid', 'Aggregate']);
    expect([...groups]).toEqual([
      ['Invalid', ['a', 'c']],
      ['Aggregate', ['b', 'd']],
    ]);
  });
});
