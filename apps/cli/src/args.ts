/**
 * The command line of the original parsedmarc (test/fixtures/conformance/documented/cli-help.txt), flag for flag, plus
 * this project's additions (--offline, SMTP TLS topic, "failure" aliases of the "forensic" flags, secrets
 * from files). Parsing only: values are validated by config.ts.
 */
import { createRequire } from 'node:module';
import { Command, Option } from 'commander';

/** The package's version, from its package.json (one place to bump it); src/ and dist/ sit beside it alike. */
export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export interface RawCliOptions {
  configFile?: string;
  recursive?: boolean;
  stripAttachmentPayloads?: boolean;
  output?: string;
  aggregateJsonFilename?: string;
  forensicJsonFilename?: string;
  failureJsonFilename?: string;
  smtpTlsJsonFilename?: string;
  aggregateCsvFilename?: string;
  forensicCsvFilename?: string;
  failureCsvFilename?: string;
  smtpTlsCsvFilename?: string;
  prettifyJson?: boolean;
  nameservers?: string[];
  timeout?: string;
  dns_timeout?: string;
  dnsTimeout?: string;
  dnsRetries?: string;
  offline?: boolean;
  ipDb?: string;
  senderMap?: string;
  host?: string;
  user?: string;
  password?: string;
  passwordFile?: string;
  imapPort?: string;
  imapNoSsl?: boolean;
  reportsFolder?: string;
  archiveFolder?: string;
  delete?: boolean;
  elasticsearchHost?: string[] | boolean;
  elasticsearchIndexPrefix?: string;
  elasticsearchIndexSuffix?: string;
  elasticsearchUser?: string;
  elasticsearchPassword?: string;
  elasticsearchPasswordFile?: string;
  elasticsearchApiKey?: string;
  elasticsearchApiKeyFile?: string;
  elasticsearchCaFile?: string;
  elasticsearchSkipCertificateVerification?: boolean;
  elasticsearchTimeout?: string;
  elasticsearchMonthlyIndexes?: boolean;
  elasticsearchFailureIndex?: boolean;
  elasticsearchNumberOfShards?: string;
  elasticsearchNumberOfReplicas?: string;
  elasticsearchRetrySeconds?: string;
  hec?: string;
  hecToken?: string;
  hecIndex?: string;
  hecSkipCertificateVerification?: boolean;
  hecTokenFile?: string;
  hecCaFile?: string;
  hecTimeout?: string;
  hecFailureSourcetype?: boolean;
  hecRetrySeconds?: string;
  hecAckTimeout?: string;
  kafkaHosts?: string[] | boolean;
  kafkaAggregateTopic?: string;
  kafkaForensic_topic?: string;
  kafkaForensicTopic?: string;
  kafkaFailureTopic?: string;
  kafkaSmtpTlsTopic?: string;
  schemaRegistry?: string;
  kafkaRawMailTopic?: string;
  publishRawMail?: boolean;
  saveAggregate?: boolean;
  saveForensic?: boolean;
  saveFailure?: boolean;
  saveSmtpTls?: boolean;
  outgoingHost?: string;
  outgoingUser?: string;
  outgoingPassword?: string;
  outgoingPort?: string;
  outgoingSsl?: string;
  outgoingFrom?: string;
  outgoingTo?: string[];
  outgoingSubject?: string;
  outgoingAttachment?: string;
  outgoingMessage?: string;
  outgoingPasswordFile?: string;
  outgoingSkipCertificateVerification?: boolean;
  outgoingCaFile?: string;
  outgoingRetrySeconds?: string;
  outgoingDigest?: boolean;
  watch?: boolean;
  test?: boolean;
  silent?: boolean;
  warnings?: boolean;
  verbose?: boolean;
  debug?: boolean;
  logFile?: string;
  progress?: boolean;
}

export interface ParsedArgs {
  options: RawCliOptions;
  filePaths: string[];
}

export function buildCommand(): Command {
  const cmd = new Command('parsedmarc')
    .description('Parses DMARC reports')
    .argument(
      '[file_path...]',
      'one or more paths to aggregate or forensic report files, emails, mbox files or folders',
    )
    .option(
      '-c, --config-file <CONFIG_FILE>',
      'A path to a parsedmarc.ini configuration file (--silent implied; its settings, then PARSEDMARC_* variables, override the flags)',
    )
    .option(
      '--recursive',
      'Accepted for the newer original: folders are always searched recursively (its short form -r stays --reports-folder here)',
    )
    .option(
      '--strip-attachment-payloads',
      'Remove attachment payloads from forensic (failure) report output (always so here: only their sha256 and size are kept)',
    )
    .option('-o, --output <OUTPUT>', 'Write output files to the given directory')
    .option(
      '--aggregate-json-filename <NAME>',
      'Filename for the aggregate JSON output file (Default: aggregate.json)',
    )
    .option(
      '--forensic-json-filename <NAME>',
      'Filename for the forensic JSON output file (Default: forensic.json)',
    )
    .option('--failure-json-filename <NAME>', 'Alias of --forensic-json-filename')
    .option(
      '--smtp-tls-json-filename <NAME>',
      'Filename for the SMTP TLS JSON output file (Default: smtp_tls.json)',
    )
    .option(
      '--aggregate-csv-filename <NAME>',
      'Filename for the aggregate CSV output file (Default: aggregate.csv)',
    )
    .option(
      '--forensic-csv-filename <NAME>',
      'Filename for the forensic CSV output file (Default: forensic.csv)',
    )
    .option('--failure-csv-filename <NAME>', 'Alias of --forensic-csv-filename')
    .option(
      '--smtp-tls-csv-filename <NAME>',
      'Filename for the SMTP TLS CSV output file (Default: smtp_tls.csv)',
    )
    .option('--no-prettify-json', 'Output JSON in a single line without indentation')
    .option(
      '-n, --nameservers <NAMESERVERS...>',
      "nameservers to query (Default is Cloudflare's nameservers)",
    )
    .option('-t, --timeout <TIMEOUT>', 'number of seconds to wait for an answer from DNS (Default: 2.0)')
    .addOption(new Option('--dns_timeout <TIMEOUT>', 'Same as --timeout (the newer original)').hideHelp())
    .addOption(new Option('--dns-timeout <TIMEOUT>', 'Same as --timeout').hideHelp())
    .option('--dns-retries <N>', 'DNS retries per nameserver after a timeout (Default: 1)')
    .option(
      '--offline',
      'Do not make any DNS query (reverse DNS and base domain stay empty; country still works)',
    )
    .option(
      '--ip-db <PATH>',
      'Path to your own MMDB IP-to-country database (MaxMind GeoLite2/GeoIP2 or DB-IP)',
    )
    .option(
      '--sender-map <CSV>',
      'Your own CSV of base_domain,name,type to name sending services (overrides the shipped map)',
    )
    .option('-H, --host <HOST>', 'IMAP hostname or IP address')
    .option('-u, --user <USER>', 'IMAP user')
    .option('-p, --password <PASSWORD>', 'IMAP password (prefer --password-file or PARSEDMARC_IMAP_PASSWORD)')
    .option('--password-file <PATH>', 'Read the IMAP password from this file')
    .option('--imap-port <IMAP_PORT>', 'IMAP port')
    .option('--imap-no-ssl', 'Do not use SSL/TLS when connecting to IMAP')
    .option(
      '-r, --reports-folder <REPORTS_FOLDER>',
      'The IMAP folder containing the reports (Default: INBOX)',
    )
    .option(
      '-a, --archive-folder <ARCHIVE_FOLDER>',
      'Specifies the IMAP folder to move messages to after processing them (Default: Archive)',
    )
    .option('-d, --delete', 'Delete the reports after processing them')
    .option(
      '-E, --elasticsearch-host [ELASTICSEARCH_HOST...]',
      'One or more Elasticsearch hostnames or URLs to use (e.g. localhost:9200)',
    )
    .option(
      '--elasticsearch-index-prefix <PREFIX>',
      'Prefix to add in front of the dmarc_aggregate and dmarc_forensic Elasticsearch index names, joined by _',
    )
    .option(
      '--elasticsearch-index-suffix <SUFFIX>',
      'Append this suffix to the dmarc_aggregate and dmarc_forensic Elasticsearch index names, joined by _',
    )
    .option(
      '--elasticsearch-user <USER>',
      'Elasticsearch/OpenSearch user (env PARSEDMARC_ELASTICSEARCH_USER)',
    )
    .option(
      '--elasticsearch-password <PASSWORD>',
      'Elasticsearch/OpenSearch password (prefer --elasticsearch-password-file or PARSEDMARC_ELASTICSEARCH_PASSWORD)',
    )
    .option(
      '--elasticsearch-password-file <PATH>',
      'Read the Elasticsearch/OpenSearch password from this file',
    )
    .option(
      '--elasticsearch-api-key <KEY>',
      'Elasticsearch API key, base64 "id:key" (prefer --elasticsearch-api-key-file or PARSEDMARC_ELASTICSEARCH_API_KEY)',
    )
    .option('--elasticsearch-api-key-file <PATH>', 'Read the Elasticsearch API key from this file')
    .option(
      '--elasticsearch-ca-file <PATH>',
      "PEM file of the CA that signed the server's certificate (env PARSEDMARC_ELASTICSEARCH_CERT_PATH)",
    )
    .option(
      '--elasticsearch-skip-certificate-verification',
      'Do not verify the TLS certificate of Elasticsearch',
    )
    .option('--elasticsearch-timeout <SECONDS>', 'Seconds one Elasticsearch request may take (Default: 60)')
    .option('--elasticsearch-monthly-indexes', 'One index per month instead of per day')
    .option(
      '--elasticsearch-failure-index',
      'Name the forensic indexes dmarc_failure (as the newer original does) instead of dmarc_forensic',
    )
    .option('--elasticsearch-number-of-shards <N>', 'Shards of each new index (Default: 1)')
    .option('--elasticsearch-number-of-replicas <N>', 'Replicas of each new index (Default: 0)')
    .option(
      '--elasticsearch-retry-seconds <SECONDS>',
      'How long to keep retrying while Elasticsearch is away or overloaded before giving up (Default: 300)',
    )
    .option('--hec <HEC>', 'URL to a Splunk HTTP Event Collector (HEC)')
    .option('--hec-token <HEC_TOKEN>', 'The authorization token for a Splunk HTTP Event Collector (HEC)')
    .option(
      '--hec-index <HEC_INDEX>',
      'The index to use when sending events to the Splunk HTTP Event Collector (HEC)',
    )
    .option('--hec-skip-certificate-verification', 'Skip certificate verification for Splunk HEC')
    .option(
      '--hec-token-file <PATH>',
      'Read the HEC token from this file (env PARSEDMARC_SPLUNK_HEC_TOKEN, PARSEDMARC_SPLUNK_HEC_TOKEN_FILE)',
    )
    .option('--hec-ca-file <PATH>', "PEM file of the CA that signed the collector's certificate")
    .option('--hec-timeout <SECONDS>', 'Seconds one HEC request may take (Default: 60)')
    .option(
      '--hec-failure-sourcetype',
      'Send forensic reports as sourcetype dmarc:failure (as the newer original does) instead of dmarc:forensic',
    )
    .option(
      '--hec-retry-seconds <SECONDS>',
      'How long to keep retrying while the collector is away or busy before giving up (Default: 300)',
    )
    .option(
      '--hec-ack-timeout <SECONDS>',
      'With indexer acknowledgement: seconds a request may stay unacknowledged before it is sent again (Default: 120)',
    )
    .option('-K, --kafka-hosts [KAFKA_HOSTS...]', 'A list of one or more Kafka hostnames or URLs')
    .option(
      '--kafka-aggregate-topic <TOPIC>',
      'The Kafka topic to publish aggregate reports to (Default: dmarc_aggregate)',
    )
    .option(
      '--kafka-forensic_topic <TOPIC>',
      'The Kafka topic to publish forensic reports to (Default: dmarc_forensic)',
    )
    .addOption(new Option('--kafka-forensic-topic <TOPIC>', 'Same as --kafka-forensic_topic').hideHelp())
    .option('--kafka-failure-topic <TOPIC>', 'Alias of --kafka-forensic_topic (RFC 9991 says "failure")')
    .option(
      '--kafka-smtp-tls-topic <TOPIC>',
      'The Kafka topic to publish SMTP TLS reports to (Default: dmarc_smtp_tls)',
    )
    .option(
      '--schema-registry <URL>',
      'Confluent-API schema registry: with -K, our Avro topics; without, the original JSON messages for the --save-* types',
    )
    .option(
      '--publish-raw-mail',
      'With -K: publish the input files as they are onto the raw-mail topic (for the report-parse service) instead of parsing them here',
    )
    .option('--kafka-raw-mail-topic <TOPIC>', 'The raw-mail topic for --publish-raw-mail (Default: raw-mail)')
    .option('--save-aggregate', 'Save aggregate reports to search indexes or Splunk')
    .option('--save-forensic', 'Save forensic reports to search indexes or Splunk')
    .option('--save-failure', 'Alias of --save-forensic')
    .option('--save-smtp-tls', 'Save SMTP TLS reports to search indexes or Splunk')
    .option('-O, --outgoing-host <OUTGOING_HOST>', 'Email the results using this host')
    .option('-U, --outgoing-user <OUTGOING_USER>', 'Email the results using this user')
    .option('-P, --outgoing-password <OUTGOING_PASSWORD>', 'Email the results using this password')
    .option('--outgoing-port <OUTGOING_PORT>', 'Email the results using this port')
    .option(
      '--outgoing-ssl <OUTGOING_SSL>',
      'Use SSL/TLS instead of STARTTLS (more secure, and required by some providers, like Gmail)',
    )
    .option('-F, --outgoing-from <OUTGOING_FROM>', 'Email the results using this from address')
    .option('-T, --outgoing-to <OUTGOING_TO...>', 'Email the results to these addresses')
    .option('-S, --outgoing-subject <OUTGOING_SUBJECT>', 'Email the results using this subject')
    .option('-A, --outgoing-attachment <OUTGOING_ATTACHMENT>', 'Email the results using this filename')
    .option('-M, --outgoing-message <OUTGOING_MESSAGE>', 'Email the results using this message')
    .option(
      '--outgoing-password-file <PATH>',
      'Read the SMTP password from this file (env PARSEDMARC_SMTP_PASSWORD, PARSEDMARC_SMTP_PASSWORD_FILE)',
    )
    .option('--outgoing-skip-certificate-verification', "Do not verify the SMTP server's certificate")
    .option('--outgoing-ca-file <PATH>', "PEM file of the CA that signed the SMTP server's certificate")
    .option(
      '--outgoing-retry-seconds <SECONDS>',
      'How long to keep retrying while the SMTP server is away or answers 4xx (Default: 120)',
    )
    .option('--no-outgoing-digest', 'Send only the message and the zip, without the HTML digest')
    .option('-w, --watch', 'Use an IMAP IDLE connection to process reports as they arrive in the inbox')
    .option('--test', 'Do not move or delete IMAP messages')
    .option('-s, --silent', 'Only print errors and warnings')
    .option(
      '--warnings',
      "Print warnings in addition to errors (they are always printed here; the newer original's -w stays --watch here)",
    )
    .option('--verbose', 'More verbose output (what is read and where it goes)')
    .option('--log-file <LOG_FILE>', 'Also append every message to this file')
    .option('--no-progress', 'Never show the progress bar (it shows only when stderr is a terminal)')
    .option('--debug', 'Print debugging information')
    .version(VERSION, '-v, --version', "show program's version number and exit")
    .helpOption('-h, --help', 'show this help message and exit')
    .showHelpAfterError()
    .exitOverride();
  return cmd;
}

/** Parses argv (without node and script). Throws commander's CommanderError on usage errors, -h and -v. */
export function parseArgs(argv: readonly string[], configure?: (cmd: Command) => void): ParsedArgs {
  const cmd = buildCommand();
  configure?.(cmd);
  cmd.parse([...argv], { from: 'user' });
  return { options: cmd.opts<RawCliOptions>(), filePaths: cmd.processedArgs[0] as string[] };
}
