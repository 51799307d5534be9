/**
 * Everything that needs the real IMAP server (Dovecot, tools/dovecot), in one file because the tests share
 * the server (one restarts it): the mailbox library's ingest protocol with a recording handler, then the
 * CLI's mailbox mode with the real parser and sinks over the sample corpus.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ImapSource,
  MailboxError,
  runIngest,
  type BatchHandler,
  type Disposition,
  type ImapSourceOptions,
  type MailMessage,
} from '@parsedmarc-ts/mailbox';
import { runMailbox, type ImapConfig, type MailboxRunOptions } from '../../apps/cli/src/mailbox.js';
import { startMailIngest } from '../../apps/mail-ingest/src/service.js';
import { ensureServers, readTopics, uniquePrefix } from '../pipeline/harness.js';
import { EventEmitter } from 'node:events';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { createHash } from 'node:crypto';
import { EmbeddedPipeline } from '@parsedmarc-ts/pipeline';
import {
  hecSinkConfigSchema,
  hecSinkDefaults,
  openSinks,
  OutputDirSink,
  type ResultItem,
  type ResultSink,
  type SinkRefusal,
} from '@parsedmarc-ts/sinks';
import { createToken, hecUrl, statsOf, updateToken, waitFor } from '../hec/receiver-client.js';
import {
  appendAll,
  corpusMessages,
  expectedFolder,
  referenceIndex,
  deliver,
  dovecot,
  folderCounts,
  imapServer,
  mailboxState,
  resetMailbox,
  samplesIn,
  repoRoot,
  type FolderState,
  type ImapServer,
} from './helpers.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let server: ImapServer;
beforeAll(() => {
  server = imapServer('dmarc');
});
beforeEach(() => resetMailbox(server.user));

const sourceOptions = (overrides: Partial<ImapSourceOptions> = {}): ImapSourceOptions => ({
  host: server.host,
  port: server.port,
  secure: false,
  noStartTls: true,
  user: server.user,
  password: server.password,
  folder: 'INBOX',
  ...overrides,
});

/** A test message whose X-Sample header says which disposition the recording handler gives it. */
const message = (n: number, kind: Disposition): Buffer =>
  Buffer.from(
    `X-Sample: ${kind}-${n}\r\nX-Kind: ${kind}\r\nFrom: a@example.com\r\nSubject: m${n}\r\n\r\nbody ${n} ${'x'.repeat(n % 50)}\r\n`,
  );

/** Classifies by the X-Kind header; records every batch and commit; can be told to fail. */
class RecordingHandler implements BatchHandler {
  batches: string[][] = [];
  commits = 0;
  failCommitAt: number | null = null;
  async process(messages: readonly MailMessage[]): Promise<Disposition[]> {
    this.batches.push(messages.map((m) => m.source));
    return messages.map((m) => /^X-Kind: (\S+)/m.exec(m.bytes.toString('latin1'))![1] as Disposition);
  }
  async commit(): Promise<void> {
    this.commits += 1;
    if (this.failCommitAt !== null && this.commits >= this.failCommitAt) throw new Error('disk full (test)');
  }
}

const kinds: Disposition[] = ['Aggregate', 'Forensic', 'SMTP-TLS', 'Invalid'];
const seed = (count: number): Buffer[] => Array.from({ length: count }, (_, i) => message(i, kinds[i % 4]!));

describe('ImapSource + runIngest against Dovecot', () => {
  it('moves each message to <archive>/<kind> after the batch was committed, creating the folders', async () => {
    await appendAll(server, seed(10));
    const handler = new RecordingHandler();
    const progress: number[] = [];
    const stats = await runIngest(() => ImapSource.connect(sourceOptions()), handler, {
      archiveFolder: ['Archive'],
      delete: false,
      test: false,
      watch: false,
      limits: { maxMessages: 4 },
      onProgress: (p) => progress.push(p.done),
    });
    expect(handler.batches.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(handler.batches[0]![0]).toBe('imap:INBOX/1');
    expect(handler.commits).toBe(3);
    expect(progress).toEqual([0, 4, 8, 10]);
    expect(stats.moved).toEqual({ Aggregate: 3, Forensic: 3, 'SMTP-TLS': 2, Invalid: 2 });
    const counts = await folderCounts(server);
    expect(counts).toMatchObject({
      INBOX: 0,
      'Archive/Aggregate': 3,
      'Archive/Forensic': 3,
      'Archive/SMTP-TLS': 2,
      'Archive/Invalid': 2,
    });
    expect(await samplesIn(server, 'Archive/Invalid')).toEqual(['Invalid-3', 'Invalid-7']);
  });

  it('bounds batches by bytes too', async () => {
    await appendAll(server, seed(6));
    const handler = new RecordingHandler();
    const size = message(0, 'Aggregate').length;
    await runIngest(() => ImapSource.connect(sourceOptions()), handler, {
      archiveFolder: ['Archive'],
      delete: true,
      test: false,
      watch: false,
      limits: { maxMessages: 100, maxBytes: size * 2 + 60 },
    });
    expect(handler.batches.every((b) => b.length <= 2)).toBe(true);
    expect(handler.batches.flat()).toHaveLength(6);
  });

  it('falls back to COPY + \\Deleted + UID EXPUNGE when MOVE is not used', async () => {
    await appendAll(server, seed(5));
    await appendAll(server, [Buffer.from('Subject: flagged by someone else\r\n\r\nx\r\n')], 'Other');
    const handler = new RecordingHandler();
    const source = await ImapSource.connect(sourceOptions({ forceCopyDelete: true }));
    expect(source.hasCapability('UIDPLUS')).toBe(true);
    await runIngest(async () => source, handler, {
      archiveFolder: ['Archive'],
      delete: false,
      test: false,
      watch: false,
    });
    expect(await folderCounts(server)).toMatchObject({
      INBOX: 0,
      'Archive/Aggregate': 2,
      'Archive/Forensic': 1,
      'Archive/SMTP-TLS': 1,
      'Archive/Invalid': 1,
      Other: 1,
    });
  });

  it('deletes instead of archiving with delete, and creates no folder', async () => {
    await appendAll(server, seed(7));
    const stats = await runIngest(() => ImapSource.connect(sourceOptions()), new RecordingHandler(), {
      archiveFolder: ['Archive'],
      delete: true,
      test: false,
      watch: false,
    });
    expect(stats.deleted).toBe(7);
    expect(await folderCounts(server)).toEqual({ INBOX: 0 });
  });

  it('changes nothing with test (read-only select: not even \\Seen)', async () => {
    await appendAll(server, seed(9));
    const before = await mailboxState(server);
    const handler = new RecordingHandler();
    await runIngest(() => ImapSource.connect(sourceOptions({ readOnly: true })), handler, {
      archiveFolder: ['Archive'],
      delete: false,
      test: true,
      watch: false,
      limits: { maxMessages: 4 },
    });
    expect(handler.batches.flat()).toHaveLength(9);
    expect(await mailboxState(server)).toEqual(before);
  });

  it('leaves a batch whose commit failed in place, after moving the batches committed before it', async () => {
    await appendAll(server, seed(10));
    const handler = new RecordingHandler();
    handler.failCommitAt = 2;
    const run = runIngest(() => ImapSource.connect(sourceOptions()), handler, {
      archiveFolder: ['Archive'],
      delete: false,
      test: false,
      watch: false,
      limits: { maxMessages: 4 },
    });
    await expect(run).rejects.toMatchObject({
      code: 'OUTPUT',
      context: { messages: expect.arrayContaining(['imap:INBOX/5']) },
    });
    const counts = await folderCounts(server);
    expect(counts.INBOX).toBe(6);
    expect(await samplesIn(server, 'INBOX')).toEqual(
      ['Aggregate-4', 'Forensic-5', 'SMTP-TLS-6', 'Invalid-7', 'Aggregate-8', 'Forensic-9'].sort(),
    );
  });

  it('fails fast on a wrong password (no reconnect loop)', async () => {
    const error = await ImapSource.connect(sourceOptions({ password: 'wrong' })).catch((e: unknown) => e);
    expect(MailboxError.is(error, 'AUTH')).toBe(true);
  });

  it('reports an unreachable server as a CONNECTION error and gives up after maxReconnects', async () => {
    const attempts: number[] = [];
    const run = runIngest(() => ImapSource.connect(sourceOptions({ port: 1 })), new RecordingHandler(), {
      archiveFolder: ['Archive'],
      delete: false,
      test: false,
      watch: false,
      maxReconnects: 2,
      backoff: { baseMs: 10, maxMs: 20 },
      onReconnect: ({ attempt }) => attempts.push(attempt),
    });
    await expect(run).rejects.toMatchObject({ code: 'CONNECTION' });
    expect(attempts).toEqual([1, 2]);
  });

  it('connects over implicit TLS, verifying the server against its CA', async () => {
    await appendAll(server, seed(2));
    const handler = new RecordingHandler();
    await runIngest(
      () =>
        ImapSource.connect(
          sourceOptions({
            port: server.tlsPort,
            secure: true,
            noStartTls: false,
            tls: { ca: readFileSync(server.certPath) },
          }),
        ),
      handler,
      { archiveFolder: ['Archive'], delete: true, test: false, watch: false },
    );
    expect(handler.batches.flat()).toHaveLength(2);
  });

  it('rejects the self-signed certificate without that CA', async () => {
    const error = await ImapSource.connect(sourceOptions({ port: server.tlsPort, secure: true })).catch(
      (e: unknown) => e,
    );
    // Not retried: a certificate problem needs the user, not a reconnect.
    expect(error).toMatchObject({
      code: 'COMMAND',
      message: expect.stringMatching(/TLS certificate rejected/),
    });
  });
});

describe('watch (IDLE) against Dovecot', () => {
  let controller: AbortController;
  afterEach(() => controller?.abort());

  const waitFor = async (predicate: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const eml = (n: number, kind: Disposition): string => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-mail-'));
    const path = join(dir, `${n}.eml`);
    writeFileSync(path, message(n, kind));
    return path;
  };

  it('processes a message delivered while idling, then survives a server restart', async () => {
    await appendAll(server, seed(2));
    controller = new AbortController();
    const handler = new RecordingHandler();
    const reconnects: number[] = [];
    const run = runIngest(() => ImapSource.connect(sourceOptions()), handler, {
      archiveFolder: ['Archive'],
      delete: false,
      test: false,
      watch: true,
      signal: controller.signal,
      backoff: { baseMs: 200, maxMs: 2000 },
      onReconnect: ({ attempt }) => reconnects.push(attempt),
    });
    run.catch(() => undefined);
    await waitFor(() => handler.batches.flat().length === 2, 10_000);

    // Delivered like an MTA would while the client IDLEs.
    deliver(server.user, eml(100, 'Forensic'));
    await waitFor(() => handler.batches.flat().length === 3, 10_000);
    await waitFor(async () => (await samplesIn(server, 'Archive/Forensic')).includes('Forensic-100'), 5_000);

    // The server goes away and comes back: the watcher reconnects with backoff and goes on.
    dovecot('restart');
    await waitFor(() => reconnects.length > 0, 10_000);
    deliver(server.user, eml(101, 'SMTP-TLS'));
    await waitFor(() => handler.batches.flat().length === 4, 20_000);
    await waitFor(async () => (await samplesIn(server, 'Archive/SMTP-TLS')).includes('SMTP-TLS-101'), 5_000);

    controller.abort();
    const stats = await run;
    expect(stats.messages).toBe(4);
    expect(stats.reconnects).toBeGreaterThan(0);
    expect((await folderCounts(server)).INBOX).toBe(0);
  }, 60_000);

  it('with test, processes each message once however often it wakes up', async () => {
    await appendAll(server, seed(2));
    controller = new AbortController();
    const handler = new RecordingHandler();
    const run = runIngest(() => ImapSource.connect(sourceOptions({ readOnly: true })), handler, {
      archiveFolder: ['Archive'],
      delete: false,
      test: true,
      watch: true,
      signal: controller.signal,
      idleTimeoutMs: 300,
    });
    await waitFor(() => handler.batches.flat().length === 2, 10_000);
    deliver(server.user, eml(102, 'Aggregate'));
    await waitFor(() => handler.batches.flat().length === 3, 10_000);
    await new Promise((r) => setTimeout(r, 1000)); // several idle timeouts: nothing processed twice
    controller.abort();
    await run;
    expect(handler.batches.flat()).toEqual(['imap:INBOX/1', 'imap:INBOX/2', 'imap:INBOX/3']);
    expect(await folderCounts(server)).toEqual({ INBOX: 3 });
  }, 30_000);
});

describe('CLI mailbox mode (-H) over the sample corpus', () => {
  const imapConfig = (overrides: Partial<ImapConfig> = {}): ImapConfig => ({
    host: server.host,
    user: server.user,
    password: server.password,
    port: server.tlsPort,
    ssl: true,
    reportsFolder: 'INBOX',
    archiveFolder: 'Archive',
    delete: false,
    test: false,
    watch: false,
    ...overrides,
  });

  const run = async (
    config: ImapConfig,
    sinks: ResultSink[],
    extra: Partial<MailboxRunOptions> = {},
  ): Promise<{ stats: Awaited<ReturnType<typeof runMailbox>>; errors: string[]; logs: string[] }> => {
    const errors: string[] = [];
    const logs: string[] = [];
    const pipeline = new EmbeddedPipeline({
      sinks,
      onError: (source, error) => errors.push(`${source}: ${error.code}`),
      onRefused: (refusal) => errors.push(`${refusal.source}: ${refusal.code}`),
    });
    const stats = await runMailbox(config, {
      pipeline,
      log: (line) => logs.push(line),
      tls: { ca: readFileSync(server.certPath) },
      batchSize: 8,
      ...extra,
    });
    return { stats, errors, logs };
  };

  const outDir = (): string => mkdtempSync(join(tmpdir(), 'pdm-mail-out-'));
  const readJson = (dir: string, name: string): unknown[] =>
    JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown[];
  const notAReport = Buffer.from(
    'X-Sample: (not a report)\r\nFrom: friend@example.com\r\nSubject: lunch?\r\n\r\nSee you at noon.\r\n',
  );

  it('parses every report, files each message by its type (Invalid when nothing parsed), creating the folders', async () => {
    const corpus = corpusMessages();
    expect(corpus.length).toBeGreaterThanOrEqual(30);
    await appendAll(server, [...corpus.map((m) => m.bytes), notAReport]);
    const dir = outDir();
    const sink = new OutputDirSink(dir);
    const { stats, logs } = await run(imapConfig(), [sink]);
    await sink.close();
    expect(logs).toEqual([]);
    expect(stats.messages).toBe(corpus.length + 1);

    const expected: Record<string, string[]> = {
      Aggregate: [],
      Forensic: [],
      'SMTP-TLS': [],
      Invalid: ['(not a report)'],
    };
    for (const m of corpus) expected[expectedFolder(m.sample)]!.push(m.sample);
    const counts = await folderCounts(server);
    expect(counts.INBOX).toBe(0);
    for (const [folder, samples] of Object.entries(expected)) {
      expect(await samplesIn(server, `Archive/${folder}`), folder).toEqual(samples.sort());
    }

    // Every report reached the output: aggregate records and report counts as the reference has them.
    const reference = referenceIndex();
    // A report already seen in the run (same org name and report id) is skipped, as with files.
    const seen = new Set<string>();
    const aggregateRecords = corpus
      .filter((m) => reference[m.sample]?.report_type === 'aggregate')
      .filter((m) => {
        const parsed = JSON.parse(
          readFileSync(
            join(repoRoot, `test/fixtures/conformance/parsedmarc-10.4.3/${m.sample}.parsed.json`),
            'utf8',
          ),
        ) as { report: { report_metadata: { org_name: string; report_id: string } } };
        const meta = parsed.report.report_metadata;
        const key = `${meta.org_name}_${meta.report_id}`;
        const first = !seen.has(key);
        seen.add(key);
        return first;
      })
      .reduce((sum, m) => sum + (reference[m.sample]!.records ?? 0), 0);
    const aggregates = readJson(dir, 'aggregate.json') as { records: unknown[] }[];
    expect(aggregates.reduce((sum, r) => sum + r.records.length, 0)).toBe(aggregateRecords);
    expect(stats.records).toBe(aggregateRecords);
    expect(readJson(dir, 'forensic.json')).toHaveLength(expected.Forensic!.length);
    expect(readJson(dir, 'smtp_tls.json')).toHaveLength(expected['SMTP-TLS']!.length);
    expect(stats.moved.Invalid).toBe(expected.Invalid!.length);
  }, 60_000);

  it('deletes processed messages with -d', async () => {
    const corpus = corpusMessages().slice(0, 12);
    await appendAll(
      server,
      corpus.map((m) => m.bytes),
    );
    const { stats } = await run(imapConfig({ delete: true }), []);
    expect(stats.deleted).toBe(12);
    expect(await folderCounts(server)).toEqual({ INBOX: 0 });
  });

  it('leaves the mailbox exactly as it was with --test, and still outputs the reports', async () => {
    const corpus = corpusMessages();
    await appendAll(
      server,
      corpus.map((m) => m.bytes),
    );
    const before = await mailboxState(server);
    const dir = outDir();
    const sink = new OutputDirSink(dir);
    const { stats } = await run(imapConfig({ test: true }), [sink]);
    await sink.close();
    expect(stats.messages).toBe(corpus.length);
    expect(readJson(dir, 'smtp_tls.json').length).toBeGreaterThan(0);
    expect(await mailboxState(server)).toEqual(before);
  }, 60_000);

  /**
   * A sink that works until its nth report (counted by first parts: a large report comes in several
   * writes), or its first flush, then fails like a full disk.
   */
  class FailingSink implements ResultSink {
    readonly name = 'failing';
    reports = 0;
    constructor(private readonly failAt: { report?: number; flush?: boolean }) {}
    async write(item: ResultItem): Promise<void> {
      if (!item.part || item.part.index === 0) this.reports += 1;
      if (this.failAt.report !== undefined && this.reports >= this.failAt.report)
        throw new Error('ENOSPC (test)');
    }
    async flush(): Promise<SinkRefusal[]> {
      if (this.failAt.flush) throw new Error('EIO on fsync (test)');
      return [];
    }
    async close(): Promise<void> {}
  }

  it('leaves the messages in place when an output write fails (earlier batches are archived)', async () => {
    const corpus = corpusMessages()
      .filter((m) => expectedFolder(m.sample) === 'Aggregate')
      .slice(0, 12);
    await appendAll(
      server,
      corpus.map((m) => m.bytes),
    );
    const { stats, logs } = await run(imapConfig(), [new FailingSink({ report: 10 })]);
    expect(stats.failures).toBe(1);
    expect(logs.join('\n')).toMatch(/OUTPUT: processing failed, messages left in place: ENOSPC \(test\)/);
    const counts = await folderCounts(server);
    expect(counts['Archive/Aggregate']).toBe(8); // the first batch of 8 was flushed and moved
    expect(counts.INBOX).toBe(4);
  }, 30_000);

  it('moves messages only after the HEC collector acknowledged their events as indexed', async () => {
    const corpus = corpusMessages()
      .filter((m) => expectedFolder(m.sample) === 'Aggregate')
      .slice(0, 5);
    await appendAll(
      server,
      corpus.map((m) => m.bytes),
    );
    const url = hecUrl();
    const token = await createToken(url, { ack: true, holdIndexing: true });
    const [hec] = await openSinks(
      {
        stdout: null,
        outputDir: null,
        kafka: null,
        elasticsearch: null,
        opensearch: null,
        hec: hecSinkConfigSchema.parse({
          ...hecSinkDefaults,
          url,
          token,
          save: { aggregate: true, forensic: true, smtpTls: true },
        }),
        webhook: null,
        syslog: null,
        email: null,
      },
      { warn: () => undefined },
    );
    let finished = false;
    const running = run(imapConfig(), [hec!]).finally(() => (finished = true));
    // The events were accepted but not indexed: the command polls for their acknowledgement meanwhile.
    await waitFor('the events accepted and held', async () => (await statsOf(url, token)).pending > 0);
    const polled = (await statsOf(url, token)).acksPolled;
    await waitFor('an acknowledgement poll', async () => (await statsOf(url, token)).acksPolled > polled);
    expect(finished).toBe(false);
    expect(await folderCounts(server)).toMatchObject({ INBOX: corpus.length });

    await updateToken(url, token, { holdIndexing: false });
    const { stats, errors } = await running;
    await hec!.close();
    expect(errors).toEqual([]);
    expect(stats.failures).toBe(0);
    expect(await folderCounts(server)).toMatchObject({ INBOX: 0, 'Archive/Aggregate': corpus.length });
    const indexed = await statsOf(url, token);
    expect(indexed.pending).toBe(0);
    expect(indexed.indexed).toBe(stats.records);
  }, 60_000);

  it('moves nothing when flushing an output fails', async () => {
    await appendAll(
      server,
      corpusMessages()
        .slice(0, 5)
        .map((m) => m.bytes),
    );
    const before = await mailboxState(server);
    const { stats } = await run(imapConfig(), [new FailingSink({ flush: true })]);
    expect(stats.failures).toBe(1);
    // The folders may have been created up front, but INBOX is untouched (\\Recent is a per-session flag
    // that any read-write SELECT claims, not a change to the mailbox).
    const inbox = (state: FolderState[]) =>
      state
        .find((f) => f.path === 'INBOX')!
        .messages.map((m) => ({ ...m, flags: m.flags.filter((f) => f !== '\\Recent') }));
    expect(inbox(await mailboxState(server))).toEqual(inbox(before));
  }, 30_000);

  it('shows progress on a terminal', async () => {
    await appendAll(
      server,
      corpusMessages()
        .slice(0, 10)
        .map((m) => m.bytes),
    );
    const written: string[] = [];
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    tty.on('data', (chunk: Buffer) => written.push(chunk.toString('utf8')));
    await run(imapConfig({ delete: true }), [], { progress: { stream: tty, enabled: true } });
    const text = written.join('');
    expect(text).toContain('10/10 messages, 0 failed');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('runs as the installed command: -H over IMAPS with --password-file, the CA trusted via NODE_EXTRA_CA_CERTS', async () => {
    execFileSync('npx', ['tsc', '-b', 'apps/cli'], { cwd: repoRoot, stdio: 'inherit' });
    const corpus = corpusMessages().filter((m) => m.sample.startsWith('smtp_tls/'));
    await appendAll(
      server,
      corpus.map((m) => m.bytes),
    );
    const dir = outDir();
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, `${server.password}\n`);
    const out = join(dir, 'out');
    const result = spawnSync(
      process.execPath,
      [
        join(repoRoot, 'apps/cli/bin/parsedmarc.js'),
        '-H',
        server.host,
        '--imap-port',
        String(server.tlsPort),
        '-u',
        server.user,
        '--password-file',
        passwordFile,
        '-a',
        'Processed',
        '--offline',
        '-s',
        '-o',
        out,
      ],
      { encoding: 'utf8', env: { ...process.env, NODE_EXTRA_CA_CERTS: server.certPath }, timeout: 60_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(readJson(out, 'smtp_tls.json')).toHaveLength(corpus.length);
    expect(await folderCounts(server)).toMatchObject({ INBOX: 0, 'Processed/SMTP-TLS': corpus.length });
  }, 120_000);

  it('watches as the installed command until SIGTERM, then closes its outputs cleanly (exit 0)', async () => {
    execFileSync('npx', ['tsc', '-b', 'apps/cli'], { cwd: repoRoot, stdio: 'inherit' });
    const dir = outDir();
    const out = join(dir, 'out');
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, 'apps/cli/bin/parsedmarc.js'),
        '-H',
        server.host,
        '--imap-port',
        String(server.tlsPort),
        '-u',
        server.user,
        '--watch',
        '--offline',
        '-o',
        out,
      ],
      {
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: server.certPath,
          PARSEDMARC_IMAP_PASSWORD: server.password,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 2000));
    const sample = corpusMessages().find((m) => m.sample === 'smtp_tls/rfc8460.json')!;
    const path = join(dir, 'report.eml');
    writeFileSync(path, sample.bytes);
    deliver(server.user, path);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await folderCounts(server))['Archive/SMTP-TLS'] !== 1)
      await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect((JSON.parse(stdout) as { smtp_tls_reports: unknown[] }).smtp_tls_reports).toHaveLength(1);
    expect(readJson(out, 'smtp_tls.json')).toHaveLength(1);
  }, 60_000);

  it('reports a wrong password once and stops', async () => {
    const { stats, logs } = await run(imapConfig({ password: 'wrong' }), []);
    expect(stats.failures).toBe(1);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/AUTH: cannot connect: authentication failed/);
    expect(logs[0]).not.toContain('wrong');
  });

  it('watches with --watch: a report delivered while idling is parsed and archived', async () => {
    const controller = new AbortController();
    const dir = outDir();
    const sink = new OutputDirSink(dir);
    const running = run(imapConfig({ watch: true }), [sink], { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 1500));
    const twilight = corpusMessages().find((m) => m.sample === 'aggregate/twilight.eml')!;
    const path = join(mkdtempSync(join(tmpdir(), 'pdm-mail-')), 'twilight.eml');
    writeFileSync(path, twilight.bytes);
    deliver(server.user, path);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await folderCounts(server))['Archive/Aggregate'] !== 1)
      await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    const { stats } = await running;
    await sink.close();
    expect(stats.reports).toBe(1);
    expect(await samplesIn(server, 'Archive/Aggregate')).toEqual(['aggregate/twilight.eml']);
    expect(readJson(dir, 'aggregate.json')).toHaveLength(1);
  }, 30_000);
});

describe('mail-ingest service against Dovecot and Kafka', () => {
  it('produces each IMAP message onto raw-mail and moves it to Archive/Ingested after the ack (IMAPS, private CA)', async () => {
    const kafka = ensureServers();
    const corpus = corpusMessages().slice(0, 12);
    await appendAll(
      server,
      corpus.map((m) => m.bytes),
    );
    const prefix = uniquePrefix('ingest-imap');
    let exitCode: number | null = null;
    const exited = new Promise<void>((resolve) => {
      void startMailIngest({
        env: {
          KAFKA_BROKERS: kafka.brokers.join(','),
          SCHEMA_REGISTRY_URL: kafka.registryUrl,
          TOPIC_PREFIX: prefix,
          TOPIC_PARTITIONS: '1',
          HTTP_PORT: '0',
          HTTP_HOST: '127.0.0.1',
          LOG_LEVEL: 'error',
          IMAP_HOST: server.host,
          IMAP_PORT: String(server.tlsPort),
          IMAP_TLS_CA_FILE: server.certPath,
          IMAP_USER: server.user,
          IMAP_PASSWORD: server.password,
          MAILBOX_WATCH: 'false',
          MAILBOX_BATCH_SIZE: '5',
        },
        signals: new EventEmitter(),
        exit: (code) => {
          exitCode = code;
          resolve();
        },
      });
    });
    await exited;
    expect(exitCode).toBe(0);
    expect(await folderCounts(server)).toMatchObject({
      INBOX: 0,
      'Archive/Ingested': 12,
      'Archive/Invalid': 0,
    });
    const received = await readTopics(
      kafka,
      { rawMail: `${prefix}raw-mail` },
      { rawMail: 'raw-mail' },
      (r) => r.length >= 12,
      30_000,
    );
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(received.map((r) => r.key).sort()).toEqual(corpus.map((m) => sha(m.bytes)).sort());
    expect(received.map((r) => (r.value as { source: string }).source).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `imap:INBOX/${i + 1}`).sort(),
    );
  }, 120_000);
});
