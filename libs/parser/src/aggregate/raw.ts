/**
 * What the SAX pass collects from an aggregate report before normalization: element texts exactly as read
 * (trimmed; `null` for an empty element, `undefined` for an absent one, the difference the original's
 * defaults depend on). Only the first occurrence of a scalar element counts.
 */

export type RawText = string | null | undefined;

export interface RawReportMetadata {
  org_name: RawText;
  email: RawText;
  extra_contact_info: RawText;
  report_id: RawText;
  begin: RawText;
  end: RawText;
  errors: string[];
  generator: RawText;
}

export interface RawPolicyPublished {
  domain: RawText;
  adkim: RawText;
  aspf: RawText;
  p: RawText;
  sp: RawText;
  pct: RawText;
  fo: RawText;
  np: RawText;
  testing: RawText;
  discovery_method: RawText;
}

export interface RawAuthResult {
  domain: RawText;
  selector: RawText;
  scope: RawText;
  result: RawText;
  human_result: RawText;
}

export interface RawReason {
  type: RawText;
  comment: RawText;
}

export interface RawRecord {
  source_ip: RawText;
  count: RawText;
  disposition: RawText;
  dkim: RawText;
  spf: RawText;
  reasons: RawReason[];
  header_from: RawText;
  envelope_from: RawText;
  envelope_to: RawText;
  dkimResults: RawAuthResult[];
  spfResults: RawAuthResult[];
}

export function newRawReportMetadata(): RawReportMetadata {
  return {
    org_name: undefined,
    email: undefined,
    extra_contact_info: undefined,
    report_id: undefined,
    begin: undefined,
    end: undefined,
    errors: [],
    generator: undefined,
  };
}

export function newRawPolicyPublished(): RawPolicyPublished {
  return {
    domain: undefined,
    adkim: undefined,
    aspf: undefined,
    p: undefined,
    sp: undefined,
    pct: undefined,
    fo: undefined,
    np: undefined,
    testing: undefined,
    discovery_method: undefined,
  };
}

export function newRawRecord(): RawRecord {
  return {
    source_ip: undefined,
    count: undefined,
    disposition: undefined,
    dkim: undefined,
    spf: undefined,
    reasons: [],
    header_from: undefined,
    envelope_from: undefined,
    envelope_to: undefined,
    dkimResults: [],
    spfResults: [],
  };
}

export function newRawAuthResult(): RawAuthResult {
  return {
    domain: undefined,
    selector: undefined,
    scope: undefined,
    result: undefined,
    human_result: undefined,
  };
}
