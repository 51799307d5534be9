/**
 * The mailbox library against the real IMAP server (Dovecot, tools/dovecot): the ingest protocol with a
 * recording handler. The CLI on top of it, with the real parser and sinks, is tested in cli-imap.test.ts.
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
import {
  appendAll,
  deliver,
  dovecot,
  folderCounts,
  imapServer,
  mailboxState,
  resetMailbox,
  samplesIn,
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
    expect(error).toBeInstanceOf(MailboxError);
    expect((error as MailboxError).code).not.toBe('AUTH');
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
