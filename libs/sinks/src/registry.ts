/**
 * The one place sinks are built: from the validated SinksConfig, in a fixed order (Kafka, stdout, the -o
 * folder, the search servers, Splunk HEC, webhooks, syslog, email), each only when its section is set. The embedded
 * CLI and the sink services both open their sinks here. Modules with heavy clients load only when their sink is configured, so a
 * plain parse starts fast.
 */
import type { Writable } from 'node:stream';
import type { SinksConfig } from './config.js';
import type { ResultSink } from './contract.js';
import { OutputDirSink } from './files.js';
import { StdoutJsonSink } from './stdout.js';

export interface SinkContext {
  /** Where the stdout sink writes (default process.stdout). */
  stdout?: Writable;
  /** One-line notices (a server that is reached in clear, a sink that will receive nothing). */
  warn(line: string): void;
  /** Kafka client id, Elasticsearch user agent... (default "parsedmarc-cli"). */
  clientId?: string;
}

type SinkKey = keyof SinksConfig;

interface SinkDefinition<K extends SinkKey> {
  key: K;
  open(settings: Exclude<SinksConfig[K], null>, context: SinkContext): Promise<ResultSink>;
}

const define = <K extends SinkKey>(definition: SinkDefinition<K>): SinkDefinition<K> => definition;

const definitions = [
  define({
    key: 'kafka',
    open: async (settings, context) =>
      (await import('./kafka.js')).KafkaSink.open(settings, context.clientId),
  }),
  define({
    key: 'stdout',
    open: async (settings, context) =>
      new StdoutJsonSink(context.stdout ?? process.stdout, settings.prettify),
  }),
  define({ key: 'outputDir', open: async (settings) => new OutputDirSink(settings.path, settings.files) }),
  define({
    key: 'elasticsearch',
    open: async (settings, context) =>
      (await import('./search/sink.js')).SearchSink.open('elasticsearch', settings, context),
  }),
  define({
    key: 'opensearch',
    open: async (settings, context) =>
      (await import('./search/sink.js')).SearchSink.open('opensearch', settings, context),
  }),
  define({
    key: 'hec',
    open: async (settings, context) => (await import('./hec/sink.js')).HecSink.open(settings, context),
  }),
  define({
    key: 'webhook',
    open: async (settings, context) =>
      (await import('./webhook/sink.js')).WebhookSink.open(settings, context),
  }),
  define({
    key: 'syslog',
    open: async (settings, context) => (await import('./syslog/sink.js')).SyslogSink.open(settings, context),
  }),
  // Last: closed after every other output, as the original emails after saving.
  define({
    key: 'email',
    open: async (settings, context) => (await import('./email/sink.js')).EmailSink.open(settings, context),
  }),
];

/**
 * Opens every configured sink. When one cannot be opened, those already open are closed and the error is
 * thrown (a SinkError: configuration errors have isConfiguration set).
 */
export async function openSinks(config: SinksConfig, context: SinkContext): Promise<ResultSink[]> {
  const sinks: ResultSink[] = [];
  try {
    for (const definition of definitions as SinkDefinition<SinkKey>[]) {
      const settings = config[definition.key];
      if (settings === null) continue;
      sinks.push(await definition.open(settings as never, context));
    }
  } catch (error) {
    for (const sink of sinks) await (sink.discard?.() ?? sink.close()).catch(() => undefined);
    throw error;
  }
  return sinks;
}

/** Closes every sink, even when one fails; the first failure is thrown afterwards. */
export async function closeSinks(sinks: readonly ResultSink[]): Promise<void> {
  let first: unknown = null;
  for (const sink of sinks) {
    try {
      await sink.close();
    } catch (error) {
      first ??= error;
    }
  }
  if (first !== null) throw first;
}
