/**
 * The digest as an email body: HTML with inline styles only (no <style> blocks, no scripts, tables for
 * layout: what Gmail, Outlook and Apple Mail all render) and its plain-text twin with the same content.
 * Every value from a report is escaped: reports are attacker-controlled.
 */
import type { DailyChart } from './chart.js';
import { chartColors } from './chart.js';
import { digestLimits, type Digest, type DigestDomain, type DigestSource } from './model.js';

export interface DigestRenderOptions {
  /** The title line, e.g. "DMARC results for 2024-05-02". */
  title: string;
  /** The chart and the Content-ID its image is attached under; null: no chart. */
  chart: { chart: DailyChart; cid: string } | null;
  /** Domains shown in full (the rest are listed in one table). */
  maxDomains?: number;
  /** The attachment's file name, named in the footer. */
  attachmentName?: string | null;
  /** The product line in the footer. */
  generator?: string;
}

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const share = (part: number, whole: number): number | null => (whole > 0 ? (100 * part) / whole : null);
const pct = (value: number | null): string =>
  value === null ? '–' : `${value >= 99.95 || value < 0.05 ? value.toFixed(0) : value.toFixed(1)}%`;
const hex = (rgb: readonly number[]): string =>
  `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;

/** Green from 98 %, amber from 90 %, red below. */
const shareColor = (value: number | null): string =>
  value === null ? '#757575' : value >= 98 ? '#2e7d32' : value >= 90 ? '#b26a00' : '#c62828';

const font = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const cell = 'padding:4px 8px;border-bottom:1px solid #eeeeee;font-size:13px;vertical-align:top';
const headCell = `${cell};text-align:left;color:#616161;font-weight:600;border-bottom:1px solid #bdbdbd`;
const numeric = ';text-align:right;white-space:nowrap';

function table(headers: string[], rows: string[][], numericColumns: ReadonlySet<number>): string {
  const head = headers
    .map((h, i) => `<th style="${headCell}${numericColumns.has(i) ? numeric : ''}">${escapeHtml(h)}</th>`)
    .join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${row.map((v, i) => `<td style="${cell}${numericColumns.has(i) ? numeric : ''}">${v}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;width:100%;margin:4px 0 12px">${head ? `<tr>${head}</tr>` : ''}${body}</table>`;
}

const sourceRows = (sources: DigestSource[], failing: boolean): string[][] =>
  sources.map((s) => [
    `<code style="font-size:12px">${escapeHtml(s.ip)}</code>`,
    escapeHtml(s.reverseDns ?? '–'),
    escapeHtml(s.baseDomain ?? '–'),
    escapeHtml(s.country ?? '–'),
    int(failing ? s.failing : s.messages),
  ]);

function shareBadge(label: string, value: number | null): string {
  return `<td style="padding:6px 10px;border:1px solid #e0e0e0;text-align:center;${font}"><div style="font-size:20px;font-weight:700;color:${shareColor(value)}">${pct(value)}</div><div style="font-size:11px;color:#616161">${escapeHtml(label)}</div></td>`;
}

function domainHtml(d: DigestDomain): string {
  const policy = d.policy
    ? `p=${escapeHtml(d.policy.p)}, sp=${escapeHtml(d.policy.sp)}, pct=${escapeHtml(d.policy.pct)}`
    : 'no aggregate report';
  const parts = [
    `<h2 style="${font};font-size:17px;margin:24px 0 4px;color:#212121">${escapeHtml(d.domain)}</h2>`,
    `<div style="${font};font-size:13px;color:#616161;margin-bottom:6px">${int(d.messages)} messages from ${int(d.sources)} sources · policy ${policy}${d.forensicReports > 0 ? ` · ${int(d.forensicReports)} forensic reports` : ''}</div>`,
    `<table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:4px 0 10px"><tr>${shareBadge('DMARC pass', share(d.dmarcPass, d.messages))}${shareBadge('SPF aligned', share(d.spfAligned, d.messages))}${shareBadge('DKIM aligned', share(d.dkimAligned, d.messages))}</tr></table>`,
  ];
  const cols = new Set([4]);
  if (d.failingSources.length > 0) {
    parts.push(
      `<div style="${font};font-size:13px;font-weight:600;margin-top:6px">Top failing sources</div>`,
      table(
        ['IP', 'Reverse DNS', 'Base domain', 'Country', 'Failing'],
        sourceRows(d.failingSources, true),
        cols,
      ),
    );
  }
  if (d.newSources.length > 0) {
    parts.push(
      `<div style="${font};font-size:13px;font-weight:600;margin-top:6px">New sources in this window</div>`,
      table(
        ['IP', 'Reverse DNS', 'Base domain', 'Country', 'Messages'],
        sourceRows(d.newSources, false),
        cols,
      ),
    );
  }
  if (d.reporters.length > 0) {
    parts.push(
      `<div style="${font};font-size:13px;font-weight:600;margin-top:6px">Reporters</div>`,
      table(
        ['Reporter', 'Messages'],
        d.reporters.map((r) => [escapeHtml(r.name), int(r.messages)]),
        new Set([1]),
      ),
    );
  }
  return parts.join('');
}

function chartHtml(options: DigestRenderOptions): string {
  if (!options.chart) return '';
  const { chart, cid } = options.chart;
  const first = chart.days[0]!.day;
  const last = chart.days[chart.days.length - 1]!.day;
  const legend = (color: readonly number[], label: string) =>
    `<span style="display:inline-block;width:10px;height:10px;background:${hex(color)};margin:0 4px 0 10px"></span>${label}`;
  return [
    `<div style="${font};font-size:13px;font-weight:600;margin:16px 0 4px">Messages per day${legend(chartColors.pass, 'passing DMARC')}${legend(chartColors.fail, 'failing')}</div>`,
    `<img src="cid:${escapeHtml(cid)}" width="${chart.width}" height="${chart.height}" alt="Messages per day, passing and failing DMARC, ${escapeHtml(first)} to ${escapeHtml(last)}" style="display:block;max-width:100%;height:auto;border:1px solid #e0e0e0">`,
    `<table role="presentation" cellpadding="0" cellspacing="0" style="width:100%;max-width:${chart.width}px;${font};font-size:11px;color:#757575"><tr><td>${escapeHtml(first)}</td><td style="text-align:center">busiest day: ${int(chart.maxMessages)} messages</td><td style="text-align:right">${escapeHtml(last)}</td></tr></table>`,
  ].join('');
}

/** The digest as one HTML document (inline styles only). */
export function renderDigestHtml(digest: Digest, options: DigestRenderOptions): string {
  const t = digest.totals;
  const maxDomains = options.maxDomains ?? digestLimits.rows;
  const shown = digest.domains.filter((d) => d.messages > 0 || d.forensicReports > 0).slice(0, maxDomains);
  const rest = digest.domains.slice(shown.length).filter((d) => d.messages > 0);
  const window = digest.window
    ? digest.window.begin === digest.window.end
      ? digest.window.begin
      : `${digest.window.begin} to ${digest.window.end}`
    : 'no reports';
  const parts: string[] = [
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
    `<title>${escapeHtml(options.title)}</title></head>`,
    `<body style="margin:0;padding:0;background:#f5f5f5">`,
    `<table role="presentation" cellpadding="0" cellspacing="0" style="width:100%;background:#f5f5f5"><tr><td style="padding:16px">`,
    `<table role="presentation" cellpadding="0" cellspacing="0" style="width:100%;max-width:680px;margin:0 auto;background:#ffffff;border:1px solid #e0e0e0"><tr><td style="padding:20px 24px;${font};color:#212121">`,
    `<h1 style="${font};font-size:20px;margin:0 0 4px">${escapeHtml(options.title)}</h1>`,
    `<div style="${font};font-size:13px;color:#616161">${escapeHtml(window)} · ${int(t.aggregateReports)} aggregate, ${int(t.forensicReports)} forensic, ${int(t.smtpTlsReports)} SMTP TLS reports · ${int(t.messages)} messages</div>`,
    `<table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:12px 0 4px"><tr>${shareBadge('DMARC pass', share(t.dmarcPass, t.messages))}${shareBadge('SPF aligned', share(t.spfAligned, t.messages))}${shareBadge('DKIM aligned', share(t.dkimAligned, t.messages))}${shareBadge('SMTP TLS sessions failed', share(t.smtpTlsFailed, t.smtpTlsFailed + t.smtpTlsSuccessful))}</tr></table>`,
    chartHtml(options),
    ...shown.map(domainHtml),
  ];
  if (rest.length > 0) {
    parts.push(
      `<h2 style="${font};font-size:17px;margin:24px 0 4px">Other domains</h2>`,
      table(
        ['Domain', 'Messages', 'DMARC pass'],
        rest
          .slice(0, 100)
          .map((d) => [escapeHtml(d.domain), int(d.messages), pct(share(d.dmarcPass, d.messages))]),
        new Set([1, 2]),
      ),
    );
  }
  if (digest.smtpTls.length > 0) {
    parts.push(
      `<h2 style="${font};font-size:17px;margin:24px 0 4px">SMTP TLS</h2>`,
      table(
        ['Policy domain', 'Successful', 'Failed', 'Failure types'],
        digest.smtpTls
          .slice(0, maxDomains)
          .map((s) => [
            escapeHtml(s.domain),
            int(s.successful),
            `<span style="color:${s.failed > 0 ? '#c62828' : '#212121'}">${int(s.failed)}</span>`,
            escapeHtml(s.failureTypes.map((f) => `${f.type} (${int(f.sessions)})`).join(', ') || '–'),
          ]),
        new Set([1, 2]),
      ),
    );
  }
  if (digest.truncated) {
    parts.push(
      `<p style="${font};font-size:12px;color:#b26a00">Some domains, sources or days were left out of this digest to keep it bounded; the attachment has everything.</p>`,
    );
  }
  parts.push(
    `<p style="${font};font-size:12px;color:#757575;margin-top:24px;border-top:1px solid #eeeeee;padding-top:8px">${options.attachmentName ? `The attachment ${escapeHtml(options.attachmentName)} holds every report as JSON and CSV. ` : ''}${escapeHtml(options.generator ?? 'parsedmarc-ts')}</p>`,
    '</td></tr></table></td></tr></table></body></html>',
  );
  return parts.join('\n');
}

const textTable = (headers: string[], rows: string[][]): string => {
  const widths = headers.map((h, i) => Math.min(40, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (c.length > widths[i]! ? `${c.slice(0, widths[i]! - 1)}…` : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)]
    .map((l) => `  ${l}`)
    .join('\n');
};

const textSources = (sources: DigestSource[], failing: boolean): string[][] =>
  sources.map((s) => [
    s.ip,
    s.reverseDns ?? '-',
    s.baseDomain ?? '-',
    s.country ?? '-',
    int(failing ? s.failing : s.messages),
  ]);

/** The plain-text twin of renderDigestHtml: the same numbers, for clients that show no HTML. */
export function renderDigestText(
  digest: Digest,
  options: Omit<DigestRenderOptions, 'chart'> & { chart?: unknown },
): string {
  const t = digest.totals;
  const maxDomains = options.maxDomains ?? digestLimits.rows;
  const out: string[] = [options.title, '='.repeat(options.title.length), ''];
  const window = digest.window
    ? digest.window.begin === digest.window.end
      ? digest.window.begin
      : `${digest.window.begin} to ${digest.window.end}`
    : 'no reports';
  out.push(
    `${window}: ${int(t.aggregateReports)} aggregate, ${int(t.forensicReports)} forensic, ${int(t.smtpTlsReports)} SMTP TLS reports; ${int(t.messages)} messages`,
    `DMARC pass ${pct(share(t.dmarcPass, t.messages))}, SPF aligned ${pct(share(t.spfAligned, t.messages))}, DKIM aligned ${pct(share(t.dkimAligned, t.messages))}; SMTP TLS sessions failed ${pct(share(t.smtpTlsFailed, t.smtpTlsFailed + t.smtpTlsSuccessful))}`,
  );
  if (digest.days.length > 1) {
    out.push('', 'Messages per day (passing / failing DMARC):');
    for (const d of digest.days.slice(-62))
      out.push(`  ${d.day}  ${int(d.pass).padStart(10)} / ${int(d.fail)}`);
  }
  const shown = digest.domains.filter((d) => d.messages > 0 || d.forensicReports > 0).slice(0, maxDomains);
  for (const d of shown) {
    const policy = d.policy
      ? `p=${d.policy.p}, sp=${d.policy.sp}, pct=${d.policy.pct}`
      : 'no aggregate report';
    out.push(
      '',
      d.domain,
      '-'.repeat(d.domain.length),
      `${int(d.messages)} messages from ${int(d.sources)} sources; policy ${policy}${d.forensicReports > 0 ? `; ${int(d.forensicReports)} forensic reports` : ''}`,
      `DMARC pass ${pct(share(d.dmarcPass, d.messages))}, SPF aligned ${pct(share(d.spfAligned, d.messages))}, DKIM aligned ${pct(share(d.dkimAligned, d.messages))}`,
    );
    const headers = ['IP', 'Reverse DNS', 'Base domain', 'Country'];
    if (d.failingSources.length > 0)
      out.push(
        '',
        'Top failing sources:',
        textTable([...headers, 'Failing'], textSources(d.failingSources, true)),
      );
    if (d.newSources.length > 0)
      out.push(
        '',
        'New sources in this window:',
        textTable([...headers, 'Messages'], textSources(d.newSources, false)),
      );
    if (d.reporters.length > 0)
      out.push(
        '',
        'Reporters:',
        textTable(
          ['Reporter', 'Messages'],
          d.reporters.map((r) => [r.name, int(r.messages)]),
        ),
      );
  }
  const rest = digest.domains.slice(shown.length).filter((d) => d.messages > 0);
  if (rest.length > 0) {
    out.push(
      '',
      'Other domains:',
      textTable(
        ['Domain', 'Messages', 'DMARC pass'],
        rest.slice(0, 100).map((d) => [d.domain, int(d.messages), pct(share(d.dmarcPass, d.messages))]),
      ),
    );
  }
  if (digest.smtpTls.length > 0) {
    out.push(
      '',
      'SMTP TLS:',
      textTable(
        ['Policy domain', 'Successful', 'Failed', 'Failure types'],
        digest.smtpTls
          .slice(0, maxDomains)
          .map((s) => [
            s.domain,
            int(s.successful),
            int(s.failed),
            s.failureTypes.map((f) => `${f.type} (${int(f.sessions)})`).join(', ') || '-',
          ]),
      ),
    );
  }
  if (digest.truncated)
    out.push('', 'Some domains, sources or days were left out to keep this digest bounded.');
  out.push(
    '',
    '-- ',
    `${options.attachmentName ? `The attachment ${options.attachmentName} holds every report as JSON and CSV. ` : ''}${options.generator ?? 'parsedmarc-ts'}`,
    '',
  );
  // Control characters from reports never reach the mail body.
  // eslint-disable-next-line no-control-regex
  return out.join('\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?');
}
