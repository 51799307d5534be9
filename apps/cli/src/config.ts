/**
 * One validated configuration for the CLI, from flags and environment variables (flags win). A bad value
 * fails at start with a message naming the flag or variable. Secrets may come from files or the
 * environment so that they stay out of process lists; they are never logged.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  emailSinkDefaults,
  hecSinkDefaults,
  kafkaSinkConfigSchema,
  saveSchema,
  searchSinkDefaults,
  sinksConfigSchema,
} from '@parsedmarc-ts/sinks';
import type { RawCliOptions } from './args.js';

export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const hostPort = z
  .string()
  .regex(
    /^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+|[A-Za-z0-9.-]+)(:\d{1,5})?$/,
    'expected an IP address or IP:port',
  );

const positiveNumber = (name: string) =>
  z.coerce.number({ error: `${name} must be a number` }).positive(`${name} must be positive`);
const port = (name: string) =>
  z.coerce.number().int().min(1, `${name} must be a port number`).max(65535, `${name} must be a port number`);

export const cliConfigSchema = z.object({
  filePaths: z.array(z.string().min(1)),
  silent: z.boolean(),
  debug: z.boolean(),
  progress: z.boolean(),
  dns: z.object({
    offline: z.boolean(),
    nameservers: z.array(hostPort).min(1),
    timeoutSeconds: positiveNumber('--timeout'),
    retries: z.coerce.number().int().min(0).max(10),
  }),
  ipDbPath: z.string().nullable(),
  senderMapCsv: z.string().nullable(),
  imap: z
    .object({
      host: z.string().min(1),
      user: z.string().min(1),
      password: z.string(),
      port: port('--imap-port').nullable(),
      ssl: z.boolean(),
      reportsFolder: z.string().min(1),
      archiveFolder: z.string().min(1),
      delete: z.boolean(),
      test: z.boolean(),
      watch: z.boolean(),
    })
    .nullable(),
  sinks: sinksConfigSchema,
  /** --publish-raw-mail: the input files onto raw-mail instead of parsing them here. */
  rawMail: z
    .object({
      hosts: z.array(z.string().min(1)).min(1),
      registryUrl: kafkaSinkConfigSchema.shape.registryUrl,
      topic: z.string().min(1),
    })
    .nullable(),
  save: saveSchema,
});

export type CliConfig = z.infer<typeof cliConfigSchema>;

export const CLOUDFLARE_NAMESERVERS = ['1.1.1.1', '1.0.0.1'];

type Env = Record<string, string | undefined>;

const list = (value: string | undefined): string[] | undefined =>
  value === undefined ? undefined : value.split(/[\s,]+/).filter((v) => v.length > 0);
const flag = (value: string | undefined): boolean | undefined =>
  value === undefined ? undefined : /^(1|true|yes|on)$/i.test(value.trim());
const listOption = (value: string[] | boolean | undefined): string[] | undefined =>
  Array.isArray(value) ? value : value === true ? [] : undefined;

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError(`${what}: cannot read ${path}: ${(error as Error).message}`);
  }
}

const number = (value: string | undefined): number | string | undefined =>
  value === undefined || value.trim() === '' || Number.isNaN(Number(value)) ? value : Number(value);

/** Connecting at start is retried for its default at most, never longer than the retry budget asked for. */
const connectRetryOf = (retryBudget: number | string, connectDefault: number): number | string =>
  typeof retryBudget === 'number' ? Math.min(connectDefault, retryBudget) : connectDefault;

/**
 * An Elasticsearch/OpenSearch sink from the -E flags and the PARSEDMARC_ELASTICSEARCH_* variables (the
 * original's [elasticsearch] keys). Secrets also from files (..._PASSWORD_FILE, ..._API_KEY_FILE).
 */
function searchSinkCandidate(
  hosts: string[],
  options: RawCliOptions,
  env: Env,
  save: { aggregate: boolean; forensic: boolean; smtpTls: boolean },
): Record<string, unknown> {
  const e = (key: string): string | undefined => env[`PARSEDMARC_ELASTICSEARCH_${key}`];
  const secret = (flag: string | undefined, flagFile: string | undefined, key: string, what: string) =>
    flag ??
    ((flagFile ?? e(`${key}_FILE`)) ? readSecretFile((flagFile ?? e(`${key}_FILE`))!, what) : undefined) ??
    e(key) ??
    null;
  const retryBudgetSeconds =
    number(options.elasticsearchRetrySeconds ?? e('RETRY_SECONDS')) ?? searchSinkDefaults.retryBudgetSeconds;
  return {
    ...searchSinkDefaults,
    hosts,
    user: options.elasticsearchUser ?? e('USER') ?? null,
    password: secret(
      options.elasticsearchPassword,
      options.elasticsearchPasswordFile,
      'PASSWORD',
      '--elasticsearch-password-file',
    ),
    apiKey: secret(
      options.elasticsearchApiKey,
      options.elasticsearchApiKeyFile,
      'API_KEY',
      '--elasticsearch-api-key-file',
    ),
    caFile: options.elasticsearchCaFile ?? e('CERT_PATH') ?? null,
    skipCertificateVerification:
      options.elasticsearchSkipCertificateVerification ?? flag(e('SKIP_CERTIFICATE_VERIFICATION')) ?? false,
    timeoutSeconds: number(options.elasticsearchTimeout ?? e('TIMEOUT')) ?? searchSinkDefaults.timeoutSeconds,
    indexPrefix: options.elasticsearchIndexPrefix ?? e('INDEX_PREFIX') ?? null,
    indexSuffix: options.elasticsearchIndexSuffix ?? e('INDEX_SUFFIX') ?? null,
    monthlyIndexes: options.elasticsearchMonthlyIndexes ?? flag(e('MONTHLY_INDEXES')) ?? false,
    forensicIndexBase:
      options.elasticsearchFailureIndex || flag(e('FAILURE_INDEX')) ? 'dmarc_failure' : 'dmarc_forensic',
    numberOfShards:
      number(options.elasticsearchNumberOfShards ?? e('NUMBER_OF_SHARDS')) ??
      searchSinkDefaults.numberOfShards,
    numberOfReplicas:
      number(options.elasticsearchNumberOfReplicas ?? e('NUMBER_OF_REPLICAS')) ??
      searchSinkDefaults.numberOfReplicas,
    retryBudgetSeconds,
    connectRetrySeconds: connectRetryOf(retryBudgetSeconds, searchSinkDefaults.connectRetrySeconds),
    save,
  };
}

/**
 * A Splunk HEC sink from the --hec flags and the PARSEDMARC_SPLUNK_HEC_* variables (the original's
 * [splunk_hec] keys; PARSEDMARC_HEC_URL and PARSEDMARC_HEC_TOKEN stay as aliases). The token also from a
 * file (--hec-token-file, PARSEDMARC_SPLUNK_HEC_TOKEN_FILE).
 */
function hecSinkCandidate(
  url: string,
  options: RawCliOptions,
  env: Env,
  save: { aggregate: boolean; forensic: boolean; smtpTls: boolean },
): Record<string, unknown> {
  const e = (key: string): string | undefined => env[`PARSEDMARC_SPLUNK_HEC_${key}`];
  const tokenFile = options.hecTokenFile ?? e('TOKEN_FILE');
  const token =
    options.hecToken ??
    (tokenFile ? readSecretFile(tokenFile, '--hec-token-file') : undefined) ??
    e('TOKEN') ??
    env.PARSEDMARC_HEC_TOKEN;
  if (token === undefined) {
    throw new ConfigError(
      '--hec needs a token: --hec-token, --hec-token-file or PARSEDMARC_SPLUNK_HEC_TOKEN',
    );
  }
  const retryBudgetSeconds =
    number(options.hecRetrySeconds ?? e('RETRY_SECONDS')) ?? hecSinkDefaults.retryBudgetSeconds;
  return {
    ...hecSinkDefaults,
    url,
    token,
    index: options.hecIndex ?? e('INDEX') ?? null,
    skipCertificateVerification:
      options.hecSkipCertificateVerification ?? flag(e('SKIP_CERTIFICATE_VERIFICATION')) ?? false,
    caFile: options.hecCaFile ?? e('CERT_PATH') ?? null,
    timeoutSeconds: number(options.hecTimeout ?? e('TIMEOUT')) ?? hecSinkDefaults.timeoutSeconds,
    forensicSourcetype:
      options.hecFailureSourcetype || flag(e('FAILURE_SOURCETYPE')) ? 'dmarc:failure' : 'dmarc:forensic',
    retryBudgetSeconds,
    // Connecting is retried for 10 s at most, never longer than the retry budget the user asked for.
    connectRetrySeconds: connectRetryOf(retryBudgetSeconds, hecSinkDefaults.connectRetrySeconds),
    ackTimeoutSeconds: number(options.hecAckTimeout ?? e('ACK_TIMEOUT')) ?? hecSinkDefaults.ackTimeoutSeconds,
    save,
  };
}

/**
 * Emailing the results from the -O flags and the PARSEDMARC_SMTP_* variables (the original's [smtp] keys;
 * PARSEDMARC_OUTGOING_HOST/PASSWORD stay as aliases). The password also from a file.
 */
function emailSinkCandidate(host: string, options: RawCliOptions, env: Env) {
  const e = (key: string): string | undefined => env[`PARSEDMARC_SMTP_${key}`];
  const passwordFile = options.outgoingPasswordFile ?? e('PASSWORD_FILE');
  const retry = number(options.outgoingRetrySeconds ?? e('RETRY_SECONDS'));
  return {
    ...emailSinkDefaults,
    host,
    port: number(options.outgoingPort ?? e('PORT')) ?? null,
    ssl: flag(options.outgoingSsl ?? e('SSL')) ?? false,
    user: options.outgoingUser ?? e('USER') ?? null,
    password:
      options.outgoingPassword ??
      (passwordFile ? readSecretFile(passwordFile, '--outgoing-password-file') : undefined) ??
      e('PASSWORD') ??
      env.PARSEDMARC_OUTGOING_PASSWORD ??
      null,
    skipCertificateVerification:
      options.outgoingSkipCertificateVerification ?? flag(e('SKIP_CERTIFICATE_VERIFICATION')) ?? false,
    caFile: options.outgoingCaFile ?? e('CA_FILE') ?? null,
    from: options.outgoingFrom ?? e('FROM') ?? '',
    to: options.outgoingTo ?? list(e('TO')) ?? [],
    subject: options.outgoingSubject ?? e('SUBJECT') ?? null,
    attachment: options.outgoingAttachment ?? e('ATTACHMENT') ?? null,
    message: options.outgoingMessage ?? e('MESSAGE') ?? null,
    digest: options.outgoingDigest ?? flag(e('DIGEST')) ?? true,
    ...(retry === undefined ? {} : { retryBudgetSeconds: retry }),
  };
}

/** The flag (and variable) behind a setting, for messages. */
const settingNames: Record<string, string> = {
  'sinks.elasticsearch': '-E (Elasticsearch)',
  'sinks.elasticsearch.hosts': '-E/--elasticsearch-host (PARSEDMARC_ELASTICSEARCH_HOSTS)',
  'sinks.elasticsearch.timeoutSeconds': '--elasticsearch-timeout (PARSEDMARC_ELASTICSEARCH_TIMEOUT)',
  'sinks.elasticsearch.numberOfShards':
    '--elasticsearch-number-of-shards (PARSEDMARC_ELASTICSEARCH_NUMBER_OF_SHARDS)',
  'sinks.elasticsearch.numberOfReplicas':
    '--elasticsearch-number-of-replicas (PARSEDMARC_ELASTICSEARCH_NUMBER_OF_REPLICAS)',
  'sinks.elasticsearch.retryBudgetSeconds':
    '--elasticsearch-retry-seconds (PARSEDMARC_ELASTICSEARCH_RETRY_SECONDS)',
  'sinks.hec.url': '--hec (PARSEDMARC_SPLUNK_HEC_URL)',
  'sinks.hec.token': '--hec-token (PARSEDMARC_SPLUNK_HEC_TOKEN)',
  'sinks.hec.timeoutSeconds': '--hec-timeout (PARSEDMARC_SPLUNK_HEC_TIMEOUT)',
  'sinks.hec.retryBudgetSeconds': '--hec-retry-seconds (PARSEDMARC_SPLUNK_HEC_RETRY_SECONDS)',
  'sinks.hec.ackTimeoutSeconds': '--hec-ack-timeout (PARSEDMARC_SPLUNK_HEC_ACK_TIMEOUT)',
  'sinks.email.host': '-O/--outgoing-host (PARSEDMARC_SMTP_HOST)',
  'sinks.email.port': '--outgoing-port (PARSEDMARC_SMTP_PORT)',
  'sinks.email.from': '-F/--outgoing-from (PARSEDMARC_SMTP_FROM)',
  'sinks.email.to': '-T/--outgoing-to (PARSEDMARC_SMTP_TO)',
  'sinks.email.retryBudgetSeconds': '--outgoing-retry-seconds (PARSEDMARC_SMTP_RETRY_SECONDS)',
  'sinks.kafka.registryUrl': '--schema-registry',
  'rawMail.registryUrl': '--schema-registry',
};

/** Builds and validates the configuration. Throws ConfigError naming the offending flag or variable. */
export function resolveCliConfig(
  options: RawCliOptions,
  filePaths: string[],
  env: Env = process.env,
): CliConfig {
  const imapHost = options.host ?? env.PARSEDMARC_IMAP_HOST;
  const passwordFile = options.passwordFile ?? env.PARSEDMARC_IMAP_PASSWORD_FILE;
  const imapPassword =
    options.password ??
    (passwordFile ? readSecretFile(passwordFile, '--password-file') : undefined) ??
    env.PARSEDMARC_IMAP_PASSWORD;
  const save = {
    aggregate: options.saveAggregate ?? false,
    forensic: options.saveForensic ?? options.saveFailure ?? false,
    smtpTls: options.saveSmtpTls ?? false,
  };
  const hecUrl = options.hec ?? env.PARSEDMARC_SPLUNK_HEC_URL ?? env.PARSEDMARC_HEC_URL;
  let esHosts = listOption(options.elasticsearchHost) ?? list(env.PARSEDMARC_ELASTICSEARCH_HOSTS);
  // As the original says: --save-* without -E or --hec means the local Elasticsearch.
  if (!esHosts && !hecUrl && (save.aggregate || save.forensic || save.smtpTls)) esHosts = [];
  if (esHosts?.length === 0) esHosts = ['localhost:9200'];
  const kafkaHosts = listOption(options.kafkaHosts) ?? list(env.PARSEDMARC_KAFKA_HOSTS);
  const outgoingHost = options.outgoingHost ?? env.PARSEDMARC_SMTP_HOST ?? env.PARSEDMARC_OUTGOING_HOST;

  const candidate = {
    filePaths,
    silent: options.silent ?? false,
    debug: options.debug ?? false,
    progress: options.progress ?? true,
    dns: {
      offline: options.offline ?? flag(env.PARSEDMARC_OFFLINE) ?? false,
      nameservers: options.nameservers ?? list(env.PARSEDMARC_NAMESERVERS) ?? CLOUDFLARE_NAMESERVERS,
      timeoutSeconds: options.timeout ?? env.PARSEDMARC_DNS_TIMEOUT ?? 2.0,
      retries: options.dnsRetries ?? env.PARSEDMARC_DNS_RETRIES ?? 1,
    },
    ipDbPath: options.ipDb ?? env.PARSEDMARC_IP_DB_PATH ?? null,
    senderMapCsv: options.senderMap ?? env.PARSEDMARC_SENDER_MAP ?? null,
    imap: imapHost
      ? {
          host: imapHost,
          user: options.user ?? env.PARSEDMARC_IMAP_USER ?? '',
          password: imapPassword ?? '',
          port: options.imapPort ?? env.PARSEDMARC_IMAP_PORT ?? null,
          ssl: !(options.imapNoSsl ?? flag(env.PARSEDMARC_IMAP_NO_SSL) ?? false),
          reportsFolder: options.reportsFolder ?? env.PARSEDMARC_IMAP_REPORTS_FOLDER ?? 'INBOX',
          archiveFolder: options.archiveFolder ?? env.PARSEDMARC_IMAP_ARCHIVE_FOLDER ?? 'Archive',
          delete: options.delete ?? false,
          test: options.test ?? false,
          watch: options.watch ?? false,
        }
      : null,
    sinks: {
      stdout: !(options.silent ?? false),
      outputDir: options.output ?? env.PARSEDMARC_OUTPUT ?? null,
      kafka:
        kafkaHosts && !options.publishRawMail
          ? {
              hosts: kafkaHosts,
              aggregateTopic: options.kafkaAggregateTopic ?? 'dmarc_aggregate',
              forensicTopic:
                options.kafkaForensic_topic ??
                options.kafkaForensicTopic ??
                options.kafkaFailureTopic ??
                'dmarc_forensic',
              smtpTlsTopic: options.kafkaSmtpTlsTopic ?? 'dmarc_smtp_tls',
              registryUrl: options.schemaRegistry ?? env.PARSEDMARC_SCHEMA_REGISTRY_URL ?? '',
            }
          : null,
      elasticsearch: esHosts ? searchSinkCandidate(esHosts, options, env, save) : null,
      opensearch: null,
      hec: hecUrl ? hecSinkCandidate(hecUrl, options, env, save) : null,
      email: outgoingHost ? emailSinkCandidate(outgoingHost, options, env) : null,
    },
    rawMail:
      kafkaHosts && options.publishRawMail
        ? {
            hosts: kafkaHosts,
            registryUrl: options.schemaRegistry ?? env.PARSEDMARC_SCHEMA_REGISTRY_URL ?? '',
            topic: options.kafkaRawMailTopic ?? 'raw-mail',
          }
        : null,
    save,
  };

  const result = cliConfigSchema.safeParse(candidate);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.join('.');
    const where = settingNames[path.replace(/\.\d+$/, '')] ?? (path || '(root)');
    throw new ConfigError(`invalid configuration at ${where}: ${issue.message}`);
  }
  const config = result.data;
  if (config.filePaths.length === 0 && !config.imap) {
    throw new ConfigError('nothing to do: give one or more file paths, or an IMAP host with -H');
  }
  return config;
}
