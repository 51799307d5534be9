/**
 * [syslog] as the original's users write it, against real UDP, TCP and TLS listeners on 127.0.0.1 (any
 * socket that reads syslog lines is a syslog server): one message per flat row of each saved report,
 * framed as the original's SysLogHandler frames it. The rows themselves are compared with the original's
 * own messages in libs/output/src/syslog.test.ts.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, samples } from '../cli/helpers.js';
import { selfSignedCertificate } from '../cli/tls-proxy.js';

const AGGREGATE = samples('aggregate/!large-example.com!1711897200!1711983600.xml');
const SMALL_AGGREGATE = samples('aggregate/usssa.com!example.com!1538784000!1538870399.xml');
const FORENSIC = samples('failure/dmarc_ruf_report_linkedin.eml');
const SMTP_TLS = samples('smtp_tls/rfc8460.json');
const NUL = String.fromCharCode(0);

/** Waits until `done` holds (the listener has read what the kernel holds for it), for 20 s at most. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 20_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

function iniFile(syslog: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pdm-syslog-'));
  const path = join(dir, 'parsedmarc.ini');
  writeFileSync(
    path,
    `[general]
offline = True
silent = False
save_aggregate = True
save_failure = True
save_smtp_tls = True

[syslog]
server = 127.0.0.1
${syslog}
`,
  );
  return path;
}

/** What the run printed, as the rows the messages must carry: one per record, report, policy or failure. */
function expectedRowCount(printed: string): number {
  const results = JSON.parse(printed) as {
    aggregate_reports: { records: unknown[] }[];
    forensic_reports: unknown[];
    smtp_tls_reports: { policies: { failure_details?: unknown[] }[] }[];
  };
  return (
    results.aggregate_reports.reduce((n, r) => n + r.records.length, 0) +
    results.forensic_reports.length +
    results.smtp_tls_reports.reduce(
      (n, r) => n + r.policies.reduce((m, p) => m + 1 + (p.failure_details?.length ?? 0), 0),
      0,
    )
  );
}

function checkMessages(messages: string[], printed: string): void {
  expect(messages).toHaveLength(expectedRowCount(printed));
  for (const message of messages) {
    expect(message.startsWith('<14>{')).toBe(true);
    expect(message.endsWith(`}${NUL}`)).toBe(true);
    expect(message.slice(4, -1)).toMatch(/^[\x20-\x7e]*$/);
  }
  const ips = messages.map(
    (m) => (JSON.parse(m.slice(4, -1)) as Record<string, unknown>)['source_ip_address'],
  );
  const results = JSON.parse(printed) as {
    aggregate_reports: { records: { source: { ip_address: string } }[] }[];
  };
  for (const record of results.aggregate_reports[0]!.records) expect(ips).toContain(record.source.ip_address);
}

/** A TCP or TLS listener: the byte stream split at NULs, as syslog servers split the original's messages. */
async function streamListener(server: Server): Promise<{ port: number; messages: () => string[] }> {
  let text = '';
  server.on('connection', (socket) => socket.on('data', (c: Buffer) => (text += c.toString('utf8'))));
  server.on('secureConnection', (socket) => socket.on('data', (c: Buffer) => (text += c.toString('utf8'))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return {
    port: (server.address() as AddressInfo).port,
    messages: () =>
      text
        .split(NUL)
        .filter((m) => m !== '')
        .map((m) => `${m}${NUL}`),
  };
}

describe('[syslog]', () => {
  it('sends one datagram per row over UDP, the default (a small batch: UDP drops what a busy reader misses)', async () => {
    const messages: string[] = [];
    const socket = createSocket('udp4');
    socket.on('message', (m) => messages.push(m.toString('utf8')));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    closers.push(() => socket.close());
    const ini = iniFile(`port = ${socket.address().port}`);
    // The listener shares this process's event loop with the command, so it reads only once the run is
    // over: a few dozen datagrams fit the socket's receive buffer, thousands would not.
    const run = await runCli(['-c', ini, SMALL_AGGREGATE, FORENSIC, SMTP_TLS]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Datagrams on the loopback interface have arrived by the time the run ends, but the listener reads
    // them on a later turn of the event loop.
    const want = expectedRowCount(run.stdout);
    await until(() => messages.length >= want);
    checkMessages(messages, run.stdout);
  });

  it('sends the same messages over TCP, NUL after each, as the original', async () => {
    const listener = await streamListener(createTcpServer());
    const ini = iniFile(`port = ${listener.port}\nprotocol = TCP`);
    const run = await runCli(['-c', ini, AGGREGATE, FORENSIC, SMTP_TLS]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const want = expectedRowCount(run.stdout);
    await until(() => listener.messages().length >= want);
    checkMessages(listener.messages(), run.stdout);
  });

  it('sends over TLS to a server whose CA is given, and refuses one it cannot trust (exit 2)', async () => {
    const { certFile, keyFile } = selfSignedCertificate();
    const listener = await streamListener(
      createTlsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }),
    );
    const trusted = iniFile(`port = ${listener.port}\nprotocol = tls\ncafile_path = ${certFile}`);
    const run = await runCli(['-c', trusted, SMTP_TLS]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const want = expectedRowCount(run.stdout);
    await until(() => listener.messages().length >= want);
    expect(listener.messages()).toHaveLength(want);

    const untrusted = await runCli(['-c', iniFile(`port = ${listener.port}\nprotocol = tls`), SMTP_TLS]);
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toContain('SINK_TLS_FAILED');
    expect(untrusted.stderr).toContain('[syslog] cafile_path');
  });

  it('tries a TCP server that is not there retry_attempts times, then exits 2 naming it', async () => {
    const unused = await streamListener(createTcpServer());
    closers.pop()!(); // nothing listens on this port any more
    const ini = iniFile(`port = ${unused.port}\nprotocol = tcp\nretry_attempts = 2\nretry_delay = 0`);
    const run = await runCli(['-c', ini, SMTP_TLS]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`retrying in 0 s (attempt 2 of 2)`);
    expect(run.stderr).toContain(
      `SINK_UNREACHABLE: cannot connect to 127.0.0.1:${unused.port} after 2 attempts`,
    );
  });

  it('refuses a protocol it does not know and half a client certificate (exit 2, naming the key)', async () => {
    const bad = await runCli(['-c', iniFile('protocol = relp'), SMTP_TLS]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('[syslog] protocol');
    const half = await runCli(['-c', iniFile('protocol = tls\ncertfile_path = /tmp/c.pem'), SMTP_TLS]);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('needs both certfile_path and keyfile_path');
  });
});
