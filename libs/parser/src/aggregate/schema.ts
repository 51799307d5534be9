/**
 * The element tree of an aggregate report as the SAX pass walks it: each element we read gets a context
 * number, found from its parent's context and its local name (namespace prefix stripped). Anything not
 * listed (extensions, unknown elements, the children of a text element) is IGNORED with its whole subtree,
 * which is how draft, RFC 7489 1.0 and DMARCbis 2.0 documents all fit the same walk.
 */

export const IGNORED = 0;
/** Above <feedback>: the document root or a wrapper some reporters add (e.g. an unclosed <xs:schema>). */
export const OUTSIDE = 1;
export const FEEDBACK = 2;
export const VERSION = 3;

export const METADATA = 4;
export const ORG_NAME = 5;
export const EMAIL = 6;
export const EXTRA_CONTACT_INFO = 7;
export const REPORT_ID = 8;
export const DATE_RANGE = 9;
export const BEGIN = 10;
export const END = 11;
export const ERROR = 12;
export const GENERATOR = 13;

export const POLICY = 14;
export const POLICY_DOMAIN = 15;
export const ADKIM = 16;
export const ASPF = 17;
export const P = 18;
export const SP = 19;
export const PCT = 20;
export const FO = 21;
export const NP = 22;
export const TESTING = 23;
export const DISCOVERY_METHOD = 24;

export const RECORD = 25;
export const ROW = 26;
export const SOURCE_IP = 27;
export const COUNT = 28;
export const POLICY_EVALUATED = 29;
export const DISPOSITION = 30;
export const EVALUATED_DKIM = 31;
export const EVALUATED_SPF = 32;
export const REASON = 33;
export const REASON_TYPE = 34;
export const REASON_COMMENT = 35;
export const IDENTIFIERS = 36;
export const HEADER_FROM = 37;
export const ENVELOPE_FROM = 38;
export const ENVELOPE_TO = 39;
export const AUTH_RESULTS = 40;
export const AUTH_DKIM = 41;
export const AUTH_SPF = 42;
export const AUTH_DOMAIN = 43;
export const AUTH_SELECTOR = 44;
export const AUTH_SCOPE = 45;
export const AUTH_RESULT = 46;
export const AUTH_HUMAN_RESULT = 47;

const CONTEXT_COUNT = 48;

/** The objects a text element's value is stored in. */
export type TextHolder = 'metadata' | 'policy' | 'record' | 'reason' | 'auth';

/** Where each text element's value goes: its holder and the field there. VERSION and ERROR are special. */
export const textFields: (readonly [TextHolder, string] | undefined)[] = new Array(CONTEXT_COUNT);

/** Contexts whose text is collected (their children are ignored). */
export const isTextElement: boolean[] = new Array<boolean>(CONTEXT_COUNT).fill(false);
isTextElement[VERSION] = true;
isTextElement[ERROR] = true;

const fields = (holder: TextHolder, entries: Record<string, number>): void => {
  for (const [field, context] of Object.entries(entries)) {
    textFields[context] = [holder, field];
    isTextElement[context] = true;
  }
};
fields('metadata', {
  org_name: ORG_NAME,
  email: EMAIL,
  extra_contact_info: EXTRA_CONTACT_INFO,
  report_id: REPORT_ID,
  begin: BEGIN,
  end: END,
  generator: GENERATOR,
});
const policyFields = {
  domain: POLICY_DOMAIN,
  adkim: ADKIM,
  aspf: ASPF,
  p: P,
  sp: SP,
  pct: PCT,
  fo: FO,
  np: NP,
  testing: TESTING,
  discovery_method: DISCOVERY_METHOD,
};
fields('policy', policyFields);
fields('record', {
  source_ip: SOURCE_IP,
  count: COUNT,
  disposition: DISPOSITION,
  dkim: EVALUATED_DKIM,
  spf: EVALUATED_SPF,
  header_from: HEADER_FROM,
  envelope_from: ENVELOPE_FROM,
  envelope_to: ENVELOPE_TO,
});
fields('reason', { type: REASON_TYPE, comment: REASON_COMMENT });
fields('auth', {
  domain: AUTH_DOMAIN,
  selector: AUTH_SELECTOR,
  scope: AUTH_SCOPE,
  result: AUTH_RESULT,
  human_result: AUTH_HUMAN_RESULT,
});

/** children[parent].get(localName) → child context; absent → IGNORED. */
export const children: (Map<string, number> | undefined)[] = new Array(CONTEXT_COUNT);
const define = (parent: number, entries: Record<string, number>): void => {
  children[parent] = new Map(Object.entries(entries));
};

define(FEEDBACK, { version: VERSION, report_metadata: METADATA, policy_published: POLICY, record: RECORD });
define(METADATA, {
  org_name: ORG_NAME,
  email: EMAIL,
  extra_contact_info: EXTRA_CONTACT_INFO,
  report_id: REPORT_ID,
  date_range: DATE_RANGE,
  error: ERROR,
  generator: GENERATOR,
});
define(DATE_RANGE, { begin: BEGIN, end: END });
define(POLICY, policyFields);
define(RECORD, {
  row: ROW,
  identifiers: IDENTIFIERS,
  // The draft schema's name for <identifiers>.
  identities: IDENTIFIERS,
  auth_results: AUTH_RESULTS,
});
define(ROW, { source_ip: SOURCE_IP, count: COUNT, policy_evaluated: POLICY_EVALUATED });
define(POLICY_EVALUATED, {
  disposition: DISPOSITION,
  dkim: EVALUATED_DKIM,
  spf: EVALUATED_SPF,
  reason: REASON,
});
define(REASON, { type: REASON_TYPE, comment: REASON_COMMENT });
define(IDENTIFIERS, { header_from: HEADER_FROM, envelope_from: ENVELOPE_FROM, envelope_to: ENVELOPE_TO });
define(AUTH_RESULTS, { dkim: AUTH_DKIM, spf: AUTH_SPF });
define(AUTH_DKIM, {
  domain: AUTH_DOMAIN,
  selector: AUTH_SELECTOR,
  result: AUTH_RESULT,
  human_result: AUTH_HUMAN_RESULT,
});
define(AUTH_SPF, {
  domain: AUTH_DOMAIN,
  scope: AUTH_SCOPE,
  result: AUTH_RESULT,
  human_result: AUTH_HUMAN_RESULT,
});
