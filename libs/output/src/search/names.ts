/**
 * Index names, as the original builds them: `{prefix}{base}[_{suffix}]-{date}`. The prefix is prepended as
 * written (its separator, if any, is part of it: "x-" gives "x-dmarc_aggregate-2024-01-31"); the suffix is
 * joined with "_"; an empty prefix or suffix is none. The date is the UTC day ("%Y-%m-%d"), or the UTC month
 * ("%Y-%m") with monthly indexes.
 */

/** The three families of documents, named by their index base in the original. */
export type SearchFamily = 'aggregate' | 'forensic' | 'smtp_tls';

export interface SearchIndexOptions {
  /** Prepended to every index name as written, e.g. "acme-". */
  prefix?: string;
  /** Appended to the base with "_", e.g. "eu" gives dmarc_aggregate_eu-2024-01-31. */
  suffix?: string;
  /** One index per month (YYYY-MM) instead of per day (YYYY-MM-DD). */
  monthly?: boolean;
  /**
   * Base name of forensic indexes: "dmarc_forensic" (the documented original's and older releases', the default) or
   * "dmarc_failure" (parsedmarc 10's RFC 9991 word). The original's dashboards match both ("dmarc_f*").
   */
  forensicBase?: 'dmarc_forensic' | 'dmarc_failure';
}

export function indexBase(family: SearchFamily, options: SearchIndexOptions): string {
  if (family === 'aggregate') return 'dmarc_aggregate';
  if (family === 'smtp_tls') return 'smtp_tls';
  return options.forensicBase ?? 'dmarc_forensic';
}

/** The undated part of a family's index names: `{prefix}{base}[_{suffix}]`. */
export function indexStem(family: SearchFamily, options: SearchIndexOptions): string {
  const suffix = options.suffix ? `_${options.suffix}` : '';
  return `${options.prefix ?? ''}${indexBase(family, options)}${suffix}`;
}

/**
 * The index a document of `family` dated `utcDay` goes to.
 * @param utcDay the UTC day, "YYYY-MM-DD" (longer text is cut, e.g. "YYYY-MM-DD HH:MM:SS")
 */
export function searchIndexName(
  family: SearchFamily,
  utcDay: string,
  options: SearchIndexOptions = {},
): string {
  if (!/^\d{4}-\d{2}-\d{2}/.test(utcDay)) throw new RangeError(`not a YYYY-MM-DD day: ${utcDay}`);
  return `${indexStem(family, options)}-${utcDay.slice(0, options.monthly ? 7 : 10)}`;
}

const FORBIDDEN_CHARACTERS = /[\\/*?"<>|\s,#:]/;

/**
 * What makes the options unusable as index names on Elasticsearch and OpenSearch (both refuse upper case,
 * the characters \ / * ? " < > | space , # :, a name starting with - _ +, and names over 255 bytes): one
 * sentence per problem, none when they are fine. The original does not check; its index creation fails.
 */
export function searchIndexOptionsProblems(options: SearchIndexOptions): string[] {
  const problems: string[] = [];
  for (const [what, value] of [
    ['prefix', options.prefix],
    ['suffix', options.suffix],
  ] as const) {
    if (!value) continue;
    if (value !== value.toLowerCase()) problems.push(`index ${what} "${value}" must be lower case`);
    if (FORBIDDEN_CHARACTERS.test(value)) {
      problems.push(`index ${what} "${value}" must not contain \\ / * ? " < > | , # : or spaces`);
    }
  }
  if (options.prefix && /^[-_+]/.test(options.prefix)) {
    problems.push(`index prefix "${options.prefix}" must not start with -, _ or +`);
  }
  const longest = Math.max(
    ...(['aggregate', 'forensic', 'smtp_tls'] as const).map(
      (family) => Buffer.byteLength(indexStem(family, options)) + '-YYYY-MM-DD'.length,
    ),
  );
  if (longest > 255) problems.push(`index names would be ${longest} bytes long, over the limit of 255`);
  return problems;
}
