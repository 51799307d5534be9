/** The Maildir mailbox: order, Maildir++ archive folders, delete, test mode, watching for deliveries. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  isMaildir,
  listMaildirMessages,
  MaildirSource,
  runIngest,
  type BatchHandler,
  type Disposition,
  type MailMessage,
} from '@parsedmarc-ts/mailbox';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pdm-maildir-'));
  for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(root, sub));
});

/** Delivers like an MDA: write to tmp/, rename into new/ (or cur/ for an already seen message). */
const put = (name: string, kind: Disposition, sub: 'new' | 'cur' = 'new'): void => {
  writeFileSync(join(root, 'tmp', name), `X-Kind: ${kind}\r\nSubject: ${name}\r\n\r\nbody\r\n`);
  renameSync(join(root, 'tmp', name), join(root, sub, name));
};

const handler = (): BatchHandler & { seen: string[] } => {
  const seen: string[] = [];
  return {
    seen,
    async process(messages: readonly MailMessage[]) {
      seen.push(...messages.map((m) => m.id));
      return messages.map((m) => /^X-Kind: (\S+)/m.exec(m.bytes.toString())![1] as Disposition);
    },
    async commit() {},
  };
};

describe('Maildir', () => {
  it('lists new/ and cur/ in delivery order, never tmp/ or dot files', async () => {
    put('1700000002.M5P1.host,S=40:2,S', 'Aggregate', 'cur');
    put('1700000001.M900P1.host', 'Forensic');
    put('1700000001.M20P1.host', 'Invalid');
    writeFileSync(join(root, 'tmp', '1600000000.M1P1.host'), 'partial delivery');
    writeFileSync(join(root, 'new', '.hidden'), 'not a message');
    expect(await isMaildir(root)).toBe(true);
    expect(await isMaildir(join(root, 'new'))).toBe(false);
    expect((await listMaildirMessages(root)).map((p) => p.slice(root.length + 1))).toEqual([
      'new/1700000001.M20P1.host',
      'new/1700000001.M900P1.host',
      'cur/1700000002.M5P1.host,S=40:2,S',
    ]);
  });

  it('archives into Maildir++ folders (.Archive.Aggregate...), created when missing', async () => {
    put('1700000001.M1P1.host', 'Aggregate');
    put('1700000002.M1P1.host', 'Invalid', 'cur');
    put('1700000003.M1P1.host', 'SMTP-TLS');
    const h = handler();
    const stats = await runIngest(async () => new MaildirSource({ root }), h, {
      archiveFolder: ['Archive'],
      delete: false,
      test: false,
      watch: false,
    });
    expect(stats.moved).toEqual({ Aggregate: 1, Forensic: 0, 'SMTP-TLS': 1, Invalid: 1 });
    expect(readdirSync(join(root, 'new'))).toEqual([]);
    expect(readdirSync(join(root, 'cur'))).toEqual([]);
    expect(readdirSync(join(root, '.Archive.Aggregate', 'new'))).toEqual(['1700000001.M1P1.host']);
    expect(readdirSync(join(root, '.Archive.Invalid', 'cur'))).toEqual(['1700000002.M1P1.host']);
    expect(existsSync(join(root, '.Archive.Forensic', 'tmp'))).toBe(true);
    expect(existsSync(join(root, '.Archive.Forensic', 'maildirfolder'))).toBe(true);
  });

  it('deletes with delete, and leaves everything with test', async () => {
    put('1700000001.M1P1.host', 'Aggregate');
    put('1700000002.M1P1.host', 'Forensic');
    const testRun = handler();
    await runIngest(async () => new MaildirSource({ root }), testRun, {
      archiveFolder: ['Archive'],
      delete: false,
      test: true,
      watch: false,
    });
    expect(testRun.seen).toHaveLength(2);
    expect(readdirSync(root).sort()).toEqual(['cur', 'new', 'tmp']);
    expect(readdirSync(join(root, 'new'))).toHaveLength(2);
    await runIngest(async () => new MaildirSource({ root }), handler(), {
      archiveFolder: ['Archive'],
      delete: true,
      test: false,
      watch: false,
    });
    expect(readdirSync(join(root, 'new'))).toEqual([]);
    expect(readdirSync(root).sort()).toEqual(['cur', 'new', 'tmp']);
  });

  it('reads a subfolder as the reports folder', async () => {
    mkdirSync(join(root, '.Reports', 'new'), { recursive: true });
    mkdirSync(join(root, '.Reports', 'cur'));
    writeFileSync(join(root, '.Reports', 'new', '1700000001.M1P1.host'), 'X-Kind: Forensic\r\n\r\nx\r\n');
    const h = handler();
    await runIngest(async () => new MaildirSource({ root, folder: ['Reports'] }), h, {
      archiveFolder: ['Archive'],
      delete: false,
      test: false,
      watch: false,
    });
    expect(h.seen).toEqual(['new/1700000001.M1P1.host']);
    expect(readdirSync(join(root, '.Archive.Forensic', 'new'))).toEqual(['1700000001.M1P1.host']);
  });

  it('watches for deliveries', async () => {
    const h = handler();
    const controller = new AbortController();
    const run = runIngest(async () => new MaildirSource({ root, pollMs: 200 }), h, {
      archiveFolder: ['Archive'],
      delete: true,
      test: false,
      watch: true,
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 200));
    put('1700000001.M1P1.host', 'Aggregate');
    const deadline = Date.now() + 5000;
    while (h.seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await run;
    expect(h.seen).toEqual(['new/1700000001.M1P1.host']);
  });
});

describe('a Maildir as a CLI input', () => {
  it('reads the messages of a Maildir given as a path (new/ and cur/, never tmp/) and leaves them in place', async () => {
    const { runCli, samples } = await import('../cli/helpers.js');
    const { readFileSync } = await import('node:fs');
    const deliverFile = (name: string, sample: string, sub: 'new' | 'cur' = 'new'): void => {
      writeFileSync(join(root, 'tmp', name), readFileSync(samples(sample)));
      renameSync(join(root, 'tmp', name), join(root, sub, name));
    };
    deliverFile('1700000003.M1P1.host', 'smtp_tls/google.com_smtp_tls_report.eml', 'cur');
    deliverFile('1700000001.M1P1.host', 'aggregate/twilight.eml');
    deliverFile('1700000002.M1P1.host', 'failure/dmarc_ruf_report_linkedin.eml');
    writeFileSync(join(root, 'tmp', '1600000000.M1P1.host'), 'half-delivered');
    const result = await runCli(['--offline', root]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as Record<string, unknown[]>;
    expect(out.aggregate_reports).toHaveLength(1);
    expect(out.forensic_reports).toHaveLength(1);
    expect(out.smtp_tls_reports).toHaveLength(1);
    expect(readdirSync(join(root, 'new')).sort()).toEqual(['1700000001.M1P1.host', '1700000002.M1P1.host']);
    expect(readdirSync(join(root, 'cur'))).toEqual(['1700000003.M1P1.host']);
  });
});
