/**
 * Composable index templates (`PUT _index_template/<name>`) for the three index families, accepted as they
 * are by Elasticsearch 8.x and OpenSearch 2.x/3.x (only features both have: index_patterns, priority,
 * version, _meta, template.settings, template.mappings with dynamic_templates and properties).
 *
 * The original creates its indexes with settings only and lets dynamic mapping type the fields; its
 * dashboards depend on the shape that gives (its issue #169): every string `text` with a `keyword`
 * subfield (ignore_above 256), every list of objects a plain `object` (never `nested`: the dashboards'
 * visual editors cannot aggregate nested fields), numbers `long`, booleans `boolean`, ISO dates `date`.
 * These templates keep that shape and pin the types dynamic mapping would otherwise leave to the first
 * document of each day:
 * - dates typed explicitly (date_begin, date_end, date_range, arrival_date, sample.date), and date
 *   detection off, so a sample header whose text happens to look like a date cannot make the field a date
 *   for the day and have every later sample refused;
 * - IPs (source_ip_address, SMTP TLS sending_mta_ip and receiving_ip) as `ip`, for CIDR queries and
 *   ranges, with the same `keyword` subfield dynamic mapping gave, so `source_ip_address.keyword` in saved
 *   searches and visualizations still works; ignore_malformed, so an odd value costs the ip field, not the
 *   document;
 * - counts `long`, flags `boolean`, published_policy.pct `long`.
 *
 * A template applies to indexes created after it: existing daily indexes keep what they have. Where old
 * (dynamic, text) and new (ip) indexes are searched together, Kibana reports a type conflict on the bare
 * source_ip_address field only; `.keyword` is the same in both.
 *
 * Priority (default 200): of all composable templates matching a new index, only the one with the highest
 * priority applies (they do not merge), and both servers refuse to store two templates with overlapping
 * patterns and the same priority. A user's broad templates ("*", "dmarc*", usually priority 0 to 100; the
 * built-in ones use 100 for logs-*-*, metrics-*-* and the like) must not shadow ours, so ours sits above
 * them; a user who wants to replace ours for these indexes can still use a higher one. Our patterns are
 * narrow (`{prefix}dmarc_aggregate[_{suffix}]-*`), so they overlap another template only when that one
 * targets these indexes; if it has exactly our priority the PUT is refused with a message naming it, and
 * the priority option resolves it.
 */
import { indexBase, indexStem, type SearchFamily, type SearchIndexOptions } from './names.js';

export interface SearchTemplateOptions extends SearchIndexOptions {
  /** index.number_of_shards; default 1 (the original's). null leaves it out (Elastic Cloud Serverless refuses it). */
  shards?: number | null;
  /** index.number_of_replicas; default 0 (the original's). null leaves it out. */
  replicas?: number | null;
  /** Template priority, default 200 (see above). */
  priority?: number;
}

export interface SearchIndexTemplate {
  family: SearchFamily;
  /** The template's name, for PUT _index_template/<name>. */
  name: string;
  /** The request body. */
  body: Record<string, unknown>;
}

/** Bumped whenever the mappings change, so an installed template can be told apart from a newer one. */
export const searchTemplateVersion = 1;
export const defaultTemplatePriority = 200;

type Mapping = Record<string, unknown>;

const keywordSubfield = { keyword: { type: 'keyword', ignore_above: 256 } };
/** What dynamic mapping gives a string. */
const text = (): Mapping => ({ type: 'text', fields: keywordSubfield });
const ip = (): Mapping => ({ type: 'ip', ignore_malformed: true, fields: keywordSubfield });
const date = (): Mapping => ({ type: 'date' });
const long = (): Mapping => ({ type: 'long' });
const boolean = (): Mapping => ({ type: 'boolean' });
const object = (properties: Record<string, Mapping>): Mapping => ({ type: 'object', properties });
const texts = (...names: string[]): Record<string, Mapping> =>
  Object.fromEntries(names.map((name) => [name, text()]));

const aggregateProperties = (): Record<string, Mapping> => ({
  ...texts('xml_schema', 'xml_namespace', 'org_name', 'org_email', 'org_extra_contact_info', 'report_id'),
  ...texts('errors', 'generator'),
  date_range: date(),
  date_begin: date(),
  date_end: date(),
  normalized_timespan: boolean(),
  published_policy: object({
    ...texts('domain', 'adkim', 'aspf', 'p', 'sp'),
    pct: long(),
    ...texts('fo', 'np', 'testing', 'discovery_method'),
  }),
  source_ip_address: ip(),
  ...texts('source_country', 'source_reverse_dns', 'source_base_domain', 'source_type', 'source_name'),
  source_asn: long(),
  ...texts('source_as_name', 'source_as_domain'),
  message_count: long(),
  disposition: text(),
  dkim_aligned: boolean(),
  spf_aligned: boolean(),
  passed_dmarc: boolean(),
  policy_overrides: object(texts('type', 'comment')),
  ...texts('header_from', 'envelope_from', 'envelope_to'),
  dkim_results: object(texts('domain', 'selector', 'result', 'human_result')),
  spf_results: object(texts('domain', 'scope', 'result', 'human_result')),
  ...texts('dkim_results_combined', 'spf_results_combined'),
  ...texts('np', 'testing', 'discovery_method'),
});

const emailAddress = (): Mapping => object(texts('display_name', 'address'));

const forensicProperties = (): Record<string, Mapping> => ({
  ...texts('feedback_type', 'user_agent', 'version', 'original_mail_from'),
  arrival_date: date(),
  ...texts('domain', 'original_envelope_id', 'authentication_results', 'delivery_results'),
  source_ip_address: ip(),
  ...texts('source_country', 'source_reverse_dns', 'source_base_domain'),
  source_asn: long(),
  ...texts('source_as_name', 'source_as_domain'),
  ...texts('authentication_mechanisms', 'auth_failure', 'dkim_domain', 'original_rcpt_to'),
  sample: object({
    raw: text(),
    // Header names are the samples' own: left to dynamic mapping (strings as text + keyword).
    headers: { type: 'object' },
    headers_only: boolean(),
    date: date(),
    ...texts('subject', 'filename_safe_subject', 'body'),
    to: emailAddress(),
    reply_to: emailAddress(),
    cc: emailAddress(),
    bcc: emailAddress(),
    attachments: object(texts('filename', 'content_type', 'sha256')),
  }),
});

const smtpTlsProperties = (): Record<string, Mapping> => ({
  org_name: text(),
  date_range: date(),
  date_begin: date(),
  date_end: date(),
  ...texts('contact_info', 'report_id'),
  ...texts('policies_combined', 'failure_details_combined'),
  policies: object({
    ...texts('policy_domain', 'policy_type', 'policy_string', 'mx_host_patterns'),
    successful_session_count: long(),
    failed_session_count: long(),
    failure_details: object({
      result_type: text(),
      sending_mta_ip: ip(),
      ...texts('receiving_mx_hostname', 'receiving_mx_helo'),
      receiving_ip: ip(),
      failed_session_count: long(),
      ...texts('additional_information_uri', 'failure_reason_code'),
    }),
  }),
});

const families: { family: SearchFamily; describe: string; properties: () => Record<string, Mapping> }[] = [
  {
    family: 'aggregate',
    describe: 'DMARC aggregate reports, one document per record',
    properties: aggregateProperties,
  },
  {
    family: 'forensic',
    describe: 'DMARC forensic (failure) reports, one document per report',
    properties: forensicProperties,
  },
  {
    family: 'smtp_tls',
    describe: 'SMTP TLS reports, one document per report',
    properties: smtpTlsProperties,
  },
];

function checkCount(what: string, value: number | null | undefined, min: number): void {
  if (value === null || value === undefined) return;
  if (!Number.isInteger(value) || value < min)
    throw new RangeError(`${what} must be an integer >= ${min}, not ${value}`);
}

/** The three index templates (aggregate, forensic, SMTP TLS) for these index names. */
export function searchIndexTemplates(options: SearchTemplateOptions = {}): SearchIndexTemplate[] {
  const shards = options.shards === undefined ? 1 : options.shards;
  const replicas = options.replicas === undefined ? 0 : options.replicas;
  const priority = options.priority ?? defaultTemplatePriority;
  checkCount('number of shards', shards, 1);
  checkCount('number of replicas', replicas, 0);
  checkCount('template priority', priority, 0);
  const settings: Record<string, number> = {};
  if (shards !== null) settings['number_of_shards'] = shards;
  if (replicas !== null) settings['number_of_replicas'] = replicas;
  return families.map(({ family, describe, properties }) => {
    const stem = indexStem(family, options);
    const meta = { managed_by: 'parsedmarc-ts', family: indexBase(family, options), description: describe };
    return {
      family,
      name: `parsedmarc-ts-${stem}`,
      body: {
        // The dated indexes of this stem only: "dmarc_aggregate-*" matches neither a suffixed
        // "dmarc_aggregate_eu-..." nor a prefixed "acme-dmarc_aggregate-..." (patterns match from the start).
        index_patterns: [`${stem}-*`],
        priority,
        version: searchTemplateVersion,
        _meta: meta,
        template: {
          settings,
          mappings: {
            _meta: { managed_by: 'parsedmarc-ts', template_version: searchTemplateVersion },
            date_detection: false,
            dynamic_templates: [
              { strings_as_text_and_keyword: { match_mapping_type: 'string', mapping: text() } },
            ],
            properties: properties(),
          },
        },
      },
    };
  });
}
