/**
 * Where the CLI's settings come from, in the original parsedmarc's order: the flags, then the INI file
 * (`-c`, or PARSEDMARC_CONFIG_FILE), then PARSEDMARC_{SECTION}_{KEY} variables; a later source overrides
 * a key an earlier one set. Flags are written into the same sections and keys as the file, so one reader
 * (config.ts) turns all three into the validated configuration, and every message names the flag, the
 * file and line, or the variable a bad value came from.
 *
 * What this version does with each of the original's sections and keys is the table SECTIONS below:
 * served, ignored (a notice says so), or refused (exit 2: nobody should believe their data is going
 * somewhere it is not). Our own keys (retry budgets, the schema registry...) sit beside the original's.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  applyEnvOverrides,
  applyIniDocument,
  ConfigError,
  PARSEDMARC_ENV,
  PARSEDMARC_INI_KEYS,
  ParsedmarcSettings,
  parseIni,
  parseIniBoolean,
  settingError,
  type Env,
  type ParsedmarcIniKeyType,
} from '@parsedmarc-ts/service-runtime';
import type { RawCliOptions } from './args.js';

type KeyStatus =
  /** Read and used; `note` says how it differs from the original, if it does. */
  | { status: 'served'; type: ParsedmarcIniKeyType; note?: string }
  /** Read, has no effect here; `why` is printed when the key is set. */
  | { status: 'ignored'; why: string }
  /** Set to anything but `unless`, it stops the run with `why` (exit 2). */
  | { status: 'refused'; why: string; unless?: string };

const served = (type: ParsedmarcIniKeyType, note?: string): KeyStatus => ({ status: 'served', type, note });
const ignored = (why: string): KeyStatus => ({ status: 'ignored', why });
const refused = (why: string, unless?: string): KeyStatus => ({ status: 'refused', why, unless });

/** The original's keys of a section, all served with the type the original reads them as. */
const original = (section: keyof typeof PARSEDMARC_INI_KEYS): Record<string, KeyStatus> =>
  Object.fromEntries(
    Object.entries(PARSEDMARC_INI_KEYS[section] as Record<string, { type: ParsedmarcIniKeyType }>).map(
      ([key, spec]) => [key, served(spec.type)],
    ),
  );

const searchKeys = (section: 'elasticsearch' | 'opensearch'): Record<string, KeyStatus> => ({
  ...original(section),
  serverless: refused(
    'Elastic Serverless projects are not supported yet (indexes are created with shard settings)',
    'false',
  ),
  // Ours:
  failure_index: served('boolean'),
  retry_seconds: served('float'),
});

/** Every section this version knows, and what it does with each key. */
export const SECTIONS: Record<string, Record<string, KeyStatus> | { refusedSection: string }> = {
  general: {
    ...original('general'),
    normalize_timespan_threshold_hours: ignored(
      'reports are written with their own time span, as the original before 9.0 did',
    ),
    index_prefix_domain_map: refused(
      'index_prefix_domain_map (one index prefix per tenant) is not supported yet',
    ),
    archive_directory: refused('archive_directory (moving parsed input files away) is not supported yet'),
    dns_test_address: ignored(
      'the nameservers are not probed at start; a failing lookup is reported per address',
    ),
    fail_on_output_error: ignored('an output that fails always makes the run exit 1 here'),
    n_procs: ignored('parsing here is fast on one core; n_procs is not needed'),
    ipinfo_url: ignored('the IP-to-country database is shipped; give your own with ip_db_path'),
    ip_db_url: ignored('the IP-to-country database is shipped; give your own with ip_db_path'),
    ipinfo_api_token: ignored('the IP-to-country database is shipped; give your own with ip_db_path'),
    always_use_local_files: ignored('local files are always used here: nothing is downloaded'),
    reverse_dns_map_url: ignored('the sender map is shipped; give your own with local_reverse_dns_map_path'),
    local_psl_overrides_path: refused('local_psl_overrides_path is not supported yet'),
    psl_overrides_url: ignored('the public suffix list is shipped; nothing is downloaded'),
    strip_attachment_payloads: served(
      'boolean',
      'always in effect: parsed samples never carry attachment payloads, only their SHA-256 and size',
    ),
    failure_json_filename: served('string', 'default forensic.json (the name before 11)'),
    failure_csv_filename: served('string', 'default forensic.csv (the name before 11)'),
    dns_retries: served('integer', 'default 1'),
    // Ours:
    sender_map: served('path'),
  },
  mailbox: {
    ...original('mailbox'),
    delete_aggregate: refused('deleting by report type is not supported yet: use delete'),
    delete_failure: refused('deleting by report type is not supported yet: use delete'),
    delete_smtp_tls: refused('deleting by report type is not supported yet: use delete'),
    delete_invalid: refused('deleting by report type is not supported yet: use delete'),
    check_timeout: ignored('watching uses IMAP IDLE and reconnects by itself'),
    max_unsaved_retries: ignored('a batch that could not be saved stays in the folder for the next run'),
    since: refused('since (only messages newer than) is not supported yet'),
  },
  imap: {
    ...original('imap'),
    timeout: ignored('the IMAP client has its own timeouts'),
    max_retries: ignored('reconnecting is retried with backoff until the run stops'),
    delete: ignored('[imap] delete is deprecated and ignored, as in the original: use [mailbox] delete'),
  },
  maildir: original('maildir'),
  elasticsearch: searchKeys('elasticsearch'),
  opensearch: {
    ...searchKeys('opensearch'),
    auth_type: refused('only basic authentication is supported (AWS SigV4 is not yet)', 'basic'),
    authentication_type: refused('only basic authentication is supported (AWS SigV4 is not yet)', 'basic'),
    aws_region: ignored('used with AWS SigV4 only'),
    aws_service: ignored('used with AWS SigV4 only'),
  },
  splunk_hec: {
    ...original('splunk_hec'),
    // Ours:
    cert_path: served('path'),
    timeout: served('float'),
    failure_sourcetype: served('boolean'),
    retry_seconds: served('float'),
    ack_timeout: served('float'),
  },
  kafka: {
    ...original('kafka'),
    user: served('string', 'SASL PLAIN over TLS'),
    password: served('string', 'SASL PLAIN over TLS'),
    // Ours:
    schema_registry_url: served('string'),
    ca_file: served('path'),
    publish_raw_mail: served('boolean'),
    raw_mail_topic: served('string'),
  },
  smtp: {
    ...original('smtp'),
    // Ours:
    ca_file: served('path'),
    retry_seconds: served('float'),
    digest: served('boolean'),
  },
  s3: { refusedSection: 'saving to S3' },
  postgresql: { refusedSection: 'saving to PostgreSQL' },
  syslog: original('syslog'),
  gelf: { refusedSection: 'sending to Graylog (GELF)' },
  webhook: {
    ...original('webhook'),
    // Ours:
    ca_file: served('path'),
    skip_certificate_verification: served('boolean'),
    retry_seconds: served('float'),
  },
  msgraph: { refusedSection: 'reading a Microsoft 365 mailbox through Microsoft Graph' },
  gmail_api: { refusedSection: 'reading a Gmail mailbox through the Gmail API' },
  log_analytics: { refusedSection: 'sending to Azure Log Analytics' },
};

type Flag = keyof RawCliOptions;

/** Flags that set a key, and the flag's name for messages. Switches set the key to true. */
const FLAG_KEYS: readonly [Flag, string, string, string][] = [
  ['output', 'general', 'output', '-o/--output'],
  ['aggregateJsonFilename', 'general', 'aggregate_json_filename', '--aggregate-json-filename'],
  ['failureJsonFilename', 'general', 'failure_json_filename', '--failure-json-filename'],
  ['forensicJsonFilename', 'general', 'failure_json_filename', '--forensic-json-filename'],
  ['smtpTlsJsonFilename', 'general', 'smtp_tls_json_filename', '--smtp-tls-json-filename'],
  ['aggregateCsvFilename', 'general', 'aggregate_csv_filename', '--aggregate-csv-filename'],
  ['failureCsvFilename', 'general', 'failure_csv_filename', '--failure-csv-filename'],
  ['forensicCsvFilename', 'general', 'failure_csv_filename', '--forensic-csv-filename'],
  ['smtpTlsCsvFilename', 'general', 'smtp_tls_csv_filename', '--smtp-tls-csv-filename'],
  ['stripAttachmentPayloads', 'general', 'strip_attachment_payloads', '--strip-attachment-payloads'],
  ['nameservers', 'general', 'nameservers', '-n/--nameservers'],
  ['timeout', 'general', 'dns_timeout', '-t/--timeout'],
  ['dnsTimeout', 'general', 'dns_timeout', '--dns-timeout'],
  ['dns_timeout', 'general', 'dns_timeout', '--dns_timeout'],
  ['dnsRetries', 'general', 'dns_retries', '--dns-retries'],
  ['offline', 'general', 'offline', '--offline'],
  ['ipDb', 'general', 'ip_db_path', '--ip-db'],
  ['senderMap', 'general', 'sender_map', '--sender-map'],
  ['saveAggregate', 'general', 'save_aggregate', '--save-aggregate'],
  ['saveForensic', 'general', 'save_failure', '--save-forensic'],
  ['saveFailure', 'general', 'save_failure', '--save-failure'],
  ['saveSmtpTls', 'general', 'save_smtp_tls', '--save-smtp-tls'],
  ['silent', 'general', 'silent', '-s/--silent'],
  ['warnings', 'general', 'warnings', '--warnings'],
  ['verbose', 'general', 'verbose', '--verbose'],
  ['debug', 'general', 'debug', '--debug'],
  ['logFile', 'general', 'log_file', '--log-file'],
  ['host', 'imap', 'host', '-H/--host'],
  ['user', 'imap', 'user', '-u/--user'],
  ['password', 'imap', 'password', '-p/--password'],
  ['imapPort', 'imap', 'port', '--imap-port'],
  ['reportsFolder', 'mailbox', 'reports_folder', '-r/--reports-folder'],
  ['archiveFolder', 'mailbox', 'archive_folder', '-a/--archive-folder'],
  ['delete', 'mailbox', 'delete', '-d/--delete'],
  ['watch', 'mailbox', 'watch', '-w/--watch'],
  ['test', 'mailbox', 'test', '--test'],
  ['elasticsearchHost', 'elasticsearch', 'hosts', '-E/--elasticsearch-host'],
  ['elasticsearchIndexPrefix', 'elasticsearch', 'index_prefix', '--elasticsearch-index-prefix'],
  ['elasticsearchIndexSuffix', 'elasticsearch', 'index_suffix', '--elasticsearch-index-suffix'],
  ['elasticsearchUser', 'elasticsearch', 'user', '--elasticsearch-user'],
  ['elasticsearchPassword', 'elasticsearch', 'password', '--elasticsearch-password'],
  ['elasticsearchApiKey', 'elasticsearch', 'api_key', '--elasticsearch-api-key'],
  ['elasticsearchCaFile', 'elasticsearch', 'cert_path', '--elasticsearch-ca-file'],
  [
    'elasticsearchSkipCertificateVerification',
    'elasticsearch',
    'skip_certificate_verification',
    '--elasticsearch-skip-certificate-verification',
  ],
  ['elasticsearchTimeout', 'elasticsearch', 'timeout', '--elasticsearch-timeout'],
  ['elasticsearchMonthlyIndexes', 'elasticsearch', 'monthly_indexes', '--elasticsearch-monthly-indexes'],
  ['elasticsearchFailureIndex', 'elasticsearch', 'failure_index', '--elasticsearch-failure-index'],
  ['elasticsearchNumberOfShards', 'elasticsearch', 'number_of_shards', '--elasticsearch-number-of-shards'],
  [
    'elasticsearchNumberOfReplicas',
    'elasticsearch',
    'number_of_replicas',
    '--elasticsearch-number-of-replicas',
  ],
  ['elasticsearchRetrySeconds', 'elasticsearch', 'retry_seconds', '--elasticsearch-retry-seconds'],
  ['hec', 'splunk_hec', 'url', '--hec'],
  ['hecToken', 'splunk_hec', 'token', '--hec-token'],
  ['hecIndex', 'splunk_hec', 'index', '--hec-index'],
  [
    'hecSkipCertificateVerification',
    'splunk_hec',
    'skip_certificate_verification',
    '--hec-skip-certificate-verification',
  ],
  ['hecCaFile', 'splunk_hec', 'cert_path', '--hec-ca-file'],
  ['hecTimeout', 'splunk_hec', 'timeout', '--hec-timeout'],
  ['hecFailureSourcetype', 'splunk_hec', 'failure_sourcetype', '--hec-failure-sourcetype'],
  ['hecRetrySeconds', 'splunk_hec', 'retry_seconds', '--hec-retry-seconds'],
  ['hecAckTimeout', 'splunk_hec', 'ack_timeout', '--hec-ack-timeout'],
  ['kafkaHosts', 'kafka', 'hosts', '-K/--kafka-hosts'],
  ['kafkaAggregateTopic', 'kafka', 'aggregate_topic', '--kafka-aggregate-topic'],
  ['kafkaForensic_topic', 'kafka', 'failure_topic', '--kafka-forensic_topic'],
  ['kafkaForensicTopic', 'kafka', 'failure_topic', '--kafka-forensic-topic'],
  ['kafkaFailureTopic', 'kafka', 'failure_topic', '--kafka-failure-topic'],
  ['kafkaSmtpTlsTopic', 'kafka', 'smtp_tls_topic', '--kafka-smtp-tls-topic'],
  ['schemaRegistry', 'kafka', 'schema_registry_url', '--schema-registry'],
  ['publishRawMail', 'kafka', 'publish_raw_mail', '--publish-raw-mail'],
  ['kafkaRawMailTopic', 'kafka', 'raw_mail_topic', '--kafka-raw-mail-topic'],
  ['outgoingHost', 'smtp', 'host', '-O/--outgoing-host'],
  ['outgoingUser', 'smtp', 'user', '-U/--outgoing-user'],
  ['outgoingPassword', 'smtp', 'password', '-P/--outgoing-password'],
  ['outgoingPort', 'smtp', 'port', '--outgoing-port'],
  ['outgoingSsl', 'smtp', 'ssl', '--outgoing-ssl'],
  ['outgoingFrom', 'smtp', 'from', '-F/--outgoing-from'],
  ['outgoingTo', 'smtp', 'to', '-T/--outgoing-to'],
  ['outgoingSubject', 'smtp', 'subject', '-S/--outgoing-subject'],
  ['outgoingAttachment', 'smtp', 'attachment', '-A/--outgoing-attachment'],
  ['outgoingMessage', 'smtp', 'message', '-M/--outgoing-message'],
  [
    'outgoingSkipCertificateVerification',
    'smtp',
    'skip_certificate_verification',
    '--outgoing-skip-certificate-verification',
  ],
  ['outgoingCaFile', 'smtp', 'ca_file', '--outgoing-ca-file'],
  ['outgoingRetrySeconds', 'smtp', 'retry_seconds', '--outgoing-retry-seconds'],
];

/** Flags naming a file that holds a secret: the key gets the file's content. */
const FLAG_SECRET_FILES: readonly [Flag, string, string, string][] = [
  ['passwordFile', 'imap', 'password', '--password-file'],
  ['elasticsearchPasswordFile', 'elasticsearch', 'password', '--elasticsearch-password-file'],
  ['elasticsearchApiKeyFile', 'elasticsearch', 'api_key', '--elasticsearch-api-key-file'],
  ['hecTokenFile', 'splunk_hec', 'token', '--hec-token-file'],
  ['outgoingPasswordFile', 'smtp', 'password', '--outgoing-password-file'],
];

/** This project's variables from before the original's scheme, kept as aliases (the original's names win). */
const ENV_ALIASES: Record<string, readonly [string, string]> = {
  PARSEDMARC_OUTPUT: ['general', 'output'],
  PARSEDMARC_OFFLINE: ['general', 'offline'],
  PARSEDMARC_NAMESERVERS: ['general', 'nameservers'],
  PARSEDMARC_DNS_TIMEOUT: ['general', 'dns_timeout'],
  PARSEDMARC_DNS_RETRIES: ['general', 'dns_retries'],
  PARSEDMARC_IP_DB_PATH: ['general', 'ip_db_path'],
  PARSEDMARC_SENDER_MAP: ['general', 'sender_map'],
  PARSEDMARC_HEC_URL: ['splunk_hec', 'url'],
  PARSEDMARC_HEC_TOKEN: ['splunk_hec', 'token'],
  PARSEDMARC_OUTGOING_HOST: ['smtp', 'host'],
  PARSEDMARC_OUTGOING_PASSWORD: ['smtp', 'password'],
};

/**
 * Keys that only refine a section: set alone (say PARSEDMARC_SCHEMA_REGISTRY_URL in a shell profile), they
 * do not make the section present. Every other key does, and then the section needs its main key.
 */
const SOFT_KEYS: Record<string, readonly string[]> = { kafka: ['schema_registry_url'] };
export const ENV_SOFT_ALIASES: Record<string, readonly [string, string]> = {
  PARSEDMARC_SCHEMA_REGISTRY_URL: ['kafka', 'schema_registry_url'],
};

/** The flag that sets a key, for messages about a key nobody set ("-T/--outgoing-to"). */
export function flagOf(section: string, key: string): string | undefined {
  return FLAG_KEYS.find(([, s, k]) => s === section && k === key)?.[3];
}

export function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/[\r\n]+$/, '');
  } catch (error) {
    throw new ConfigError(
      `${what}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

export interface CollectedSettings {
  settings: ParsedmarcSettings;
  /** The INI file that was read, if any (absolute). */
  configFile: string | null;
  /** One line per key that was set and has no effect here. */
  notices: string[];
}

function flagSettings(options: RawCliOptions, settings: ParsedmarcSettings): void {
  for (const [flag, section, key, name] of FLAG_KEYS) {
    const value = options[flag];
    if (value === undefined || value === false) continue;
    settings.set(section, key, value as string | string[] | boolean, name);
  }
  for (const [flag, section, key, name] of FLAG_SECRET_FILES) {
    const path = options[flag];
    if (typeof path === 'string') settings.set(section, key, readSecretFile(path, name), name);
  }
  // Switches that turn something off.
  if (options.imapNoSsl) settings.set('imap', 'ssl', false, '--imap-no-ssl');
  if (options.outgoingDigest === false) settings.set('smtp', 'digest', false, '--no-outgoing-digest');
  if (options.prettifyJson === false) settings.set('general', 'prettify_json', false, '--no-prettify-json');
}

/**
 * The flags, the INI file and the environment, in that order of increasing precedence, checked against
 * SECTIONS: an unknown or refused section or key is a ConfigError naming where it was set.
 */
export function collectSettings(options: RawCliOptions, env: Env): CollectedSettings {
  const settings = new ParsedmarcSettings();
  flagSettings(options, settings);
  const fileName = options.configFile ?? env[PARSEDMARC_ENV.configFile];
  let configFile: string | null = null;
  if (fileName !== undefined && fileName !== '') {
    configFile = resolve(fileName);
    const what = options.configFile !== undefined ? '--config-file' : PARSEDMARC_ENV.configFile;
    let text: string;
    try {
      text = readFileSync(configFile, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(
        `${what}: ${code === 'ENOENT' ? `no file at ${configFile}` : `cannot read ${configFile} (${code ?? (error as Error).message})`}`,
      );
    }
    applyIniDocument(settings, parseIni(text, fileName));
  }
  applyEnvOverrides(settings, env, {
    readSecretFile: (path) => readFileSync(path, 'utf8'),
    aliases: { ...ENV_ALIASES, ...ENV_SOFT_ALIASES },
  });
  return { settings, configFile, notices: checkSettings(settings) };
}

/** Sections that count as present: some key other than a soft one is set. */
export function presentSections(settings: ParsedmarcSettings): Set<string> {
  const present = new Set<string>();
  for (const section of settings.sectionNames()) {
    const soft = SOFT_KEYS[section] ?? [];
    if ([...settings.keysOf(section).keys()].some((key) => !soft.includes(key))) present.add(section);
  }
  return present;
}

function checkSettings(settings: ParsedmarcSettings): string[] {
  const notices: string[] = [];
  const present = presentSections(settings);
  for (const section of settings.sectionNames()) {
    const keys = SECTIONS[section];
    const first = [...settings.keysOf(section).values()][0];
    const where = first ? `${first.origin.replace(/:\d+$/, '')}: ` : '';
    if (keys === undefined) {
      throw new ConfigError(
        `${where}unknown section [${section}] (known: ${Object.keys(SECTIONS).join(', ')})`,
      );
    }
    if ('refusedSection' in keys) {
      if (!present.has(section)) continue;
      throw new ConfigError(
        `${where}[${section}]: ${keys.refusedSection} is not supported by this version; remove the section (nothing would be sent there)`,
      );
    }
    for (const [key, setting] of settings.keysOf(section)) {
      const status = keys[key];
      if (status === undefined) {
        throw settingError(section, key, setting, `unknown key in [${section}]`);
      }
      if (status.status === 'ignored')
        notices.push(`${setting.origin}: [${section}] ${key} has no effect here: ${status.why}`);
      if (status.status === 'refused') {
        const text =
          typeof setting.value === 'string' ? setting.value.trim().toLowerCase() : String(setting.value);
        const allowed =
          status.unless !== undefined &&
          (text === status.unless || (status.unless === 'false' && parseIniBoolean(text) === false));
        if (!allowed) throw settingError(section, key, setting, status.why);
      }
    }
  }
  return notices;
}
