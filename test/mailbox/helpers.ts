/**
 * The real IMAP server for the mailbox tests (tools/dovecot/ctl.sh), and the sample corpus as mail.
 * The server is started here when the test runner (tools/test.sh) has not: these tests never skip.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImapFlow } from 'imapflow';
import { testServer } from '../servers.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const samplesDir = join(repoRoot, 'test/fixtures/samples');
const ctl = join(repoRoot, 'tools/dovecot/ctl.sh');

export interface ImapServer {
  host: string;
  port: number;
  tlsPort: number;
  user: string;
  password: string;
  certPath: string;
}

export function imapServer(user: 'dmarc' | 'dmarc2' = 'dmarc'): ImapServer {
  testServer('dovecot', 'PDM_IMAP_HOST');
  const e = process.env;
  return {
    host: e.PDM_IMAP_HOST!,
    port: Number(e.PDM_IMAP_PORT),
    tlsPort: Number(e.PDM_IMAPS_PORT),
    user: user === 'dmarc' ? e.PDM_IMAP_USER! : e.PDM_IMAP_USER2!,
    password: user === 'dmarc' ? e.PDM_IMAP_PASSWORD! : e.PDM_IMAP_PASSWORD2!,
    certPath: e.PDM_IMAP_TLS_CERT!,
  };
}

export const dovecot = (...args: string[]): string => execFileSync(ctl, args, { encoding: 'utf8' });
export const resetMailbox = (user: string): void => void dovecot('reset-mailbox', user);
/** Delivers like an MTA would (doveadm save): IDLE clients are notified. */
export const deliver = (user: string, file: string, folder = 'INBOX'): void =>
  void dovecot('deliver', user, file, folder);

/** A plain (no STARTTLS) test client for seeding and inspecting the mailbox. */
export async function withClient<T>(server: ImapServer, fn: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({
    host: server.host,
    port: server.port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: server.user, pass: server.password },
    logger: false,
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.logout();
  }
}

/** Appends messages to a folder (created when missing); much faster than one doveadm per message. */
export async function appendAll(
  server: ImapServer,
  messages: Iterable<Buffer>,
  folder = 'INBOX',
): Promise<void> {
  await withClient(server, async (client) => {
    if (folder !== 'INBOX') await client.mailboxCreate(folder);
    for (const message of messages) await client.append(folder, message);
  });
}

export interface FolderState {
  path: string;
  messages: { uid: number; flags: string[]; sha256: string }[];
}

/** Every folder with every message's uid, flags and content hash, to compare before/after a run. */
export async function mailboxState(server: ImapServer): Promise<FolderState[]> {
  return withClient(server, async (client) => {
    const folders = (await client.list()).map((f) => f.path).sort();
    const state: FolderState[] = [];
    for (const path of folders) {
      const lock = await client.getMailboxLock(path, { readOnly: true });
      try {
        const messages: FolderState['messages'] = [];
        if (client.mailbox && client.mailbox.exists > 0)
          for await (const m of client.fetch('1:*', { uid: true, flags: true, source: true })) {
            messages.push({
              uid: m.uid,
              flags: [...(m.flags ?? [])].sort(),
              sha256: createHash('sha256').update(m.source!).digest('hex'),
            });
          }
        state.push({ path, messages });
      } finally {
        lock.release();
      }
    }
    return state;
  });
}

/** Message counts per folder (folders that exist only). */
export async function folderCounts(server: ImapServer): Promise<Record<string, number>> {
  return withClient(server, async (client) => {
    const counts: Record<string, number> = {};
    for (const folder of await client.list()) {
      const status = await client.status(folder.path, { messages: true });
      counts[folder.path] = status ? (status.messages ?? 0) : -1;
    }
    return counts;
  });
}

/** The X-Sample header of the messages in a folder (see corpusMessages), sorted. */
export async function samplesIn(server: ImapServer, folder: string): Promise<string[]> {
  return withClient(server, async (client) => {
    const lock = await client.getMailboxLock(folder, { readOnly: true });
    try {
      const samples: string[] = [];
      if (client.mailbox && client.mailbox.exists > 0)
        for await (const m of client.fetch('1:*', { headers: ['x-sample'] })) {
          const header = m.headers?.toString('utf8') ?? '';
          samples.push(/^x-sample:\s*(.*?)\s*$/im.exec(header)?.[1] ?? '(untagged)');
        }
      return samples.sort();
    } finally {
      lock.release();
    }
  });
}

const CONTENT_TYPES: [RegExp, string][] = [
  [/\.xml\.gz$/, 'application/gzip'],
  [/\.gz$/, 'application/gzip'],
  [/\.zip$/, 'application/zip'],
  [/\.json$/, 'application/tlsrpt+json'],
  [/\.xml$/, 'text/xml'],
];

/**
 * A report file as a report email (what reporters send): a short text part and the file as a base64
 * attachment. X-Sample names the sample, so tests can tell where each message went.
 */
export function wrapAsEmail(file: Buffer, fileName: string, sample: string): Buffer {
  const subject = `Report ${fileName}`;
  const type = CONTENT_TYPES.find(([re]) => re.test(fileName))?.[1] ?? 'application/octet-stream';
  const boundary = `----=_sample_${createHash('sha1').update(fileName).digest('hex').slice(0, 16)}`;
  const body = file.toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    [
      `X-Sample: ${sample}`,
      'From: reports@reporter.example',
      'To: dmarc@example.com',
      `Subject: ${subject}`,
      'Date: Mon, 01 Jan 2024 00:00:00 +0000',
      `Message-ID: <${createHash('sha1').update(subject).digest('hex')}@reporter.example>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      'This is a report.',
      '',
      `--${boundary}`,
      `Content-Type: ${type}; name="${fileName}"`,
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename="${fileName}"`,
      '',
      body,
      `--${boundary}--`,
      '',
    ].join('\r\n'),
    'latin1',
  );
}

/**
 * Puts "X-Sample: <path>" at the top of an existing email, so tests can tell where it went. A leading mbox
 * "From " line is envelope framing, not part of the message, and would not survive delivery: it is dropped.
 */
function tagEmail(email: Buffer, sample: string): Buffer {
  let body = email;
  if (email.subarray(0, 5).toString('latin1') === 'From ') body = email.subarray(email.indexOf(0x0a) + 1);
  const eol = body.includes('\r\n') ? '\r\n' : '\n';
  return Buffer.concat([Buffer.from(`X-Sample: ${sample}${eol}`, 'latin1'), body]);
}

export interface CorpusMessage {
  /** Path under test/fixtures/samples, e.g. "aggregate/twilight.eml". */
  sample: string;
  bytes: Buffer;
}

/** Every sample as a message: emails as they are (tagged), report files wrapped into an email. */
export function corpusMessages(): CorpusMessage[] {
  const out: CorpusMessage[] = [];
  const visit = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const sample = rel ? `${rel}/${name}` : name;
      if (statSync(path).isDirectory()) visit(path, sample);
      else {
        const bytes = readFileSync(path);
        out.push({
          sample,
          bytes: name.endsWith('.eml') ? tagEmail(bytes, sample) : wrapAsEmail(bytes, basename(name), sample),
        });
      }
    }
  };
  visit(samplesDir, '');
  return out;
}

/** What the reference implementation made of each sample (parsedmarc 10.4.3): report type and record count. */
export function referenceIndex(): Record<string, { report_type?: string; records?: number; error?: string }> {
  return JSON.parse(
    readFileSync(join(repoRoot, 'test/fixtures/conformance/parsedmarc-10.4.3/_index.json'), 'utf8'),
  ) as Record<string, { report_type?: string; records?: number; error?: string }>;
}

/** The folder each sample must land in, from the reference implementation's verdict on it. */
export function expectedFolder(sample: string): string {
  const ref = referenceIndex()[sample];
  if (!ref) throw new Error(`no reference output for ${sample}`);
  switch (ref.report_type) {
    case 'aggregate':
      return 'Aggregate';
    case 'failure':
    case 'forensic':
      return 'Forensic';
    case 'smtp_tls':
      return 'SMTP-TLS';
    default:
      return 'Invalid';
  }
}
