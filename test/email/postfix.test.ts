/**
 * parsedmarc -O against the real Postfix test server (tools/postfix: STARTTLS and SASL AUTH on one port,
 * implicit TLS on another, a third without TLS; everything delivered into one Maildir this test reads
 * back; tempfail@ answers 451, reject@ answers 550).
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { simpleParser, type ParsedMail } from 'mailparser';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { repoRoot, runCli, samples } from '../cli/helpers.js';
import { testServer } from '../servers.js';

const input = samples('aggregate/addisonfoods.com!example.com!1536105600!1536191999.xml');

interface Postfix {
  port: string;
  smtpsPort: string;
  plainPort: string;
  user: string;
  password: string;
  maildir: string;
  cert: string;
}

let postfix: Postfix;
beforeAll(() => {
  testServer('postfix', 'PDM_SMTP_HOST');
  const e = process.env;
  postfix = {
    port: e.PDM_SMTP_PORT!,
    smtpsPort: e.PDM_SMTPS_PORT!,
    plainPort: e.PDM_SMTP_PLAIN_PORT!,
    user: e.PDM_SMTP_USER!,
    password: e.PDM_SMTP_PASSWORD!,
    maildir: e.PDM_SMTP_MAILDIR!,
    cert: e.PDM_SMTP_TLS_CERT!,
  };
});
beforeEach(() => {
  execFileSync(join(repoRoot, 'tools/postfix/ctl.sh'), ['reset-mailbox'], { stdio: 'ignore' });
});

/** The messages delivered since the reset, parsed. */
async function delivered(): Promise<ParsedMail[]> {
  const dir = join(postfix.maildir, 'new');
  return Promise.all(readdirSync(dir).map((f) => simpleParser(readFileSync(join(dir, f)))));
}

/** Waits until `n` messages are in the Maildir (Postfix delivers a few ms after its 250). */
async function waitForDelivered(n: number): Promise<ParsedMail[]> {
  const deadline = Date.now() + 30_000;
  while (readdirSync(join(postfix.maildir, 'new')).length < n) {
    if (Date.now() > deadline) throw new Error(`not ${n} messages delivered`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return delivered();
}

const send = (port: string, to: string[], ...extra: string[]) =>
  runCli([
    '--offline',
    '-s',
    '-O',
    '127.0.0.1',
    '--outgoing-port',
    port,
    '-U',
    postfix.user,
    '-P',
    postfix.password,
    '--outgoing-ca-file',
    postfix.cert,
    '-T',
    ...to,
    '-F',
    'dmarc-reports@example.com',
    ...extra,
    input,
  ]);

describe('parsedmarc -O into Postfix', () => {
  it('delivers one message per recipient over STARTTLS with AUTH: subject, zip and digest', async () => {
    const run = await send(postfix.port, ['team@example.com', 'soc@example.net']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const mails = await waitForDelivered(2);
    for (const mail of mails) {
      expect(mail.subject).toMatch(/^DMARC results for \d{4}-\d{2}-\d{2}$/);
      const zip = mail.attachments.find((a) => a.contentType === 'application/zip')!;
      expect(Object.keys(unzipSync(new Uint8Array(zip.content)))).toContain('aggregate.json');
      expect(mail.html).toContain('example.com');
      // Postfix says it received the mail over TLS with an authenticated sender.
      expect(String(mail.headers.get('received'))).toMatch(/ESMTPSA/);
    }
  });

  it('sends over implicit TLS (--outgoing-ssl)', async () => {
    const run = await send(postfix.smtpsPort, ['team@example.com'], '--outgoing-ssl', 'true');
    expect(run.code).toBe(0);
    expect(await waitForDelivered(1)).toHaveLength(1);
  });

  it('warns when the server offers no STARTTLS and the password goes in clear', async () => {
    const run = await send(postfix.plainPort, ['team@example.com']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('the server offers no TLS: the mail and the password go in clear');
    expect(await waitForDelivered(1)).toHaveLength(1);
  });

  it('refuses a wrong password at start (exit 2, nothing delivered)', async () => {
    const run = await send(postfix.port, ['team@example.com'], '-P', 'wrong-password');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('SINK_AUTH_FAILED');
    expect(run.stderr).toContain('535');
    expect(run.stderr).not.toContain('wrong-password');
    expect(readdirSync(join(postfix.maildir, 'new'))).toEqual([]);
  });

  it('retries a 451 within --outgoing-retry-seconds, then fails clearly (exit 1, the zip kept)', async () => {
    const run = await send(postfix.port, ['tempfail@example.com'], '--outgoing-retry-seconds', '2');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('retrying');
    expect(run.stderr).toMatch(/SINK_UNAVAILABLE: the server answered 451/);
    expect(run.stderr).toMatch(/the results are kept in \S+\.zip/);
  }, 60_000);

  it('says a refused recipient (550) at once, without retrying (exit 1)', async () => {
    const run = await send(postfix.port, ['reject@example.com']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/MESSAGE_REFUSED: the server refused the message: 550/);
    expect(run.stderr).not.toContain('retrying');
  });

  it('sends as a parsedmarc.ini [smtp] section says, as the original reads it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-ini-smtp-'));
    const ini = join(dir, 'parsedmarc.ini');
    writeFileSync(
      ini,
      `[general]
output = ${dir}/out
offline = True

[smtp]
host = 127.0.0.1
port = ${postfix.port}
ssl = False
skip_certificate_verification = True
user = ${postfix.user}
password = ${postfix.password}
from = dmarc-reports@example.com
to = team@example.com, soc@example.net
subject = Weekly DMARC
attachment = dmarc.zip
message = Please see the attached DMARC results.
`,
    );
    const run = await runCli(['-c', ini, input]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const mails = await waitForDelivered(2);
    expect(mails).toHaveLength(2);
    for (const mail of mails) {
      expect(mail.subject).toBe('Weekly DMARC');
      expect(mail.to && 'text' in mail.to ? mail.to.text : '').toBe('team@example.com, soc@example.net');
      expect(mail.text).toContain('Please see the attached DMARC results.');
      expect(mail.attachments.map((a) => a.filename)).toContain('dmarc.zip');
    }
  });
});
