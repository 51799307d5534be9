/**
 * One validated configuration for the CLI, from the flags, the parsedmarc.ini file and the PARSEDMARC_*
 * variables (settings.ts gathers them in the original's order of precedence). A bad value fails at start
 * with a message naming the flag, the file and line, or the variable it came from. Secrets may come from
 * files; they are never logged.
 */
import { z } from 'zod';
import {
  emailSinkDefaults,
  hecSinkDefaults,
  kafkaSecurityDefaults,
  kafkaSecuritySchema,
  outputFilesDefaults,
  searchSinkDefaults,
  syslogSinkDefaults,
  webhookSinkDefaults,
  sinksConfigSchema,
  type KafkaSecurity,
  type OutputFiles,
} from '@parsedmarc-ts/sinks';
import { ConfigError, SettingsReader, type Env } from '@parsedmarc-ts/service-runtime';
import type { RawCliOptions } from './args.js';
import { collectSettings, flagOf, presentSections } from './settings.js';

export { ConfigError };

const hostPort = z
  .string()
  .regex(
    /^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+|[A-Za-z0-9.-]+)(:\d{1,5})?$/,
    'expected an IP address or IP:port',
  );

const port = z.number().int().min(1, 'must be a port number').max(65535, 'must be a port number');

export const cliConfigSchema = z.object({
  filePaths: z.array(z.string().min(1)),
  /** The INI file read (absolute), for re-reading it on SIGHUP. */
  configFile: z.string().nullable(),
  silent: z.boolean(),
  log: z.object({
    verbose: z.boolean(),
    debug: z.boolean(),
    file: z.string().min(1).nullable(),
  }),
  /** Keys that were set and have no effect here, one line each. */
  notices: z.array(z.string()),
  progress: z.boolean(),
  dns: z.object({
    offline: z.boolean(),
    nameservers: z.array(hostPort).min(1),
    timeoutSeconds: z.number().positive('must be positive').max(600),
    retries: z.number().int().min(0).max(10),
  }),
  ipDbPath: z.string().nullable(),
  senderMapCsv: z.string().nullable(),
  imap: z
    .object({
      host: z.string().min(1),
      user: z.string().min(1),
      password: z.string(),
      port: port.nullable(),
      ssl: z.boolean(),
      skipCertificateVerification: z.boolean(),
      reportsFolder: z.string().min(1),
      archiveFolder: z.string().min(1),
      delete: z.boolean(),
      test: z.boolean(),
      watch: z.boolean(),
      batchSize: z.number().int().min(1).max(10_000),
    })
    .nullable(),
  /** [maildir]: a Maildir read as input. */
  maildir: z.object({ path: z.string().min(1), create: z.boolean() }).nullable(),
  sinks: sinksConfigSchema,
  /** --publish-raw-mail: the input files onto raw-mail instead of parsing them here. */
  rawMail: z
    .object({
      hosts: z.array(z.string().min(1)).min(1),
      registryUrl: z.url({
        error: '--publish-raw-mail needs the URL of a Confluent-API schema registry (--schema-registry)',
      }),
      security: kafkaSecuritySchema,
      topic: z.string().min(1),
    })
    .nullable(),
});

export type CliConfig = z.infer<typeof cliConfigSchema>;

export const CLOUDFLARE_NAMESERVERS = ['1.1.1.1', '1.0.0.1'];

type Save = { aggregate: boolean; forensic: boolean; smtpTls: boolean };

/** Connecting at start is retried for its default at most, never longer than the retry budget asked for. */
const connectRetryOf = (retryBudget: number, connectDefault: number): number =>
  Math.min(connectDefault, retryBudget);

/**
 * Hosts as the original takes them; a bare host:port gets https when the section's ssl is on (the
 * original's default for [elasticsearch] and [opensearch]), http when given by -E (the documented original's meaning).
 */
function searchHosts(r: SettingsReader, section: 'elasticsearch' | 'opensearch'): string[] {
  const setting = r.settings.get(section, 'hosts');
  if (setting?.value === true) return ['localhost:9200'];
  const hosts = r.list(section, 'hosts') ?? [];
  const fromFlag = setting?.origin.startsWith('-') ?? false;
  const https = r.boolean(section, 'ssl') ?? !fromFlag;
  return hosts.map((h) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(h) ? h : `${https ? 'https' : 'http'}://${h}`));
}

/** [elasticsearch] or [opensearch] (the -E flags write into [elasticsearch]). */
function searchSinkCandidate(r: SettingsReader, section: 'elasticsearch' | 'opensearch', save: Save) {
  const retryBudgetSeconds = r.float(section, 'retry_seconds') ?? searchSinkDefaults.retryBudgetSeconds;
  const shards = r.integer(section, 'number_of_shards');
  return {
    ...searchSinkDefaults,
    hosts: searchHosts(r, section),
    user: r.string(section, 'user') ?? null,
    password: r.string(section, 'password') ?? null,
    apiKey: r.string(section, 'api_key') ?? r.string(section, 'apikey') ?? null,
    caFile: r.path(section, 'cert_path') ?? null,
    skipCertificateVerification: r.boolean(section, 'skip_certificate_verification') ?? false,
    timeoutSeconds: r.float(section, 'timeout') ?? searchSinkDefaults.timeoutSeconds,
    indexPrefix: r.string(section, 'index_prefix') ?? null,
    indexSuffix: r.string(section, 'index_suffix') ?? null,
    monthlyIndexes: r.boolean(section, 'monthly_indexes') ?? false,
    forensicIndexBase: r.boolean(section, 'failure_index') ? 'dmarc_failure' : 'dmarc_forensic',
    numberOfShards: shards ?? searchSinkDefaults.numberOfShards,
    numberOfReplicas: r.integer(section, 'number_of_replicas') ?? searchSinkDefaults.numberOfReplicas,
    retryBudgetSeconds,
    connectRetrySeconds: connectRetryOf(retryBudgetSeconds, searchSinkDefaults.connectRetrySeconds),
    save,
  };
}

function webhookSinkCandidate(r: SettingsReader, save: Save) {
  return {
    ...webhookSinkDefaults,
    aggregateUrl: r.string('webhook', 'aggregate_url') ?? null,
    forensicUrl: r.string('webhook', 'failure_url') ?? r.string('webhook', 'forensic_url') ?? null,
    smtpTlsUrl: r.string('webhook', 'smtp_tls_url') ?? null,
    prettify: r.boolean('general', 'prettify_json') ?? true,
    caFile: r.path('webhook', 'ca_file') ?? null,
    skipCertificateVerification: r.boolean('webhook', 'skip_certificate_verification') ?? false,
    timeoutSeconds: r.integer('webhook', 'timeout') ?? webhookSinkDefaults.timeoutSeconds,
    retryBudgetSeconds: r.float('webhook', 'retry_seconds') ?? webhookSinkDefaults.retryBudgetSeconds,
    save,
  };
}

function syslogSinkCandidate(r: SettingsReader, save: Save) {
  return {
    ...syslogSinkDefaults,
    server: r.string('syslog', 'server'),
    port: r.integer('syslog', 'port') ?? syslogSinkDefaults.port,
    // The original lowercases the protocol.
    protocol: (r.string('syslog', 'protocol') ?? syslogSinkDefaults.protocol).trim().toLowerCase(),
    caFile: r.path('syslog', 'cafile_path') ?? null,
    certFile: r.path('syslog', 'certfile_path') ?? null,
    keyFile: r.path('syslog', 'keyfile_path') ?? null,
    timeoutSeconds: r.float('syslog', 'timeout') ?? syslogSinkDefaults.timeoutSeconds,
    retryAttempts: r.integer('syslog', 'retry_attempts') ?? syslogSinkDefaults.retryAttempts,
    retryDelaySeconds: r.integer('syslog', 'retry_delay') ?? syslogSinkDefaults.retryDelaySeconds,
    save,
  };
}

function hecSinkCandidate(r: SettingsReader, save: Save) {
  const token = r.string('splunk_hec', 'token');
  if (token === undefined) {
    throw new ConfigError(
      '--hec needs a token: --hec-token, --hec-token-file, [splunk_hec] token or PARSEDMARC_SPLUNK_HEC_TOKEN',
    );
  }
  const retryBudgetSeconds = r.float('splunk_hec', 'retry_seconds') ?? hecSinkDefaults.retryBudgetSeconds;
  return {
    ...hecSinkDefaults,
    url: r.string('splunk_hec', 'url'),
    token,
    index: r.string('splunk_hec', 'index') || null,
    skipCertificateVerification: r.boolean('splunk_hec', 'skip_certificate_verification') ?? false,
    caFile: r.path('splunk_hec', 'cert_path') ?? null,
    timeoutSeconds: r.float('splunk_hec', 'timeout') ?? hecSinkDefaults.timeoutSeconds,
    forensicSourcetype: r.boolean('splunk_hec', 'failure_sourcetype') ? 'dmarc:failure' : 'dmarc:forensic',
    retryBudgetSeconds,
    // Connecting is retried for 10 s at most, never longer than the retry budget the user asked for.
    connectRetrySeconds: connectRetryOf(retryBudgetSeconds, hecSinkDefaults.connectRetrySeconds),
    ackTimeoutSeconds: r.float('splunk_hec', 'ack_timeout') ?? hecSinkDefaults.ackTimeoutSeconds,
    save,
  };
}

function emailSinkCandidate(r: SettingsReader) {
  const retry = r.float('smtp', 'retry_seconds');
  return {
    ...emailSinkDefaults,
    host: r.string('smtp', 'host'),
    port: r.integer('smtp', 'port') ?? null,
    ssl: r.boolean('smtp', 'ssl') ?? false,
    user: r.string('smtp', 'user') || null,
    password: r.string('smtp', 'password') ?? null,
    skipCertificateVerification: r.boolean('smtp', 'skip_certificate_verification') ?? false,
    caFile: r.path('smtp', 'ca_file') ?? null,
    from: r.string('smtp', 'from') ?? '',
    to: r.list('smtp', 'to') ?? [],
    subject: r.string('smtp', 'subject') ?? null,
    attachment: r.path('smtp', 'attachment') ?? null,
    message: r.string('smtp', 'message') ?? null,
    digest: r.boolean('smtp', 'digest') ?? true,
    ...(retry === undefined ? {} : { retryBudgetSeconds: retry }),
  };
}

function kafkaSecurity(r: SettingsReader): KafkaSecurity {
  return {
    user: r.string('kafka', 'user') ?? kafkaSecurityDefaults.user,
    password: r.string('kafka', 'password') ?? kafkaSecurityDefaults.password,
    ssl: r.boolean('kafka', 'ssl') ?? kafkaSecurityDefaults.ssl,
    skipCertificateVerification:
      r.boolean('kafka', 'skip_certificate_verification') ??
      kafkaSecurityDefaults.skipCertificateVerification,
    caFile: r.path('kafka', 'ca_file') ?? kafkaSecurityDefaults.caFile,
  };
}

function kafkaTopics(r: SettingsReader) {
  return {
    aggregateTopic: r.string('kafka', 'aggregate_topic') ?? 'dmarc_aggregate',
    forensicTopic:
      r.string('kafka', 'failure_topic') ?? r.string('kafka', 'forensic_topic') ?? 'dmarc_forensic',
    smtpTlsTopic: r.string('kafka', 'smtp_tls_topic') ?? 'dmarc_smtp_tls',
  };
}

/** The six file names of the -o folder; forensic_* is the older name of failure_*, as in the original. */
function outputFiles(r: SettingsReader): OutputFiles {
  const named = (key: string, fallback: string) => r.string('general', key) ?? fallback;
  return {
    aggregateJson: named('aggregate_json_filename', outputFilesDefaults.aggregateJson),
    forensicJson: named(
      'failure_json_filename',
      named('forensic_json_filename', outputFilesDefaults.forensicJson),
    ),
    smtpTlsJson: named('smtp_tls_json_filename', outputFilesDefaults.smtpTlsJson),
    aggregateCsv: named('aggregate_csv_filename', outputFilesDefaults.aggregateCsv),
    forensicCsv: named(
      'failure_csv_filename',
      named('forensic_csv_filename', outputFilesDefaults.forensicCsv),
    ),
    smtpTlsCsv: named('smtp_tls_csv_filename', outputFilesDefaults.smtpTlsCsv),
  };
}

/** The setting behind a path of the configuration, for messages: [section, key]. */
const settingOfPath: Record<string, readonly [string, string]> = {
  'dns.nameservers': ['general', 'nameservers'],
  'dns.timeoutSeconds': ['general', 'dns_timeout'],
  'dns.retries': ['general', 'dns_retries'],
  'imap.host': ['imap', 'host'],
  'imap.user': ['imap', 'user'],
  'imap.port': ['imap', 'port'],
  'imap.batchSize': ['mailbox', 'batch_size'],
  'sinks.kafka.hosts': ['kafka', 'hosts'],
  'sinks.kafka.registryUrl': ['kafka', 'schema_registry_url'],
  'sinks.kafka.security': ['kafka', 'password'],
  'sinks.kafka.security.user': ['kafka', 'user'],
  'rawMail.security': ['kafka', 'password'],
  'rawMail.registryUrl': ['kafka', 'schema_registry_url'],
  'sinks.hec.url': ['splunk_hec', 'url'],
  'sinks.hec.token': ['splunk_hec', 'token'],
  'sinks.hec.index': ['splunk_hec', 'index'],
  'sinks.hec.timeoutSeconds': ['splunk_hec', 'timeout'],
  'sinks.hec.retryBudgetSeconds': ['splunk_hec', 'retry_seconds'],
  'sinks.hec.ackTimeoutSeconds': ['splunk_hec', 'ack_timeout'],
  'sinks.syslog': ['syslog', 'certfile_path'],
  'sinks.syslog.server': ['syslog', 'server'],
  'sinks.syslog.port': ['syslog', 'port'],
  'sinks.syslog.protocol': ['syslog', 'protocol'],
  'sinks.syslog.timeoutSeconds': ['syslog', 'timeout'],
  'sinks.syslog.retryAttempts': ['syslog', 'retry_attempts'],
  'sinks.webhook': ['webhook', 'aggregate_url'],
  'sinks.webhook.aggregateUrl': ['webhook', 'aggregate_url'],
  'sinks.webhook.forensicUrl': ['webhook', 'failure_url'],
  'sinks.webhook.smtpTlsUrl': ['webhook', 'smtp_tls_url'],
  'sinks.webhook.timeoutSeconds': ['webhook', 'timeout'],
  'sinks.email.host': ['smtp', 'host'],
  'sinks.email.port': ['smtp', 'port'],
  'sinks.email.from': ['smtp', 'from'],
  'sinks.email.to': ['smtp', 'to'],
  'sinks.email.retryBudgetSeconds': ['smtp', 'retry_seconds'],
  'sinks.outputDir.files': ['general', 'output'],
  'sinks.outputDir.files.aggregateJson': ['general', 'aggregate_json_filename'],
  'sinks.outputDir.files.forensicJson': ['general', 'failure_json_filename'],
  'sinks.outputDir.files.smtpTlsJson': ['general', 'smtp_tls_json_filename'],
  'sinks.outputDir.files.aggregateCsv': ['general', 'aggregate_csv_filename'],
  'sinks.outputDir.files.forensicCsv': ['general', 'failure_csv_filename'],
  'sinks.outputDir.files.smtpTlsCsv': ['general', 'smtp_tls_csv_filename'],
};
for (const section of ['elasticsearch', 'opensearch'] as const) {
  for (const [field, key] of [
    ['hosts', 'hosts'],
    ['timeoutSeconds', 'timeout'],
    ['numberOfShards', 'number_of_shards'],
    ['numberOfReplicas', 'number_of_replicas'],
    ['retryBudgetSeconds', 'retry_seconds'],
    ['user', 'user'],
    ['apiKey', 'api_key'],
  ] as const) {
    settingOfPath[`sinks.${section}.${field}`] = [section, key];
  }
}

/** Where a bad value came from: the setting's origin, else the path in the configuration. */
function whereOf(r: SettingsReader, path: string): string {
  const target = settingOfPath[path] ?? settingOfPath[path.replace(/\.\d+$/, '')];
  if (target) {
    const origin = r.origin(target[0], target[1]);
    if (origin) return `${origin} ([${target[0]}] ${target[1]})`;
    const flag = flagOf(target[0], target[1]);
    return `[${target[0]}] ${target[1]}${flag ? ` (${flag})` : ''}`;
  }
  return path || '(root)';
}

/** What to build when the settings are right; every value checked against cliConfigSchema. */
function candidateOf(
  r: SettingsReader,
  filePaths: string[],
  options: RawCliOptions,
  configFile: string | null,
) {
  const present = presentSections(r.settings);
  const requireKey = (section: string, key: string, what: string): void => {
    if (present.has(section) && !r.has(section, key)) {
      throw new ConfigError(
        `[${section}] needs ${key} (${what}); set by ${r.settings.keysOf(section).values().next().value?.origin}`,
      );
    }
  };
  requireKey('imap', 'host', 'the IMAP server');
  requireKey('elasticsearch', 'hosts', 'one or more Elasticsearch hosts');
  requireKey('opensearch', 'hosts', 'one or more OpenSearch hosts');
  requireKey('splunk_hec', 'url', 'the HEC URL');
  requireKey('kafka', 'hosts', 'one or more Kafka brokers');
  requireKey('smtp', 'host', 'the SMTP server');
  requireKey('maildir', 'maildir_path', 'the Maildir to read');
  requireKey('syslog', 'server', 'the syslog server');

  const save = {
    aggregate: r.boolean('general', 'save_aggregate') ?? false,
    forensic: r.boolean('general', 'save_failure') ?? r.boolean('general', 'save_forensic') ?? false,
    smtpTls: r.boolean('general', 'save_smtp_tls') ?? false,
  };
  // As the documented original's command line says: --save-* without any place to save to means the local Elasticsearch.
  // Not for a config file, where the original saves nowhere then.
  const saveByFlag = ['save_aggregate', 'save_failure', 'save_smtp_tls'].some((key) =>
    r.origin('general', key)?.startsWith('-'),
  );
  const anySaveSink = ['elasticsearch', 'opensearch', 'splunk_hec', 'kafka', 'webhook', 'syslog'].some((s) =>
    present.has(s),
  );
  const implicitElasticsearch =
    saveByFlag && !anySaveSink && (save.aggregate || save.forensic || save.smtpTls);
  if (implicitElasticsearch) r.settings.set('elasticsearch', 'hosts', true, '--save-*');

  const silent = r.boolean('general', 'silent') ?? configFile !== null;
  const debug = r.boolean('general', 'debug') ?? false;
  const publishRawMail = r.boolean('kafka', 'publish_raw_mail') ?? false;
  const kafkaHosts = present.has('kafka') ? (r.list('kafka', 'hosts') ?? []) : null;
  const registryUrl = r.string('kafka', 'schema_registry_url') ?? null;
  const imapHost = present.has('imap') ? r.string('imap', 'host') : undefined;
  const maildirPath = r.path('maildir', 'maildir_path') ?? r.path('maildir', 'path');
  const outputPath = r.path('general', 'output');
  // Parsed samples never carry attachment payloads here (only their sha256 and size): the key is checked
  // and there is nothing left to strip.
  r.boolean('general', 'strip_attachment_payloads');
  // Warnings are always printed (on stderr, where the original needs --warnings): the key is checked only.
  r.boolean('general', 'warnings');
  const hasSearch = (s: 'elasticsearch' | 'opensearch') =>
    present.has(s) || (s === 'elasticsearch' && implicitElasticsearch);

  return {
    filePaths,
    configFile,
    silent,
    log: {
      verbose: (r.boolean('general', 'verbose') ?? false) || debug,
      debug,
      file: r.path('general', 'log_file') ?? null,
    },
    notices: [] as string[],
    progress: options.progress ?? true,
    dns: {
      offline: r.boolean('general', 'offline') ?? false,
      nameservers: r.list('general', 'nameservers') ?? CLOUDFLARE_NAMESERVERS,
      timeoutSeconds: r.float('general', 'dns_timeout') ?? 2.0,
      retries: r.integer('general', 'dns_retries') ?? 1,
    },
    ipDbPath: r.path('general', 'ip_db_path') ?? null,
    senderMapCsv: r.path('general', 'sender_map') ?? r.path('general', 'local_reverse_dns_map_path') ?? null,
    imap:
      imapHost !== undefined
        ? {
            host: imapHost,
            user: r.string('imap', 'user') ?? '',
            password: r.string('imap', 'password') ?? '',
            port: r.integer('imap', 'port') ?? null,
            ssl: r.boolean('imap', 'ssl') ?? true,
            skipCertificateVerification: r.boolean('imap', 'skip_certificate_verification') ?? false,
            // The deprecated [imap] keys are read after [mailbox] by the original, so they win.
            reportsFolder:
              r.string('imap', 'reports_folder') ?? r.string('mailbox', 'reports_folder') ?? 'INBOX',
            archiveFolder:
              r.string('imap', 'archive_folder') ?? r.string('mailbox', 'archive_folder') ?? 'Archive',
            delete: r.boolean('mailbox', 'delete') ?? false,
            test: r.boolean('imap', 'test') ?? r.boolean('mailbox', 'test') ?? false,
            watch: r.boolean('imap', 'watch') ?? r.boolean('mailbox', 'watch') ?? false,
            batchSize: r.integer('imap', 'batch_size') ?? r.integer('mailbox', 'batch_size') ?? 100,
          }
        : null,
    maildir:
      maildirPath !== undefined
        ? {
            path: maildirPath,
            create: r.boolean('maildir', 'maildir_create') ?? r.boolean('maildir', 'create') ?? false,
          }
        : null,
    sinks: {
      stdout: silent ? null : { prettify: r.boolean('general', 'prettify_json') ?? true },
      outputDir: outputPath !== undefined ? { path: outputPath, files: outputFiles(r) } : null,
      kafka:
        kafkaHosts && !publishRawMail
          ? {
              hosts: kafkaHosts,
              ...kafkaTopics(r),
              // With a schema registry our Avro topics (every report); without, the original's JSON
              // messages, sent for the report types save_* selects, as the original does.
              format: registryUrl !== null ? 'avro' : 'json',
              registryUrl,
              security: kafkaSecurity(r),
              save: registryUrl !== null ? null : save,
            }
          : null,
      elasticsearch: hasSearch('elasticsearch') ? searchSinkCandidate(r, 'elasticsearch', save) : null,
      opensearch: hasSearch('opensearch') ? searchSinkCandidate(r, 'opensearch', save) : null,
      hec: present.has('splunk_hec') ? hecSinkCandidate(r, save) : null,
      webhook: present.has('webhook') ? webhookSinkCandidate(r, save) : null,
      syslog: present.has('syslog') ? syslogSinkCandidate(r, save) : null,
      email: present.has('smtp') ? emailSinkCandidate(r) : null,
    },
    rawMail:
      kafkaHosts && publishRawMail
        ? {
            hosts: kafkaHosts,
            registryUrl: registryUrl ?? '',
            security: kafkaSecurity(r),
            topic: r.string('kafka', 'raw_mail_topic') ?? 'raw-mail',
          }
        : null,
  };
}

/**
 * The original sends reports to these outputs only for the types save_* selects; with none selected it
 * silently sends nothing. Here that is said once at start.
 */
function nothingSavedNotices(config: CliConfig): string[] {
  const { sinks } = config;
  const gated = [
    sinks.elasticsearch && sinks.elasticsearch.save,
    sinks.opensearch && sinks.opensearch.save,
    sinks.hec && sinks.hec.save,
    sinks.kafka && sinks.kafka.save,
    sinks.webhook && sinks.webhook.save,
    sinks.syslog && sinks.syslog.save,
  ];
  const names = ['[elasticsearch]', '[opensearch]', '[splunk_hec]', '[kafka]', '[webhook]', '[syslog]'];
  return gated.flatMap((save, i) =>
    save && !save.aggregate && !save.forensic && !save.smtpTls
      ? [
          `${names[i]} receives nothing: save_aggregate, save_failure and save_smtp_tls are all off ([general] or --save-*)`,
        ]
      : [],
  );
}

/**
 * Builds and validates the configuration from the flags, the INI file and the environment. Throws
 * ConfigError naming the offending flag, file line or variable.
 */
export function resolveCliConfig(
  options: RawCliOptions,
  filePaths: string[],
  env: Env = process.env,
): CliConfig {
  const { settings, configFile, notices } = collectSettings(options, env);
  const r = new SettingsReader(settings, env);
  const candidate = candidateOf(r, filePaths, options, configFile);
  candidate.notices = notices;
  const result = cliConfigSchema.safeParse(candidate);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`invalid configuration at ${whereOf(r, issue.path.join('.'))}: ${issue.message}`);
  }
  const config = result.data;
  config.notices.push(...nothingSavedNotices(config));
  if (config.filePaths.length === 0 && !config.imap && !config.maildir) {
    throw new ConfigError(
      'nothing to do: give one or more file paths, an IMAP host (-H or [imap]) or a Maildir ([maildir])',
    );
  }
  return config;
}
