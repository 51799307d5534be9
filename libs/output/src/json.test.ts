import { describe, expect, it } from 'vitest';
import { AggregateJsonWriter, indentedJson } from './json.js';

/** The definition: two-space JSON, every line after the first shifted right by `indent` spaces. */
const shifted = (value: unknown, indent: number): string =>
  JSON.stringify(value, null, 2).replace(/\n/g, `\n${' '.repeat(indent)}`);

const values: unknown[] = [
  { a: 1, b: [1, 'two', { c: null }], d: {}, e: [], f: 'line\nbreak "quoted" é \u2028' },
  [{ x: [[[]]] }, [], 'text'],
  'a string',
  42,
  null,
  [],
  {},
  { toJSON: () => ({ replaced: true }) },
  { skipped: undefined, fn: () => 1, kept: [undefined, () => 1] },
];

describe('indentedJson', () => {
  it('equals the shifted two-space JSON at every indent, even and odd', () => {
    for (const value of values) {
      for (const indent of [0, 1, 2, 3, 4, 6, 8, 12]) {
        expect(indentedJson(value, indent), `${JSON.stringify(value)} at ${indent}`).toBe(
          shifted(value, indent),
        );
      }
    }
  });
});

describe('AggregateJsonWriter', () => {
  it('writes a report in parts as the JSON of the whole report, at any indent', () => {
    const records = Array.from({ length: 5 }, (_, i) => ({ n: i, s: { ip: `10.0.0.${i}`, l: [i, 'x'] } }));
    const report = { xml_schema: '1.0', report_metadata: { id: 'r' }, records, tail: [1] };
    for (const indent of [0, 2, 3, 4]) {
      let text = '';
      const writer = new AggregateJsonWriter((chunk) => (text += chunk), indent);
      const parts = [records.slice(0, 2), [], records.slice(2, 3), records.slice(3)];
      parts.forEach((part, i) =>
        writer.addPart({ ...report, records: part } as never, i === 0, i === parts.length - 1),
      );
      expect(text, `indent ${indent}`).toBe(shifted(report, indent));
    }
  });
});
