import { z } from 'zod';
import { ConfigError, env } from '@parsedmarc-ts/service-runtime';
import { kafkaSinkServiceEnv } from '@parsedmarc-ts/kafka';
import {
  refineSaveSelection,
  reportTopicsOfSave,
  saveSelectionOf,
  sinkSaveEnv,
} from '@parsedmarc-ts/sinks/service';
import { hecSinkConfigSchema, hecSinkDefaults, type SinksConfig } from '@parsedmarc-ts/sinks';

export const serviceName = 'sink-hec';

/** The variables that may come from files (`<NAME>_FILE`) and never appear in a log line. */
export const sinkHecSecrets = ['HEC_TOKEN'] as const;

const variables = z.object({
  ...kafkaSinkServiceEnv,
  /** The collector: https://splunk.example:8088 (only scheme, host and port count; https when none). */
  HEC_URL: z.string().min(1, { message: 'not set' }),
  /** The HEC token (or HEC_TOKEN_FILE naming a mounted secret). */
  HEC_TOKEN: z.string().min(1, { message: 'not set' }),
  /** The Splunk index; unset: the token's default index. */
  HEC_INDEX: z.string().min(1).optional(),
  /** The events' host field; unset: the pod's (machine's) name. */
  HEC_HOST: z.string().min(1).optional(),
  HEC_SOURCE: z.string().min(1).default(hecSinkDefaults.source),
  /** Forensic reports as sourcetype dmarc:failure (RFC 9991's word, as the newer original may) instead of dmarc:forensic. */
  HEC_FAILURE_SOURCETYPE: env.boolean(false),
  /** PEM file of the CA that signed the collector's certificate. */
  HEC_CA_FILE: z.string().min(1).optional(),
  HEC_SKIP_CERTIFICATE_VERIFICATION: env.boolean(hecSinkDefaults.skipCertificateVerification),
  /** Seconds one request may take before it is abandoned and retried. */
  HEC_TIMEOUT_SECONDS: z.coerce.number().positive().default(hecSinkDefaults.timeoutSeconds),
  /** Events per request, and its size in bytes before compression. */
  HEC_BATCH_EVENTS: env.positiveInt(hecSinkDefaults.batchEvents),
  HEC_BATCH_BYTES: env.positiveInt(hecSinkDefaults.batchBytes),
  HEC_GZIP: env.boolean(hecSinkDefaults.gzip),
  /**
   * How long the sink itself retries a collector away or busy (429/503/5xx) before it gives up on a flush;
   * then the service backs off (RETRY_INITIAL_MS..RETRY_MAX_MS), is not ready, and sends the uncommitted
   * chunk again, for as long as it takes. Shorter than the CLI's 300 s so /readyz and the metrics tell.
   */
  HEC_RETRY_BUDGET_SECONDS: z.coerce.number().min(0).default(30),
  /** With indexer acknowledgement: seconds a request may wait unacknowledged before it is sent again. */
  HEC_ACK_TIMEOUT_SECONDS: z.coerce.number().positive().default(hecSinkDefaults.ackTimeoutSeconds),
  /** With indexer acknowledgement: bytes that may wait for acknowledgement at once. */
  HEC_MAX_UNACKED_BYTES: env.positiveInt(hecSinkDefaults.maxUnackedBytes),
  /** Which report types are consumed and sent (the original's --save-* options). */
  ...sinkSaveEnv,
});
export type SinkHecConfig = z.infer<typeof variables>;

/** The report topics to consume: those of the saved report types. */
export const reportTopicsOf = reportTopicsOfSave;

/** Which variable each setting of the HEC sink comes from (for error messages). */
const variableOf: Record<string, string> = {
  url: 'HEC_URL',
  token: 'HEC_TOKEN',
  index: 'HEC_INDEX',
  host: 'HEC_HOST',
  source: 'HEC_SOURCE',
  caFile: 'HEC_CA_FILE',
  timeoutSeconds: 'HEC_TIMEOUT_SECONDS',
  batchEvents: 'HEC_BATCH_EVENTS',
  batchBytes: 'HEC_BATCH_BYTES',
  retryBudgetSeconds: 'HEC_RETRY_BUDGET_SECONDS',
  connectRetrySeconds: 'HEC_RETRY_BUDGET_SECONDS',
  ackTimeoutSeconds: 'HEC_ACK_TIMEOUT_SECONDS',
  maxUnackedBytes: 'HEC_MAX_UNACKED_BYTES',
};

/** A message may quote the URL as given: never with credentials someone put in it. */
const withoutUserInfo = (text: string): string => text.replace(/\/\/[^/\s]*@/g, '//[redacted]@');

function hecSettingsOf(config: SinkHecConfig) {
  return hecSinkConfigSchema.safeParse({
    ...hecSinkDefaults,
    url: config.HEC_URL,
    token: config.HEC_TOKEN,
    index: config.HEC_INDEX ?? null,
    host: config.HEC_HOST ?? null,
    source: config.HEC_SOURCE,
    forensicSourcetype: config.HEC_FAILURE_SOURCETYPE ? 'dmarc:failure' : 'dmarc:forensic',
    caFile: config.HEC_CA_FILE ?? null,
    skipCertificateVerification: config.HEC_SKIP_CERTIFICATE_VERIFICATION,
    timeoutSeconds: config.HEC_TIMEOUT_SECONDS,
    save: saveSelectionOf(config),
    batchEvents: config.HEC_BATCH_EVENTS,
    batchBytes: config.HEC_BATCH_BYTES,
    gzip: config.HEC_GZIP,
    retryBudgetSeconds: config.HEC_RETRY_BUDGET_SECONDS,
    // The first connection too: past it, the service's own start-up loop keeps retrying (not ready).
    connectRetrySeconds: config.HEC_RETRY_BUDGET_SECONDS,
    ackTimeoutSeconds: config.HEC_ACK_TIMEOUT_SECONDS,
    maxUnackedBytes: config.HEC_MAX_UNACKED_BYTES,
  });
}

/**
 * Every variable sink-hec reads (see docs/pipeline.md), checked at start against the HEC sink's own schema
 * too, so a bad setting stops the start with a message naming its variable (never the token's value).
 */
export const sinkHecEnv = variables.superRefine((config, ctx) => {
  refineSaveSelection(config, ctx);
  const settings = hecSettingsOf(config);
  if (settings.success) return;
  for (const issue of settings.error.issues) {
    const key = String(issue.path[0] ?? 'url');
    ctx.addIssue({
      code: 'custom',
      path: [variableOf[key] ?? `HEC_${key.toUpperCase()}`],
      message: withoutUserInfo(issue.message),
    });
  }
});

/** The service's variables as the one sinks configuration: only `hec` set. */
export function sinksConfigOf(config: SinkHecConfig): SinksConfig {
  const settings = hecSettingsOf(config);
  if (!settings.success) {
    throw new ConfigError(`invalid HEC settings: ${withoutUserInfo(settings.error.message)}`);
  }
  return {
    stdout: null,
    outputDir: null,
    kafka: null,
    elasticsearch: null,
    opensearch: null,
    hec: settings.data,
    webhook: null,
    syslog: null,
    email: null,
  };
}
