import { z } from 'zod';
import { ConfigError, env } from '@parsedmarc-ts/service-runtime';
import { kafkaSinkServiceEnv } from '@parsedmarc-ts/kafka';
import {
  refineSaveSelection,
  reportTopicsOfSave,
  saveSelectionOf,
  sinkSaveEnv,
} from '@parsedmarc-ts/sinks/service';
import { searchSinkConfigSchema, searchSinkDefaults, type SinksConfig } from '@parsedmarc-ts/sinks';

export const serviceName = 'sink-elastic';

/** The variables that may come from files (`<NAME>_FILE`) and never appear in a log line. */
export const sinkElasticSecrets = ['ELASTICSEARCH_PASSWORD', 'ELASTICSEARCH_API_KEY'] as const;

const variables = z.object({
  ...kafkaSinkServiceEnv,
  /** Comma-separated "host", "host:port" or URLs (http://, https://); port 9200 when none. */
  ELASTICSEARCH_HOSTS: env.list(),
  ELASTICSEARCH_USER: z.string().optional(),
  ELASTICSEARCH_PASSWORD: z.string().optional(),
  ELASTICSEARCH_API_KEY: z.string().optional(),
  /** PEM file of the CA that signed the server's certificate. */
  ELASTICSEARCH_CA_FILE: z.string().optional(),
  ELASTICSEARCH_SKIP_CERTIFICATE_VERIFICATION: env.boolean(searchSinkDefaults.skipCertificateVerification),
  /** Seconds one request may take before it is abandoned and retried. */
  ELASTICSEARCH_TIMEOUT_SECONDS: z.coerce.number().positive().default(searchSinkDefaults.timeoutSeconds),
  ELASTICSEARCH_INDEX_PREFIX: z.string().optional(),
  ELASTICSEARCH_INDEX_SUFFIX: z.string().optional(),
  /** Monthly indexes (dmarc_aggregate-2024-05) instead of daily ones. */
  ELASTICSEARCH_MONTHLY_INDEXES: env.boolean(searchSinkDefaults.monthlyIndexes),
  /** Forensic reports into dmarc_failure* indexes (RFC 9991's word, as the newer original) instead of dmarc_forensic*. */
  ELASTICSEARCH_FAILURE_INDEX: env.boolean(false),
  ELASTICSEARCH_NUMBER_OF_SHARDS: env.positiveInt(searchSinkDefaults.numberOfShards),
  ELASTICSEARCH_NUMBER_OF_REPLICAS: env.nonNegativeInt(searchSinkDefaults.numberOfReplicas),
  /** Documents per bulk request, and its size in bytes. */
  ELASTICSEARCH_BULK_DOCUMENTS: env.positiveInt(searchSinkDefaults.bulkDocuments),
  ELASTICSEARCH_BULK_BYTES: env.positiveInt(searchSinkDefaults.bulkBytes),
  /**
   * How long the sink itself retries a server away (or answering 429/5xx) before it gives up on a flush;
   * then the service backs off (RETRY_INITIAL_MS..RETRY_MAX_MS), is not ready, and writes the uncommitted
   * chunk again, for as long as it takes. Shorter than the CLI's 300 s so /readyz and the metrics tell.
   */
  ELASTICSEARCH_RETRY_BUDGET_SECONDS: z.coerce.number().min(0).default(30),
  /** Which report types are consumed and indexed (the original's --save-* options). */
  ...sinkSaveEnv,
});
export type SinkElasticConfig = z.infer<typeof variables>;

/** The report topics to consume: those of the saved report types. */
export const reportTopicsOf = reportTopicsOfSave;

/** Which variable each setting of the search sink comes from (for error messages). */
const variableOf: Record<string, string> = {
  hosts: 'ELASTICSEARCH_HOSTS',
  user: 'ELASTICSEARCH_USER',
  password: 'ELASTICSEARCH_PASSWORD',
  apiKey: 'ELASTICSEARCH_API_KEY',
  caFile: 'ELASTICSEARCH_CA_FILE',
  timeoutSeconds: 'ELASTICSEARCH_TIMEOUT_SECONDS',
  numberOfShards: 'ELASTICSEARCH_NUMBER_OF_SHARDS',
  numberOfReplicas: 'ELASTICSEARCH_NUMBER_OF_REPLICAS',
  bulkDocuments: 'ELASTICSEARCH_BULK_DOCUMENTS',
  bulkBytes: 'ELASTICSEARCH_BULK_BYTES',
  retryBudgetSeconds: 'ELASTICSEARCH_RETRY_BUDGET_SECONDS',
  connectRetrySeconds: 'ELASTICSEARCH_RETRY_BUDGET_SECONDS',
};

/** A message may quote a host as given: never with the credentials someone put in it. */
function withoutUserInfo(text: string, hosts: readonly string[]): string {
  let out = text;
  for (const host of hosts) if (host.includes('@')) out = out.split(host).join('[a host with credentials]');
  return out.replace(/\/\/[^/]*@/g, '//[redacted]@');
}

function searchSettingsOf(config: SinkElasticConfig) {
  return searchSinkConfigSchema.safeParse({
    ...searchSinkDefaults,
    hosts: config.ELASTICSEARCH_HOSTS,
    user: config.ELASTICSEARCH_USER ?? null,
    password: config.ELASTICSEARCH_PASSWORD ?? null,
    apiKey: config.ELASTICSEARCH_API_KEY ?? null,
    caFile: config.ELASTICSEARCH_CA_FILE ?? null,
    skipCertificateVerification: config.ELASTICSEARCH_SKIP_CERTIFICATE_VERIFICATION,
    timeoutSeconds: config.ELASTICSEARCH_TIMEOUT_SECONDS,
    indexPrefix: config.ELASTICSEARCH_INDEX_PREFIX ?? null,
    indexSuffix: config.ELASTICSEARCH_INDEX_SUFFIX ?? null,
    monthlyIndexes: config.ELASTICSEARCH_MONTHLY_INDEXES,
    forensicIndexBase: config.ELASTICSEARCH_FAILURE_INDEX ? 'dmarc_failure' : 'dmarc_forensic',
    numberOfShards: config.ELASTICSEARCH_NUMBER_OF_SHARDS,
    numberOfReplicas: config.ELASTICSEARCH_NUMBER_OF_REPLICAS,
    save: saveSelectionOf(config),
    bulkDocuments: config.ELASTICSEARCH_BULK_DOCUMENTS,
    bulkBytes: config.ELASTICSEARCH_BULK_BYTES,
    retryBudgetSeconds: config.ELASTICSEARCH_RETRY_BUDGET_SECONDS,
    // The first connection too: past it, the service's own start-up loop keeps retrying (not ready).
    connectRetrySeconds: config.ELASTICSEARCH_RETRY_BUDGET_SECONDS,
  });
}

/**
 * Every variable sink-elastic reads (see docs/pipeline.md), checked at start against the search sink's
 * own schema too, so a bad setting stops the start with a message naming its variable.
 */
export const sinkElasticEnv = variables.superRefine((config, ctx) => {
  refineSaveSelection(config, ctx);
  const settings = searchSettingsOf(config);
  if (settings.success) return;
  for (const issue of settings.error.issues) {
    const key = issue.path[0];
    // The sink's schema quotes hosts only; credentials in a host are cut out.
    ctx.addIssue({
      code: 'custom',
      path: [
        key === undefined
          ? 'ELASTICSEARCH_USER'
          : (variableOf[String(key)] ?? `ELASTICSEARCH_${String(key)}`),
      ],
      message: withoutUserInfo(issue.message, config.ELASTICSEARCH_HOSTS),
    });
  }
});

/** The service's variables as the one sinks configuration: only `elasticsearch` set. */
export function sinksConfigOf(config: SinkElasticConfig): SinksConfig {
  const settings = searchSettingsOf(config);
  if (!settings.success) {
    throw new ConfigError(
      `invalid Elasticsearch settings: ${withoutUserInfo(settings.error.message, config.ELASTICSEARCH_HOSTS)}`,
    );
  }
  return {
    stdout: null,
    outputDir: null,
    kafka: null,
    elasticsearch: settings.data,
    opensearch: null,
    hec: null,
    webhook: null,
    syslog: null,
    email: null,
  };
}
