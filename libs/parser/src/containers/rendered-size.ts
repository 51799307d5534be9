/**
 * An upper bound on the characters of a report rendered as indented JSON, checked before the report leaves
 * the parser: every output renders a forensic or SMTP TLS report whole (the JSON files, HEC events, search
 * documents), and a JavaScript string holds at most about 512 million characters. A report within every
 * input limit can still pass that once escaped (100 MB of control characters become 600 MB of "\u0001"):
 * it is refused here with a typed limit error, not met later as a RangeError.
 */
import { limitExceeded } from '../errors.js';
import type { ParseLimits } from '../limits.js';

/** Characters a string takes in JSON: cheap bound first, exact count only when the bound is too big. */
function stringChars(text: string, budget: number): number {
  const bound = text.length * 6 + 2;
  if (bound <= budget) return bound;
  let chars = 2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    chars += c < 0x20 ? 6 : c === 0x22 || c === 0x5c ? 2 : 1;
  }
  return chars;
}

/** The bound for `value` at nesting `depth` (each line indented by two spaces per level). */
function renderedChars(value: unknown, depth: number, budget: number): number {
  if (typeof value === 'string') return stringChars(value, budget);
  if (value === null || typeof value !== 'object') return 24;
  const indent = 2 * (depth + 1) + 3;
  let chars = 2 + 2 * depth;
  if (Array.isArray(value)) {
    for (const item of value) {
      chars += indent + renderedChars(item, depth + 1, budget - chars);
      if (chars > budget) return chars;
    }
    return chars;
  }
  for (const [key, item] of Object.entries(value)) {
    chars += indent + stringChars(key, budget) + 2 + renderedChars(item, depth + 1, budget - chars);
    if (chars > budget) return chars;
  }
  return chars;
}

/** Throws LIMIT_EXCEEDED maxReportJsonChars when the report could not be rendered as one string. */
export function checkRenderedSize(report: unknown, limits: ParseLimits, source: string): void {
  const limit = limits.maxReportJsonChars;
  const chars = renderedChars(report, 0, limit);
  if (chars > limit) {
    throw limitExceeded(
      'maxReportJsonChars',
      limit,
      `The report rendered as JSON (over ${chars} characters)`,
      {
        source,
      },
    );
  }
}
