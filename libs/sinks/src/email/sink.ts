/**
 * Emailing the results, as the original's email_results does it, with a digest of our own:
 *
 * - the attachment `DMARC-YYYY-MM-DD.zip` (or the given name, ".zip" added) holds the files `-o` writes
 *   (aggregate, forensic, SMTP TLS as JSON and CSV, forensic samples), written by the one output-folder
 *   sink into a private folder while the reports arrive, so memory stays bounded; the zip is streamed;
 * - subject `DMARC results for YYYY-MM-DD` (the local date) unless given; the plain-text body starts with
 *   the message (default: the subject) and carries the digest's text; the HTML part is the digest, its
 *   chart a PNG attached inline (cid);
 * - sent at close(), after every other output (the registry opens this sink last): the SMTP server is
 *   checked at open (connect, TLS, login) so a wrong password fails before any parsing; sending is retried
 *   while the server is away or answers 4xx, within the retry budget; a failure keeps the zip and says where.
 *
 * flush() makes the local files durable (a mailbox moves its messages after it); the mail itself is one
 * per run, at the end, as in the original.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Zip, ZipDeflate } from 'fflate';
import MailComposer from 'nodemailer/lib/mail-composer';
import { dailyChart, DigestBuilder, renderDigestHtml, renderDigestText } from '@parsedmarc-ts/output';
import type { EmailSinkConfig } from '../config.js';
import { isFirstPart, type ResultItem, type ResultSink, type SinkRefusal } from '../contract.js';
import { SinkError } from '../errors.js';
import { OutputDirSink } from '../files.js';
import { retryingRequest } from '../http.js';
import type { SinkContext } from '../registry.js';
import { openSmtpSession, SINK_NAME, smtpTarget } from './smtp.js';

/** YYYY-MM-DD of the local date, as the original's datetime.now().strftime("%Y-%m-%d"). */
const localDate = (now: Date): string =>
  `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;

/** The original's names: the subject, and the attachment with ".zip" added when missing. */
export function emailNames(config: Pick<EmailSinkConfig, 'subject' | 'attachment'>, now: Date) {
  const date = localDate(now);
  const attachment = config.attachment
    ? config.attachment.toLowerCase().endsWith('.zip')
      ? config.attachment
      : `${config.attachment}.zip`
    : `DMARC-${date}.zip`;
  return { subject: config.subject ?? `DMARC results for ${date}`, attachment, date };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

/** Zips the files under `dir` (paths relative to it) into `zipPath`, streaming. */
async function zipFolder(dir: string, zipPath: string): Promise<void> {
  const out = createWriteStream(zipPath);
  const done = new Promise<void>((resolve, reject) => {
    out.on('error', reject);
    out.on('finish', resolve);
  });
  let failure: Error | null = null;
  const zip = new Zip((error, data, final) => {
    if (error) failure = error;
    else out.write(data);
    if (final || error) out.end();
  });
  for (const path of await filesUnder(dir)) {
    const entry = new ZipDeflate(relative(dir, path).split('\\').join('/'), { level: 6 });
    zip.add(entry);
    for await (const chunk of createReadStream(path)) entry.push(chunk as Uint8Array);
    entry.push(new Uint8Array(0), true);
  }
  zip.end();
  await done;
  if (failure) throw failure;
}

export interface EmailSinkOptions {
  /** The clock for the subject's and attachment's date (tests). */
  now?: () => Date;
}

export class EmailSink implements ResultSink {
  readonly name = SINK_NAME;
  private readonly digest = new DigestBuilder();
  private closed = false;

  private constructor(
    private readonly config: EmailSinkConfig,
    private readonly context: SinkContext,
    private readonly dir: string,
    private readonly files: OutputDirSink,
    private readonly now: () => Date,
  ) {}

  static async open(
    config: EmailSinkConfig,
    context: SinkContext,
    options: EmailSinkOptions = {},
  ): Promise<EmailSink> {
    // The server, TLS and credentials checked now: a wrong password fails before anything is parsed.
    const session = await retryingRequest(
      Math.min(10, config.retryBudgetSeconds),
      context,
      `email (${smtpTarget(config)}): connecting`,
      () => openSmtpSession(config, hostname()),
    );
    session.quit();
    if (!session.secure) context.warn(EmailSink.clearWarning(config));
    const dir = await mkdtemp(join(tmpdir(), 'parsedmarc-email-'));
    return new EmailSink(
      config,
      context,
      dir,
      new OutputDirSink(join(dir, 'results')),
      options.now ?? (() => new Date()),
    );
  }

  private static clearWarning(config: EmailSinkConfig): string {
    return `email (${smtpTarget(config)}): the server offers no TLS: the mail${config.user ? ' and the password go' : ' goes'} in clear (use --outgoing-ssl or a server with STARTTLS)`;
  }

  async write(item: ResultItem): Promise<void> {
    await this.files.write(item);
    this.digest.add(item.parsed, isFirstPart(item));
  }

  flush(): Promise<SinkRefusal[]> {
    return this.files.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.files.close();
    const names = emailNames(this.config, this.now());
    const zipPath = join(this.dir, names.attachment.replace(/[/\\]/g, '_'));
    await zipFolder(join(this.dir, 'results'), zipPath);
    const message = this.compose(names, zipPath);
    try {
      await retryingRequest(
        this.config.retryBudgetSeconds,
        this.context,
        `email (${smtpTarget(this.config)})`,
        async () => {
          const session = await openSmtpSession(this.config, hostname());
          try {
            await session.send(
              { from: this.config.from, to: this.config.to },
              message.compile().createReadStream(),
            );
          } finally {
            session.quit();
          }
        },
      );
    } catch (error) {
      const e = SinkError.is(error)
        ? error
        : new SinkError('SINK_UNREACHABLE', String((error as Error).message ?? error), { sink: SINK_NAME });
      // Nothing lost: the zip stays where it was built, and the message says so.
      throw new SinkError(e.code, `${e.message}; the results are kept in ${zipPath}`, e.context, {
        cause: e,
      });
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private compose(names: ReturnType<typeof emailNames>, zipPath: string): MailComposer {
    const intro = this.config.message ?? names.subject;
    const attachments: NonNullable<ConstructorParameters<typeof MailComposer>[0]>['attachments'] = [
      { filename: names.attachment, path: zipPath, contentType: 'application/zip' },
    ];
    if (!this.config.digest) {
      return new MailComposer({
        from: this.config.from,
        to: this.config.to,
        subject: names.subject,
        text: intro,
        attachments,
      });
    }
    const digest = this.digest.result();
    const chart = dailyChart(digest.days);
    const cid = `daily-chart.${names.date}@parsedmarc-ts`;
    if (chart) {
      attachments.push({
        filename: 'messages-per-day.png',
        content: Buffer.from(chart.png),
        contentType: 'image/png',
        cid,
      });
    }
    const common = { title: names.subject, attachmentName: names.attachment, generator: 'parsedmarc-ts' };
    return new MailComposer({
      from: this.config.from,
      to: this.config.to,
      subject: names.subject,
      text: `${intro}\n\n${renderDigestText(digest, common)}`,
      html: renderDigestHtml(digest, { ...common, chart: chart ? { chart, cid } : null }),
      attachments,
    });
  }
}
