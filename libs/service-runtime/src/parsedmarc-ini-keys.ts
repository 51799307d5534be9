/**
 * Every section and key of `parsedmarc.ini` that the original parsedmarc reads (its `_parse_config` in
 * parsedmarc/cli.py, current HEAD of the upstream repository), with the type it reads the value as, the value
 * used when the key is absent, and whether its absence is a configuration error. Data only.
 *
 * Conventions:
 * - Keys are lowercase, as configparser stores them: the original tests `"apiKey"`, which is the key
 *   `apikey`. Keys of `[DEFAULT]` count as present in every section.
 * - `type`: how the value is read. 'boolean' is configparser's getboolean (1/yes/true/on, 0/no/false/off);
 *   'integer' and 'float' are Python's int() and float(); 'list' is split on commas with leading whitespace
 *   stripped from each item (`parseIniList`); 'path' is a string with `$VAR` / `${VAR}` and then `~`
 *   expanded. A value that does not convert raises a Python ValueError, not the original's
 *   ConfigurationError: at start it stops with a traceback instead of a message.
 * - `default`: the value used when the key is absent (the original's built-in or command-line default);
 *   null means unset. For a 'list' it is the text the list would be split from.
 * - `required: true`: absence of the key, when its section is present, is a configuration error. Keys
 *   required only in some cases say so in `note` instead.
 * - `aliasOf`: the key is an older or alternative name for the one named, which wins when both are given
 *   unless the note says otherwise. A bare name is a key of the same section; `section.key` is one of
 *   another section.
 */

export type ParsedmarcIniKeyType = 'string' | 'boolean' | 'integer' | 'float' | 'list' | 'path';

export interface ParsedmarcIniKey {
  readonly type: ParsedmarcIniKeyType;
  readonly default?: string | number | boolean | null;
  readonly required?: boolean;
  readonly aliasOf?: string;
  readonly note?: string;
}

export type ParsedmarcIniCatalogue = Readonly<Record<string, Readonly<Record<string, ParsedmarcIniKey>>>>;

export const PARSEDMARC_INI_KEYS = {
  // Output files, DNS, IP and PSL data, logging, which report types are saved to the outputs.
  general: {
    silent: {
      type: 'boolean',
      default: true,
      note: 'reading a config file sets silent to true before the file is applied, whatever -s said',
    },
    normalize_timespan_threshold_hours: { type: 'float', default: 24.0 },
    index_prefix_domain_map: {
      type: 'path',
      default: null,
      note:
        'YAML file mapping an index-name prefix to a list of domain names (all strings), read while the ' +
        'config is parsed; an empty file means unset, any other shape is a configuration error',
    },
    offline: { type: 'boolean', default: false },
    strip_attachment_payloads: { type: 'boolean', default: false },
    output: { type: 'path', default: null, note: 'folder for the JSON and CSV output files' },
    archive_directory: { type: 'path', default: null },
    aggregate_json_filename: { type: 'string', default: 'aggregate.json' },
    failure_json_filename: { type: 'string', default: 'failure.json' },
    forensic_json_filename: { type: 'string', aliasOf: 'failure_json_filename' },
    smtp_tls_json_filename: { type: 'string', default: 'smtp_tls.json' },
    aggregate_csv_filename: { type: 'string', default: 'aggregate.csv' },
    failure_csv_filename: { type: 'string', default: 'failure.csv' },
    forensic_csv_filename: { type: 'string', aliasOf: 'failure_csv_filename' },
    smtp_tls_csv_filename: { type: 'string', default: 'smtp_tls.csv' },
    dns_timeout: { type: 'float', default: 2.0 },
    dns_retries: { type: 'integer', default: 0 },
    dns_test_address: {
      type: 'string',
      default: '1.1.1.1',
      note: 'address whose PTR record the nameservers pre-flight check looks up',
    },
    nameservers: {
      type: 'list',
      default: null,
      note:
        'when set, a reverse lookup of dns_test_address through these servers runs while the config is ' +
        'parsed; an error or an empty answer is a configuration error',
    },
    save_aggregate: { type: 'boolean', default: false },
    save_failure: { type: 'boolean', default: false },
    save_forensic: { type: 'boolean', aliasOf: 'save_failure' },
    save_smtp_tls: { type: 'boolean', default: false },
    debug: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    warnings: { type: 'boolean', default: false },
    fail_on_output_error: { type: 'boolean', default: false },
    log_file: { type: 'path', default: null },
    n_procs: { type: 'integer', default: 1, note: 'values below 1 are taken as 1' },
    ip_db_path: { type: 'path', default: null },
    ipinfo_url: { type: 'string', default: null },
    ip_db_url: {
      type: 'string',
      aliasOf: 'ipinfo_url',
      note: 'the name before 9.10; deprecated, a warning is logged when it is used',
    },
    ipinfo_api_token: { type: 'string', default: null },
    always_use_local_files: { type: 'boolean', default: false },
    local_reverse_dns_map_path: { type: 'path', default: null },
    reverse_dns_map_url: { type: 'string', default: null },
    local_psl_overrides_path: { type: 'path', default: null },
    psl_overrides_url: { type: 'string', default: null },
    prettify_json: { type: 'boolean', default: true },
  },
  // Mailbox processing common to IMAP, Microsoft Graph, Gmail API and Maildir: folders, watching, deletion.
  mailbox: {
    reports_folder: {
      type: 'string',
      default: 'INBOX',
      note: '"Inbox" when both [mailbox] and [msgraph] are present; [imap] reports_folder, read later, wins',
    },
    archive_folder: { type: 'string', default: 'Archive' },
    watch: { type: 'boolean', default: false },
    delete: { type: 'boolean', default: false },
    delete_aggregate: { type: 'boolean', default: null, note: 'unset inherits delete' },
    delete_failure: { type: 'boolean', default: null, note: 'unset inherits delete' },
    delete_smtp_tls: { type: 'boolean', default: null, note: 'unset inherits delete' },
    delete_invalid: { type: 'boolean', default: null, note: 'unset inherits delete' },
    test: { type: 'boolean', default: false },
    batch_size: { type: 'integer', default: 10 },
    check_timeout: { type: 'integer', default: 30 },
    max_unsaved_retries: { type: 'integer', default: 2 },
    since: { type: 'string', default: null, note: 'e.g. 5m, 3h, 2d, 1w' },
  },
  // An IMAP mailbox to read reports from.
  imap: {
    host: { type: 'string', required: true },
    port: { type: 'integer', default: 993 },
    timeout: { type: 'integer', default: 30 },
    max_retries: { type: 'integer', default: 4 },
    ssl: { type: 'boolean', default: true },
    skip_certificate_verification: { type: 'boolean', default: false },
    user: { type: 'string', required: true },
    password: { type: 'string', required: true },
    reports_folder: {
      type: 'string',
      aliasOf: 'mailbox.reports_folder',
      note: 'deprecated (warning logged); read after [mailbox], so it wins over mailbox.reports_folder',
    },
    archive_folder: {
      type: 'string',
      aliasOf: 'mailbox.archive_folder',
      note: 'deprecated (warning logged); read after [mailbox], so it wins over mailbox.archive_folder',
    },
    watch: {
      type: 'boolean',
      aliasOf: 'mailbox.watch',
      note: 'deprecated (warning logged); read after [mailbox], so it wins over mailbox.watch',
    },
    delete: {
      type: 'boolean',
      note: 'deprecated and ignored: only a warning is logged, the value is not applied (use mailbox.delete)',
    },
    test: {
      type: 'boolean',
      aliasOf: 'mailbox.test',
      note: 'deprecated (warning logged); read after [mailbox], so it wins over mailbox.test',
    },
    batch_size: {
      type: 'integer',
      aliasOf: 'mailbox.batch_size',
      note: 'deprecated (warning logged); read after [mailbox], so it wins over mailbox.batch_size',
    },
  },
  // A Microsoft 365 mailbox read through Microsoft Graph.
  msgraph: {
    auth_method: {
      type: 'string',
      default: 'UsernamePassword',
      note:
        'UsernamePassword, DeviceCode, ClientSecret, Certificate or ClientAssertion, case-insensitive; ' +
        'any other value is a configuration error',
    },
    token_file: { type: 'path', default: '.token' },
    user: {
      type: 'string',
      default: null,
      note: 'required with UsernamePassword; optional with DeviceCode; ignored otherwise',
    },
    password: { type: 'string', default: null, note: 'required with UsernamePassword; ignored otherwise' },
    client_id: { type: 'string', required: true },
    client_secret: {
      type: 'string',
      default: null,
      note: 'required with UsernamePassword and ClientSecret; ignored otherwise',
    },
    tenant_id: { type: 'string', default: null, note: 'required with every method but UsernamePassword' },
    certificate_path: { type: 'path', default: null, note: 'required with Certificate; ignored otherwise' },
    certificate_password: { type: 'string', default: null, note: 'used with Certificate only' },
    client_assertion: {
      type: 'string',
      default: null,
      note: 'required with ClientAssertion; ignored otherwise',
    },
    mailbox: { type: 'string', default: null, note: 'required with every method but UsernamePassword' },
    graph_url: { type: 'string', default: 'https://graph.microsoft.com' },
    url: { type: 'string', aliasOf: 'graph_url' },
    allow_unencrypted_storage: { type: 'boolean', default: false },
  },
  // Saving reports to Elasticsearch.
  elasticsearch: {
    hosts: { type: 'list', required: true },
    timeout: { type: 'float', default: 60 },
    number_of_shards: { type: 'integer', default: 1 },
    number_of_replicas: {
      type: 'integer',
      default: 0,
      note: 'only read when number_of_shards is also given; ignored otherwise',
    },
    index_suffix: { type: 'string', default: null },
    index_prefix: { type: 'string', default: null },
    monthly_indexes: { type: 'boolean', default: false },
    ssl: { type: 'boolean', default: true },
    cert_path: { type: 'path', default: null },
    skip_certificate_verification: { type: 'boolean', default: false },
    user: { type: 'string', default: null },
    password: { type: 'string', default: null },
    apikey: {
      type: 'string',
      aliasOf: 'api_key',
      note: 'spelled apiKey until 8.20 (keys are case-insensitive); api_key, read later, wins',
    },
    api_key: { type: 'string', default: null },
    serverless: { type: 'boolean', default: false },
  },
  // Saving reports to OpenSearch.
  opensearch: {
    hosts: { type: 'list', required: true },
    timeout: { type: 'float', default: 60 },
    number_of_shards: { type: 'integer', default: 1 },
    number_of_replicas: {
      type: 'integer',
      default: 0,
      note: 'only read when number_of_shards is also given; ignored otherwise',
    },
    index_suffix: { type: 'string', default: null },
    index_prefix: { type: 'string', default: null },
    monthly_indexes: { type: 'boolean', default: false },
    ssl: { type: 'boolean', default: true },
    cert_path: { type: 'path', default: null },
    skip_certificate_verification: { type: 'boolean', default: false },
    user: { type: 'string', default: null },
    password: { type: 'string', default: null },
    apikey: {
      type: 'string',
      aliasOf: 'api_key',
      note: 'spelled apiKey until 8.20 (keys are case-insensitive); api_key, read later, wins',
    },
    api_key: { type: 'string', default: null },
    auth_type: { type: 'string', default: 'basic', note: 'basic or awssigv4; stripped and lowercased' },
    authentication_type: { type: 'string', aliasOf: 'auth_type', note: 'stripped and lowercased' },
    aws_region: { type: 'string', default: null, note: 'stripped' },
    aws_service: { type: 'string', default: 'es', note: 'stripped' },
  },
  // Sending reports to a Splunk HTTP Event Collector.
  splunk_hec: {
    url: { type: 'string', required: true },
    token: { type: 'string', required: true },
    index: { type: 'string', required: true },
    skip_certificate_verification: { type: 'boolean', default: false },
  },
  // Publishing reports to Kafka topics.
  kafka: {
    hosts: { type: 'list', required: true },
    user: { type: 'string', default: null },
    password: { type: 'string', default: null },
    ssl: {
      type: 'boolean',
      default: false,
      note: 'the documentation says the default is True; the code uses False',
    },
    skip_certificate_verification: { type: 'boolean', default: false },
    aggregate_topic: { type: 'string', required: true },
    failure_topic: { type: 'string', required: true, note: 'or its alias forensic_topic' },
    forensic_topic: { type: 'string', aliasOf: 'failure_topic' },
    smtp_tls_topic: { type: 'string', required: true },
  },
  // Emailing the results (over SMTP, or through the [msgraph] mailbox when that is configured).
  smtp: {
    host: {
      type: 'string',
      default: null,
      note: 'required unless [msgraph] is configured (then the email goes through Graph)',
    },
    user: { type: 'string', default: null, note: 'required when host is given' },
    password: { type: 'string', default: null, note: 'required when host is given' },
    from: {
      type: 'string',
      default: null,
      note: 'expected when host is given: its absence is logged as critical, not refused',
    },
    port: { type: 'integer', default: 25 },
    ssl: { type: 'boolean', default: false },
    skip_certificate_verification: { type: 'boolean', default: false },
    to: {
      type: 'list',
      default: null,
      note: 'unset is the empty list; its absence is logged as critical, not refused',
    },
    subject: { type: 'string', default: 'parsedmarc report' },
    attachment: { type: 'path', default: null },
    message: { type: 'string', default: 'Please see the attached DMARC results.' },
  },
  // Saving reports to an S3 bucket.
  s3: {
    bucket: { type: 'string', required: true },
    path: { type: 'string', default: '', note: 'one leading and one trailing "/" are removed' },
    region_name: { type: 'string', default: null },
    endpoint_url: { type: 'string', default: null },
    access_key_id: { type: 'string', default: null },
    secret_access_key: { type: 'string', default: null },
  },
  // Saving reports to PostgreSQL.
  postgresql: {
    connection_string: {
      type: 'string',
      default: null,
      note: 'libpq connection string or URI; when given, host, port, user, password and database are ignored',
    },
    host: { type: 'string', default: null, note: 'required unless connection_string is given' },
    port: { type: 'integer', default: 5432 },
    user: { type: 'string', default: null },
    password: { type: 'string', default: null },
    database: { type: 'string', default: null },
  },
  // Sending reports to a syslog server.
  syslog: {
    server: { type: 'string', required: true },
    port: {
      type: 'integer',
      default: 514,
      note: 'kept as the raw text while the config is read, converted with int() when the client starts',
    },
    protocol: { type: 'string', default: 'udp', note: 'udp, tcp or tls' },
    cafile_path: { type: 'path', default: null },
    certfile_path: { type: 'path', default: null },
    keyfile_path: { type: 'path', default: null },
    timeout: { type: 'float', default: 5.0 },
    retry_attempts: { type: 'integer', default: 3 },
    retry_delay: { type: 'integer', default: 5 },
  },
  // A Gmail mailbox read through the Gmail API.
  gmail_api: {
    credentials_file: { type: 'path', default: null },
    token_file: { type: 'path', default: '.token' },
    include_spam_trash: { type: 'boolean', default: false },
    paginate_messages: { type: 'boolean', default: true },
    scopes: { type: 'list', default: 'https://www.googleapis.com/auth/gmail.modify' },
    oauth2_port: { type: 'integer', default: 8080 },
    auth_mode: {
      type: 'string',
      default: 'installed_app',
      note: 'installed_app or service_account; stripped',
    },
    service_account_user: { type: 'string', default: null, note: 'stripped' },
    delegated_user: { type: 'string', aliasOf: 'service_account_user', note: 'stripped' },
  },
  // A local Maildir to read reports from.
  maildir: {
    maildir_path: { type: 'path', default: null },
    path: { type: 'path', aliasOf: 'maildir_path' },
    maildir_create: { type: 'boolean', default: false },
    create: {
      type: 'boolean',
      aliasOf: 'maildir_create',
      note: 'always converted, so a bad value fails even when maildir_create is given',
    },
  },
  // Sending reports to Azure Log Analytics through a data collection rule; active when dce is set.
  log_analytics: {
    client_id: { type: 'string', default: null },
    client_secret: { type: 'string', default: null },
    tenant_id: { type: 'string', default: null },
    dce: {
      type: 'string',
      default: null,
      note: 'data collection endpoint URL; unset disables Log Analytics',
    },
    dcr_immutable_id: { type: 'string', default: null },
    dcr_aggregate_stream: { type: 'string', default: null },
    dcr_failure_stream: { type: 'string', default: null },
    dcr_forensic_stream: {
      type: 'string',
      aliasOf: 'dcr_failure_stream',
      note: 'used when dcr_failure_stream is absent or empty',
    },
    dcr_smtp_tls_stream: { type: 'string', default: null },
  },
  // Sending reports to a Graylog (GELF) server.
  gelf: {
    host: { type: 'string', required: true },
    port: {
      type: 'integer',
      required: true,
      note: 'kept as the raw text while the config is read, converted with int() when the client starts',
    },
    mode: { type: 'string', required: true, note: 'tcp, udp or tls' },
  },
  // Posting each report as JSON to webhook URLs.
  webhook: {
    aggregate_url: { type: 'string', default: null },
    failure_url: { type: 'string', default: null },
    forensic_url: { type: 'string', aliasOf: 'failure_url' },
    smtp_tls_url: { type: 'string', default: null },
    timeout: { type: 'integer', default: 60 },
  },
} as const satisfies ParsedmarcIniCatalogue;

export type ParsedmarcIniSection = keyof typeof PARSEDMARC_INI_KEYS;

/**
 * The original's `_KNOWN_SECTIONS`: the sections an environment variable `PARSEDMARC_{SECTION}_{KEY}` can
 * address (the longest matching section name wins, so SPLUNK_HEC_URL is [splunk_hec] url).
 */
export const PARSEDMARC_KNOWN_SECTIONS: readonly ParsedmarcIniSection[] = [
  'general',
  'mailbox',
  'imap',
  'msgraph',
  'elasticsearch',
  'opensearch',
  'splunk_hec',
  'kafka',
  'smtp',
  's3',
  'postgresql',
  'syslog',
  'gmail_api',
  'maildir',
  'log_analytics',
  'gelf',
  'webhook',
];

/** The original's `_ENV_ALIASES`: variables outside the PARSEDMARC_{SECTION}_{KEY} pattern. */
export const PARSEDMARC_ENV_ALIASES: Readonly<Record<string, readonly [section: string, key: string]>> = {
  DEBUG: ['general', 'debug'],
  PARSEDMARC_DEBUG: ['general', 'debug'],
};

/**
 * The original's `_DIRECT_FILE_KEYS`: `PARSEDMARC_` + one of these is the key itself (a key whose name
 * ends in `_file`), not a `_FILE` reference to a file holding the secret.
 */
export const PARSEDMARC_DIRECT_FILE_KEYS: readonly string[] = [
  'GENERAL_LOG_FILE',
  'MSGRAPH_TOKEN_FILE',
  'GMAIL_API_CREDENTIALS_FILE',
  'GMAIL_API_TOKEN_FILE',
];

/**
 * Names of the environment-variable scheme: `PARSEDMARC_{SECTION}_{KEY}` sets a key (and creates its
 * section), `PARSEDMARC_{SECTION}_{KEY}_FILE` reads it from a file (trailing CR/LF removed) and wins over the
 * plain variable, and `PARSEDMARC_CONFIG_FILE` names the INI file itself (the -c flag wins over it).
 */
export const PARSEDMARC_ENV = {
  prefix: 'PARSEDMARC_',
  fileSuffix: '_FILE',
  configFile: 'PARSEDMARC_CONFIG_FILE',
} as const;
