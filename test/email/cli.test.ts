/**
 * parsedmarc -O (emailing the results) against an in-process SMTP server (smtp-server, STARTTLS + AUTH):
 * the original's subject, body and zip (the same files -o writes), our HTML digest with its chart; the
 * server refusing the login, answering 4xx for a while, refusing the message, or offering no TLS.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { unzipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, samples } from '../cli/helpers.js';
import { startSmtpStub, type SmtpStub } from './smtp-stub.js';

const inputs = [
  samples('aggregate/old_draft_from_wiki.xml'),
  samples('aggregate/addisonfoods.com!example.com!1536105600!1536191999.xml'),
  samples('smtp_tls/smtp_tls.json'),
  samples('failure/DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml'),
];

const localDate = (d = new Date()) =>
  `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

/** The results in an -o folder (not its own bookkeeping, .parsedmarc-checkpoint.json). */
function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      if (name.startsWith('.')) continue;
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return out;
}

let stub: SmtpStub | null = null;
afterEach(async () => {
  await stub?.close();
  stub = null;
});

const mailArgs = (s: SmtpStub, ...extra: string[]) => [
  '--offline',
  '-s',
  '-O',
  '127.0.0.1',
  '--outgoing-port',
  String(s.port),
  '-U',
  s.user,
  '-P',
  s.password,
  '--outgoing-ca-file',
  s.caFile,
  '-T',
  'team@example.com',
  'security@example.net',
  '-F',
  'dmarc-reports@example.com',
  ...extra,
];

describe('parsedmarc -O', () => {
  it('emails the original subject, message and zip (the -o files), with the HTML digest and its chart', async () => {
    stub = await startSmtpStub();
    const out = mkdtempSync(join(tmpdir(), 'pdm-mail-out-'));
    const run = await runCli([...mailArgs(stub), '-o', out, ...inputs]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(stub.messages).toHaveLength(1);
    const [mail] = stub.messages;
    expect(mail!.secure).toBe(true);
    expect(mail!.envelope).toEqual({
      from: 'dmarc-reports@example.com',
      to: ['team@example.com', 'security@example.net'],
    });
    const date = localDate();
    const parsed = mail!.parsed;
    expect(parsed.subject).toBe(`DMARC results for ${date}`);
    expect(parsed.text!.startsWith(`DMARC results for ${date}\n`)).toBe(true);
    const zip = parsed.attachments.find((a) => a.filename === `DMARC-${date}.zip`)!;
    expect(zip.contentType).toBe('application/zip');
    const entries = unzipSync(new Uint8Array(zip.content));
    const zipped = Object.fromEntries(
      Object.entries(entries).map(([k, v]) => [k, Buffer.from(v).toString('utf8')]),
    );
    expect(zipped).toEqual(filesUnder(out));
    expect(Object.keys(zipped).sort()).toEqual([
      'aggregate.csv',
      'aggregate.json',
      'forensic.csv',
      'forensic.json',
      'samples/Subject.eml',
      'smtp_tls.csv',
      'smtp_tls.json',
    ]);
    // The digest: HTML with the domain, the shares and the chart inline; the text twin with the same numbers.
    const html = parsed.html as string;
    expect(html).toContain('example.com');
    expect(html).toContain('DMARC pass');
    expect(html).not.toMatch(/<script|<style/i);
    const chart = parsed.attachments.find((a) => a.contentType === 'image/png')!;
    expect(chart.contentDisposition).toBe('inline');
    expect(html).toContain(`cid:${chart.cid}`);
    expect(chart.content.subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    expect(parsed.text).toContain('SMTP TLS');
    expect(parsed.text).toContain('Top failing sources');
  });

  it('takes the subject, message and attachment name (".zip" added), and can leave the digest out', async () => {
    stub = await startSmtpStub();
    const run = await runCli([
      ...mailArgs(
        stub,
        '-S',
        'Weekly DMARC',
        '-M',
        'Here are the results.',
        '-A',
        'dmarc-week',
        '--no-outgoing-digest',
      ),
      inputs[0]!,
    ]);
    expect(run.code).toBe(0);
    const parsed = stub.messages[0]!.parsed;
    expect(parsed.subject).toBe('Weekly DMARC');
    expect(parsed.text!.trim()).toBe('Here are the results.');
    expect(parsed.html).toBeFalsy();
    expect(parsed.attachments.map((a) => a.filename)).toEqual(['dmarc-week.zip']);
  });

  it('takes the password from a file or PARSEDMARC_SMTP_PASSWORD and never prints it', async () => {
    stub = await startSmtpStub({ password: 's3cret-smtp-pw-n0t-in-logs' });
    const dir = mkdtempSync(join(tmpdir(), 'pdm-mail-pw-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'pw'), `${stub.password}\n`);
    const args = mailArgs(stub).filter(
      (a, i, all) => a !== stub!.password && all[i - 1] !== '-P' && a !== '-P',
    );
    const fromFile = await runCli([...args, '--outgoing-password-file', join(dir, 'pw'), inputs[0]!]);
    expect(fromFile.code).toBe(0);
    const fromEnv = await runCli([...args, inputs[0]!], { PARSEDMARC_SMTP_PASSWORD: stub.password });
    expect(fromEnv.code).toBe(0);
    expect(stub.messages).toHaveLength(2);
    const wrong = await runCli([...args, inputs[0]!], { PARSEDMARC_SMTP_PASSWORD: 'wrong-pw-also-secret' });
    expect(wrong.code).toBe(2);
    for (const run of [fromFile, fromEnv, wrong]) {
      expect(run.stderr).not.toContain(stub.password);
      expect(run.stderr).not.toContain('wrong-pw-also-secret');
    }
  });

  it('refuses at start when the server refuses the login (exit 2, nothing parsed or sent)', async () => {
    stub = await startSmtpStub();
    const out = mkdtempSync(join(tmpdir(), 'pdm-mail-out-'));
    const run = await runCli([...mailArgs(stub, '-P', 'not-the-password'), '-o', out, ...inputs]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`email (127.0.0.1:${stub.port}): SINK_AUTH_FAILED`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(stub.messages).toEqual([]);
    expect(stub.authFailures).toBe(1);
  });

  it('retries a server answering 4xx and sends one message', async () => {
    stub = await startSmtpStub();
    stub.tempFailNext = 2;
    const run = await runCli([...mailArgs(stub), inputs[0]!]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('451');
    expect(run.stderr).toContain('retrying');
    expect(stub.messages).toHaveLength(1);
  }, 60_000);

  it('fails clearly when the message is refused (exit 1), the -o files intact and the zip kept', async () => {
    stub = await startSmtpStub();
    stub.refuseAll = true;
    const out = mkdtempSync(join(tmpdir(), 'pdm-mail-out-'));
    const reference = mkdtempSync(join(tmpdir(), 'pdm-mail-ref-'));
    expect((await runCli(['--offline', '-s', '-o', reference, ...inputs])).code).toBe(0);
    const run = await runCli([...mailArgs(stub), '-o', out, ...inputs]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('MESSAGE_REFUSED');
    expect(run.stderr).toContain('550');
    const kept = /the results are kept in (\S+\.zip)/.exec(run.stderr)?.[1];
    expect(kept).toBeDefined();
    expect(statSync(kept!).size).toBeGreaterThan(0);
    expect(filesUnder(out)).toEqual(filesUnder(reference));
  });

  it('warns when the server offers no TLS and the mail goes in clear', async () => {
    stub = await startSmtpStub({ starttls: false });
    const run = await runCli([...mailArgs(stub), inputs[0]!]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('the server offers no TLS: the mail and the password go in clear');
    expect(stub.messages[0]!.secure).toBe(false);
  });

  it('sends over implicit TLS with --outgoing-ssl', async () => {
    stub = await startSmtpStub({ secure: true });
    const run = await runCli([...mailArgs(stub, '--outgoing-ssl', 'true'), inputs[0]!]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(stub.messages[0]!.secure).toBe(true);
  });

  it('refuses a certificate it cannot verify (exit 2), unless told to skip the check', async () => {
    stub = await startSmtpStub();
    const args = mailArgs(stub).filter((a) => a !== '--outgoing-ca-file' && a !== stub!.caFile);
    const refused = await runCli([...args, inputs[0]!]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('SINK_TLS_FAILED');
    const skipped = await runCli([...args, '--outgoing-skip-certificate-verification', inputs[0]!]);
    expect(skipped.code).toBe(0);
    expect(stub.messages).toHaveLength(1);
  });

  it('fails at start when the server cannot be reached (exit 2, nothing parsed)', async () => {
    stub = await startSmtpStub();
    const port = stub.port;
    await stub.close();
    stub = null;
    const run = await runCli([
      '--offline',
      '-s',
      '-O',
      '127.0.0.1',
      '--outgoing-port',
      String(port),
      '-T',
      'team@example.com',
      '-F',
      'dmarc@example.com',
      '--outgoing-retry-seconds',
      '1',
      inputs[0]!,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`email (127.0.0.1:${port}): SINK_UNREACHABLE`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('says which setting is wrong (exit 2)', async () => {
    const run = await runCli([
      '--offline',
      '-O',
      '127.0.0.1',
      '-F',
      'not-an-address',
      '-T',
      'a@example.com',
      inputs[0]!,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('-F/--outgoing-from');
    const noTo = await runCli(['--offline', '-O', '127.0.0.1', '-F', 'a@example.com', inputs[0]!]);
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toContain('-T/--outgoing-to');
  });
});
