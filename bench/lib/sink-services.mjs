// The sink service cases (search/sink-elastic, hec/sink-hec): test/search/measure-sink.mjs in a child
// process against the local Kafka and registry, its JSON lines parsed.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The variables `tools/<server>/ctl.sh env` prints. */
export function serverEnv(repo, server) {
  const text = execFileSync('bash', [join(repo, 'tools', server, 'ctl.sh'), 'env'], { encoding: 'utf8' });
  const env = {};
  for (const [, k, v] of text.matchAll(/([A-Z][A-Z0-9_]+)=([^\s'"]+)/g)) env[k] = v;
  return env;
}

/** Why the sink service cases cannot run, or null. */
export const kafkaNeeds = (ctx) =>
  ctx.serverUp('kafka') && ctx.serverUp('schema-registry')
    ? null
    : 'kafka or schema-registry not running (tools/servers.sh start kafka schema-registry)';

/**
 * Publishes `file` (of `records` records) and measures the sink service of each `name=URL` target:
 * { publish, results: { [name]: line }, status, stderr }.
 */
export function measureSinkServices(ctx, file, records, targets) {
  const env = {
    ...process.env,
    ...serverEnv(ctx.repo, 'kafka'),
    ...serverEnv(ctx.repo, 'schema-registry'),
    NODE_ENV: 'production',
  };
  const r = spawnSync(
    process.execPath,
    [join(ctx.repo, 'test', 'search', 'measure-sink.mjs'), file, String(records), ...targets],
    { cwd: ctx.repo, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60_000 },
  );
  const lines = (r.stdout ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  return {
    publish: lines.find((l) => l.publish) ?? null,
    results: Object.fromEntries(lines.filter((l) => l.target).map((l) => [l.target, l])),
    status: r.status,
    stderr: r.stderr ?? '',
  };
}
