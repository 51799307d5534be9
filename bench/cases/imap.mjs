// IMAP ingest against the local Dovecot (tools/dovecot): a mailbox of N report emails (the small aggregate
// reports of the corpus, each as an email; report files wrapped as a gzip attachment), read by our CLI with
// -H and, when bench/.venv has it, by the original parsedmarc (config file: its IMAP settings have no
// flags any more). Both over IMAPS with the server's certificate trusted (NODE_EXTRA_CA_CERTS,
// SSL_CERT_FILE), offline, -o to a temporary folder. Two modes: test (read-only, the mailbox stays as it
// is, so runs repeat on the same mailbox; the original needs batch_size = 0 there, else it stops after its
// first batch) and archive (parsed, written, then moved to Archive/Aggregate; the mailbox is seeded again
// before each run). Uses the second test user (dmarc2), whose mailbox it wipes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const USER = 'dmarc2';

function dovecotEnv(ctx) {
  const out = execFileSync('bash', [join(ctx.repo, 'tools/dovecot/ctl.sh'), 'env'], { encoding: 'utf8' });
  return Object.fromEntries([...out.matchAll(/(PDM_\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
}

/** A report file as the email a reporter would send: a text part and the report as a gzip attachment. */
function asEmail(name, bytes, i) {
  const gz = name.endsWith('.gz') || name.endsWith('.zip') ? bytes : gzipSync(bytes);
  const file = name.endsWith('.zip') ? name : name.replace(/(\.xml)?(\.gz)?$/, '.xml.gz');
  const type = name.endsWith('.zip') ? 'application/zip' : 'application/gzip';
  const boundary = `b${i}x`;
  return Buffer.from(
    [
      'From: noreply-dmarc@reporter.example',
      'To: dmarc@example.com',
      `Subject: Report Domain: example.com Submitter: reporter.example Report-ID: ${i}`,
      'Date: Mon, 01 Jan 2024 00:00:00 +0000',
      `Message-ID: <bench-${i}@reporter.example>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain',
      '',
      'DMARC aggregate report.',
      `--${boundary}`,
      `Content-Type: ${type}; name="${file}"`,
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename="${file}"`,
      '',
      gz.toString('base64').replace(/.{76}/g, '$&\r\n'),
      `--${boundary}--`,
      '',
    ].join('\r\n'),
    'latin1',
  );
}

async function seedMailbox(ctx, env, messages) {
  execFileSync('bash', [join(ctx.repo, 'tools/dovecot/ctl.sh'), 'reset-mailbox', USER]);
  const { ImapFlow } = await import('imapflow');
  const client = new ImapFlow({
    host: env.PDM_IMAP_HOST,
    port: Number(env.PDM_IMAP_PORT),
    secure: false,
    doSTARTTLS: false,
    auth: { user: USER, pass: env.PDM_IMAP_PASSWORD2 },
    logger: false,
  });
  await client.connect();
  for (const m of messages) await client.append('INBOX', m);
  await client.logout();
}

export default function imapCases(ctx) {
  const n = ctx.quick ? 200 : 2000;
  return [
    {
      id: `imap/${n}`,
      group: 'Parts against local servers',
      title: `IMAP mailbox of ${n.toLocaleString('en-US')} report emails (local Dovecot, IMAPS): the CLI's mailbox mode`,
      kind: 'parts',
      needs: async () =>
        ctx.serverUp('dovecot') ? null : 'dovecot server not running (tools/servers.sh start dovecot)',
      run: async () => {
        const env = dovecotEnv(ctx);
        const set = await ctx.corpus.smallReports(n);
        const messages = set.all.entries.map((e, i) => {
          const bytes = readFileSync(join(set.all.dir, e.name));
          return e.name.endsWith('.eml') ? bytes : asEmail(e.name, bytes, i);
        });
        const records = set.all.entries.reduce((s, e) => s + e.records, 0);
        const bytesIn = messages.reduce((s, m) => s + m.length, 0);
        const tmp = mkdtempSync(join(os.tmpdir(), 'pdm-bench-imap-'));
        const passwordFile = join(tmp, 'password');
        writeFileSync(passwordFile, env.PDM_IMAP_PASSWORD2);
        const ourCommand = (out, test) => ({
          cmd: process.execPath,
          args: [
            join(ctx.repo, 'apps/cli/bin/parsedmarc.js'),
            '-H',
            env.PDM_IMAP_HOST,
            '--imap-port',
            env.PDM_IMAPS_PORT,
            '-u',
            USER,
            '--password-file',
            passwordFile,
            '--offline',
            '-s',
            '-o',
            out,
            ...(test ? ['--test'] : []),
          ],
          // The server's self-signed certificate, trusted the way a user would trust a private CA.
          env: { ...process.env, TZ: 'UTC', NODE_EXTRA_CA_CERTS: env.PDM_IMAP_TLS_CERT },
        });
        const theirBin = join(ctx.benchDir, '.venv', 'bin', 'parsedmarc');
        const theirCommand = (out, test) => {
          const config = join(out, '..', `${test ? 'test' : 'archive'}.ini`);
          writeFileSync(
            config,
            [
              '[general]',
              'save_aggregate = True',
              'save_forensic = True',
              'save_smtp_tls = True',
              `output = ${out}`,
              'offline = True',
              'silent = True',
              '[mailbox]',
              'reports_folder = INBOX',
              'archive_folder = Archive',
              `test = ${test ? 'True' : 'False'}`,
              'batch_size = 0',
              '[imap]',
              `host = ${env.PDM_IMAP_HOST}`,
              `port = ${env.PDM_IMAPS_PORT}`,
              'ssl = True',
              `user = ${USER}`,
              `password = ${env.PDM_IMAP_PASSWORD2}`,
              '',
            ].join('\n'),
          );
          return {
            cmd: theirBin,
            args: ['-c', config],
            env: { ...process.env, TZ: 'UTC', SSL_CERT_FILE: env.PDM_IMAP_TLS_CERT },
          };
        };
        const impls = [['ours', ourCommand]];
        if (existsSync(theirBin)) impls.push(['theirs', theirCommand]);
        const rows = [];
        try {
          await seedMailbox(ctx, env, messages);
          const modes = [
            ['test', 'read-only: fetch, parse, write (mailbox unchanged)', true],
            ['archive', 'fetch, parse, write, then move to Archive/Aggregate', false],
          ];
          for (const [mode, what, test] of modes)
            for (const [impl, command] of impls) {
              const part = `imap-${mode}-${impl}`;
              const label = `IMAP ${what}`;
              const samples = [];
              let error = null;
              for (let i = 0; i < ctx.runs; i++) {
                if (!test && (i > 0 || impl !== 'ours')) await seedMailbox(ctx, env, messages);
                const out = join(mkdtempSync(join(tmp, 'run-')), 'out');
                const { cmd, args, env: runEnv } = command(out, test);
                const m = await ctx.measure(cmd, args, { cwd: ctx.repo, env: runEnv });
                const written = JSON.parse(readFileSync(join(out, 'aggregate.json'), 'utf8'));
                const got = written.reduce((s, r) => s + r.records.length, 0);
                if (m.exitCode !== 0 || got !== records) {
                  error = `exit ${m.exitCode}, ${got}/${records} records: ${m.stderr.slice(-800)}`;
                  break;
                }
                samples.push(m);
              }
              const row = {
                part,
                label,
                impl: impl === 'ours' ? 'ours' : 'theirs (parsedmarc)',
                input: `${n} emails, ${records} records (${(bytesIn / 1e6).toFixed(1)} MB)`,
                records,
              };
              if (error) row.error = error;
              else {
                samples.sort((a, b) => a.wallMs - b.wallMs);
                const mid = samples[Math.floor(samples.length / 2)];
                Object.assign(row, {
                  ms: mid.wallMs,
                  bytesIn,
                  recordsOut: records,
                  peakRssKB: mid.peakRssKB,
                  note:
                    `${Math.round(n / (mid.wallMs / 1000))} messages/s by wall time of the whole run (startup included)` +
                    (mid.userS !== null
                      ? `, ${Math.round(n / (mid.userS + mid.sysS))} messages per CPU-second`
                      : ''),
                  runs: samples.length,
                });
              }
              rows.push(row);
            }
        } finally {
          rmSync(tmp, { recursive: true, force: true });
          execFileSync('bash', [join(ctx.repo, 'tools/dovecot/ctl.sh'), 'reset-mailbox', USER]);
        }
        return rows;
      },
    },
  ];
}
