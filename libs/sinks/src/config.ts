/**
 * The validated settings of every sink: one schema, composed into the CLI's configuration and read by the
 * sink services. The registry (registry.ts) builds a sink for each section that is set. Adding a sink
 * means a section here, an entry in the registry, and the flags or variables that fill it.
 */
import { z } from 'zod';

/** Which report types a search or event sink receives (the original's --save-* flags). */
export const saveSchema = z.object({ aggregate: z.boolean(), forensic: z.boolean(), smtpTls: z.boolean() });
export type SaveSelection = z.infer<typeof saveSchema>;

const saveKeyOf = { aggregate: 'aggregate', forensic: 'forensic', smtp_tls: 'smtpTls' } as const;

/** Whether the selection saves reports of this type. */
export const saves = (save: SaveSelection, reportType: keyof typeof saveKeyOf): boolean =>
  save[saveKeyOf[reportType]];

/** How a Kafka client reaches the brokers: TLS and SASL PLAIN, as the original's [kafka] user/password/ssl. */
export const kafkaSecuritySchema = z
  .object({
    user: z.string().min(1).nullable(),
    password: z.string().nullable(),
    /** TLS to the brokers; implied by a user or password, as in the original. */
    ssl: z.boolean(),
    skipCertificateVerification: z.boolean(),
    /** PEM file of the CA that signed the brokers' certificates. */
    caFile: z.string().min(1).nullable(),
  })
  .refine((c) => c.password === null || c.user !== null, { message: 'a password needs a user' });
export type KafkaSecurity = z.infer<typeof kafkaSecuritySchema>;

export const kafkaSecurityDefaults = {
  user: null,
  password: null,
  ssl: false,
  skipCertificateVerification: false,
  caFile: null,
} as const satisfies KafkaSecurity;

export const kafkaSinkConfigSchema = z
  .object({
    hosts: z.array(z.string().min(1)).min(1),
    aggregateTopic: z.string().min(1),
    forensicTopic: z.string().min(1),
    smtpTlsTopic: z.string().min(1),
    /**
     * avro: our report topics through the schema registry (what the pipeline's stages read); json: the
     * original's messages, one per aggregate record, for consumers written against it.
     */
    format: z.enum(['avro', 'json']),
    registryUrl: z
      .url({
        error:
          '--schema-registry (or PARSEDMARC_SCHEMA_REGISTRY_URL) must be the URL of a Confluent-API schema registry; Kafka topics carry Avro',
      })
      .nullable(),
    security: kafkaSecuritySchema,
    /** The report types sent (the original's save_*); null: every report, as the pipeline's topics carry. */
    save: saveSchema.nullable(),
  })
  .refine((c) => c.format !== 'avro' || c.registryUrl !== null, {
    path: ['registryUrl'],
    message: 'Avro topics need a schema registry: give --schema-registry (or [kafka] schema_registry_url)',
  });
export type KafkaSinkConfig = z.infer<typeof kafkaSinkConfigSchema>;

/** Brokers as given to the original ("host", "host:port"); Kafka's default port when none. */
export const kafkaBrokers = (hosts: readonly string[]): string[] =>
  hosts.map((h) => (/:\d+$/.test(h) ? h : `${h}:9092`));

/** "host", "host:port" or a URL, as the original takes them; normalized to a URL (http, port 9200 when none). */
export const searchHostSchema = z
  .string()
  .min(1)
  .transform((value, ctx) => {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      ctx.addIssue({ code: 'custom', message: `not a host, host:port or URL: ${value}` });
      return z.NEVER;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `only http and https are supported: ${value}` });
      return z.NEVER;
    }
    if (url.username || url.password) {
      // Credentials in a URL end up in logs and process lists; they have options of their own.
      ctx.addIssue({
        code: 'custom',
        message: 'give the user and password with their own options, not in the URL',
      });
      return z.NEVER;
    }
    if (!url.port && !/^[a-z]+:\/\/[^/]+:\d+/i.test(withScheme)) url.port = '9200';
    return url.origin + url.pathname.replace(/\/+$/, '');
  });

/** Elasticsearch 8.x or OpenSearch 2.x/3.x (told apart from the server's answer). */
export const searchSinkConfigSchema = z
  .object({
    hosts: z.array(searchHostSchema).min(1),
    user: z.string().min(1).nullable(),
    password: z.string().nullable(),
    apiKey: z.string().min(1).nullable(),
    /** PEM file of the CA that signed the server's certificate. */
    caFile: z.string().min(1).nullable(),
    skipCertificateVerification: z.boolean(),
    /** Seconds one request may take before it is abandoned and retried. */
    timeoutSeconds: z.number().positive().max(3600),
    indexPrefix: z.string().nullable(),
    indexSuffix: z.string().nullable(),
    monthlyIndexes: z.boolean(),
    /** The forensic index family: the documented original's word, or RFC 9991's as the newer original writes it. */
    forensicIndexBase: z.enum(['dmarc_forensic', 'dmarc_failure']),
    numberOfShards: z.number().int().min(1).max(1024),
    numberOfReplicas: z.number().int().min(0).max(64),
    save: saveSchema,
    /** Documents per bulk request, and its size in bytes (a single bigger document is refused). */
    bulkDocuments: z.number().int().min(1).max(100_000),
    bulkBytes: z
      .number()
      .int()
      .min(1024)
      .max(100 * 1024 * 1024),
    /** How long transient failures (server away, 429, 5xx) are retried before the sink gives up. */
    retryBudgetSeconds: z.number().min(0).max(86_400),
    /**
     * How long the first connection is retried: short for a command (a typo in the host should not hang
     * it for minutes), long for a service starting beside its server.
     */
    connectRetrySeconds: z.number().min(0).max(86_400),
  })
  .refine((c) => !(c.user !== null && c.apiKey !== null), {
    message: 'give either a user and password or an API key, not both',
  })
  .refine((c) => c.password === null || c.user !== null, { message: 'a password needs a user' });
export type SearchSinkConfig = z.infer<typeof searchSinkConfigSchema>;

export const searchSinkDefaults = {
  user: null,
  password: null,
  apiKey: null,
  caFile: null,
  skipCertificateVerification: false,
  timeoutSeconds: 60,
  indexPrefix: null,
  indexSuffix: null,
  monthlyIndexes: false,
  forensicIndexBase: 'dmarc_forensic',
  numberOfShards: 1,
  numberOfReplicas: 0,
  bulkDocuments: 2000,
  bulkBytes: 8 * 1024 * 1024,
  retryBudgetSeconds: 300,
  connectRetrySeconds: 10,
} as const satisfies Partial<SearchSinkConfig>;

/** The collector's URL: only its scheme, host and port count (the original drops the path too). */
export const hecUrlSchema = z.string().transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`);
  } catch {
    ctx.addIssue({ code: 'custom', message: `not a URL: ${value}` });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `only http and https are supported: ${value}` });
    return z.NEVER;
  }
  if (url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: 'give the token with its own option, not in the URL' });
    return z.NEVER;
  }
  return url.origin;
});

/** A Splunk HTTP Event Collector (or anything speaking its protocol). */
export const hecSinkConfigSchema = z.object({
  url: hecUrlSchema,
  /** The HEC token, without the "Splunk " scheme word (removed when given with it). */
  token: z
    .string()
    .transform((t) => t.trim().replace(/^Splunk(\s+|$)/i, ''))
    .pipe(z.string().min(1, { message: 'the HEC token is empty' })),
  /** The Splunk index; null leaves it to the token's default index. */
  index: z.string().min(1).nullable(),
  /** The events' host field; null: this machine's name. */
  host: z.string().min(1).nullable(),
  source: z.string().min(1),
  forensicSourcetype: z.enum(['dmarc:forensic', 'dmarc:failure']),
  caFile: z.string().min(1).nullable(),
  skipCertificateVerification: z.boolean(),
  timeoutSeconds: z.number().positive().max(3600),
  save: saveSchema,
  /** Events per request, and the request's size before compression (a single bigger event goes alone). */
  batchEvents: z.number().int().min(1).max(100_000),
  batchBytes: z
    .number()
    .int()
    .min(1024)
    .max(800 * 1024 * 1024),
  gzip: z.boolean(),
  /** How long transient failures (collector away, busy, 5xx) are retried before the sink gives up. */
  retryBudgetSeconds: z.number().min(0).max(86_400),
  /** How long the first connection is retried (short for a command, long for a service). */
  connectRetrySeconds: z.number().min(0).max(86_400),
  /**
   * With indexer acknowledgement on (the collector answers with ackIds): how long a request may stay
   * unacknowledged before it is sent again, and how many bytes may wait for acknowledgement at once.
   */
  ackTimeoutSeconds: z.number().positive().max(86_400),
  maxUnackedBytes: z
    .number()
    .int()
    .min(1024)
    .max(4 * 1024 * 1024 * 1024),
});
export type HecSinkConfig = z.infer<typeof hecSinkConfigSchema>;

export const hecSinkDefaults = {
  index: null,
  host: null,
  source: 'parsedmarc',
  forensicSourcetype: 'dmarc:forensic',
  caFile: null,
  skipCertificateVerification: false,
  timeoutSeconds: 60,
  batchEvents: 5000,
  batchBytes: 4 * 1024 * 1024,
  gzip: true,
  retryBudgetSeconds: 300,
  connectRetrySeconds: 10,
  ackTimeoutSeconds: 120,
  maxUnackedBytes: 64 * 1024 * 1024,
} as const satisfies Partial<HecSinkConfig>;

/** A plausible mailbox address (local@domain), without display name; the server decides the rest. */
const mailAddress = z
  .string()
  .trim()
  .regex(/^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+$/, { message: 'not an email address (local@domain)' });

/** Emailing the results (the original's email_results), with a digest of our own. */
export const emailSinkConfigSchema = z.object({
  host: z.string().min(1),
  /** null: 465 with ssl, else 25 (the original's defaults). */
  port: z.number().int().min(1).max(65535).nullable(),
  /** Implicit TLS from the start; otherwise STARTTLS when the server offers it. */
  ssl: z.boolean(),
  /** AUTH when a user is given. */
  user: z.string().min(1).nullable(),
  password: z.string().nullable(),
  skipCertificateVerification: z.boolean(),
  caFile: z.string().min(1).nullable(),
  from: mailAddress,
  to: z.array(mailAddress).min(1),
  /** null: "DMARC results for YYYY-MM-DD" (local date). */
  subject: z.string().min(1).nullable(),
  /** The zip's name ("DMARC-YYYY-MM-DD.zip" when null; ".zip" added when missing). */
  attachment: z.string().min(1).nullable(),
  /** The plain-text body's first line (default: the subject). */
  message: z.string().nullable(),
  /** The HTML digest and its plain-text twin in the message (off: the original's bare message). */
  digest: z.boolean(),
  timeoutSeconds: z.number().positive().max(3600),
  /** How long a server away or answering 4xx is retried before the sending fails. */
  retryBudgetSeconds: z.number().min(0).max(86_400),
});
export type EmailSinkConfig = z.infer<typeof emailSinkConfigSchema>;

export const emailSinkDefaults = {
  port: null,
  ssl: false,
  user: null,
  password: null,
  skipCertificateVerification: false,
  caFile: null,
  subject: null,
  attachment: null,
  message: null,
  digest: true,
  timeoutSeconds: 60,
  retryBudgetSeconds: 120,
} as const satisfies Partial<EmailSinkConfig>;

/** Sending each report's flat rows to a syslog server (the original's [syslog]). */
export const syslogSinkConfigSchema = z
  .object({
    server: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    protocol: z.enum(['udp', 'tcp', 'tls']),
    /** TLS: the CA that signed the server's certificate (default: the system's). */
    caFile: z.string().min(1).nullable(),
    /** TLS: a client certificate and its key, for servers that ask for one. */
    certFile: z.string().min(1).nullable(),
    keyFile: z.string().min(1).nullable(),
    /** TCP and TLS: seconds a connection may take. */
    timeoutSeconds: z.number().positive().max(3600),
    /** TCP and TLS: connection attempts, and seconds between them (the original's retry_attempts/_delay). */
    retryAttempts: z.number().int().min(1).max(1000),
    retryDelaySeconds: z.number().min(0).max(3600),
    save: saveSchema,
  })
  .refine((c) => (c.certFile === null) === (c.keyFile === null), {
    message: 'a client certificate needs both certfile_path and keyfile_path',
  });
export type SyslogSinkConfig = z.infer<typeof syslogSinkConfigSchema>;

export const syslogSinkDefaults = {
  port: 514,
  protocol: 'udp',
  caFile: null,
  certFile: null,
  keyFile: null,
  timeoutSeconds: 5,
  retryAttempts: 3,
  retryDelaySeconds: 5,
} as const satisfies Partial<SyslogSinkConfig>;

/** A webhook URL: http or https, kept whole (its path may hold the receiver's secret). */
const webhookUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).nullable();

/** Posting each report to a URL of its type (the original's [webhook]). */
export const webhookSinkConfigSchema = z
  .object({
    aggregateUrl: webhookUrl,
    forensicUrl: webhookUrl,
    smtpTlsUrl: webhookUrl,
    /** Indented JSON, or one line (prettify_json off). */
    prettify: z.boolean(),
    save: saveSchema,
    caFile: z.string().min(1).nullable(),
    skipCertificateVerification: z.boolean(),
    timeoutSeconds: z.number().positive().max(3600),
    /** How long a receiver away or answering 408, 429 or 5xx is retried before the run fails. */
    retryBudgetSeconds: z.number().min(0).max(86_400),
  })
  .refine((c) => c.aggregateUrl !== null || c.forensicUrl !== null || c.smtpTlsUrl !== null, {
    message: 'give at least one of aggregate_url, failure_url and smtp_tls_url',
  });
export type WebhookSinkConfig = z.infer<typeof webhookSinkConfigSchema>;

export const webhookSinkDefaults = {
  aggregateUrl: null,
  forensicUrl: null,
  smtpTlsUrl: null,
  prettify: true,
  caFile: null,
  skipCertificateVerification: false,
  timeoutSeconds: 60,
  retryBudgetSeconds: 120,
} as const satisfies Partial<WebhookSinkConfig>;

/** A file name inside the -o folder: no folder part, nothing that leaves it. */
const outputFileName = z
  .string()
  .min(1)
  .refine((name) => !/[/\\\0]/.test(name) && name !== '.' && name !== '..', {
    message: 'a file name inside the output folder, without a folder part',
  });

/** The names of the six files of the -o folder (the original's *_json_filename / *_csv_filename). */
export const outputFilesSchema = z
  .object({
    aggregateJson: outputFileName,
    forensicJson: outputFileName,
    smtpTlsJson: outputFileName,
    aggregateCsv: outputFileName,
    forensicCsv: outputFileName,
    smtpTlsCsv: outputFileName,
  })
  .refine((files) => new Set(Object.values(files)).size === Object.values(files).length, {
    message: 'the six output file names (*_json_filename, *_csv_filename) must all differ',
  });
export type OutputFiles = z.infer<typeof outputFilesSchema>;

export const outputFilesDefaults = {
  aggregateJson: 'aggregate.json',
  forensicJson: 'forensic.json',
  smtpTlsJson: 'smtp_tls.json',
  aggregateCsv: 'aggregate.csv',
  forensicCsv: 'forensic.csv',
  smtpTlsCsv: 'smtp_tls.csv',
} as const satisfies OutputFiles;

export const sinksConfigSchema = z.object({
  /** The combined JSON on stdout (null with -s); prettify false: one line (--no-prettify-json). */
  stdout: z.object({ prettify: z.boolean() }).nullable(),
  /** The -o folder and the names of its files. */
  outputDir: z.object({ path: z.string().min(1), files: outputFilesSchema }).nullable(),
  kafka: kafkaSinkConfigSchema.nullable(),
  elasticsearch: searchSinkConfigSchema.nullable(),
  opensearch: searchSinkConfigSchema.nullable(),
  hec: hecSinkConfigSchema.nullable(),
  webhook: webhookSinkConfigSchema.nullable(),
  syslog: syslogSinkConfigSchema.nullable(),
  /** Emailing the results: closed last, after every other output. */
  email: emailSinkConfigSchema.nullable(),
});
export type SinksConfig = z.infer<typeof sinksConfigSchema>;
