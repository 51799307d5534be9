/**
 * The mail-ingest service with a Maildir mailbox against the real Kafka broker and schema registry (started
 * when the environment does not name them). Its IMAP side is tested in imap.test.ts, which owns Dovecot.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MaildirSource, runIngest, type MailMessage } from '@parsedmarc-ts/mailbox';
import { PoisonMessageError } from '@parsedmarc-ts/kafka';
import { ConfigError } from '@parsedmarc-ts/service-runtime';
import { rawMailHandler, startMailIngest, type RawMailSink } from '../../apps/mail-ingest/src/service.js';
import { ensureServers, readTopics, uniquePrefix, type Servers } from '../pipeline/harness.js';
import { corpusMessages } from './helpers.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pdm-ingest-maildir-'));
  for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(root, sub));
});

let seq = 0;
/** Delivers like an MDA: write to tmp/, rename into new/. */
const deliverTo = (dir: string, bytes: Buffer): string => {
  const name = `${1700000000 + seq}.M${seq++}P1.test`;
  writeFileSync(join(dir, 'tmp', name), bytes);
  renameSync(join(dir, 'tmp', name), join(dir, 'new', name));
  return join(dir, 'new', name);
};

const sha256 = (b: Buffer | Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('rawMailHandler (no broker)', () => {
  it('leaves the whole batch in place when a produce fails, and files too-large ones as Invalid', async () => {
    const ok = deliverTo(root, Buffer.from('Subject: a\r\n\r\na\r\n'));
    deliverTo(root, Buffer.from('Subject: broker away\r\n\r\nb\r\n'));
    const failing: RawMailSink = {
      async publish(payload) {
        if (Buffer.from(payload).includes('broker away')) throw new Error('KafkaJSConnectionError (test)');
      },
    };
    const run = runIngest(
      async () => new MaildirSource({ root }),
      rawMailHandler(failing, { ingested: 'Ingested', invalid: 'Invalid' }),
      {
        archiveFolder: ['Archive'],
        subfolders: ['Ingested', 'Invalid'],
        delete: false,
        test: false,
        watch: false,
      },
    );
    await expect(run).rejects.toMatchObject({ code: 'OUTPUT' });
    expect(readdirSync(join(root, 'new'))).toHaveLength(2);
    expect(readdirSync(join(root, '.Archive.Ingested', 'new'))).toEqual([]);

    const tooLarge: MailMessage[] = [];
    const refusing: RawMailSink = {
      async publish(_payload, meta) {
        if (meta.source !== ok) throw new PoisonMessageError('MESSAGE_TOO_LARGE', 'too large (test)');
      },
    };
    const stats = await runIngest(
      async () => new MaildirSource({ root }),
      rawMailHandler(refusing, { ingested: 'Ingested', invalid: 'Invalid' }, (m) => tooLarge.push(m)),
      {
        archiveFolder: ['Archive'],
        subfolders: ['Ingested', 'Invalid'],
        delete: false,
        test: false,
        watch: false,
      },
    );
    expect(stats.moved).toEqual({ Ingested: 1, Invalid: 1 });
    expect(tooLarge).toHaveLength(1);
  });
});

describe('mail-ingest service (Maildir → Kafka)', () => {
  let servers: Servers;
  beforeAll(() => {
    servers = ensureServers();
  }, 120_000);

  const serviceEnv = (prefix: string, extra: Record<string, string> = {}): Record<string, string> => ({
    KAFKA_BROKERS: servers.brokers.join(','),
    SCHEMA_REGISTRY_URL: servers.registryUrl,
    TOPIC_PREFIX: prefix,
    TOPIC_PARTITIONS: '1',
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    MAILDIR_PATH: root,
    ...extra,
  });

  it('produces every message onto raw-mail (key = SHA-256 of the bytes), then archives it; one pass exits 0', async () => {
    const corpus = corpusMessages().slice(0, 10);
    const paths = corpus.map((m) => deliverTo(root, m.bytes));
    const prefix = uniquePrefix('ingest');
    let exitCode: number | null = null;
    // A secret from a file (unused with a Maildir): read, and never in a log line.
    const secretFile = join(mkdtempSync(join(tmpdir(), 'pdm-secret-')), 'imap-password');
    writeFileSync(secretFile, 'hunter2-in-a-file\n');
    const logs = new PassThrough();
    let logText = '';
    logs.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
    const exited = new Promise<void>((resolve) => {
      void startMailIngest({
        env: serviceEnv(prefix, {
          MAILBOX_WATCH: 'false',
          MAILBOX_BATCH_SIZE: '4',
          IMAP_PASSWORD_FILE: secretFile,
          LOG_LEVEL: 'info',
        }),
        signals: new EventEmitter(),
        logDestination: logs,
        exit: (code) => {
          exitCode = code;
          resolve();
        },
      });
    });
    await exited;
    expect(exitCode).toBe(0);
    expect(logText).toContain('"IMAP_PASSWORD":"[redacted]"');
    expect(logText).not.toContain('hunter2');
    expect(readdirSync(join(root, 'new'))).toEqual([]);
    expect(readdirSync(join(root, '.Archive.Ingested', 'new'))).toHaveLength(10);

    const received = await readTopics(
      servers,
      { rawMail: `${prefix}raw-mail` },
      { rawMail: 'raw-mail' },
      (r) => r.length >= 10,
      30_000,
    );
    expect(received).toHaveLength(10);
    const bySource = new Map(
      received.map((r) => [
        (r.value as { source: string }).source,
        r as { key: string; value: Record<string, unknown> },
      ]),
    );
    corpus.forEach((m, i) => {
      const record = bySource.get(paths[i]!);
      expect(record, paths[i]).toBeDefined();
      expect(record!.key).toBe(sha256(m.bytes));
      expect(record!.value.sha256).toBe(sha256(m.bytes));
      expect(Buffer.compare(record!.value.payload as Buffer, m.bytes)).toBe(0);
    });
  }, 90_000);

  it('dead-letters a message over the size limit and archives it as Invalid; watches until SIGTERM', async () => {
    const prefix = uniquePrefix('ingest-big');
    const signals = new EventEmitter();
    let exitCode: number | null = null;
    let resolveExit!: () => void;
    const exited = new Promise<void>((resolve) => (resolveExit = resolve));
    // Resolves once the topics exist and the producer is connected.
    const { runtime } = await startMailIngest({
      env: serviceEnv(prefix, { MAILBOX_MAX_MESSAGE_BYTES: '2000', MAILBOX_DELETE: 'false' }),
      signals,
      exit: (code) => {
        exitCode = code;
        resolveExit();
      },
    });
    const small = Buffer.from('Subject: small\r\n\r\nsmall\r\n');
    const big = Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(5000)}\r\n`);
    deliverTo(root, small);
    deliverTo(root, big);
    const received = await readTopics(
      servers,
      { rawMail: `${prefix}raw-mail`, deadLetter: `${prefix}dmarc_dead_letter` },
      { rawMail: 'raw-mail', deadLetter: 'dmarc_dead_letter' },
      (r) => r.length >= 2,
      30_000,
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && readdirSync(join(root, 'new')).length > 0)
      await new Promise((r) => setTimeout(r, 100));
    const probe = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${runtime.port}${path}`);
      return { status: response.status, text: await response.text() };
    };
    expect((await probe('/readyz')).status).toBe(200);
    const metrics = (await probe('/metrics')).text;
    expect(metrics).toMatch(/^pdm_mail_messages_total\{[^}]*folder="Ingested"[^}]*\} 1$/m);
    expect(metrics).toMatch(/^pdm_mail_messages_total\{[^}]*folder="Invalid"[^}]*\} 1$/m);
    expect(metrics).toMatch(/^pdm_mail_too_large_total\{[^}]*\} 1$/m);
    signals.emit('SIGTERM', 'SIGTERM');
    await exited;
    expect(exitCode).toBe(0);
    expect(received.map((r) => r.topic).sort()).toEqual([`${prefix}dmarc_dead_letter`, `${prefix}raw-mail`]);
    expect(received.find((r) => r.topic === `${prefix}raw-mail`)!.key).toBe(sha256(small));
    expect(readdirSync(join(root, '.Archive.Ingested', 'new'))).toHaveLength(1);
    expect(readdirSync(join(root, '.Archive.Invalid', 'new'))).toHaveLength(1);
  }, 90_000);

  it('refuses a configuration without a mailbox, naming the variable', async () => {
    const { MAILDIR_PATH: _unused, ...env } = serviceEnv('x-');
    await expect(
      startMailIngest({ env, signals: new EventEmitter(), exit: () => undefined }),
    ).rejects.toThrow(ConfigError);
    await expect(
      startMailIngest({ env, signals: new EventEmitter(), exit: () => undefined }),
    ).rejects.toThrow(/IMAP_HOST: set exactly one of IMAP_HOST and MAILDIR_PATH/);
  });
});
