/**
 * One validated configuration for the CLI, from flags and environment variables (flags win). A bad value
 * fails at start with a message naming the flag or variable. Secrets may come from files or the
 * environment so that they stay out of process lists; they are never logged.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
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
  outputDir: z.string().min(1).nullable(),
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
  elasticsearch: z
    .object({
      hosts: z.array(z.string().min(1)).min(1),
      indexPrefix: z.string().nullable(),
      indexSuffix: z.string().nullable(),
    })
    .nullable(),
  hec: z
    .object({
      url: z.url(),
      token: z.string().min(1),
      index: z.string().nullable(),
      skipCertificateVerification: z.boolean(),
    })
    .nullable(),
  kafka: z
    .object({
      hosts: z.array(z.string().min(1)).min(1),
      aggregateTopic: z.string().min(1),
      forensicTopic: z.string().min(1),
      smtpTlsTopic: z.string().min(1),
      registryUrl: z.url({
        error:
          '--schema-registry (or PARSEDMARC_SCHEMA_REGISTRY_URL) must be the URL of a Confluent-API schema registry; Kafka topics carry Avro',
      }),
      rawMailTopic: z.string().min(1),
      publishRawMail: z.boolean(),
    })
    .nullable(),
  save: z.object({ aggregate: z.boolean(), forensic: z.boolean(), smtpTls: z.boolean() }),
  outgoing: z
    .object({
      host: z.string().min(1),
      user: z.string().nullable(),
      password: z.string().nullable(),
      port: port('--outgoing-port').nullable(),
      ssl: z.boolean(),
      from: z.string().min(1),
      to: z.array(z.string().min(1)).min(1),
      subject: z.string().nullable(),
      attachment: z.string().nullable(),
      message: z.string().nullable(),
    })
    .nullable(),
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
  const esHosts = listOption(options.elasticsearchHost) ?? list(env.PARSEDMARC_ELASTICSEARCH_HOSTS);
  const kafkaHosts = listOption(options.kafkaHosts) ?? list(env.PARSEDMARC_KAFKA_HOSTS);
  const hecUrl = options.hec ?? env.PARSEDMARC_HEC_URL;
  const outgoingHost = options.outgoingHost ?? env.PARSEDMARC_OUTGOING_HOST;

  const candidate = {
    filePaths,
    outputDir: options.output ?? env.PARSEDMARC_OUTPUT ?? null,
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
    elasticsearch: esHosts
      ? {
          hosts: esHosts.length > 0 ? esHosts : ['localhost:9200'],
          indexPrefix: options.elasticsearchIndexPrefix ?? null,
          indexSuffix: options.elasticsearchIndexSuffix ?? null,
        }
      : null,
    hec: hecUrl
      ? {
          url: hecUrl,
          token: options.hecToken ?? env.PARSEDMARC_HEC_TOKEN ?? '',
          index: options.hecIndex ?? null,
          skipCertificateVerification: options.hecSkipCertificateVerification ?? false,
        }
      : null,
    kafka: kafkaHosts
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
          rawMailTopic: options.kafkaRawMailTopic ?? 'raw-mail',
          publishRawMail: options.publishRawMail ?? false,
        }
      : null,
    save: {
      aggregate: options.saveAggregate ?? false,
      forensic: options.saveForensic ?? options.saveFailure ?? false,
      smtpTls: options.saveSmtpTls ?? false,
    },
    outgoing: outgoingHost
      ? {
          host: outgoingHost,
          user: options.outgoingUser ?? null,
          password: options.outgoingPassword ?? env.PARSEDMARC_OUTGOING_PASSWORD ?? null,
          port: options.outgoingPort ?? null,
          ssl: flag(options.outgoingSsl) ?? false,
          from: options.outgoingFrom ?? '',
          to: options.outgoingTo ?? [],
          subject: options.outgoingSubject ?? null,
          attachment: options.outgoingAttachment ?? null,
          message: options.outgoingMessage ?? null,
        }
      : null,
  };

  const result = cliConfigSchema.safeParse(candidate);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`invalid configuration at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const config = result.data;
  if (config.filePaths.length === 0 && !config.imap) {
    throw new ConfigError('nothing to do: give one or more file paths, or an IMAP host with -H');
  }
  return config;
}
