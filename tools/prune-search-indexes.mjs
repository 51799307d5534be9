// Deletes the indexes earlier test runs left on a search test server that kept running (tools/test.sh reuses
// a server it finds up). Every test writes into indexes of its own unique prefix and none cleans up, so on a
// machine that runs the suite again and again the single node reaches its 1,000 open shards and refuses to
// create more ("this action would add [1] shards"). Only indexes older than the age given are deleted, so a
// suite running beside this one keeps its own; system indexes (".…") are never touched.
//   node tools/prune-search-indexes.mjs URL [MINUTES=30]
const [url, minutes = '30'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node tools/prune-search-indexes.mjs URL [MINUTES]');
  process.exit(2);
}
const cutoff = Date.now() - Number(minutes) * 60_000;
const response = await fetch(
  `${url}/_cat/indices?format=json&h=index,creation.date&expand_wildcards=open,closed`,
);
if (!response.ok) throw new Error(`${url}: listing indexes answered HTTP ${response.status}`);
const old = (await response.json())
  .filter((i) => !i.index.startsWith('.') && Number(i['creation.date']) < cutoff)
  .map((i) => i.index);
// Named explicitly, in batches (wildcard deletes are refused by default, and a URL has a length limit).
for (let at = 0; at < old.length; at += 50) {
  const names = old
    .slice(at, at + 50)
    .map(encodeURIComponent)
    .join(',');
  const deleted = await fetch(`${url}/${names}?ignore_unavailable=true`, { method: 'DELETE' });
  if (!deleted.ok)
    throw new Error(`${url}: deleting indexes answered HTTP ${deleted.status}: ${await deleted.text()}`);
}
console.log(`${url}: ${old.length} index${old.length === 1 ? '' : 'es'} of earlier runs deleted`);
