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
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import { dailyChart, DigestBuilder, renderDigestHtml, renderDigestText } from '@parsedmarc-ts/output';
import type { AggregateReport } from '@parsedmarc-ts/parser';
import type { EmailSinkConfig } from '../config.js';
import { isFirstPart, type ResultItem, type ResultSink, type SinkRefusal } from '../contract.js';
import { SinkError } from '../errors.js';
import { OutputDirSink } from '../files.js';
import { retryingRequest } from '../http.js';
import type { SinkContext } from '../registry.js';
import { openSmtpSession, SINK_NAME, smtpTarget } from './smtp.js';
import { zipFolder } from './zip-folder.js';

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

/** The parts of one report share their metadata (and, on the topics, their key). */
function partsKey(item: ResultItem): string {
  const report = item.parsed.report as {
    report_metadata?: { org_name: string | null; report_id: string | null };
  };
  const meta = report.report_metadata;
  return `parts ${JSON.stringify([meta?.org_name ?? null, meta?.report_id ?? null, item.source.replace(/@\d+$/, '')])}`;
}

/**
 * The results of one mail (a CLI run, or a service's window): the files `-o` writes, in a private folder,
 * and the digest, both built report by report in bounded memory.
 */
export class EmailResults {
  readonly digest = new DigestBuilder();
  reports = 0;
  private readonly files: OutputDirSink;
  private closed = false;
  /** The report being written in parts (the output folder takes one report's parts at a time). */
  private streaming: { key: string; last: ResultItem } | null = null;
  /** Reports (whole, or parts so far) that arrived while another was being written in parts. */
  private readonly waiting = new Map<string, ResultItem[]>();
  private whole = 0;

  private constructor(readonly dir: string) {
    this.files = new OutputDirSink(join(dir, 'results'));
  }

  static async create(): Promise<EmailResults> {
    return new EmailResults(await mkdtemp(join(tmpdir(), 'parsedmarc-email-')));
  }

  /**
   * Takes a report or a part. A service's window gathers several partitions, so the parts of one huge
   * report may come between another's: those wait (in order) until the report being written is complete.
   */
  async write(item: ResultItem): Promise<void> {
    this.digest.add(item.parsed, isFirstPart(item));
    if (isFirstPart(item)) this.reports += 1;
    const key = item.part ? partsKey(item) : `whole ${this.whole++}`;
    if (this.streaming === null || this.streaming.key === key) {
      await this.writeNow(key, item);
      return;
    }
    const list = this.waiting.get(key);
    if (list) list.push(item);
    else this.waiting.set(key, [item]);
  }

  private async writeNow(key: string, item: ResultItem): Promise<void> {
    await this.files.write(item);
    if (item.part && !item.part.isLast) {
      this.streaming = { key, last: item };
      return;
    }
    this.streaming = null;
    await this.drain();
  }

  /** Writes the waiting reports, in arrival order, until one of them is still incomplete. */
  private async drain(): Promise<void> {
    for (const [key, items] of this.waiting) {
      if (this.streaming !== null) return;
      this.waiting.delete(key);
      for (const item of items) await this.writeNow(key, item);
    }
  }

  /** A report whose last part never came (the window closed first): closed with an empty last part. */
  private async finishStreaming(): Promise<void> {
    while (this.streaming !== null) {
      const { last } = this.streaming;
      const report = last.parsed.report as AggregateReport;
      await this.writeNow(this.streaming.key, {
        ...last,
        parsed: { report_type: 'aggregate', report: { ...report, records: [] } },
        part: {
          index: last.part!.index + 1,
          isLast: true,
          firstRecord: last.part!.firstRecord + report.records.length,
        },
      });
    }
  }

  flush(): Promise<SinkRefusal[]> {
    return this.files.flush();
  }

  /** Closes the files and zips them: the attachment's path. */
  async zip(attachment: string): Promise<string> {
    if (!this.closed) {
      await this.finishStreaming();
      await this.files.close();
    }
    this.closed = true;
    const zipPath = join(this.dir, attachment.replace(/[/\\]/g, '_'));
    await zipFolder(join(this.dir, 'results'), zipPath);
    return zipPath;
  }

  async remove(): Promise<void> {
    if (!this.closed) await this.files.close().catch(() => undefined);
    this.closed = true;
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Sends `results` as one mail (retried within the budget): the zip, the message, the digest. `date` names
 * the subject and the attachment. A failure keeps the zip and says where; on success the folder is removed.
 */
export async function sendResultsMail(
  config: EmailSinkConfig,
  context: SinkContext,
  results: EmailResults,
  date: Date,
): Promise<{ response: string; subject: string }> {
  const names = emailNames(config, date);
  const zipPath = await results.zip(names.attachment);
  const message = composeResultsMail(config, results, names, zipPath);
  let response = '';
  try {
    await retryingRequest(config.retryBudgetSeconds, context, `email (${smtpTarget(config)})`, async () => {
      const session = await openSmtpSession(config, hostname());
      try {
        response = await session.send(
          { from: config.from, to: config.to },
          message.compile().createReadStream(),
        );
      } finally {
        session.quit();
      }
    });
  } catch (error) {
    const e = SinkError.is(error)
      ? error
      : new SinkError('SINK_UNREACHABLE', String((error as Error).message ?? error), { sink: SINK_NAME });
    // Nothing lost: the zip stays where it was built, and the message says so.
    throw new SinkError(e.code, `${e.message}; the results are kept in ${zipPath}`, e.context, { cause: e });
  }
  await results.remove();
  return { response, subject: names.subject };
}

function composeResultsMail(
  config: EmailSinkConfig,
  results: EmailResults,
  names: ReturnType<typeof emailNames>,
  zipPath: string,
): MailComposer {
  const intro = config.message ?? names.subject;
  const attachments: NonNullable<ConstructorParameters<typeof MailComposer>[0]>['attachments'] = [
    { filename: names.attachment, path: zipPath, contentType: 'application/zip' },
  ];
  if (!config.digest) {
    return new MailComposer({
      from: config.from,
      to: config.to,
      subject: names.subject,
      text: intro,
      attachments,
    });
  }
  const digest = results.digest.result();
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
    from: config.from,
    to: config.to,
    subject: names.subject,
    text: `${intro}\n\n${renderDigestText(digest, common)}`,
    html: renderDigestHtml(digest, { ...common, chart: chart ? { chart, cid } : null }),
    attachments,
  });
}

/** Opens a session to check the server, TLS and login now; warns when the mail would go in clear. */
export async function checkSmtpServer(
  config: EmailSinkConfig,
  context: SinkContext,
  budgetSeconds: number,
): Promise<void> {
  const session = await retryingRequest(
    budgetSeconds,
    context,
    `email (${smtpTarget(config)}): connecting`,
    () => openSmtpSession(config, hostname()),
  );
  session.quit();
  if (!session.secure) {
    context.warn(
      `email (${smtpTarget(config)}): the server offers no TLS: the mail${config.user ? ' and the password go' : ' goes'} in clear (use --outgoing-ssl or a server with STARTTLS)`,
    );
  }
}

export interface EmailSinkOptions {
  /** The clock for the subject's and attachment's date (tests). */
  now?: () => Date;
}

/** The CLI's email output: every result of the run in one mail, sent at close(). */
export class EmailSink implements ResultSink {
  readonly name = SINK_NAME;
  private closed = false;

  private constructor(
    private readonly config: EmailSinkConfig,
    private readonly context: SinkContext,
    private readonly results: EmailResults,
    private readonly now: () => Date,
  ) {}

  static async open(
    config: EmailSinkConfig,
    context: SinkContext,
    options: EmailSinkOptions = {},
  ): Promise<EmailSink> {
    // The server, TLS and credentials checked now: a wrong password fails before anything is parsed.
    await checkSmtpServer(config, context, Math.min(10, config.retryBudgetSeconds));
    return new EmailSink(config, context, await EmailResults.create(), options.now ?? (() => new Date()));
  }

  write(item: ResultItem): Promise<void> {
    return this.results.write(item);
  }

  flush(): Promise<SinkRefusal[]> {
    return this.results.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await sendResultsMail(this.config, this.context, this.results, this.now());
  }
}
