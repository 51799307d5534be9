/** The real Elasticsearch and OpenSearch test servers (tools/<name>/ctl.sh), and a few REST calls on them. */
import { testServer } from '../servers.js';

export type SearchServerName = 'elasticsearch' | 'opensearch';

const urlVariable: Record<SearchServerName, string> = {
  elasticsearch: 'ELASTICSEARCH_URL',
  opensearch: 'OPENSEARCH_URL',
};

/** The server's URL, starting it with the repo's script when the runner has not. */
export const searchServer = (name: SearchServerName): string => testServer(name, urlVariable[name]);

export async function rest(url: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}

/** Documents and ids of an index pattern (after a refresh), at most 10,000 ids. */
export async function documentsOf(
  url: string,
  pattern: string,
): Promise<{ count: number; ids: string[]; sources: Record<string, unknown>[] }> {
  await rest(url, 'POST', `/${pattern}/_refresh?allow_no_indices=true`);
  const { count } = (await rest(url, 'GET', `/${pattern}/_count?allow_no_indices=true`)) as { count: number };
  const hits = (await rest(url, 'POST', `/${pattern}/_search?allow_no_indices=true`, {
    size: 10_000,
    query: { match_all: {} },
  })) as { hits: { hits: { _id: string; _source: Record<string, unknown> }[] } };
  return {
    count,
    ids: hits.hits.hits.map((h) => h._id),
    sources: hits.hits.hits.map((h) => h._source),
  };
}
