/**
 * `parsedmarc`: the embedded default. Parses the given files and folders (and, with -H, a mailbox) in one
 * process, enriches the results, and writes them to stdout and the -o folder. A bad input never stops the
 * run: it is reported on one stderr line naming the input and the reason, and the others go on.
 *
 * Exit status: 0 when every input parsed; 1 when some input could not be parsed (all others were still
 * processed and written); 2 for a usage or configuration error.
 */
import type { Writable } from 'node:stream';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import type { ParseError } from '@parsedmarc-ts/parser';
import { convertOutlookMsg, EmbeddedPipeline, fileInput } from '@parsedmarc-ts/pipeline';
import { closeSinks, openSinks, SinkError, type ResultSink, type SinkRefusal } from '@parsedmarc-ts/sinks';
import { parseArgs, type RawCliOptions } from './args.js';
import { ConfigError, resolveCliConfig, type CliConfig } from './config.js';
import { expandMaildirInputs, walkInputPaths, type InputProblem } from './inputs.js';
import { createProgress } from './progress.js';
import { enricherOf } from './enricher.js';

export interface MainIo {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

const defaultIo = (): MainIo => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

export async function main(argv: string[], io: MainIo = defaultIo()): Promise<number> {
  let options: RawCliOptions;
  let config: CliConfig;
  try {
    const parsed = parseArgs(argv, (cmd) =>
      cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) }),
    );
    options = parsed.options;
    config = resolveCliConfig(options, parsed.filePaths, io.env);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2;
    }
    if (ConfigError.is(error)) {
      io.stderr.write(`parsedmarc: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const log = createLog(io.stderr, config.log);
  try {
    if (!config.imap?.watch) return await runOnce(config, io, log);
    // --watch: SIGINT/SIGTERM stop after the current batch; SIGHUP reads the configuration again after it,
    // as the original does, and goes on watching with the new one (the file inputs are not read again).
    for (;;) {
      const controller = new AbortController();
      let reload = false;
      const onHangUp = (): void => {
        reload = true;
        log.info('SIGHUP received: the configuration is read again after the current batch');
        controller.abort();
      };
      const onStop = (): void => controller.abort();
      process.on('SIGHUP', onHangUp);
      process.once('SIGINT', onStop);
      process.once('SIGTERM', onStop);
      let code: number;
      try {
        code = await runOnce(config, io, log, controller.signal);
      } finally {
        process.off('SIGHUP', onHangUp);
        process.off('SIGINT', onStop);
        process.off('SIGTERM', onStop);
      }
      if (!reload) return code;
      try {
        config = resolveCliConfig(options, [], io.env);
        log.info(`configuration read again${config.configFile ? ` from ${config.configFile}` : ''}`);
      } catch (error) {
        if (!ConfigError.is(error)) throw error;
        log.warn(`the configuration read again is refused, going on with the previous one: ${error.message}`);
        config = { ...config, filePaths: [] };
      }
      if (!config.imap?.watch) return await runOnce(config, io, log);
    }
  } finally {
    log.close();
  }
}

/**
 * Messages on stderr (and in the --log-file): warnings always, information with --verbose or --debug,
 * details (each input, each failure's context) with --debug.
 */
interface RunLog {
  warn(line: string): void;
  info(line: string): void;
  debug(line: string): void;
  close(): void;
}

/**
 * A message line as it may reach a terminal: report contents (a subject, a file name) come from strangers,
 * so control characters (an escape sequence, a NUL, a carriage return that hides the line) and direction
 * overrides are shown escaped, never sent raw.
 */
const printable = (line: string): string =>
  line.replace(
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

function createLog(stderr: MainIo['stderr'], settings: CliConfig['log']): RunLog {
  let fd: number | null = null;
  if (settings.file) {
    try {
      fd = openSync(settings.file, 'a');
    } catch (error) {
      // As the original: a log file that cannot be opened is a warning, not the end of the run.
      stderr.write(
        `parsedmarc: cannot write to the log file ${settings.file}: ${(error as Error).message}\n`,
      );
    }
  }
  const toFile = (level: string, line: string): void => {
    if (fd !== null) writeSync(fd, `${new Date().toISOString()} - ${level} - ${line}\n`);
  };
  return {
    warn(line) {
      const text = printable(line);
      stderr.write(`parsedmarc: ${text}\n`);
      toFile('WARNING', text);
    },
    info(line) {
      if (!settings.verbose) return;
      const text = printable(line);
      stderr.write(`parsedmarc: ${text}\n`);
      toFile('INFO', text);
    },
    debug(line) {
      if (!settings.debug) return;
      const text = printable(line);
      stderr.write(`parsedmarc: ${text}\n`);
      toFile('DEBUG', text);
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

/** The inputs given, plus the [maildir] (created first when asked to). */
async function inputPathsOf(config: CliConfig): Promise<string[]> {
  if (!config.maildir) return config.filePaths;
  if (config.maildir.create) {
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(config.maildir.path, sub), { recursive: true });
  }
  return [...config.filePaths, config.maildir.path];
}

/** One run: the file inputs, then the mailbox (until `signal` with --watch). Returns the exit status. */
async function runOnce(config: CliConfig, io: MainIo, log: RunLog, signal?: AbortSignal): Promise<number> {
  const warn = log.warn;
  for (const notice of config.notices) warn(notice);
  const inputPaths = await inputPathsOf(config);
  // The mailbox module pulls in the IMAP client (a megabyte of code to compile): loaded only with -H.
  const mailbox = config.imap ? await import('./mailbox.js') : null;
  const paths = await expandMaildirInputs(inputPaths);
  let failures = 0;
  const problem = (p: InputProblem): void => {
    failures += 1;
    warn(`${p.path}: ${p.message}`);
  };
  // Files as the walk finds them: parsing starts with the first, a huge folder is never listed whole.
  const files = (function* () {
    for (const file of walkInputPaths(paths, problem)) {
      log.debug(`input: ${file}`);
      yield file;
    }
  })();

  if (config.rawMail) {
    const { publishRawMail } = await import('./kafka.js');
    return (await publishRawMail(config.rawMail, files, warn)) + failures > 0 ? 1 : 0;
  }
  const { sinks: sinksConfig } = config;

  let sinks: ResultSink[];
  try {
    sinks = await openSinks(sinksConfig, { stdout: io.stdout, warn });
  } catch (error) {
    // A bad sink setting, refused credentials or a server that cannot be reached at start: nothing was
    // written yet, so this is a configuration problem of the run (exit 2).
    if (!SinkError.is(error)) throw error;
    warn(error.describe());
    return 2;
  }
  log.info(`writing to ${sinks.map((s) => s.name).join(', ') || 'nothing'}`);

  const progress = createProgress(io.stderr, config.progress && !config.silent);
  let enricher;
  try {
    enricher = await enricherOf(config, (obj, msg) =>
      warn(`${msg}${Object.keys(obj).length > 0 ? ` ${JSON.stringify(obj)}` : ''}`),
    );
  } catch (error) {
    // A bad --ip-db or --sender-map file: a configuration error, named by the enrichment library.
    warn((error as Error).message);
    await closeSinks(sinks).catch(() => undefined);
    return 2;
  }
  const pipeline = new EmbeddedPipeline({
    sinks,
    enrich: (parsed) => enricher.enrichReport(parsed),
    convertOutlookMsg,
    onError: (source: string, error: ParseError) => {
      progress.clear();
      warn(`${source}: ${error.code}: ${error.message}`);
      log.debug(`${source}: ${error.code} context: ${JSON.stringify(error.context)}`);
    },
    onRefused: (refusal: SinkRefusal) => {
      progress.clear();
      warn(`${refusal.source}: ${refusal.sink} refused it: ${refusal.code}: ${refusal.reason}`);
    },
  });
  let fatal = 0;
  try {
    await pipeline.run(mapped(files, fileInput), (filesDone) =>
      progress.update({ filesDone, reports: pipeline.stats.reports, failures: pipeline.stats.failures }),
    );
    await pipeline.flush();
    if (config.imap && mailbox) {
      const mail = await mailbox.runMailbox(config.imap, {
        pipeline,
        log: warn,
        progress: { stream: io.stderr, enabled: config.progress && !config.silent },
        batchSize: config.imap.batchSize,
        ...(config.imap.skipCertificateVerification ? { tls: { rejectUnauthorized: false } } : {}),
        ...(signal ? { signal } : {}),
      });
      failures += mail.fatal;
    }
  } catch (error) {
    // A sink that kept failing past its retry budget (a search server away for minutes): what was
    // flushed before is kept; a mailbox leaves the unflushed messages in place for the next run.
    if (!SinkError.is(error)) throw error;
    progress.clear();
    warn(error.describe());
    // A setting the target refuses only once data arrives (a Splunk index the token may not use): exit 2.
    fatal = error.isConfiguration ? 2 : 1;
  } finally {
    progress.done();
    await enricher.close();
  }
  try {
    // Also after a failure: closing writes what the formats need (the JSON arrays' closing brackets).
    await closeSinks(sinks);
  } catch (error) {
    if (!SinkError.is(error)) throw error;
    warn(error.describe());
    fatal = 1;
  }
  const { stats } = pipeline;
  log.info(
    `${stats.inputs} inputs, ${stats.reports} reports (${stats.records} records), ${stats.failures} inputs failed, ${stats.refused} refused`,
  );
  failures += stats.failures + stats.refused + fatal;
  return fatal === 2 ? 2 : failures > 0 ? 1 : 0;
}

function* mapped<T, U>(items: Iterable<T>, f: (item: T) => U): Generator<U> {
  for (const item of items) yield f(item);
}
