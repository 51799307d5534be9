/**
 * Reads Splunk Simple XML dashboards (well-formed XML, parsed with saxes) into their inputs, panels and
 * searches, and checks them without a server: a `<form>` with a label and description, a time input and an
 * `index` text input, panels with a title and one known visualization whose options exist, searches with a
 * query and the time input's range, and every `$token$` defined by an input or predefined by Splunk.
 * Pure functions, no I/O.
 */
import { SaxesParser, type SaxesTagPlain } from 'saxes';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (CDATA included), children's text left out. */
  text: string;
}

/** Parses a whole document; throws on XML that is not well-formed (saxes' message, with line and column). */
export function parseXml(xml: string): XmlElement {
  const parser = new SaxesParser({ xmlns: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  parser.on('opentag', (tag: SaxesTagPlain) => {
    const element: XmlElement = { name: tag.name, attributes: { ...tag.attributes }, children: [], text: '' };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else root = element;
    stack.push(element);
  });
  const addText = (text: string): void => {
    const current = stack[stack.length - 1];
    if (current) current.text += text;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.on('closetag', () => void stack.pop());
  parser.on('error', (error) => {
    throw error;
  });
  parser.write(xml).close();
  if (!root) throw new Error('no root element');
  return root;
}

const children = (element: XmlElement, name: string): XmlElement[] =>
  element.children.filter((c) => c.name === name);
const child = (element: XmlElement, name: string): XmlElement | undefined => children(element, name)[0];
const textOf = (element: XmlElement | undefined): string | null => (element ? element.text.trim() : null);

export interface DashboardInput {
  type: string;
  token: string | null;
  label: string | null;
  /** The default value; for a time input `earliest..latest`. */
  defaultValue: string | null;
}

export interface DashboardSearch {
  query: string;
  earliest: string | null;
  latest: string | null;
  /** A post-process search's base search id (`<search base="...">`). */
  base: string | null;
}

export interface DashboardPanel {
  /** 1-based row number. */
  row: number;
  /** The visualization elements in the panel: chart, table, single, event, map, html... */
  visualizations: string[];
  visualization: string;
  title: string | null;
  description: string | null;
  options: Record<string, string>;
  searches: DashboardSearch[];
  /** `<drilldown><set token="...">value</set>` of the visualization. */
  drilldown: Array<{ token: string; value: string }>;
}

export interface Dashboard {
  root: string;
  attributes: Record<string, string>;
  label: string | null;
  description: string | null;
  inputs: DashboardInput[];
  panels: DashboardPanel[];
  /** Searches outside panels (global base searches). */
  globalSearches: DashboardSearch[];
}

const VISUALIZATIONS = ['chart', 'table', 'single', 'event', 'map', 'viz', 'html'];

function readSearch(element: XmlElement): DashboardSearch {
  return {
    query: textOf(child(element, 'query')) ?? '',
    earliest: textOf(child(element, 'earliest')),
    latest: textOf(child(element, 'latest')),
    base: element.attributes['base'] ?? null,
  };
}

function readInput(element: XmlElement): DashboardInput {
  const fallback = child(element, 'default');
  const defaultValue =
    element.attributes['type'] === 'time' && fallback
      ? `${textOf(child(fallback, 'earliest')) ?? ''}..${textOf(child(fallback, 'latest')) ?? ''}`
      : textOf(fallback);
  return {
    type: element.attributes['type'] ?? '',
    token: element.attributes['token'] ?? null,
    label: textOf(child(element, 'label')),
    defaultValue,
  };
}

/** Reads a dashboard's XML (throws if it is not well-formed). */
export function readDashboard(xml: string): Dashboard {
  const root = parseXml(xml);
  const inputs = [
    ...children(root, 'fieldset').flatMap((f) => children(f, 'input')),
    ...children(root, 'row').flatMap((r) => children(r, 'panel').flatMap((p) => children(p, 'input'))),
  ].map(readInput);
  const panels: DashboardPanel[] = [];
  children(root, 'row').forEach((row, i) => {
    for (const panel of children(row, 'panel')) {
      const vizElements = panel.children.filter((c) => VISUALIZATIONS.includes(c.name));
      const viz = vizElements[0];
      const options = Object.fromEntries(
        (viz ? children(viz, 'option') : []).map((o) => [o.attributes['name'] ?? '', o.text.trim()]),
      );
      panels.push({
        row: i + 1,
        visualizations: vizElements.map((v) => v.name),
        visualization:
          viz?.name === 'chart' ? `chart:${options['charting.chart'] ?? '?'}` : (viz?.name ?? '(none)'),
        title: textOf(child(panel, 'title')) ?? textOf(viz && child(viz, 'title')),
        description: textOf(viz && child(viz, 'description')),
        options,
        searches: viz ? children(viz, 'search').map(readSearch) : [],
        drilldown: (viz ? children(viz, 'drilldown').flatMap((d) => children(d, 'set')) : []).map((s) => ({
          token: s.attributes['token'] ?? '',
          value: s.text.trim(),
        })),
      });
    }
  });
  return {
    root: root.name,
    attributes: root.attributes,
    label: textOf(child(root, 'label')),
    description: textOf(child(root, 'description')),
    inputs,
    panels,
    globalSearches: children(root, 'search').map(readSearch),
  };
}

/** The `$name$` tokens of a text (`$name|s$`: name and filter); `$$` is a literal dollar sign. */
export function tokensOf(text: string): Array<{ name: string; filter: string | null }> {
  const tokens: Array<{ name: string; filter: string | null }> = [];
  for (const match of text.matchAll(/\$([^$\s]*)\$/g)) {
    const [name, filter] = (match[1] as string).split('|');
    if (name) tokens.push({ name, filter: filter ?? null });
  }
  return tokens;
}

/** Token filters Simple XML has: |s quoted, |h HTML, |u URL, |n none. */
const TOKEN_FILTERS = new Set(['s', 'h', 'u', 'n']);
/** Tokens Splunk defines in a drilldown: the clicked field and value, the row's fields, the time range. */
const DRILLDOWN_TOKEN = /^(click\.(name|value|name2|value2)|row\..+|earliest|latest)$/;
/** Tokens Splunk defines everywhere: $env:user$, $env:app$, $env:page$... */
const ENVIRONMENT_TOKEN = /^env:[a-z_]+$/;

/** The options each visualization may have (a typo in an option name is silently ignored by Splunk). */
export const KNOWN_OPTIONS: Record<string, ReadonlySet<string>> = {
  chart: new Set([
    'charting.chart',
    'charting.chart.stackMode',
    'charting.chart.showPercent',
    'charting.chart.nullValueMode',
    'charting.fieldColors',
    'charting.seriesColors',
    'charting.legend.placement',
    'charting.axisTitleX.visibility',
    'charting.axisTitleX.text',
    'charting.axisTitleY.visibility',
    'charting.axisTitleY.text',
    'charting.drilldown',
    'height',
    'refresh.display',
  ]),
  table: new Set([
    'count',
    'drilldown',
    'wrap',
    'rowNumbers',
    'dataOverlayMode',
    'totalsRow',
    'refresh.display',
  ]),
  single: new Set([
    'drilldown',
    'unit',
    'unitPosition',
    'underLabel',
    'numberPrecision',
    'useColors',
    'colorBy',
    'colorMode',
    'rangeValues',
    'rangeColors',
    'showSparkline',
    'showTrendIndicator',
    'height',
    'refresh.display',
  ]),
};
const CHART_TYPES = new Set(['pie', 'column', 'bar', 'line', 'area']);

/** The structural problems of a dashboard, each a sentence; [] when it is fine. */
export function checkDashboard(dashboard: Dashboard): string[] {
  const problems: string[] = [];
  if (dashboard.root !== 'form') problems.push(`the root element is <${dashboard.root}>, not <form>`);
  if (dashboard.attributes['version'] !== '1.1') problems.push('the form is not version="1.1"');
  if (!dashboard.label) problems.push('no <label>');
  if (!dashboard.description) problems.push('no <description>');
  if (dashboard.globalSearches.length > 0) problems.push('has searches outside panels');

  // Inputs and the tokens they define.
  const defined = new Set<string>();
  const inputTokens = new Set<string>();
  for (const input of dashboard.inputs) {
    if (!input.token) {
      problems.push(`a ${input.type} input has no token`);
      continue;
    }
    if (inputTokens.has(input.token)) problems.push(`two inputs set token ${input.token}`);
    inputTokens.add(input.token);
    if (!input.label) problems.push(`input ${input.token} has no label`);
    if (input.defaultValue === null) problems.push(`input ${input.token} has no default`);
    if (input.type === 'time') {
      defined.add(`${input.token}.earliest`);
      defined.add(`${input.token}.latest`);
    } else {
      defined.add(input.token);
    }
  }
  const time = dashboard.inputs.filter((i) => i.type === 'time');
  if (time.length !== 1) problems.push(`has ${time.length} time inputs, not one`);
  if (!dashboard.inputs.some((i) => i.type === 'text' && i.token === 'index')) {
    problems.push('no text input for the index (token "index")');
  }

  const checkTokens = (where: string, text: string | null, drilldown = false): void => {
    if (text === null) return;
    if ((text.match(/\$/g) ?? []).length % 2 !== 0) problems.push(`${where}: an odd number of $`);
    for (const { name, filter } of tokensOf(text)) {
      const known =
        defined.has(name) || ENVIRONMENT_TOKEN.test(name) || (drilldown && DRILLDOWN_TOKEN.test(name));
      if (!known) problems.push(`${where}: token $${name}$ is not defined by an input`);
      if (filter !== null && !TOKEN_FILTERS.has(filter))
        problems.push(`${where}: unknown token filter |${filter}`);
    }
  };

  for (const panel of dashboard.panels) {
    const where = `panel "${panel.title ?? '(untitled)'}" (row ${panel.row})`;
    if (!panel.title) problems.push(`${where}: no title`);
    if (!panel.description) problems.push(`${where}: no description`);
    if (panel.visualizations.length !== 1) {
      problems.push(`${where}: ${panel.visualizations.length} visualizations, not one`);
    }
    const viz = panel.visualizations[0] ?? '';
    const known = KNOWN_OPTIONS[viz];
    if (!known) problems.push(`${where}: visualization <${viz}> is not one this check knows`);
    for (const [name, value] of Object.entries(panel.options)) {
      if (known && !known.has(name)) problems.push(`${where}: unknown option ${name}`);
      if (name.endsWith('fieldColors')) {
        try {
          JSON.parse(value.replace(/0x([0-9a-f]{6})/gi, '"$1"'));
        } catch {
          problems.push(`${where}: ${name} is not a {"value":0xRRGGBB} map`);
        }
      }
    }
    if (viz === 'chart' && !CHART_TYPES.has(panel.options['charting.chart'] ?? '')) {
      problems.push(`${where}: charting.chart is ${panel.options['charting.chart'] ?? 'missing'}`);
    }
    if (panel.searches.length !== 1) problems.push(`${where}: ${panel.searches.length} searches, not one`);
    for (const search of panel.searches) {
      if (search.base !== null) problems.push(`${where}: a post-process search (base="${search.base}")`);
      if (search.query === '') problems.push(`${where}: an empty query`);
      const [range] = time;
      if (
        range?.token &&
        (search.earliest !== `$${range.token}.earliest$` || search.latest !== `$${range.token}.latest$`)
      ) {
        problems.push(`${where}: the search does not follow the time input`);
      }
      checkTokens(where, search.query);
      checkTokens(where, search.earliest);
      checkTokens(where, search.latest);
    }
    if (panel.drilldown.length > 0 && panel.options['drilldown'] !== 'row' && viz === 'table') {
      problems.push(`${where}: has a drilldown but option drilldown is not "row"`);
    }
    for (const set of panel.drilldown) {
      const target = set.token.replace(/^form\./, '');
      if (!set.token.startsWith('form.') || !inputTokens.has(target)) {
        problems.push(`${where}: the drilldown sets ${set.token}, not form.<an input's token>`);
      }
      checkTokens(where, set.value, true);
    }
  }
  return problems;
}

/** Each panel as { row, title, visualization, query }: what splunkPanels() of the generator lists. */
export function panelsOf(dashboard: Dashboard): Array<{
  row: number;
  title: string | null;
  visualization: string;
  query: string;
}> {
  return dashboard.panels.map((p) => ({
    row: p.row,
    title: p.title,
    visualization: p.visualization,
    query: (p.searches[0]?.query ?? '')
      .split('\n')
      .map((line) => line.trim())
      .join('\n'),
  }));
}
