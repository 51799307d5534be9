// Parts that need a running server (tools/servers.sh start <name>). Each later issue replaces its
// placeholder here with the real case; until then the row says why it is skipped.
const PLACEHOLDERS = [
  [
    'enrichment/dns',
    'dns',
    'enrichment against the local resolver (dnsmasq), records/s',
    'the enrichment case is not written yet (added by the enrichment issue)',
  ],
  [
    'kafka/pipeline',
    'kafka',
    'Kafka pipeline end to end: records/s and consumer lag',
    'the Kafka pipeline case is not written yet (added by the pipeline issue)',
  ],
];

export default function serverCases(ctx) {
  return PLACEHOLDERS.map(([id, server, title, missing]) => ({
    id,
    group: 'Parts against local servers',
    title,
    kind: 'cli',
    needs: async () =>
      ctx.serverUp(server)
        ? missing
        : `${server} server not running (tools/servers.sh start ${server}); ${missing}`,
    prepare: async () => {
      throw new Error('placeholder');
    },
  }));
}
