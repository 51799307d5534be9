// Small helpers for the benchmark's search cases against the local Elasticsearch / OpenSearch test servers
// (plain HTTP, no security): refresh and count by index prefix, and cleanup of what a run created, by exact
// name only (Elasticsearch refuses wildcard deletes by default: action.destructive_requires_name).
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

/** A lowercase index prefix (index names must be lowercase) that no other run uses: `<label>-<time>-<hex>_`. */
export const uniqueIndexPrefix = (label) =>
  `${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}_`;

async function call(url, method, path, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: kept as text in the error
  }
  return { status: res.status, json, text };
}

async function ok(url, method, path, body) {
  const r = await call(url, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${r.text.slice(0, 500)}`);
  return r.json;
}

/** The server's product and version: GET /, or the node info where a build has no root handler (405). */
export async function serverInfo(url) {
  const root = await call(url, 'GET', '/');
  if (root.status < 300 && root.json?.version)
    return {
      distribution: root.json.version.distribution ?? 'elasticsearch',
      version: root.json.version.number,
    };
  const nodes = await ok(url, 'GET', '/_nodes/_local?filter_path=nodes.*.version');
  return {
    distribution: 'elasticsearch',
    version: Object.values(nodes?.nodes ?? {})[0]?.version ?? 'unknown',
  };
}

/** The indexes whose names start with `prefix`. */
export async function indexesOf(url, prefix) {
  const list = await ok(url, 'GET', `/_cat/indices/${encodeURIComponent(prefix)}*?format=json&h=index`);
  return list.map((i) => i.index);
}

/** Documents in the indexes starting with `prefix`; with `refresh`, after a refresh (everything written). */
export async function countOf(url, prefix, { refresh = false } = {}) {
  const pattern = `${encodeURIComponent(prefix)}*`;
  if (refresh) await ok(url, 'POST', `/${pattern}/_refresh?allow_no_indices=true`);
  const r = await call(url, 'GET', `/${pattern}/_count?allow_no_indices=true`);
  if (r.status >= 300) return 0; // an index being created at this very moment
  return r.json?.count ?? 0;
}

/**
 * Deletes the indexes starting with `prefix`, each by name, and the index templates whose names contain it
 * (ours: parsedmarc-ts-<prefix>dmarc_aggregate…; the original's create no templates). Returns what went.
 */
export async function dropPrefix(url, prefix) {
  const gone = { indexes: [], templates: [] };
  for (const index of await indexesOf(url, prefix)) {
    await ok(url, 'DELETE', `/${encodeURIComponent(index)}`);
    gone.indexes.push(index);
  }
  const t = await call(url, 'GET', '/_index_template');
  for (const { name } of t.json?.index_templates ?? []) {
    if (!name.includes(prefix)) continue;
    await ok(url, 'DELETE', `/_index_template/${encodeURIComponent(name)}`);
    gone.templates.push(name);
  }
  return gone;
}

const MAIN_CLASS = {
  elasticsearch: 'org.elasticsearch.bootstrap.Elasticsearch',
  opensearch: 'org.opensearch.bootstrap.OpenSearch',
};

/**
 * CPU seconds (user + system) the local test server's JVM has used so far, read from /proc (null when it
 * cannot be found): the difference over a run is what the server spent on it, the other side of 2 cores.
 */
export function serverCpuSeconds(name) {
  const needle = MAIN_CLASS[name];
  if (!needle) return null;
  let pids;
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  // The largest of the matches: a child the JVM forks (a helper being spawned) briefly has the same
  // command line with next to no CPU time, and pids wrap, so it can come first in /proc.
  let best = null;
  for (const pid of pids) {
    let cmdline;
    let stat;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes(needle)) continue;
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone
    }
    // Fields after the command name (in parentheses, may hold spaces): utime is the 14th field of the
    // line, stime the 15th, in clock ticks (100 per second on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
    if (Number.isFinite(seconds) && (best === null || seconds > best)) best = seconds;
  }
  return best;
}
