/**
 * The digest of a window of reports: what a mail and security team reads in a minute. Built report by report
 * (parts of huge reports too), in bounded memory whatever the input: per domain its volume and aligned
 * shares, the policy in force, reporters, the top failing sources and the sources new in the window; per day
 * the messages passing and failing DMARC (for the chart); forensic and SMTP TLS failure counts.
 *
 * "New" sources: with `knownSources` (a service's history of earlier windows), those not in it; otherwise
 * those first seen on the window's last day when the window has earlier days (a command run over a
 * folder of reports has no history beyond them).
 */
import type { AggregateReport, ForensicReport, ParsedReport, SmtpTlsReport } from '@parsedmarc-ts/parser';

/** Bounds on what the digest keeps, whatever an attacker puts into reports. */
export const digestLimits = {
  domains: 5_000,
  sourcesPerDomain: 20_000,
  reportersPerDomain: 1_000,
  days: 4_000,
  smtpTlsFailureTypes: 100,
  /** Rows shown per table. */
  rows: 10,
} as const;

export interface DigestSource {
  ip: string;
  reverseDns: string | null;
  baseDomain: string | null;
  country: string | null;
  messages: number;
  /** Messages failing DMARC (not aligned by SPF nor DKIM). */
  failing: number;
}

export interface DigestDomain {
  domain: string;
  messages: number;
  dmarcPass: number;
  spfAligned: number;
  dkimAligned: number;
  /** The policy of the domain's latest report (by end date). */
  policy: { p: string; sp: string; pct: string } | null;
  reporters: { name: string; messages: number }[];
  failingSources: DigestSource[];
  newSources: DigestSource[];
  /** Distinct sources seen (capped at digestLimits.sourcesPerDomain). */
  sources: number;
  forensicReports: number;
}

export interface DigestDay {
  /** YYYY-MM-DD (UTC, as the reports' dates are). */
  day: string;
  pass: number;
  fail: number;
}

export interface DigestSmtpTls {
  domain: string;
  successful: number;
  failed: number;
  failureTypes: { type: string; sessions: number }[];
}

export interface Digest {
  /** First and last day covered by the aggregate records (or the other reports), null when empty. */
  window: { begin: string; end: string } | null;
  totals: {
    messages: number;
    dmarcPass: number;
    spfAligned: number;
    dkimAligned: number;
    aggregateReports: number;
    forensicReports: number;
    smtpTlsReports: number;
    smtpTlsSuccessful: number;
    smtpTlsFailed: number;
  };
  /** By messages, most first; at most digestLimits.domains. */
  domains: DigestDomain[];
  days: DigestDay[];
  smtpTls: DigestSmtpTls[];
  /** Something was left out to stay within digestLimits (said in the digest). */
  truncated: boolean;
}

interface SourceState {
  ip: string;
  reverseDns: string | null;
  baseDomain: string | null;
  country: string | null;
  messages: number;
  failing: number;
  firstDay: string;
}

interface DomainState {
  domain: string;
  messages: number;
  dmarcPass: number;
  spfAligned: number;
  dkimAligned: number;
  policy: { p: string; sp: string; pct: string; asOf: string } | null;
  reporters: Map<string, number>;
  sources: Map<string, SourceState>;
  forensicReports: number;
}

const dayOf = (date: string | null | undefined): string | null =>
  date && /^\d{4}-\d{2}-\d{2}/.test(date) ? date.slice(0, 10) : null;

const byMessages = <T extends { messages: number }>(a: T, b: T): number => b.messages - a.messages;

export class DigestBuilder {
  private readonly domains = new Map<string, DomainState>();
  private readonly days = new Map<string, DigestDay>();
  private readonly smtpTls = new Map<
    string,
    { successful: number; failed: number; types: Map<string, number> }
  >();
  private firstDay: string | null = null;
  private lastDay: string | null = null;
  private truncated = false;
  private readonly totals: Digest['totals'] = {
    messages: 0,
    dmarcPass: 0,
    spfAligned: 0,
    dkimAligned: 0,
    aggregateReports: 0,
    forensicReports: 0,
    smtpTlsReports: 0,
    smtpTlsSuccessful: 0,
    smtpTlsFailed: 0,
  };

  constructor(private readonly options: { knownSources?: ReadonlySet<string> } = {}) {}

  /** Adds a report, or one part of a huge aggregate report (`firstPart` false for the parts after the first). */
  add(parsed: ParsedReport, firstPart = true): void {
    switch (parsed.report_type) {
      case 'aggregate':
        this.addAggregate(parsed.report, firstPart);
        return;
      case 'forensic':
        this.addForensic(parsed.report);
        return;
      case 'smtp_tls':
        this.addSmtpTls(parsed.report);
        return;
    }
  }

  private seeDay(day: string | null): void {
    if (day === null) return;
    if (this.firstDay === null || day < this.firstDay) this.firstDay = day;
    if (this.lastDay === null || day > this.lastDay) this.lastDay = day;
  }

  private domain(name: string): DomainState | null {
    const key = name.toLowerCase();
    let state = this.domains.get(key);
    if (!state) {
      if (this.domains.size >= digestLimits.domains) {
        this.truncated = true;
        return null;
      }
      state = {
        domain: key,
        messages: 0,
        dmarcPass: 0,
        spfAligned: 0,
        dkimAligned: 0,
        policy: null,
        reporters: new Map(),
        sources: new Map(),
        forensicReports: 0,
      };
      this.domains.set(key, state);
    }
    return state;
  }

  private addAggregate(report: AggregateReport, firstPart: boolean): void {
    if (firstPart) this.totals.aggregateReports += 1;
    const policy = report.policy_published;
    const domain = this.domain(policy.domain);
    const asOf = report.report_metadata.end_date;
    if (domain && (domain.policy === null || asOf >= domain.policy.asOf)) {
      domain.policy = { p: policy.p, sp: policy.sp, pct: policy.pct, asOf };
    }
    const reporter = report.report_metadata.org_name ?? '(unnamed reporter)';
    for (const record of report.records) {
      const messages = record.count;
      const pass = record.alignment.dmarc;
      const day = dayOf(record.interval_begin) ?? dayOf(report.report_metadata.begin_date);
      this.seeDay(day);
      this.totals.messages += messages;
      if (pass) this.totals.dmarcPass += messages;
      if (record.alignment.spf) this.totals.spfAligned += messages;
      if (record.alignment.dkim) this.totals.dkimAligned += messages;
      if (day !== null) {
        let bar = this.days.get(day);
        if (!bar && this.days.size < digestLimits.days) {
          bar = { day, pass: 0, fail: 0 };
          this.days.set(day, bar);
        }
        if (bar) {
          if (pass) bar.pass += messages;
          else bar.fail += messages;
        } else this.truncated = true;
      }
      if (!domain) continue;
      domain.messages += messages;
      if (pass) domain.dmarcPass += messages;
      if (record.alignment.spf) domain.spfAligned += messages;
      if (record.alignment.dkim) domain.dkimAligned += messages;
      const reporterCount = domain.reporters.get(reporter);
      if (reporterCount !== undefined) domain.reporters.set(reporter, reporterCount + messages);
      else if (domain.reporters.size < digestLimits.reportersPerDomain)
        domain.reporters.set(reporter, messages);
      else this.truncated = true;
      const ip = record.source.ip_address;
      let source = domain.sources.get(ip);
      if (!source) {
        if (domain.sources.size >= digestLimits.sourcesPerDomain) {
          this.truncated = true;
          continue;
        }
        source = {
          ip,
          reverseDns: record.source.reverse_dns,
          baseDomain: record.source.base_domain,
          country: record.source.country,
          messages: 0,
          failing: 0,
          firstDay: day ?? '',
        };
        domain.sources.set(ip, source);
      } else if (day !== null && (source.firstDay === '' || day < source.firstDay)) source.firstDay = day;
      source.messages += messages;
      if (!pass) source.failing += messages;
    }
  }

  private addForensic(report: ForensicReport): void {
    this.totals.forensicReports += 1;
    this.seeDay(dayOf(report.arrival_date_utc));
    const name = report.reported_domain ?? report.parsed_sample.from?.domain ?? null;
    if (name === null) return;
    const domain = this.domain(name);
    if (domain) domain.forensicReports += 1;
  }

  private addSmtpTls(report: SmtpTlsReport): void {
    this.totals.smtpTlsReports += 1;
    this.seeDay(dayOf(report.begin_date));
    for (const policy of report.policies) {
      const key = policy.policy_domain.toLowerCase();
      let state = this.smtpTls.get(key);
      if (!state) {
        if (this.smtpTls.size >= digestLimits.domains) {
          this.truncated = true;
          continue;
        }
        state = { successful: 0, failed: 0, types: new Map() };
        this.smtpTls.set(key, state);
      }
      state.successful += policy.successful_session_count;
      state.failed += policy.failed_session_count;
      this.totals.smtpTlsSuccessful += policy.successful_session_count;
      this.totals.smtpTlsFailed += policy.failed_session_count;
      for (const detail of policy.failure_details ?? []) {
        const sessions = state.types.get(detail.result_type);
        if (sessions !== undefined)
          state.types.set(detail.result_type, sessions + detail.failed_session_count);
        else if (state.types.size < digestLimits.smtpTlsFailureTypes)
          state.types.set(detail.result_type, detail.failed_session_count);
        else this.truncated = true;
      }
    }
  }

  private isNew(domain: string, source: SourceState): boolean {
    const known = this.options.knownSources;
    if (known) return !known.has(`${domain} ${source.ip}`);
    return this.firstDay !== null && this.firstDay !== this.lastDay && source.firstDay === this.lastDay;
  }

  /** Every (domain, source IP) seen, as "domain ip" keys: a service's history for the next window. */
  sourceKeys(): string[] {
    const keys: string[] = [];
    for (const domain of this.domains.values())
      for (const ip of domain.sources.keys()) keys.push(`${domain.domain} ${ip}`);
    return keys;
  }

  result(): Digest {
    const row = (s: SourceState): DigestSource => ({
      ip: s.ip,
      reverseDns: s.reverseDns,
      baseDomain: s.baseDomain,
      country: s.country,
      messages: s.messages,
      failing: s.failing,
    });
    const domains = [...this.domains.values()]
      .map((d): DigestDomain => {
        const sources = [...d.sources.values()];
        return {
          domain: d.domain,
          messages: d.messages,
          dmarcPass: d.dmarcPass,
          spfAligned: d.spfAligned,
          dkimAligned: d.dkimAligned,
          policy: d.policy && { p: d.policy.p, sp: d.policy.sp, pct: d.policy.pct },
          reporters: [...d.reporters]
            .map(([name, messages]) => ({ name, messages }))
            .sort(byMessages)
            .slice(0, digestLimits.rows),
          failingSources: sources
            .filter((s) => s.failing > 0)
            .sort((a, b) => b.failing - a.failing || b.messages - a.messages)
            .slice(0, digestLimits.rows)
            .map(row),
          newSources: sources
            .filter((s) => this.isNew(d.domain, s))
            .sort(byMessages)
            .slice(0, digestLimits.rows)
            .map(row),
          sources: d.sources.size,
          forensicReports: d.forensicReports,
        };
      })
      .sort(
        (a, b) =>
          byMessages(a, b) || b.forensicReports - a.forensicReports || a.domain.localeCompare(b.domain),
      );
    return {
      window: this.firstDay === null ? null : { begin: this.firstDay, end: this.lastDay! },
      totals: { ...this.totals },
      domains,
      days: [...this.days.values()].sort((a, b) => (a.day < b.day ? -1 : 1)),
      smtpTls: [...this.smtpTls]
        .map(([domain, s]) => ({
          domain,
          successful: s.successful,
          failed: s.failed,
          failureTypes: [...s.types]
            .map(([type, sessions]) => ({ type, sessions }))
            .sort((a, b) => b.sessions - a.sessions)
            .slice(0, digestLimits.rows),
        }))
        .sort((a, b) => b.failed - a.failed || b.successful - a.successful),
      truncated: this.truncated,
    };
  }
}
