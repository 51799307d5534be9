/**
 * `parsedmarc`: the embedded default. Parses the given files and folders (and, with -H, a mailbox) in one
 * process, enriches the results, and writes them to stdout and the -o folder. A bad input never stops the
 * run: it is reported on one stderr line naming the input and the reason, and the others go on.
 *
 * Exit status: 0 when every input parsed; 1 when some input could not be parsed (all others were still
 * processed and written); 2 for a usage or configuration error.
 */
import type { Writable } from 'node:stream';
import { CommanderError } from 'commander';
import type { ParseError } from '@parsedmarc-ts/parser';
import { parseArgs } from './args.js';
import { ConfigError, resolveCliConfig, type CliConfig } from './config.js';
import { expandInputPaths } from './inputs.js';
import { stat } from 'node:fs/promises';
import { convertOutlookMsg } from '@parsedmarc-ts/api';
import { runFiles } from './pipeline.js';
import { createProgress } from './progress.js';
import { OutputDirSink, StdoutJsonSink, type ResultSink } from './sinks.js';
import { createEnrichStage } from './enrich-stage.js';

export interface MainIo {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

const defaultIo = (): MainIo => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

/** Features whose flags are accepted (same meaning as the original) but whose outputs land with later issues. */
function unavailableFeatures(config: CliConfig): string[] {
  const missing: string[] = [];
  if (config.elasticsearch) missing.push('Elasticsearch (-E)');
  if (config.hec) missing.push('Splunk HEC (--hec)');
  if (config.outgoing) missing.push('emailing results (-O)');
  return missing;
}

export async function main(argv: string[], io: MainIo = defaultIo()): Promise<number> {
  let config: CliConfig;
  try {
    const { options, filePaths } = parseArgs(argv, (cmd) =>
      cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) }),
    );
    config = resolveCliConfig(options, filePaths, io.env);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`parsedmarc: ${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const missing = unavailableFeatures(config);
  if (missing.length > 0) {
    io.stderr.write(`parsedmarc: not available in this version yet: ${missing.join(', ')}\n`);
    return 2;
  }

  const warn = (line: string): void => {
    io.stderr.write(`parsedmarc: ${line}\n`);
  };
  // The mailbox module pulls in the IMAP client; load it only when a mailbox or a folder (maybe a Maildir) is
  // given, so that parsing a file starts fast.
  const mailbox = config.imap || (await anyDirectory(config.filePaths)) ? await import('./mailbox.js') : null;
  const paths = mailbox ? await mailbox.expandMaildirInputs(config.filePaths) : config.filePaths;
  const { files, problems } = await expandInputPaths(paths);
  let failures = problems.length;
  for (const problem of problems) warn(`${problem.path}: ${problem.message}`);

  if (config.kafka?.publishRawMail) {
    const { publishRawMail } = await import('./kafka.js');
    return (await publishRawMail(config.kafka, files, warn)) + failures > 0 ? 1 : 0;
  }

  const sinks: ResultSink[] = [];
  if (config.kafka) {
    const { KafkaSink } = await import('./kafka.js');
    sinks.push(await KafkaSink.open(config.kafka));
  }
  if (!config.silent) sinks.push(new StdoutJsonSink(io.stdout));
  if (config.outputDir) sinks.push(new OutputDirSink(config.outputDir));

  const progress = createProgress(io.stderr, files.length, config.progress && !config.silent);
  let enrichStage;
  try {
    enrichStage = await createEnrichStage(config, (obj, msg) =>
      warn(`${msg}${Object.keys(obj).length > 0 ? ` ${JSON.stringify(obj)}` : ''}`),
    );
  } catch (error) {
    // A bad --ip-db or --sender-map file: a configuration error, named by the enrichment library.
    warn((error as Error).message);
    return 2;
  }
  try {
    const stats = await runFiles(files, {
      sinks,
      enrich: enrichStage.enrich,
      convertOutlookMsg,
      onError: (source: string, error: ParseError) => {
        progress.clear();
        warn(`${source}: ${error.code}: ${error.message}`);
      },
      onProgress: (event) => progress.update(event),
    });
    failures += stats.failures;
    if (config.imap && mailbox) {
      const mail = await mailbox.runMailbox(config.imap, {
        sinks,
        enrich: enrichStage.enrich,
        convertOutlookMsg,
        onError: (source: string, error: ParseError) => warn(`${source}: ${error.code}: ${error.message}`),
        log: warn,
        progress: { stream: io.stderr, enabled: config.progress && !config.silent },
      });
      failures += mail.failures;
    }
  } finally {
    progress.done();
    await enrichStage.close();
    for (const sink of sinks) await sink.close();
  }
  return failures > 0 ? 1 : 0;
}

async function anyDirectory(paths: readonly string[]): Promise<boolean> {
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (info?.isDirectory()) return true;
  }
  return false;
}
