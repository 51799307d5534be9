// The Splunk dashboards (Simple XML 1.1): dashboards/splunk/parsedmarc_{aggregate,forensic,smtp_tls}.xml,
// for the events the Splunk HEC sink sends (the same sourcetypes and fields as the original parsedmarc's).
// dashboards/generate.mjs re-exports this module and writes the files; test/dashboards/splunk.test.ts
// checks that the committed files match it and that every query only uses fields the events carry.
//
// Every search starts from `index="$index$"` and its sourcetype (no post-process searches): each panel can
// be opened in Search on its own, and the index is an input of the dashboard.

/** The index the dashboards look in by default: the original's (its dashboards hard-code index="email"). */
export const SPLUNK_DEFAULT_INDEX = 'email';

/** The sourcetypes each dashboard reads: the forensic one both the default name and RFC 9991's. */
export const SPLUNK_SOURCETYPES = {
  aggregate: ['dmarc:aggregate'],
  forensic: ['dmarc:forensic', 'dmarc:failure'],
  smtpTls: ['smtp:tls'],
};

export const SPLUNK_FILES = {
  aggregate: 'parsedmarc_aggregate.xml',
  forensic: 'parsedmarc_forensic.xml',
  smtpTls: 'parsedmarc_smtp_tls.xml',
};

const COLORS = { good: '0x54B399', warn: '0xD6BF57', bad: '0xE7664C', neutral: '0x6092C0' };
const fieldColors = (colors) =>
  `{${Object.entries(colors)
    .map(([name, color]) => `${JSON.stringify(name)}:${color}`)
    .join(',')}}`;

// ---------------------------------------------------------------------------------------------------------
// Inputs and searches

const timeInput = { type: 'time', token: 'time', label: 'Time range', earliest: '-30d@d', latest: 'now' };
const indexInput = { type: 'text', token: 'index', label: 'Index', default: SPLUNK_DEFAULT_INDEX };
const textInput = (token, label) => ({ type: 'text', token, label, default: '*' });

/** `sourcetype="a"`, or `(sourcetype="a" OR sourcetype="b")`. */
function sourcetypeTerm(sourcetypes) {
  const terms = sourcetypes.map((s) => `sourcetype="${s}"`);
  return terms.length === 1 ? terms[0] : `(${terms.join(' OR ')})`;
}

/**
 * The first lines of every search of a dashboard. Filters on fields that are always there go into the base
 * search (the index can serve them); fields that can be null (no org_name, no reverse DNS) are filled with
 * "(none)" first and filtered with `search`, so that the default `*` keeps the events without them and a
 * click on a "(none)" row filters on it. `$token|s$` quotes the typed value.
 */
function prelude(sourcetypes, { where = [], nullable = [] } = {}) {
  const base = [`index="$index$"`, sourcetypeTerm(sourcetypes), ...where.map((f) => `${f}=$${f}|s$`)];
  const lines = [base.join(' ')];
  if (nullable.length > 0) {
    lines.push(`| fillnull value="(none)" ${nullable.join(' ')}`);
    lines.push(`| search ${nullable.map((f) => `${f}=$${f}|s$`).join(' ')}`);
  }
  return lines;
}

/** sum(message_count) where an aggregate record's boolean field is true. */
const messagesWhere = (field, name) => `sum(eval(if(${field}="true", message_count, 0))) as ${name}`;
/** A percentage, one decimal, null when there is nothing to divide by. */
const share = (name, part, whole) => `${name}=if(${whole} > 0, round(100 * ${part} / ${whole}, 1), null())`;

// ---------------------------------------------------------------------------------------------------------
// Panels

/**
 * A panel: `viz` is chart, table or single; `query` its lines after the dashboard's prelude; `drilldown`
 * the input a click on a row (its first column) sets.
 */
const panel = (viz, title, description, query, options = {}, drilldown = null) => ({
  viz,
  title,
  description,
  query,
  options,
  drilldown,
});

const single = (title, description, query, options = {}) =>
  panel('single', title, description, query, { drilldown: 'none', ...options });

const shareColors = {
  useColors: '1',
  colorBy: 'value',
  rangeValues: '[80,95]',
  rangeColors: `["${COLORS.bad}","${COLORS.warn}","${COLORS.good}"]`,
};

const pie = (title, description, query, colors) =>
  panel('chart', title, description, query, {
    'charting.chart': 'pie',
    'charting.chart.showPercent': '1',
    ...(colors ? { 'charting.fieldColors': fieldColors(colors) } : {}),
    'charting.drilldown': 'none',
  });

const columns = (title, description, query, { colors, yTitle } = {}) =>
  panel('chart', title, description, query, {
    'charting.chart': 'column',
    'charting.chart.stackMode': 'stacked',
    'charting.axisTitleX.visibility': 'collapsed',
    ...(yTitle ? { 'charting.axisTitleY.text': yTitle } : {}),
    ...(colors ? { 'charting.fieldColors': fieldColors(colors) } : {}),
    'charting.legend.placement': 'bottom',
    'charting.drilldown': 'none',
  });

const bars = (title, description, query, yTitle) =>
  panel('chart', title, description, query, {
    'charting.chart': 'bar',
    'charting.axisTitleX.visibility': 'collapsed',
    'charting.axisTitleY.text': yTitle,
    'charting.legend.placement': 'none',
    'charting.drilldown': 'none',
  });

const table = (title, description, query, { rows = 10, drilldown = null } = {}) =>
  panel(
    'table',
    title,
    description,
    query,
    { count: String(rows), drilldown: drilldown ? 'row' : 'none', wrap: 'true' },
    drilldown,
  );

/** `rename a as "A", b as "B"` from [[a, A], [b, B]] (names with spaces or `%` quoted). */
const renameAs = (pairs) =>
  `| rename ${pairs.map(([from, to]) => `${from} as ${/^[A-Za-z_][\w.]*$/.test(to) ? to : JSON.stringify(to)}`).join(', ')}`;

// ---------------------------------------------------------------------------------------------------------
// Aggregate reports: one event per report record; volumes are messages (message_count), not events.

function aggregateDashboard() {
  const start = prelude(SPLUNK_SOURCETYPES.aggregate, {
    where: ['header_from'],
    nullable: ['org_name', 'source_base_domain'],
  });
  const passFail = { pass: COLORS.good, fail: COLORS.bad };
  const aligned = { aligned: COLORS.good, 'not aligned': COLORS.bad };
  const shareSingle = (title, field, what) =>
    single(
      title,
      `Share of the messages whose ${what}.`,
      [
        `| stats sum(message_count) as messages ${messagesWhere(field, 'passing')}`,
        `| eval ${share('share', 'passing', 'messages')}`,
        '| fields share',
      ],
      { unit: '%', numberPrecision: '0.0', ...shareColors },
    );
  const alignmentPie = (title, field, name, labels, colors, what) =>
    pie(
      title,
      `Messages ${what}.`,
      [
        `| eval ${name}=if(${field}="true", "${labels[0]}", "${labels[1]}")`,
        `| stats sum(message_count) as messages by ${name}`,
      ],
      colors,
    );
  return {
    file: SPLUNK_FILES.aggregate,
    label: 'DMARC aggregate reports (parsedmarc-ts)',
    description:
      'DMARC aggregate (RUA) report records sent by parsedmarc-ts or parsedmarc to the Splunk HTTP Event ' +
      'Collector (sourcetype dmarc:aggregate). Counts are messages (message_count), not events. Click a row ' +
      'of the From domain, organization or base domain tables to filter on it.',
    inputs: [
      timeInput,
      indexInput,
      textInput('header_from', 'From domain (header_from)'),
      textInput('org_name', 'Reporting organization'),
      textInput('source_base_domain', 'Source base domain'),
    ],
    start,
    rows: [
      [
        single(
          'Messages',
          'Messages reported in the time range.',
          ['| stats sum(message_count) as messages'],
          {
            numberPrecision: '0',
          },
        ),
        single('Reports', 'Distinct aggregate reports (report IDs).', ['| stats dc(report_id) as reports']),
        shareSingle('DMARC pass', 'passed_dmarc', 'SPF or DKIM passed aligned with the From domain'),
        shareSingle('SPF aligned', 'spf_aligned', 'SPF passed aligned with the From domain'),
        shareSingle('DKIM aligned', 'dkim_aligned', 'DKIM passed aligned with the From domain'),
      ],
      [
        alignmentPie(
          'DMARC result',
          'passed_dmarc',
          'dmarc',
          ['pass', 'fail'],
          passFail,
          'passing and failing DMARC',
        ),
        alignmentPie(
          'SPF alignment',
          'spf_aligned',
          'spf',
          ['aligned', 'not aligned'],
          aligned,
          'with and without aligned SPF',
        ),
        alignmentPie(
          'DKIM alignment',
          'dkim_aligned',
          'dkim',
          ['aligned', 'not aligned'],
          aligned,
          'with and without aligned DKIM',
        ),
        pie(
          'Message disposition',
          'What the receivers did with the messages (none, quarantine, reject).',
          ['| stats sum(message_count) as messages by disposition'],
          { none: COLORS.neutral, quarantine: COLORS.warn, reject: COLORS.bad },
        ),
      ],
      [
        columns(
          'Messages over time by DMARC result',
          'Messages per interval of the records\u2019 begin time, passing and failing DMARC.',
          ['| eval dmarc=if(passed_dmarc="true", "pass", "fail")', '| timechart sum(message_count) by dmarc'],
          { colors: passFail, yTitle: 'Messages' },
        ),
      ],
      [
        table(
          'From domains',
          'Messages per From domain (header_from), and how many pass DMARC.',
          [
            `| stats sum(message_count) as messages ${messagesWhere('passed_dmarc', 'passing')} by header_from`,
            `| eval failing=messages - passing, ${share('pass_share', 'passing', 'messages')}`,
            '| sort 0 - messages',
            renameAs([
              ['header_from', 'From domain'],
              ['messages', 'Messages'],
              ['passing', 'DMARC pass'],
              ['failing', 'DMARC fail'],
              ['pass_share', 'DMARC pass %'],
            ]),
          ],
          { drilldown: 'header_from' },
        ),
        table(
          'Reporting organizations',
          'Who sent the aggregate reports: messages and distinct reports.',
          [
            '| stats sum(message_count) as messages dc(report_id) as reports by org_name',
            '| sort 0 - messages',
            renameAs([
              ['org_name', 'Reporting organization'],
              ['messages', 'Messages'],
              ['reports', 'Reports'],
            ]),
          ],
          { drilldown: 'org_name' },
        ),
      ],
      [
        table(
          'Message sources by base domain and reverse DNS',
          'Sending hosts by the base domain and name of their reverse DNS, with their DMARC pass share.',
          [
            '| fillnull value="(none)" source_reverse_dns',
            `| stats sum(message_count) as messages ${messagesWhere('passed_dmarc', 'passing')} by source_base_domain source_reverse_dns`,
            `| eval ${share('pass_share', 'passing', 'messages')}`,
            '| sort 0 - messages',
            '| fields - passing',
            renameAs([
              ['source_base_domain', 'Base domain'],
              ['source_reverse_dns', 'Reverse DNS'],
              ['messages', 'Messages'],
              ['pass_share', 'DMARC pass %'],
            ]),
          ],
          { drilldown: 'source_base_domain' },
        ),
        bars(
          'Message sources by country',
          'Messages by the sending IP address\u2019s country (ISO code), the 20 largest.',
          [
            '| fillnull value="(unknown)" source_country',
            '| stats sum(message_count) as messages by source_country',
            '| sort 20 - messages',
          ],
          'Messages',
        ),
      ],
      [
        table(
          'Message sources by IP address',
          'Sending IP addresses with their reverse DNS and country, and their DMARC pass share.',
          [
            '| fillnull value="(none)" source_reverse_dns source_country',
            `| stats sum(message_count) as messages ${messagesWhere('passed_dmarc', 'passing')} by source_ip_address source_reverse_dns source_country`,
            `| eval ${share('pass_share', 'passing', 'messages')}`,
            '| sort 0 - messages',
            '| fields - passing',
            renameAs([
              ['source_ip_address', 'IP address'],
              ['source_reverse_dns', 'Reverse DNS'],
              ['source_country', 'Country'],
              ['messages', 'Messages'],
              ['pass_share', 'DMARC pass %'],
            ]),
          ],
        ),
      ],
      [
        table(
          'Alignment details',
          'Messages per source, identifiers and authentication results: DKIM and SPF as "domain=result" ' +
            'for each signature and check the receiver reported.',
          [
            '| eval dkim=mvjoin(mvzip(\'dkim_results{}.domain\', \'dkim_results{}.result\', "="), ", "), ' +
              'spf=mvjoin(mvzip(\'spf_results{}.domain\', \'spf_results{}.result\', "="), ", ")',
            '| fillnull value="(none)" source_reverse_dns envelope_from dkim spf',
            '| stats sum(message_count) as messages by source_ip_address source_reverse_dns header_from envelope_from dkim dkim_aligned spf spf_aligned disposition',
            '| sort 0 - messages',
            renameAs([
              ['source_ip_address', 'IP address'],
              ['source_reverse_dns', 'Reverse DNS'],
              ['header_from', 'From domain'],
              ['envelope_from', 'Envelope from'],
              ['dkim', 'DKIM (domain=result)'],
              ['dkim_aligned', 'DKIM aligned'],
              ['spf', 'SPF (domain=result)'],
              ['spf_aligned', 'SPF aligned'],
              ['disposition', 'Disposition'],
              ['messages', 'Messages'],
            ]),
          ],
          { rows: 20 },
        ),
      ],
      [
        table(
          'Published DMARC policies',
          'The policy each report says the domain published: p, sp (subdomains) and pct.',
          [
            '| stats sum(message_count) as messages dc(report_id) as reports by published_policy.domain published_policy.p published_policy.sp published_policy.pct',
            '| sort 0 - messages',
            renameAs([
              ['published_policy.domain', 'Policy domain'],
              ['published_policy.p', 'p'],
              ['published_policy.sp', 'sp'],
              ['published_policy.pct', 'pct'],
              ['messages', 'Messages'],
              ['reports', 'Reports'],
            ]),
          ],
        ),
      ],
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Forensic (failure) reports: one event per report, under either sourcetype.

function forensicDashboard() {
  const start = prelude(SPLUNK_SOURCETYPES.forensic, { nullable: ['reported_domain'] });
  return {
    file: SPLUNK_FILES.forensic,
    label: 'DMARC forensic (failure) reports (parsedmarc-ts)',
    description:
      'DMARC forensic / failure (RUF) reports sent by parsedmarc-ts or parsedmarc to the Splunk HTTP Event ' +
      'Collector (sourcetype dmarc:forensic, or dmarc:failure): one event per report. Click a reported ' +
      'domain to filter on it.',
    inputs: [timeInput, indexInput, textInput('reported_domain', 'Reported domain')],
    start,
    rows: [
      [
        single('Failure reports', 'Forensic (failure) reports in the time range.', [
          '| stats count as reports',
        ]),
        single('Reported domains', 'Distinct reported domains.', ['| stats dc(reported_domain) as domains']),
        single('Sending IP addresses', 'Distinct IP addresses the failing messages came from.', [
          '| stats dc(source.ip_address) as sources',
        ]),
      ],
      [
        columns(
          'Failure reports over time by reported domain',
          'Reports per interval of their arrival date, the 10 domains with most reports.',
          ['| timechart count by reported_domain limit=10 useother=t'],
          { yTitle: 'Reports' },
        ),
      ],
      [
        table(
          'By reported domain',
          'Failure reports and distinct sending IP addresses per reported domain.',
          [
            '| stats count as reports dc(source.ip_address) as sources by reported_domain',
            '| sort 0 - reports',
            renameAs([
              ['reported_domain', 'Reported domain'],
              ['reports', 'Reports'],
              ['sources', 'Sending IP addresses'],
            ]),
          ],
          { drilldown: 'reported_domain' },
        ),
        pie(
          'By authentication failure',
          'What failed (dkim, spf, dmarc...); a report naming several failures counts for each.',
          [
            '| rename "auth_failure{}" as auth_failure',
            '| fillnull value="(none)" auth_failure',
            '| stats count as reports by auth_failure',
          ],
        ),
        pie('By delivery result', 'What the receiver did with the message, as the report says.', [
          '| fillnull value="(none)" delivery_result',
          '| stats count as reports by delivery_result',
        ]),
      ],
      [
        table('By source', 'Where the failing messages came from: IP address, reverse DNS and country.', [
          '| fillnull value="(none)" source.reverse_dns source.country',
          '| stats count as reports dc(reported_domain) as domains by source.ip_address source.reverse_dns source.country',
          '| sort 0 - reports',
          renameAs([
            ['source.ip_address', 'IP address'],
            ['source.reverse_dns', 'Reverse DNS'],
            ['source.country', 'Country'],
            ['reports', 'Reports'],
            ['domains', 'Reported domains'],
          ]),
        ]),
      ],
      [
        // The sample's From and Subject come after the whole sample in the event, past what automatic
        // extraction reads of a long event: spath with a path reads them wherever they are.
        table(
          'Recent failure reports',
          'The 200 latest reports: arrival date (UTC), source, the sample\u2019s From and Subject, what failed ' +
            'and the delivery result.',
          [
            '| head 200',
            '| spath path=parsed_sample.from.address output=from',
            '| spath path=parsed_sample.subject output=subject',
            `| eval auth_failure=mvjoin('auth_failure{}', ", ")`,
            '| fillnull value="(none)" source.reverse_dns source.country from subject auth_failure delivery_result',
            '| table arrival_date_utc reported_domain source.ip_address source.reverse_dns source.country from subject auth_failure delivery_result',
            renameAs([
              ['arrival_date_utc', 'Arrival (UTC)'],
              ['reported_domain', 'Reported domain'],
              ['source.ip_address', 'IP address'],
              ['source.reverse_dns', 'Reverse DNS'],
              ['source.country', 'Country'],
              ['from', 'From'],
              ['subject', 'Subject'],
              ['auth_failure', 'Auth failure'],
              ['delivery_result', 'Delivery result'],
            ]),
          ],
          { rows: 20 },
        ),
      ],
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------
// SMTP TLS reports: one event per report, its policies in an array. Each search expands the policies into
// one row each, so that sums and splits pair a policy's domain with its own counts.

function smtpTlsDashboard() {
  // A policy's fields by explicit path (a report with many failure details can be longer than what spath
  // auto-extracts); a failure detail is small, read whole.
  const start = [
    ...prelude(SPLUNK_SOURCETYPES.smtpTls, { where: ['organization_name'] }),
    '| spath path=policies{} output=policy',
    '| mvexpand policy',
    '| spath input=policy path=policy_domain output=policy_domain',
    '| search policy_domain=$policy_domain|s$',
  ];
  const sessions = [
    '| spath input=policy path=successful_session_count output=successful',
    '| spath input=policy path=failed_session_count output=failed',
    '| fillnull value=0 successful failed',
  ];
  const details = [
    '| spath input=policy path=failure_details{} output=detail',
    '| mvexpand detail',
    '| spath input=detail',
  ];
  const okFailed = { successful: COLORS.good, failed: COLORS.bad };
  return {
    file: SPLUNK_FILES.smtpTls,
    label: 'SMTP TLS reports (parsedmarc-ts)',
    description:
      'SMTP TLS (RFC 8460) reports sent by parsedmarc-ts or parsedmarc to the Splunk HTTP Event Collector ' +
      '(sourcetype smtp:tls): sessions per policy, and why sessions failed. Click a policy domain or ' +
      'organization to filter on it.',
    inputs: [
      timeInput,
      indexInput,
      textInput('policy_domain', 'Policy domain'),
      textInput('organization_name', 'Reporting organization'),
    ],
    start,
    rows: [
      [
        single('Successful sessions', 'TLS sessions that succeeded.', [
          ...sessions,
          '| stats sum(successful) as successful',
        ]),
        single('Failed sessions', 'TLS sessions that failed.', [
          ...sessions,
          '| stats sum(failed) as failed',
        ]),
        single(
          'Failed share',
          'Share of the sessions that failed.',
          [
            ...sessions,
            '| stats sum(successful) as successful sum(failed) as failed',
            `| eval total=successful + failed, ${share('share', 'failed', 'total')}`,
            '| fields share',
          ],
          {
            unit: '%',
            numberPrecision: '0.0',
            useColors: '1',
            colorBy: 'value',
            rangeValues: '[1,5]',
            rangeColors: `["${COLORS.good}","${COLORS.warn}","${COLORS.bad}"]`,
          },
        ),
        single('Reports', 'Distinct SMTP TLS reports (report IDs).', ['| stats dc(report_id) as reports']),
      ],
      [
        columns(
          'Sessions over time',
          'Successful and failed sessions per interval of the reports\u2019 begin date.',
          [...sessions, '| timechart sum(successful) as successful sum(failed) as failed'],
          { colors: okFailed, yTitle: 'Sessions' },
        ),
      ],
      [
        table(
          'Sessions by policy domain',
          'Successful and failed sessions per policy (domain and type).',
          [
            '| spath input=policy path=policy_type output=policy_type',
            ...sessions,
            '| stats sum(successful) as successful sum(failed) as failed dc(report_id) as reports by policy_domain policy_type',
            `| eval total=successful + failed, ${share('failed_share', 'failed', 'total')}`,
            '| sort 0 - failed',
            '| fields - total',
            renameAs([
              ['policy_domain', 'Policy domain'],
              ['policy_type', 'Policy type'],
              ['successful', 'Successful sessions'],
              ['failed', 'Failed sessions'],
              ['failed_share', 'Failed %'],
              ['reports', 'Reports'],
            ]),
          ],
          { drilldown: 'policy_domain' },
        ),
        table(
          'Reporting organizations',
          'Who sent the SMTP TLS reports, with the sessions they reported.',
          [
            ...sessions,
            '| stats sum(successful) as successful sum(failed) as failed dc(report_id) as reports by organization_name',
            '| sort 0 - successful',
            renameAs([
              ['organization_name', 'Reporting organization'],
              ['successful', 'Successful sessions'],
              ['failed', 'Failed sessions'],
              ['reports', 'Reports'],
            ]),
          ],
          { drilldown: 'organization_name' },
        ),
      ],
      [
        pie('Failure result types', 'Failed sessions by the result type of the failure details.', [
          ...details,
          '| stats sum(failed_session_count) as failed by result_type',
        ]),
        columns(
          'Failed sessions over time by result type',
          'Failed sessions of the failure details per interval of the reports\u2019 begin date.',
          [...details, '| timechart sum(failed_session_count) by result_type usenull=f'],
          { yTitle: 'Failed sessions' },
        ),
      ],
      [
        table(
          'Failure details',
          'One row per failure: policy domain, result type, sending MTA, receiving MX and IP, failed sessions.',
          [
            ...details,
            '| fillnull value="(none)" sending_mta_ip receiving_mx_hostname receiving_ip',
            '| stats sum(failed_session_count) as failed dc(report_id) as reports by policy_domain result_type sending_mta_ip receiving_mx_hostname receiving_ip',
            '| sort 0 - failed',
            renameAs([
              ['policy_domain', 'Policy domain'],
              ['result_type', 'Result type'],
              ['sending_mta_ip', 'Sending MTA IP'],
              ['receiving_mx_hostname', 'Receiving MX hostname'],
              ['receiving_ip', 'Receiving IP'],
              ['failed', 'Failed sessions'],
              ['reports', 'Reports'],
            ]),
          ],
          { rows: 20 },
        ),
      ],
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Simple XML

const escapeText = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttribute = (text) => escapeText(text).replace(/"/g, '&quot;');
const indent = (depth) => '  '.repeat(depth);

/** An element on one line: <name a="b">text</name>. */
const leaf = (depth, name, text, attributes = {}) =>
  `${indent(depth)}<${name}${Object.entries(attributes)
    .map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`)
    .join('')}>${escapeText(text)}</${name}>`;

function inputXml(input) {
  const open = `${indent(2)}<input type="${input.type}" token="${input.token}" searchWhenChanged="true">`;
  const body =
    input.type === 'time'
      ? [
          `${indent(3)}<default>`,
          leaf(4, 'earliest', input.earliest),
          leaf(4, 'latest', input.latest),
          `${indent(3)}</default>`,
        ]
      : [leaf(3, 'default', input.default)];
  return [open, leaf(3, 'label', input.label), ...body, `${indent(2)}</input>`];
}

function panelXml(p, start) {
  const query = [...start, ...p.query];
  return [
    `${indent(2)}<panel>`,
    `${indent(3)}<${p.viz}>`,
    leaf(4, 'title', p.title),
    leaf(4, 'description', p.description),
    `${indent(4)}<search>`,
    `${indent(5)}<query>`,
    ...query.map((line) => `${indent(6)}${escapeText(line)}`),
    `${indent(5)}</query>`,
    leaf(5, 'earliest', '$time.earliest$'),
    leaf(5, 'latest', '$time.latest$'),
    `${indent(4)}</search>`,
    ...Object.entries(p.options).map(([name, value]) => leaf(4, 'option', value, { name })),
    ...(p.drilldown
      ? [
          `${indent(4)}<drilldown>`,
          leaf(5, 'set', '$click.value$', { token: `form.${p.drilldown}` }),
          `${indent(4)}</drilldown>`,
        ]
      : []),
    `${indent(3)}</${p.viz}>`,
    `${indent(2)}</panel>`,
  ];
}

function dashboardXml(d) {
  return [
    '<form version="1.1">',
    leaf(1, 'label', d.label),
    leaf(1, 'description', d.description),
    `${indent(1)}<fieldset submitButton="false" autoRun="true">`,
    ...d.inputs.flatMap(inputXml),
    `${indent(1)}</fieldset>`,
    ...d.rows.flatMap((row) => [
      `${indent(1)}<row>`,
      ...row.flatMap((p) => panelXml(p, d.start)),
      `${indent(1)}</row>`,
    ]),
    '</form>',
    '',
  ].join('\n');
}

const MODELS = { aggregate: aggregateDashboard, forensic: forensicDashboard, smtpTls: smtpTlsDashboard };

export const splunkAggregateXml = () => dashboardXml(aggregateDashboard());
export const splunkForensicXml = () => dashboardXml(forensicDashboard());
export const splunkSmtpTlsXml = () => dashboardXml(smtpTlsDashboard());

/** { 'parsedmarc_aggregate.xml': text, ... }: the files of dashboards/splunk/. */
export function splunkDashboards() {
  return Object.fromEntries(Object.values(MODELS).map((model) => [model().file, dashboardXml(model())]));
}

/**
 * Each dashboard's panels as the generator means them: file -> [{ row, title, visualization, query }]
 * (visualization: "chart:pie", "table", "single"...; query: the whole search, one string).
 */
export function splunkPanels() {
  return Object.fromEntries(
    Object.values(MODELS).map((model) => {
      const d = model();
      const panels = d.rows.flatMap((row, i) =>
        row.map((p) => ({
          row: i + 1,
          title: p.title,
          visualization: p.viz === 'chart' ? `chart:${p.options['charting.chart']}` : p.viz,
          query: [...d.start, ...p.query].join('\n'),
        })),
      );
      return [d.file, panels];
    }),
  );
}

/** A plain-text outline of the panels, to review them without Splunk: `node dashboards/generate.mjs --outline`. */
export function splunkOutline() {
  const out = [];
  for (const model of Object.values(MODELS)) {
    const d = model();
    out.push(`${d.file}: ${d.label}`);
    out.push(
      `  inputs: ${d.inputs
        .map(
          (i) =>
            `${i.token} (${i.type}, default ${i.type === 'time' ? `${i.earliest}..${i.latest}` : i.default})`,
        )
        .join(', ')}`,
    );
    out.push('  every query begins:');
    for (const line of d.start) out.push(`      ${line}`);
    d.rows.forEach((row, r) => {
      out.push(`  row ${r + 1}`);
      for (const p of row) {
        const type = p.viz === 'chart' ? `chart:${p.options['charting.chart']}` : p.viz;
        const click = p.drilldown ? ` (click: filter on ${p.drilldown})` : '';
        out.push(`    [${type}] ${p.title}${click}`);
        for (const line of p.query) out.push(`        ${line}`);
      }
    });
    out.push('');
  }
  return out.join('\n');
}
