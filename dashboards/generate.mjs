// The source of the shipped dashboards: builds dashboards/kibana/parsedmarc.ndjson (Kibana / OpenSearch
// Dashboards saved objects), dashboards/grafana/parsedmarc-elasticsearch.json (Grafana) and, from
// ./splunk.mjs, the Splunk Simple XML dashboards in dashboards/splunk/. Edit this file (or splunk.mjs), then
// run `node dashboards/generate.mjs`; test/dashboards checks that the committed files match it.
// `node dashboards/generate.mjs --outline` prints the Splunk dashboards' panels and queries instead.
//
// Saved objects are written in the Kibana 7.10 format, the one OpenSearch Dashboards forked from, and each
// carries the `migrationVersion` of the last 7.10 migration of its type (MIGRATION_VERSION below): every
// supported target knows those versions, and Kibana 8.x/9.x migrates the objects forward on import.
// See dashboards/README.md for why.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { splunkDashboards, splunkOutline } from './splunk.mjs';

export {
  SPLUNK_DEFAULT_INDEX,
  SPLUNK_FILES,
  SPLUNK_SOURCETYPES,
  splunkAggregateXml,
  splunkDashboards,
  splunkForensicXml,
  splunkOutline,
  splunkPanels,
  splunkSmtpTlsXml,
} from './splunk.mjs';

/** The latest migration each type has in Kibana 7.10 = OpenSearch Dashboards 1.x/2.x/3.x. */
export const MIGRATION_VERSION = {
  'index-pattern': '7.6.0',
  visualization: '7.10.0',
  search: '7.9.3',
  dashboard: '7.9.3',
};
/** The version stamped on each dashboard panel. */
export const PANEL_VERSION = '7.10.0';

/** Index patterns: a leading `*` so that an index_prefix (`{prefix}dmarc_aggregate-...`) still matches. */
export const INDEX_PATTERNS = {
  aggregate: { id: 'parsedmarc-ts-index-pattern-aggregate', title: '*dmarc_aggregate*', time: 'date_begin' },
  // dmarc_forensic (the default) and dmarc_failure (RFC 9991 naming) alike
  forensic: { id: 'parsedmarc-ts-index-pattern-forensic', title: '*dmarc_f*', time: 'arrival_date' },
  smtpTls: { id: 'parsedmarc-ts-index-pattern-smtp-tls', title: '*smtp_tls*', time: 'date_begin' },
};

export const DASHBOARD_IDS = {
  aggregate: 'parsedmarc-ts-dashboard-aggregate',
  forensic: 'parsedmarc-ts-dashboard-forensic',
  smtpTls: 'parsedmarc-ts-dashboard-smtp-tls',
};

/** The forensic document's delivery result field (the original's `delivery_results`). */
export const DELIVERY_RESULT = 'delivery_results';

const COLORS = { good: '#54B399', warn: '#D6BF57', bad: '#E7664C' };
const EMPTY_QUERY = { query: '', language: 'kuery' };
const json = (value) => JSON.stringify(value);

// ---------------------------------------------------------------------------------------------------------
// Aggregation configs (visState.aggs), 7.10 shape. Unset params take the defaults of each platform.

const metric = {
  sum: (id, field, label) => ({
    id,
    enabled: true,
    type: 'sum',
    params: { field, customLabel: label },
    schema: 'metric',
  }),
  count: (id, label) => ({
    id,
    enabled: true,
    type: 'count',
    params: { customLabel: label },
    schema: 'metric',
  }),
  cardinality: (id, field, label) => ({
    id,
    enabled: true,
    type: 'cardinality',
    params: { field, customLabel: label },
    schema: 'metric',
  }),
};

function terms(id, field, { schema = 'bucket', size = 10, label, orderBy = '1', missing } = {}) {
  return {
    id,
    enabled: true,
    type: 'terms',
    params: {
      field,
      orderBy,
      order: 'desc',
      size,
      otherBucket: false,
      otherBucketLabel: 'Other',
      missingBucket: missing !== undefined,
      missingBucketLabel: missing ?? 'Missing',
      ...(label ? { customLabel: label } : {}),
    },
    schema,
  };
}

function dateHistogram(id, field, label, schema = 'segment') {
  return {
    id,
    enabled: true,
    type: 'date_histogram',
    params: { field, interval: 'auto', min_doc_count: 1, extended_bounds: {}, customLabel: label },
    schema,
  };
}

/** A `filters` bucket: [[kql, label], ...]. Labels read better than a boolean's true/false. */
function filters(id, entries, schema) {
  return {
    id,
    enabled: true,
    type: 'filters',
    params: { filters: entries.map(([query, label]) => ({ input: { query, language: 'kuery' }, label })) },
    schema,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Visualization params, 7.10 shape (Kibana 8/9 migrate them to their newer chart libraries on import).

const pieParams = () => ({
  type: 'pie',
  addTooltip: true,
  addLegend: true,
  legendPosition: 'right',
  isDonut: true,
  labels: { show: true, values: true, last_level: true, truncate: 100 },
});

function xyParams({ valueTitle, series, horizontal = false, percentage = false, mode = 'stacked' }) {
  return {
    type: 'histogram',
    grid: { categoryLines: false },
    categoryAxes: [
      {
        id: 'CategoryAxis-1',
        type: 'category',
        position: horizontal ? 'left' : 'bottom',
        show: true,
        style: {},
        scale: { type: 'linear' },
        labels: { show: true, rotate: 0, filter: !horizontal, truncate: horizontal ? 200 : 100 },
        title: {},
      },
    ],
    valueAxes: [
      {
        id: 'ValueAxis-1',
        name: horizontal ? 'BottomAxis-1' : 'LeftAxis-1',
        type: 'value',
        position: horizontal ? 'bottom' : 'left',
        show: true,
        style: {},
        scale: { type: 'linear', mode: percentage ? 'percentage' : 'normal' },
        labels: { show: true, rotate: 0, filter: horizontal, truncate: 100 },
        title: { text: valueTitle },
      },
    ],
    seriesParams: series.map(([id, label]) => ({
      show: true,
      type: 'histogram',
      mode,
      data: { label, id },
      valueAxis: 'ValueAxis-1',
      drawLinesBetweenPoints: true,
      lineWidth: 2,
      showCircles: true,
    })),
    addTooltip: true,
    addLegend: true,
    legendPosition: 'right',
    times: [],
    addTimeMarker: false,
    labels: { show: false },
    thresholdLine: { show: false, value: 10, width: 1, style: 'full', color: COLORS.bad },
  };
}

const tableParams = (perPage = 10) => ({
  perPage,
  showPartialRows: false,
  showMetricsAtAllLevels: false,
  sort: { columnIndex: null, direction: null },
  showTotal: false,
  totalFunc: 'sum',
  percentageCol: '',
});

const metricParams = () => ({
  addTooltip: true,
  addLegend: false,
  type: 'metric',
  metric: {
    percentageMode: false,
    useRanges: false,
    colorSchema: 'Green to Red',
    metricColorMode: 'None',
    colorsRange: [{ from: 0, to: 10000 }],
    labels: { show: true },
    invertColors: false,
    style: { bgFill: '#000', bgColor: false, labelColor: false, subText: '', fontSize: 36 },
  },
});

// ---------------------------------------------------------------------------------------------------------
// Saved objects

function indexPattern({ id, title, time }, fieldFormatMap) {
  return {
    id,
    type: 'index-pattern',
    attributes: {
      title,
      timeFieldName: time,
      // Empty: Kibana and OpenSearch Dashboards read the field list from the indexes when the pattern is
      // first used, so the dashboards work whatever the exact mapping is.
      fields: '[]',
      ...(fieldFormatMap ? { fieldFormatMap: json(fieldFormatMap) } : {}),
    },
    references: [],
    migrationVersion: { 'index-pattern': MIGRATION_VERSION['index-pattern'] },
  };
}

function searchSource(withIndex) {
  return json({
    query: EMPTY_QUERY,
    filter: [],
    ...(withIndex ? { indexRefName: 'kibanaSavedObjectMeta.searchSourceJSON.index' } : {}),
  });
}

/** A visualization; `index` is an INDEX_PATTERNS entry, or null for markdown and Vega. */
function visualization({ id, title, description, index, type, params, aggs = [], uiState = {} }) {
  return {
    id,
    type: 'visualization',
    attributes: {
      title,
      description,
      visState: json({ title, type, params, aggs }),
      uiStateJSON: json(uiState),
      version: 1,
      kibanaSavedObjectMeta: { searchSourceJSON: searchSource(index !== null) },
    },
    references:
      index === null
        ? []
        : [{ name: 'kibanaSavedObjectMeta.searchSourceJSON.index', type: 'index-pattern', id: index.id }],
    migrationVersion: { visualization: MIGRATION_VERSION.visualization },
  };
}

function savedSearch({ id, title, description, index, columns, sort }) {
  return {
    id,
    type: 'search',
    attributes: {
      title,
      description,
      hits: 0,
      columns,
      sort: [sort],
      version: 1,
      kibanaSavedObjectMeta: {
        searchSourceJSON: json({
          highlightAll: true,
          version: true,
          query: EMPTY_QUERY,
          filter: [],
          indexRefName: 'kibanaSavedObjectMeta.searchSourceJSON.index',
        }),
      },
    },
    references: [
      { name: 'kibanaSavedObjectMeta.searchSourceJSON.index', type: 'index-pattern', id: index.id },
    ],
    migrationVersion: { search: MIGRATION_VERSION.search },
  };
}

/** rows: [[object, width, height], ...] per row; a row's panels sit side by side on the 48-column grid. */
function dashboard({ id, title, description, rows, timeFrom = 'now-30d' }) {
  const panels = [];
  const references = [];
  let y = 0;
  for (const row of rows) {
    let x = 0;
    let rowHeight = 0;
    for (const [object, w, h] of row) {
      const n = panels.length;
      const panelIndex = String(n + 1);
      panels.push({
        version: PANEL_VERSION,
        gridData: { x, y, w, h, i: panelIndex },
        panelIndex,
        embeddableConfig: {},
        panelRefName: `panel_${n}`,
      });
      references.push({ name: `panel_${n}`, type: object.type, id: object.id });
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    if (x > 48) throw new Error(`${title}: a row is ${x} columns wide`);
    y += rowHeight;
  }
  return {
    id,
    type: 'dashboard',
    attributes: {
      title,
      hits: 0,
      description,
      panelsJSON: json(panels),
      optionsJSON: json({ useMargins: true, hidePanelTitles: false }),
      version: 1,
      timeRestore: true,
      timeFrom,
      timeTo: 'now',
      refreshInterval: { pause: true, value: 0 },
      kibanaSavedObjectMeta: { searchSourceJSON: searchSource(false) },
    },
    references,
    migrationVersion: { dashboard: MIGRATION_VERSION.dashboard },
  };
}

const markdown = (id, title, text) =>
  visualization({
    id,
    title,
    description: '',
    index: null,
    type: 'markdown',
    params: { fontSize: 12, openLinksInNewTab: false, markdown: text },
  });

const links = (current) =>
  [
    ['Aggregate reports', DASHBOARD_IDS.aggregate],
    ['Forensic (failure) reports', DASHBOARD_IDS.forensic],
    ['SMTP TLS reports', DASHBOARD_IDS.smtpTls],
  ]
    .map(([label, id]) => (id === current ? `**${label}**` : `[${label}](#/view/${id})`))
    .join(' · ');

// ---------------------------------------------------------------------------------------------------------
// Aggregate reports

const AGG = INDEX_PATTERNS.aggregate;
const MESSAGES = 'Messages';
const dmarcFilters = [
  ['passed_dmarc:true', 'DMARC pass'],
  ['passed_dmarc:false', 'DMARC fail'],
];
const passFailColors = (pass, fail) => ({ vis: { colors: { [pass]: COLORS.good, [fail]: COLORS.bad } } });

function alignmentPie(id, title, description, field, [pass, fail]) {
  return visualization({
    id,
    title,
    description,
    index: AGG,
    type: 'pie',
    params: pieParams(),
    aggs: [
      metric.sum('1', 'message_count', MESSAGES),
      filters(
        '2',
        [
          [`${field}:true`, pass],
          [`${field}:false`, fail],
        ],
        'segment',
      ),
    ],
    uiState: passFailColors(pass, fail),
  });
}

function messagesTable(id, title, description, index, buckets, { perPage = 10, extraMetrics = [] } = {}) {
  return visualization({
    id,
    title,
    description,
    index,
    type: 'table',
    params: tableParams(perPage),
    aggs: [metric.sum('1', 'message_count', MESSAGES), ...extraMetrics, ...buckets],
  });
}

/** The Vega-Lite spec of the per-From-domain DMARC compliance chart (message-weighted pass share). */
function complianceSpec() {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v4.json',
    description: 'Share of messages passing DMARC, per From domain (header_from), largest domains first.',
    data: {
      url: {
        index: AGG.title,
        '%context%': true,
        '%timefield%': AGG.time,
        body: {
          size: 0,
          aggs: {
            domains: {
              terms: { field: 'header_from.keyword', size: 30, order: { messages: 'desc' } },
              aggs: {
                messages: { sum: { field: 'message_count' } },
                passed: {
                  filter: { term: { passed_dmarc: true } },
                  aggs: { messages: { sum: { field: 'message_count' } } },
                },
              },
            },
          },
        },
      },
      format: { property: 'aggregations.domains.buckets' },
    },
    transform: [
      { calculate: 'datum.messages.value', as: 'total' },
      { calculate: 'datum.passed.messages.value', as: 'passed' },
      { calculate: 'datum.total > 0 ? datum.passed / datum.total : 0', as: 'compliance' },
    ],
    encoding: {
      y: {
        field: 'key',
        type: 'nominal',
        sort: { field: 'total', op: 'sum', order: 'descending' },
        title: 'From domain',
      },
      x: {
        field: 'compliance',
        type: 'quantitative',
        scale: { domain: [0, 1.15] },
        axis: { format: '%', values: [0, 0.25, 0.5, 0.75, 1] },
        title: 'Messages passing DMARC',
      },
      tooltip: [
        { field: 'key', type: 'nominal', title: 'From domain' },
        { field: 'compliance', type: 'quantitative', format: '.1%', title: 'DMARC pass' },
        { field: 'passed', type: 'quantitative', format: ',', title: 'Messages passing' },
        { field: 'total', type: 'quantitative', format: ',', title: 'Messages' },
      ],
    },
    layer: [
      {
        mark: 'bar',
        encoding: {
          color: {
            field: 'compliance',
            type: 'quantitative',
            scale: { domain: [0, 0.9, 1], range: [COLORS.bad, COLORS.warn, COLORS.good] },
            legend: null,
          },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4 },
        encoding: { text: { field: 'compliance', type: 'quantitative', format: '.1%' } },
      },
    ],
  };
}

function aggregateObjects() {
  const about = markdown(
    'parsedmarc-ts-aggregate-about',
    'About: DMARC aggregate reports',
    [
      '### DMARC aggregate reports (RUA)',
      '',
      'One document per report record, in `*dmarc_aggregate*`; the time is the record\u2019s `date_begin`.',
      'Counts are **messages** (`message_count`), not records.',
      '',
      '**DMARC pass** = SPF *or* DKIM passed *and* aligned with the From domain (`passed_dmarc`).',
      'Click a slice or a row to filter the whole dashboard.',
      '',
      links(DASHBOARD_IDS.aggregate),
    ].join('\n'),
  );
  const totals = visualization({
    id: 'parsedmarc-ts-aggregate-totals',
    title: 'Aggregate: totals',
    description: 'Messages reported, distinct reports and distinct sending IP addresses in the time range.',
    index: AGG,
    type: 'metric',
    params: metricParams(),
    aggs: [
      metric.sum('1', 'message_count', MESSAGES),
      metric.cardinality('2', 'report_id.keyword', 'Reports'),
      metric.cardinality('3', 'source_ip_address.keyword', 'Sending IP addresses'),
    ],
  });
  const dmarcPie = alignmentPie(
    'parsedmarc-ts-aggregate-dmarc-pie',
    'Aggregate: DMARC pass / fail',
    'Messages that passed DMARC (SPF or DKIM aligned) against those that failed.',
    'passed_dmarc',
    ['DMARC pass', 'DMARC fail'],
  );
  const spfPie = alignmentPie(
    'parsedmarc-ts-aggregate-spf-pie',
    'Aggregate: SPF alignment',
    'Messages whose SPF result passed and aligned with the From domain.',
    'spf_aligned',
    ['SPF aligned', 'SPF not aligned'],
  );
  const dkimPie = alignmentPie(
    'parsedmarc-ts-aggregate-dkim-pie',
    'Aggregate: DKIM alignment',
    'Messages with a passing DKIM signature aligned with the From domain.',
    'dkim_aligned',
    ['DKIM aligned', 'DKIM not aligned'],
  );
  const overTime = visualization({
    id: 'parsedmarc-ts-aggregate-dmarc-over-time',
    title: 'Aggregate: messages over time by DMARC result',
    description: 'Message volume per interval of the report records\u2019 begin date, split by DMARC result.',
    index: AGG,
    type: 'histogram',
    params: xyParams({ valueTitle: MESSAGES, series: [['1', MESSAGES]] }),
    aggs: [
      metric.sum('1', 'message_count', MESSAGES),
      dateHistogram('2', 'date_begin', 'Report record begin date'),
      filters('3', dmarcFilters, 'group'),
    ],
    uiState: passFailColors('DMARC pass', 'DMARC fail'),
  });
  const disposition = visualization({
    id: 'parsedmarc-ts-aggregate-disposition-over-time',
    title: 'Aggregate: message disposition over time',
    description:
      'What receivers did with the messages (none = delivered, quarantine = spam folder, reject), per interval.',
    index: AGG,
    type: 'histogram',
    params: xyParams({ valueTitle: MESSAGES, series: [['1', MESSAGES]] }),
    aggs: [
      metric.sum('1', 'message_count', MESSAGES),
      dateHistogram('2', 'date_begin', 'Report record begin date'),
      terms('3', 'disposition.keyword', { schema: 'group', size: 5, label: 'Disposition' }),
    ],
    uiState: { vis: { colors: { none: COLORS.good, quarantine: COLORS.warn, reject: COLORS.bad } } },
  });
  const compliancePct = visualization({
    id: 'parsedmarc-ts-aggregate-compliance-by-domain',
    title: 'Aggregate: DMARC compliance % by From domain',
    description:
      'For each From domain (header_from), the share of its messages that passed DMARC: sum of message_count ' +
      'where passed_dmarc is true, over all its messages. The 30 largest domains, largest first.',
    index: null,
    type: 'vega',
    params: { spec: JSON.stringify(complianceSpec(), null, 2) },
  });
  const complianceBars = visualization({
    id: 'parsedmarc-ts-aggregate-compliance-bars',
    title: 'Aggregate: DMARC result share by From domain',
    description:
      'The same compliance as stacked 100% bars (hover for counts): pass and fail share of each From ' +
      'domain\u2019s messages, the 20 largest domains.',
    index: AGG,
    type: 'horizontal_bar',
    params: xyParams({
      valueTitle: 'Share of messages',
      series: [['1', MESSAGES]],
      horizontal: true,
      percentage: true,
    }),
    aggs: [
      metric.sum('1', 'message_count', MESSAGES),
      terms('2', 'header_from.keyword', { schema: 'segment', size: 20, label: 'From domain' }),
      filters('3', dmarcFilters, 'group'),
    ],
    uiState: passFailColors('DMARC pass', 'DMARC fail'),
  });
  const orgs = messagesTable(
    'parsedmarc-ts-aggregate-reporting-orgs',
    'Aggregate: reporting organizations',
    'Who sent the aggregate reports, with the messages and reports each covered.',
    AGG,
    [terms('3', 'org_name.keyword', { size: 100, label: 'Reporting organization' })],
    { extraMetrics: [metric.cardinality('2', 'report_id.keyword', 'Reports')] },
  );
  const policies = messagesTable(
    'parsedmarc-ts-aggregate-published-policies',
    'Aggregate: published DMARC policies',
    'The DMARC record of each domain as the receivers saw it: policy (p), subdomain policy (sp), and ' +
      'DKIM / SPF alignment modes (adkim, aspf: r = relaxed, s = strict).',
    AGG,
    [
      terms('2', 'published_policy.domain.keyword', { size: 50, label: 'Domain' }),
      terms('3', 'published_policy.p.keyword', { size: 3, label: 'p' }),
      terms('4', 'published_policy.sp.keyword', { size: 3, label: 'sp' }),
      terms('5', 'published_policy.adkim.keyword', { size: 2, label: 'adkim' }),
      terms('6', 'published_policy.aspf.keyword', { size: 2, label: 'aspf' }),
    ],
  );
  const overrides = messagesTable(
    'parsedmarc-ts-aggregate-policy-overrides',
    'Aggregate: policy overrides',
    'Messages for which the receiver did not apply the published policy, with the reason it gave ' +
      '(forwarded, mailing_list, local_policy...).',
    AGG,
    [
      terms('2', 'policy_overrides.type.keyword', { size: 10, label: 'Override' }),
      terms('3', 'policy_overrides.comment.keyword', { size: 10, label: 'Comment', missing: '-' }),
    ],
  );
  const byBaseDomain = messagesTable(
    'parsedmarc-ts-aggregate-sources-by-reverse-dns',
    'Aggregate: message sources by reverse DNS',
    'Sending servers grouped by the base domain of their reverse DNS (PTR) name, then the full name, with ' +
      'their DMARC result. "(no reverse DNS)" are sources without a PTR record.',
    AGG,
    [
      terms('2', 'source_base_domain.keyword', {
        size: 50,
        label: 'Base domain',
        missing: '(no reverse DNS)',
      }),
      terms('3', 'source_reverse_dns.keyword', {
        size: 20,
        label: 'Reverse DNS',
        missing: '(no reverse DNS)',
      }),
      filters('4', dmarcFilters, 'bucket'),
    ],
  );
  const byName = messagesTable(
    'parsedmarc-ts-aggregate-sources-by-name',
    'Aggregate: message sources by service',
    'Known sending services (from the sender map: name and type, e.g. Email Provider, Marketing).',
    AGG,
    [
      terms('2', 'source_name.keyword', { size: 50, label: 'Service', missing: '(unknown)' }),
      terms('3', 'source_type.keyword', { size: 5, label: 'Type', missing: '(unknown)' }),
      filters('4', dmarcFilters, 'bucket'),
    ],
  );
  const byCountry = messagesTable(
    'parsedmarc-ts-aggregate-sources-by-country',
    'Aggregate: message sources by country',
    'Country of the sending IP addresses (ISO 3166 code), with their DMARC result.',
    AGG,
    [
      terms('2', 'source_country.keyword', { size: 100, label: 'Country', missing: '(unknown)' }),
      filters('3', dmarcFilters, 'bucket'),
    ],
  );
  const byIp = messagesTable(
    'parsedmarc-ts-aggregate-sources-by-ip',
    'Aggregate: message sources by IP address',
    'The busiest sending IP addresses with their reverse DNS name and country.',
    AGG,
    [
      terms('2', 'source_ip_address.keyword', { size: 100, label: 'IP address' }),
      terms('3', 'source_reverse_dns.keyword', { size: 1, label: 'Reverse DNS', missing: '-' }),
      terms('4', 'source_country.keyword', { size: 1, label: 'Country', missing: '-' }),
    ],
  );
  const alignment = messagesTable(
    'parsedmarc-ts-aggregate-alignment-details',
    'Aggregate: alignment details',
    'Per From domain and sending base domain: whether SPF and DKIM aligned, and what the receiver did.',
    AGG,
    [
      terms('2', 'header_from.keyword', { size: 50, label: 'From domain' }),
      terms('3', 'source_base_domain.keyword', { size: 20, label: 'Source base domain', missing: '-' }),
      terms('4', 'spf_aligned', { size: 2, label: 'SPF aligned' }),
      terms('5', 'dkim_aligned', { size: 2, label: 'DKIM aligned' }),
      terms('6', 'disposition.keyword', { size: 3, label: 'Disposition' }),
    ],
    { perPage: 20 },
  );
  const spfDetails = messagesTable(
    'parsedmarc-ts-aggregate-spf-details',
    'Aggregate: SPF details',
    'Per From domain: the envelope From (MAIL FROM) domain and each SPF result ("scope / domain / result").',
    AGG,
    [
      terms('2', 'header_from.keyword', { size: 50, label: 'From domain' }),
      terms('3', 'envelope_from.keyword', { size: 20, label: 'Envelope from', missing: '-' }),
      terms('4', 'spf_results_combined.keyword', { size: 20, label: 'SPF result', missing: '(none)' }),
      terms('5', 'spf_aligned', { size: 2, label: 'SPF aligned' }),
    ],
    { perPage: 20 },
  );
  const dkimDetails = messagesTable(
    'parsedmarc-ts-aggregate-dkim-details',
    'Aggregate: DKIM details',
    'Per From domain: each DKIM signature ("selector / domain / result") and whether it aligned.',
    AGG,
    [
      terms('2', 'header_from.keyword', { size: 50, label: 'From domain' }),
      terms('3', 'dkim_results_combined.keyword', { size: 20, label: 'DKIM result', missing: '(none)' }),
      terms('4', 'dkim_aligned', { size: 2, label: 'DKIM aligned' }),
    ],
    { perPage: 20 },
  );
  const records = savedSearch({
    id: 'parsedmarc-ts-aggregate-records',
    title: 'Aggregate: report records',
    description: 'The report records themselves, newest first.',
    index: AGG,
    columns: [
      'org_name',
      'header_from',
      'source_ip_address',
      'source_reverse_dns',
      'source_country',
      'message_count',
      'disposition',
      'passed_dmarc',
      'spf_aligned',
      'dkim_aligned',
      'spf_results_combined',
      'dkim_results_combined',
      'published_policy.p',
      'published_policy.pct',
      'report_id',
    ],
    sort: ['date_begin', 'desc'],
  });
  const board = dashboard({
    id: DASHBOARD_IDS.aggregate,
    title: 'DMARC aggregate reports (parsedmarc-ts)',
    description:
      'DMARC aggregate (RUA) reports: pass/fail and alignment, volume and disposition over time, compliance ' +
      'per From domain, reporting organizations and sending sources.',
    rows: [
      [
        [about, 12, 11],
        [totals, 12, 11],
        [dmarcPie, 8, 11],
        [spfPie, 8, 11],
        [dkimPie, 8, 11],
      ],
      [
        [overTime, 24, 13],
        [disposition, 24, 13],
      ],
      [
        [compliancePct, 24, 17],
        [complianceBars, 24, 17],
      ],
      [
        [orgs, 16, 14],
        [policies, 16, 14],
        [overrides, 16, 14],
      ],
      [
        [byBaseDomain, 24, 15],
        [byName, 24, 15],
      ],
      [
        [byCountry, 16, 15],
        [byIp, 32, 15],
      ],
      [[alignment, 48, 16]],
      [
        [spfDetails, 24, 16],
        [dkimDetails, 24, 16],
      ],
      [[records, 48, 16]],
    ],
  });
  return [
    records,
    about,
    totals,
    dmarcPie,
    spfPie,
    dkimPie,
    overTime,
    disposition,
    compliancePct,
    complianceBars,
    orgs,
    policies,
    overrides,
    byBaseDomain,
    byName,
    byCountry,
    byIp,
    alignment,
    spfDetails,
    dkimDetails,
    board,
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Forensic (failure) reports

function forensicObjects() {
  const FOR = INDEX_PATTERNS.forensic;
  const SAMPLES = 'Failure reports';
  const about = markdown(
    'parsedmarc-ts-forensic-about',
    'About: DMARC forensic (failure) reports',
    [
      '### DMARC forensic (failure) reports (RUF)',
      '',
      'One document per report about **one message that failed DMARC**, in `*dmarc_f*` ' +
        '(`dmarc_forensic` or `dmarc_failure` indexes); the time is its `arrival_date`.',
      '',
      'Few receivers send them, and many send headers only. They can contain personal data: ' +
        'to receive none, publish no `ruf=` address in your DMARC record.',
      '',
      links(DASHBOARD_IDS.forensic),
    ].join('\n'),
  );
  const total = visualization({
    id: 'parsedmarc-ts-forensic-totals',
    title: 'Forensic: totals',
    description: 'Failure reports received, reported domains and distinct sending IP addresses.',
    index: FOR,
    type: 'metric',
    params: metricParams(),
    aggs: [
      metric.count('1', SAMPLES),
      metric.cardinality('2', 'domain.keyword', 'Reported domains'),
      metric.cardinality('3', 'source_ip_address.keyword', 'Sending IP addresses'),
    ],
  });
  const byFailure = visualization({
    id: 'parsedmarc-ts-forensic-auth-failure-pie',
    title: 'Forensic: by authentication failure',
    description: 'Which mechanism the report says failed (dmarc, spf, dkim...).',
    index: FOR,
    type: 'pie',
    params: pieParams(),
    aggs: [metric.count('1', SAMPLES), terms('2', 'auth_failure.keyword', { schema: 'segment', size: 5 })],
  });
  const byDelivery = visualization({
    id: 'parsedmarc-ts-forensic-delivery-pie',
    title: 'Forensic: by delivery result',
    description: 'What the receiver did with the failing message (delivered, spam, policy, reject...).',
    index: FOR,
    type: 'pie',
    params: pieParams(),
    aggs: [
      metric.count('1', SAMPLES),
      terms('2', `${DELIVERY_RESULT}.keyword`, { schema: 'segment', size: 5, missing: '(not given)' }),
    ],
  });
  const overTime = visualization({
    id: 'parsedmarc-ts-forensic-over-time',
    title: 'Forensic: failure reports over time by domain',
    description: 'Failure reports per interval of their arrival date, split by reported domain.',
    index: FOR,
    type: 'histogram',
    params: xyParams({ valueTitle: SAMPLES, series: [['1', SAMPLES]] }),
    aggs: [
      metric.count('1', SAMPLES),
      dateHistogram('2', 'arrival_date', 'Arrival date'),
      terms('3', 'domain.keyword', { schema: 'group', size: 10, label: 'Reported domain' }),
    ],
  });
  const byDomain = visualization({
    id: 'parsedmarc-ts-forensic-by-domain',
    title: 'Forensic: by reported domain',
    description: 'Failure reports per reported domain and the DKIM domain the sample was signed with.',
    index: FOR,
    type: 'table',
    params: tableParams(),
    aggs: [
      metric.count('1', SAMPLES),
      terms('2', 'domain.keyword', { size: 50, label: 'Reported domain' }),
      terms('3', 'dkim_domain.keyword', { size: 10, label: 'DKIM domain', missing: '-' }),
    ],
  });
  const bySource = visualization({
    id: 'parsedmarc-ts-forensic-by-source',
    title: 'Forensic: by source',
    description: 'Where the failing messages came from: IP address, reverse DNS name, base domain, country.',
    index: FOR,
    type: 'table',
    params: tableParams(),
    aggs: [
      metric.count('1', SAMPLES),
      terms('2', 'source_ip_address.keyword', { size: 50, label: 'IP address' }),
      terms('3', 'source_reverse_dns.keyword', { size: 1, label: 'Reverse DNS', missing: '-' }),
      terms('4', 'source_base_domain.keyword', { size: 1, label: 'Base domain', missing: '-' }),
      terms('5', 'source_country.keyword', { size: 1, label: 'Country', missing: '-' }),
    ],
  });
  const bySender = visualization({
    id: 'parsedmarc-ts-forensic-by-sender',
    title: 'Forensic: samples by From and subject',
    description: 'The From header and subject of the failing messages (when the report includes them).',
    index: FOR,
    type: 'table',
    params: tableParams(),
    aggs: [
      metric.count('1', SAMPLES),
      terms('2', 'sample.headers.from.keyword', { size: 50, label: 'From header', missing: '-' }),
      terms('3', 'sample.subject.keyword', { size: 10, label: 'Subject', missing: '-' }),
    ],
  });
  const samples = savedSearch({
    id: 'parsedmarc-ts-forensic-samples',
    title: 'Forensic: failure samples',
    description: 'The failure reports themselves, newest first; open one to see the full sample.',
    index: FOR,
    columns: [
      'domain',
      'source_ip_address',
      'source_reverse_dns',
      'source_country',
      'sample.headers.from',
      'sample.to.address',
      'sample.subject',
      'auth_failure',
      'dkim_domain',
      DELIVERY_RESULT,
      'original_rcpt_to',
      'feedback_type',
      'user_agent',
    ],
    sort: ['arrival_date', 'desc'],
  });
  const board = dashboard({
    id: DASHBOARD_IDS.forensic,
    title: 'DMARC forensic (failure) reports (parsedmarc-ts)',
    description:
      'DMARC forensic / failure (RUF) reports: samples, volume over time, reported domains and sources.',
    rows: [
      [
        [about, 12, 11],
        [total, 12, 11],
        [byFailure, 12, 11],
        [byDelivery, 12, 11],
      ],
      [[overTime, 48, 13]],
      [
        [byDomain, 16, 15],
        [bySource, 32, 15],
      ],
      [[bySender, 48, 14]],
      [[samples, 48, 18]],
    ],
  });
  return [samples, about, total, byFailure, byDelivery, overTime, byDomain, bySource, bySender, board];
}

// ---------------------------------------------------------------------------------------------------------
// SMTP TLS reports

function smtpTlsObjects() {
  const TLS = INDEX_PATTERNS.smtpTls;
  const OK = 'Successful sessions';
  const FAILED = 'Failed sessions';
  const sessionSums = () => [
    metric.sum('1', 'policies.successful_session_count', OK),
    metric.sum('2', 'policies.failed_session_count', FAILED),
  ];
  const about = markdown(
    'parsedmarc-ts-smtp-tls-about',
    'About: SMTP TLS reports',
    [
      '### SMTP TLS reports (RFC 8460, TLS-RPT)',
      '',
      'One document per report, in `*smtp_tls*`; the time is the report\u2019s `date_begin`. A report counts the ' +
        'TLS sessions other servers opened to your MX hosts, per policy (MTA-STS, DANE or none).',
      '',
      '*Per-row counts:* a report that lists several policies or failure details adds its totals to each ' +
        'of its rows, so such rows can overstate; the totals and the sessions over time are exact.',
      '',
      links(DASHBOARD_IDS.smtpTls),
    ].join('\n'),
  );
  const totals = visualization({
    id: 'parsedmarc-ts-smtp-tls-totals',
    title: 'SMTP TLS: totals',
    description: 'TLS sessions reported as successful and as failed, and the number of reports.',
    index: TLS,
    type: 'metric',
    params: metricParams(),
    aggs: [...sessionSums(), metric.count('3', 'Reports')],
  });
  const overTime = visualization({
    id: 'parsedmarc-ts-smtp-tls-sessions-over-time',
    title: 'SMTP TLS: sessions over time',
    description: 'Successful and failed TLS sessions per interval of the reports\u2019 begin date.',
    index: TLS,
    type: 'histogram',
    params: xyParams({
      valueTitle: 'Sessions',
      series: [
        ['1', OK],
        ['2', FAILED],
      ],
    }),
    aggs: [...sessionSums(), dateHistogram('3', 'date_begin', 'Report begin date')],
    uiState: { vis: { colors: { [OK]: COLORS.good, [FAILED]: COLORS.bad } } },
  });
  const failuresOverTime = visualization({
    id: 'parsedmarc-ts-smtp-tls-failures-over-time',
    title: 'SMTP TLS: failures over time by result type',
    description:
      'Failed sessions per interval, split by failure result type (certificate-expired, sts-policy-invalid, ' +
      'starttls-not-supported...).',
    index: TLS,
    type: 'histogram',
    params: xyParams({ valueTitle: FAILED, series: [['1', FAILED]] }),
    aggs: [
      metric.sum('1', 'policies.failure_details.failed_session_count', FAILED),
      dateHistogram('2', 'date_begin', 'Report begin date'),
      terms('3', 'policies.failure_details.result_type.keyword', {
        schema: 'group',
        size: 10,
        label: 'Result',
      }),
    ],
  });
  const byPolicy = visualization({
    id: 'parsedmarc-ts-smtp-tls-by-policy-domain',
    title: 'SMTP TLS: sessions by policy domain',
    description:
      'Successful and failed sessions per policy: its domain and type (sts = MTA-STS, tlsa = DANE, ' +
      'no-policy-found). Read from policies_combined, one "domain / type" value per policy.',
    index: TLS,
    type: 'table',
    params: tableParams(),
    aggs: [
      ...sessionSums(),
      metric.count('3', 'Reports'),
      terms('4', 'policies_combined.keyword', { size: 50, label: 'Policy (domain / type)' }),
    ],
  });
  const byOrg = visualization({
    id: 'parsedmarc-ts-smtp-tls-reporting-orgs',
    title: 'SMTP TLS: reporting organizations',
    description: 'Who sent the SMTP TLS reports, with the sessions they reported.',
    index: TLS,
    type: 'table',
    params: tableParams(),
    aggs: [
      ...sessionSums(),
      metric.count('3', 'Reports'),
      terms('4', 'org_name.keyword', { size: 50, label: 'Reporting organization' }),
    ],
  });
  const failureDetails = visualization({
    id: 'parsedmarc-ts-smtp-tls-failure-details',
    title: 'SMTP TLS: failure details',
    description:
      'Why sessions failed, one row per reported failure detail (failure_details_combined): policy domain / ' +
      'policy type / result type / sending MTA IP / receiving IP / receiving MX host. Reports = reports ' +
      'listing that detail.',
    index: TLS,
    type: 'table',
    params: tableParams(20),
    aggs: [
      metric.sum('1', 'policies.failure_details.failed_session_count', FAILED),
      metric.count('2', 'Reports'),
      terms('3', 'failure_details_combined.keyword', {
        size: 100,
        label: 'Failure (policy domain / type / result / sending MTA / receiving IP / MX)',
      }),
    ],
  });
  const reports = savedSearch({
    id: 'parsedmarc-ts-smtp-tls-reports',
    title: 'SMTP TLS: reports',
    description: 'The SMTP TLS reports themselves, newest first.',
    index: TLS,
    columns: [
      'org_name',
      'report_id',
      'policies.policy_domain',
      'policies.policy_type',
      'policies.successful_session_count',
      'policies.failed_session_count',
      'policies.failure_details.result_type',
      'policies.failure_details.sending_mta_ip',
      'policies.failure_details.receiving_mx_hostname',
    ],
    sort: ['date_begin', 'desc'],
  });
  const board = dashboard({
    id: DASHBOARD_IDS.smtpTls,
    title: 'SMTP TLS reports (parsedmarc-ts)',
    description:
      'SMTP TLS (RFC 8460) reports: successful and failed sessions over time, per policy domain, and why ' +
      'sessions failed.',
    rows: [
      [
        [about, 16, 12],
        [totals, 16, 12],
        [byOrg, 16, 12],
      ],
      [
        [overTime, 24, 13],
        [failuresOverTime, 24, 13],
      ],
      [[byPolicy, 48, 14]],
      [[failureDetails, 48, 16]],
      [[reports, 48, 16]],
    ],
  });
  return [reports, about, totals, overTime, failuresOverTime, byPolicy, byOrg, failureDetails, board];
}

/** Every saved object, in import order (index patterns first, each dashboard last of its group). */
export function kibanaSavedObjects() {
  return [
    indexPattern(INDEX_PATTERNS.aggregate, { message_count: { id: 'number', params: { pattern: '0,0' } } }),
    indexPattern(INDEX_PATTERNS.forensic),
    indexPattern(INDEX_PATTERNS.smtpTls),
    ...aggregateObjects(),
    ...forensicObjects(),
    ...smtpTlsObjects(),
  ];
}

export function kibanaNdjson() {
  return kibanaSavedObjects()
    .map((object) => JSON.stringify(object))
    .join('\n')
    .concat('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Grafana (Elasticsearch datasource; the same query model works with the OpenSearch datasource plugin)

/** Grafana datasource variables, one per index family (a Grafana Elasticsearch datasource has one index). */
export const GRAFANA_DATASOURCES = {
  ds_aggregate: {
    input: 'DS_DMARC_AGGREGATE',
    label: 'DMARC aggregate',
    pattern: '*dmarc_aggregate*',
    time: 'date_begin',
  },
  ds_forensic: {
    input: 'DS_DMARC_FORENSIC',
    label: 'DMARC forensic',
    pattern: '*dmarc_f*',
    time: 'arrival_date',
  },
  ds_smtp_tls: { input: 'DS_SMTP_TLS', label: 'SMTP TLS', pattern: '*smtp_tls*', time: 'date_begin' },
};
const GRAFANA_PLUGIN = 'elasticsearch';

function grafanaDashboard() {
  let nextId = 1;
  let y = 0;
  const panels = [];
  const ds = (name) => ({ type: GRAFANA_PLUGIN, uid: `\${${name}}` });
  const target = (name, { query = '', metrics, bucketAggs, refId = 'A', alias = '' }) => ({
    refId,
    datasource: ds(name),
    queryType: 'lucene',
    query,
    alias,
    metrics,
    bucketAggs,
    timeField: GRAFANA_DATASOURCES[name].time,
  });
  const histogram = (name, id) => ({
    id,
    type: 'date_histogram',
    field: GRAFANA_DATASOURCES[name].time,
    settings: { interval: 'auto', min_doc_count: '0', trimEdges: '0' },
  });
  const termsAgg = (id, field, size, orderBy = '1') => ({
    id,
    type: 'terms',
    field,
    settings: { size: String(size), order: 'desc', orderBy, min_doc_count: '1' },
  });
  const filtersAgg = (id, entries) => ({
    id,
    type: 'filters',
    settings: { filters: entries.map(([query, label]) => ({ query, label })) },
  });
  const sum = (id, field) => ({ id, type: 'sum', field });
  const FROM = 'header_from.keyword:$header_from';

  /** Lays panels out on the 24-column grid, a row at a time. */
  function row(title, cells) {
    panels.push({
      type: 'row',
      title,
      collapsed: false,
      id: nextId++,
      gridPos: { x: 0, y, w: 24, h: 1 },
      panels: [],
    });
    y += 1;
    let x = 0;
    let height = 0;
    for (const cell of cells) {
      const { w, h, ...panel } = cell;
      if (x + w > 24) {
        x = 0;
        y += height;
        height = 0;
      }
      panels.push({ id: nextId++, gridPos: { x, y, w, h }, ...panel });
      x += w;
      height = Math.max(height, h);
    }
    y += height;
  }
  const text = (content, w = 8, h = 8) => ({
    type: 'text',
    title: '',
    w,
    h,
    options: { mode: 'markdown', content },
  });
  const colorOverride = (name, color, displayName) => ({
    matcher: { id: 'byName', options: name },
    properties: [
      { id: 'color', value: { mode: 'fixed', fixedColor: color } },
      ...(displayName ? [{ id: 'displayName', value: displayName }] : []),
    ],
  });
  const pie = (title, description, name, targets, overrides = []) => ({
    type: 'piechart',
    title,
    description,
    datasource: ds(name),
    w: 6,
    h: 8,
    targets,
    options: {
      reduceOptions: { calcs: ['sum'], fields: '', values: false },
      pieType: 'donut',
      legend: { displayMode: 'table', placement: 'right', values: ['value', 'percent'] },
      tooltip: { mode: 'single' },
    },
    fieldConfig: { defaults: { unit: 'short' }, overrides },
  });
  const timeseries = (title, description, name, targets, overrides = [], w = 12) => ({
    type: 'timeseries',
    title,
    description,
    datasource: ds(name),
    w,
    h: 9,
    targets,
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
    fieldConfig: {
      defaults: {
        unit: 'short',
        custom: {
          drawStyle: 'bars',
          fillOpacity: 80,
          stacking: { mode: 'normal', group: 'A' },
          lineWidth: 1,
        },
      },
      overrides,
    },
  });
  const stat = (title, description, name, targets, w = 4, h = 9) => ({
    type: 'stat',
    title,
    description,
    datasource: ds(name),
    w,
    h,
    targets,
    options: {
      reduceOptions: { calcs: ['sum'], fields: '', values: false },
      colorMode: 'none',
      graphMode: 'none',
      textMode: 'value',
    },
    fieldConfig: { defaults: { unit: 'short' }, overrides: [] },
  });
  /** A table of terms buckets; columns: [[grafana field name, display name, unit?], ...]. */
  const table = (title, description, name, targets, columns, w = 12, h = 10, extra = {}) => ({
    type: 'table',
    title,
    description,
    datasource: ds(name),
    w,
    h,
    targets,
    options: { showHeader: true, footer: { show: false, reducer: ['sum'] } },
    fieldConfig: {
      defaults: {},
      overrides: columns.map(([field, display, unit]) => ({
        matcher: { id: 'byName', options: field },
        properties: [{ id: 'displayName', value: display }, ...(unit ? [{ id: 'unit', value: unit }] : [])],
      })),
    },
    ...extra,
  });
  const passFail = [colorOverride('DMARC pass', COLORS.good), colorOverride('DMARC fail', COLORS.bad)];
  const aggFilters = (field, pass, fail) =>
    filtersAgg('3', [
      [`${field}:true`, pass],
      [`${field}:false`, fail],
    ]);
  const alignmentPie = (title, description, field, pass, fail) =>
    pie(
      title,
      description,
      'ds_aggregate',
      [
        target('ds_aggregate', {
          query: FROM,
          metrics: [sum('1', 'message_count')],
          bucketAggs: [aggFilters(field, pass, fail), histogram('ds_aggregate', '2')],
        }),
      ],
      [colorOverride(pass, COLORS.good), colorOverride(fail, COLORS.bad)],
    );
  const messagesBy = (title, description, buckets, columns, w = 12, h = 10) =>
    table(
      title,
      description,
      'ds_aggregate',
      [target('ds_aggregate', { query: FROM, metrics: [sum('1', 'message_count')], bucketAggs: buckets })],
      [...columns, ['Sum', 'Messages']],
      w,
      h,
    );

  row('DMARC aggregate reports', [
    text(
      [
        '**DMARC aggregate reports** (one document per report record, time = `date_begin`).',
        'Counts are messages (`message_count`). *DMARC pass* = SPF or DKIM aligned with the From domain.',
        'Pick the datasource of each index family above (aggregate, forensic, SMTP TLS) and a From domain.',
      ].join('\n\n'),
      6,
    ),
    alignmentPie(
      'DMARC pass / fail',
      'Messages that passed DMARC against those that failed.',
      'passed_dmarc',
      'DMARC pass',
      'DMARC fail',
    ),
    alignmentPie(
      'SPF alignment',
      'Messages whose SPF result aligned.',
      'spf_aligned',
      'SPF aligned',
      'SPF not aligned',
    ),
    alignmentPie(
      'DKIM alignment',
      'Messages with an aligned, passing DKIM signature.',
      'dkim_aligned',
      'DKIM aligned',
      'DKIM not aligned',
    ),
    stat('Messages', 'Messages covered by the aggregate reports.', 'ds_aggregate', [
      target('ds_aggregate', {
        query: FROM,
        metrics: [sum('1', 'message_count')],
        bucketAggs: [histogram('ds_aggregate', '2')],
      }),
    ]),
    timeseries(
      'Messages over time by DMARC result',
      'Message volume per interval of the records\u2019 begin date.',
      'ds_aggregate',
      [
        target('ds_aggregate', {
          query: FROM,
          metrics: [sum('1', 'message_count')],
          bucketAggs: [filtersAgg('3', dmarcFilters), histogram('ds_aggregate', '2')],
        }),
      ],
      passFail,
      10,
    ),
    timeseries(
      'Message disposition over time',
      'What receivers did with the messages: none, quarantine, reject.',
      'ds_aggregate',
      [
        target('ds_aggregate', {
          query: FROM,
          alias: '{{term disposition.keyword}}',
          metrics: [sum('1', 'message_count')],
          bucketAggs: [termsAgg('3', 'disposition.keyword', 5), histogram('ds_aggregate', '2')],
        }),
      ],
      [
        colorOverride('none', COLORS.good),
        colorOverride('quarantine', COLORS.warn),
        colorOverride('reject', COLORS.bad),
      ],
      10,
    ),
    table(
      'DMARC compliance by From domain',
      'Share of each From domain\u2019s messages that passed DMARC (sum of message_count where passed_dmarc ' +
        'is true, over all its messages).',
      'ds_aggregate',
      [
        target('ds_aggregate', {
          query: FROM,
          metrics: [
            sum('1', 'message_count'),
            {
              id: '2',
              type: 'sum',
              hide: true,
              settings: {
                script:
                  "doc['passed_dmarc'].size() > 0 && doc['passed_dmarc'].value && doc['message_count'].size() > 0 " +
                  "? doc['message_count'].value : 0",
              },
            },
            {
              id: '3',
              type: 'bucket_script',
              pipelineVariables: [
                { name: 'passed', pipelineAgg: '2' },
                { name: 'total', pipelineAgg: '1' },
              ],
              settings: { script: 'params.total > 0 ? params.passed / params.total * 100 : 0' },
            },
          ],
          bucketAggs: [termsAgg('4', 'header_from.keyword', 100)],
        }),
      ],
      [
        ['header_from.keyword', 'From domain'],
        ['Sum message_count', 'Messages'],
        ['Bucket Script', 'DMARC pass %', 'percent'],
      ],
      12,
      10,
    ),
    messagesBy(
      'Reporting organizations',
      'Who sent the aggregate reports.',
      [termsAgg('2', 'org_name.keyword', 100)],
      [['org_name.keyword', 'Reporting organization']],
    ),
    messagesBy(
      'Message sources by reverse DNS',
      'Sending servers by the base domain of their reverse DNS name, then the full name.',
      [termsAgg('2', 'source_base_domain.keyword', 50), termsAgg('3', 'source_reverse_dns.keyword', 20)],
      [
        ['source_base_domain.keyword', 'Base domain'],
        ['source_reverse_dns.keyword', 'Reverse DNS'],
      ],
    ),
    messagesBy(
      'Message sources by IP address',
      'The busiest sending IP addresses with reverse DNS name and country.',
      [
        termsAgg('2', 'source_ip_address.keyword', 100),
        termsAgg('3', 'source_reverse_dns.keyword', 1),
        termsAgg('4', 'source_country.keyword', 1),
      ],
      [
        ['source_ip_address.keyword', 'IP address'],
        ['source_reverse_dns.keyword', 'Reverse DNS'],
        ['source_country.keyword', 'Country'],
      ],
    ),
    messagesBy(
      'Message sources by country',
      'Country of the sending IP addresses.',
      [termsAgg('2', 'source_country.keyword', 100)],
      [['source_country.keyword', 'Country']],
      8,
    ),
    messagesBy(
      'Message sources by service',
      'Known sending services (name and type).',
      [termsAgg('2', 'source_name.keyword', 50), termsAgg('3', 'source_type.keyword', 5)],
      [
        ['source_name.keyword', 'Service'],
        ['source_type.keyword', 'Type'],
      ],
      8,
    ),
    messagesBy(
      'Published DMARC policies',
      'The DMARC record of each domain as receivers saw it.',
      [
        termsAgg('2', 'published_policy.domain.keyword', 50),
        termsAgg('3', 'published_policy.p.keyword', 3),
        termsAgg('4', 'published_policy.sp.keyword', 3),
      ],
      [
        ['published_policy.domain.keyword', 'Domain'],
        ['published_policy.p.keyword', 'p'],
        ['published_policy.sp.keyword', 'sp'],
      ],
      8,
    ),
    messagesBy(
      'Alignment details',
      'Per From domain and sending base domain: SPF and DKIM alignment and the disposition.',
      [
        termsAgg('2', 'header_from.keyword', 50),
        termsAgg('3', 'source_base_domain.keyword', 20),
        termsAgg('4', 'spf_aligned', 2),
        termsAgg('5', 'dkim_aligned', 2),
        termsAgg('6', 'disposition.keyword', 3),
      ],
      [
        ['header_from.keyword', 'From domain'],
        ['source_base_domain.keyword', 'Source base domain'],
        ['spf_aligned', 'SPF aligned'],
        ['dkim_aligned', 'DKIM aligned'],
        ['disposition.keyword', 'Disposition'],
      ],
      24,
      12,
    ),
    messagesBy(
      'SPF details',
      'Per From domain: the envelope From domain and each SPF result (scope / domain / result).',
      [
        termsAgg('2', 'header_from.keyword', 50),
        termsAgg('3', 'envelope_from.keyword', 20),
        termsAgg('4', 'spf_results_combined.keyword', 20),
      ],
      [
        ['header_from.keyword', 'From domain'],
        ['envelope_from.keyword', 'Envelope from'],
        ['spf_results_combined.keyword', 'SPF result'],
      ],
    ),
    messagesBy(
      'DKIM details',
      'Per From domain: each DKIM signature (selector / domain / result).',
      [termsAgg('2', 'header_from.keyword', 50), termsAgg('3', 'dkim_results_combined.keyword', 20)],
      [
        ['header_from.keyword', 'From domain'],
        ['dkim_results_combined.keyword', 'DKIM result'],
      ],
    ),
  ]);

  const FORENSIC_QUERY = 'domain.keyword:$header_from';
  row('DMARC forensic (failure) reports', [
    timeseries(
      'Failure reports over time by domain',
      'Failure reports per interval of their arrival date, by reported domain.',
      'ds_forensic',
      [
        target('ds_forensic', {
          query: FORENSIC_QUERY,
          alias: '{{term domain.keyword}}',
          metrics: [{ id: '1', type: 'count' }],
          bucketAggs: [termsAgg('3', 'domain.keyword', 10, '_count'), histogram('ds_forensic', '2')],
        }),
      ],
      [],
      24,
    ),
    table(
      'Failure reports by source',
      'Where the failing messages came from.',
      'ds_forensic',
      [
        target('ds_forensic', {
          query: FORENSIC_QUERY,
          metrics: [{ id: '1', type: 'count' }],
          bucketAggs: [
            termsAgg('2', 'source_ip_address.keyword', 50, '_count'),
            termsAgg('3', 'source_reverse_dns.keyword', 1, '_count'),
            termsAgg('4', 'source_country.keyword', 1, '_count'),
          ],
        }),
      ],
      [
        ['source_ip_address.keyword', 'IP address'],
        ['source_reverse_dns.keyword', 'Reverse DNS'],
        ['source_country.keyword', 'Country'],
        ['Count', 'Failure reports'],
      ],
    ),
    table(
      'Failure reports by domain and failure',
      'Per reported domain: which mechanism failed.',
      'ds_forensic',
      [
        target('ds_forensic', {
          query: FORENSIC_QUERY,
          metrics: [{ id: '1', type: 'count' }],
          bucketAggs: [
            termsAgg('2', 'domain.keyword', 50, '_count'),
            termsAgg('3', 'auth_failure.keyword', 5, '_count'),
          ],
        }),
      ],
      [
        ['domain.keyword', 'Reported domain'],
        ['auth_failure.keyword', 'Failure'],
        ['Count', 'Failure reports'],
      ],
    ),
    table(
      'Failure samples',
      'The latest failure reports (up to 500).',
      'ds_forensic',
      [
        target('ds_forensic', {
          query: FORENSIC_QUERY,
          metrics: [{ id: '1', type: 'raw_data', settings: { size: '500' } }],
          bucketAggs: [],
        }),
      ],
      [],
      24,
      12,
      {
        transformations: [
          {
            id: 'filterFieldsByName',
            options: {
              include: {
                names: [
                  'arrival_date',
                  'domain',
                  'source_ip_address',
                  'source_reverse_dns',
                  'source_country',
                  'sample.headers.from',
                  'sample.subject',
                  'auth_failure',
                  'dkim_domain',
                  DELIVERY_RESULT,
                  'original_rcpt_to',
                ],
              },
            },
          },
        ],
      },
    ),
  ]);

  const OK = 'policies.successful_session_count';
  const FAILED = 'policies.failed_session_count';
  row('SMTP TLS reports', [
    timeseries(
      'TLS sessions over time',
      'Successful and failed TLS sessions per interval of the reports\u2019 begin date.',
      'ds_smtp_tls',
      [
        target('ds_smtp_tls', {
          refId: 'A',
          alias: 'Successful sessions',
          metrics: [sum('1', OK)],
          bucketAggs: [histogram('ds_smtp_tls', '2')],
        }),
        target('ds_smtp_tls', {
          refId: 'B',
          alias: 'Failed sessions',
          metrics: [sum('1', FAILED)],
          bucketAggs: [histogram('ds_smtp_tls', '2')],
        }),
      ],
      [colorOverride('Successful sessions', COLORS.good), colorOverride('Failed sessions', COLORS.bad)],
      24,
    ),
    table(
      'Sessions by policy domain',
      'Successful and failed sessions per policy, "domain / type" (a report with several policies adds its ' +
        'totals to each).',
      'ds_smtp_tls',
      [
        target('ds_smtp_tls', {
          metrics: [sum('1', OK), sum('2', FAILED)],
          bucketAggs: [termsAgg('3', 'policies_combined.keyword', 50)],
        }),
      ],
      [
        ['policies_combined.keyword', 'Policy (domain / type)'],
        [`Sum ${OK}`, 'Successful sessions'],
        [`Sum ${FAILED}`, 'Failed sessions'],
      ],
    ),
    table(
      'Failure details',
      'Why sessions failed, one row per failure detail: policy domain / type / result / sending MTA IP / ' +
        'receiving IP / receiving MX (a report with several details adds its total to each).',
      'ds_smtp_tls',
      [
        target('ds_smtp_tls', {
          metrics: [sum('1', 'policies.failure_details.failed_session_count')],
          bucketAggs: [termsAgg('2', 'failure_details_combined.keyword', 100)],
        }),
      ],
      [
        ['failure_details_combined.keyword', 'Failure detail'],
        ['Sum', 'Failed sessions'],
      ],
    ),
    table(
      'SMTP TLS reporting organizations',
      'Who sent the SMTP TLS reports.',
      'ds_smtp_tls',
      [
        target('ds_smtp_tls', {
          metrics: [sum('1', OK), sum('2', FAILED)],
          bucketAggs: [termsAgg('3', 'org_name.keyword', 50)],
        }),
      ],
      [
        ['org_name.keyword', 'Reporting organization'],
        [`Sum ${OK}`, 'Successful sessions'],
        [`Sum ${FAILED}`, 'Failed sessions'],
      ],
      24,
      8,
    ),
  ]);

  const datasourceVariable = (name) => ({
    type: 'datasource',
    name,
    label: `Datasource: ${GRAFANA_DATASOURCES[name].label} (${GRAFANA_DATASOURCES[name].pattern})`,
    query: GRAFANA_PLUGIN,
    regex: '',
    current: {
      text: `\${${GRAFANA_DATASOURCES[name].input}}`,
      value: `\${${GRAFANA_DATASOURCES[name].input}}`,
    },
    hide: 0,
    includeAll: false,
    multi: false,
    refresh: 1,
    options: [],
  });

  return {
    __inputs: Object.values(GRAFANA_DATASOURCES).map(({ input, label, pattern, time }) => ({
      name: input,
      label: `${label} datasource`,
      description: `An Elasticsearch (or OpenSearch) datasource on index pattern ${pattern}, time field ${time}`,
      type: 'datasource',
      pluginId: GRAFANA_PLUGIN,
      pluginName: 'Elasticsearch',
    })),
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '9.0.0' },
      { type: 'datasource', id: GRAFANA_PLUGIN, name: 'Elasticsearch', version: '1.0.0' },
      { type: 'panel', id: 'piechart', name: 'Pie chart', version: '' },
      { type: 'panel', id: 'stat', name: 'Stat', version: '' },
      { type: 'panel', id: 'table', name: 'Table', version: '' },
      { type: 'panel', id: 'text', name: 'Text', version: '' },
      { type: 'panel', id: 'timeseries', name: 'Time series', version: '' },
    ],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    description:
      'DMARC aggregate, forensic (failure) and SMTP TLS reports written by parsedmarc-ts (or parsedmarc) to ' +
      'Elasticsearch or OpenSearch.',
    editable: true,
    graphTooltip: 1,
    links: [],
    panels,
    refresh: '',
    schemaVersion: 36,
    tags: ['dmarc', 'parsedmarc', 'smtp-tls'],
    templating: {
      list: [
        datasourceVariable('ds_aggregate'),
        datasourceVariable('ds_forensic'),
        datasourceVariable('ds_smtp_tls'),
        {
          type: 'query',
          name: 'header_from',
          label: 'From domain',
          datasource: ds('ds_aggregate'),
          definition: '{"find": "terms", "field": "header_from.keyword", "size": 1000}',
          query: '{"find": "terms", "field": "header_from.keyword", "size": 1000}',
          includeAll: true,
          allValue: '*',
          multi: true,
          current: { text: 'All', value: '$__all' },
          refresh: 2,
          sort: 1,
          hide: 0,
          options: [],
          regex: '',
        },
      ],
    },
    time: { from: 'now-30d', to: 'now' },
    timepicker: {},
    timezone: '',
    title: 'DMARC and SMTP TLS reports (parsedmarc-ts, Elasticsearch)',
    uid: 'parsedmarc-ts-elasticsearch',
    version: 1,
  };
}

export { grafanaDashboard };

// ---------------------------------------------------------------------------------------------------------

const isMain = Boolean(process.argv[1]) && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain && process.argv[2] === '--outline') {
  process.stdout.write(splunkOutline());
} else if (isMain) {
  const here = (p) => fileURLToPath(new URL(p, import.meta.url));
  writeFileSync(here('./kibana/parsedmarc.ndjson'), kibanaNdjson());
  mkdirSync(here('./splunk'), { recursive: true });
  for (const [file, xml] of Object.entries(splunkDashboards())) writeFileSync(here(`./splunk/${file}`), xml);
  const prettier = await import('prettier');
  const grafanaPath = here('./grafana/parsedmarc-elasticsearch.json');
  const options = { ...(await prettier.resolveConfig(grafanaPath)), parser: 'json' };
  writeFileSync(grafanaPath, await prettier.format(JSON.stringify(grafanaDashboard()), options));
  console.log(
    'wrote dashboards/kibana/parsedmarc.ndjson, dashboards/grafana/parsedmarc-elasticsearch.json and ' +
      `dashboards/splunk/{${Object.keys(splunkDashboards()).join(',')}}`,
  );
}
