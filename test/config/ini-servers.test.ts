/**
 * parsedmarc.ini files as the original's users write them, run end to end against the real test servers:
 * the original's documentation example and its CI file, a systemd-unit setup with secrets from files, one
 * file per section we serve, and a SIGHUP reload while watching a mailbox.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, samples } from '../cli/helpers.js';
import { CI_INI, EXAMPLE_INI } from './original-ini.js';
import {
  appendAll,
  corpusMessages,
  folderCounts,
  imapServer,
  resetMailbox,
  samplesIn,
  type ImapServer,
} from '../mailbox/helpers.js';
import { documentsOf, searchServer } from '../search/helpers.js';
import { createToken, eventsOf, hecUrl, waitFor } from '../hec/receiver-client.js';

const message = (sample: string): Buffer => corpusMessages().find((m) => m.sample === sample)!.bytes;
const AGGREGATE = 'aggregate/twilight.eml';
const FORENSIC =
  'failure/DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml';

let imap: ImapServer;
beforeAll(() => {
  // dmarc2 is this file's own mailbox (the IMAP tests use dmarc), so files running side by side never meet.
  imap = imapServer('dmarc2');
});
beforeEach(() => resetMailbox(imap.user));

const workDir = (): string => mkdtempSync(join(tmpdir(), 'pdm-ini-e2e-'));
const write = (dir: string, name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const prefix = (): string => `ini${randomUUID().slice(0, 8)}`;
const imapSection = (extra = ''): string =>
  `[imap]
host = ${imap.host}
port = ${imap.tlsPort}
ssl = True
skip_certificate_verification = True
user = ${imap.user}
password = ${imap.password}
${extra}`;

describe("the original's documentation example (docs/source/example.ini)", () => {
  const example = (es: string, hec: string, token: string, index: string): string =>
    `# This is an example comment

[general]
save_aggregate = True
save_failure = True

${imapSection('watch = False')}

[elasticsearch]
hosts = ${es}
ssl = False
index_prefix = ${index}_

[splunk_hec]
url = ${hec}
token = ${token}
index = email
`;

  it('runs with the sections we serve: the mailbox is read, Elasticsearch and Splunk get the reports', async () => {
    const es = new URL(searchServer('elasticsearch')).host;
    const hec = hecUrl();
    const token = await createToken(hec, { indexes: ['email', 'main'] });
    const index = prefix();
    await appendAll(imap, [message(AGGREGATE), message(FORENSIC)]);
    const dir = workDir();
    const run = await runCli([
      '-c',
      write(dir, 'parsedmarc.ini', example(es, hec, token, index)),
      '--offline',
    ]);
    // The one notice: the test collector speaks http.
    expect(run.stderr).toBe(
      `parsedmarc: splunk-hec (${hec}): the token is sent in clear over http; use https\n`,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    const url = searchServer('elasticsearch');
    expect((await documentsOf(url, `${index}_dmarc_aggregate*`)).count).toBeGreaterThan(0);
    expect((await documentsOf(url, `${index}_dmarc_forensic*`)).count).toBe(1);
    const events = await eventsOf(hec, token);
    expect(new Set(events.map((e) => e.sourcetype))).toEqual(new Set(['dmarc:aggregate', 'dmarc:forensic']));
    expect(events.every((e) => e.index === 'email')).toBe(true);
    expect(await samplesIn(imap, 'Archive/Aggregate')).toEqual([AGGREGATE]);
    expect(await samplesIn(imap, 'Archive/Forensic')).toEqual([FORENSIC]);
  }, 120_000);

  it('as published (with [s3] and [gmail_api]) is refused, naming the section nothing would reach', async () => {
    const dir = workDir();
    const run = await runCli(['-c', write(dir, 'parsedmarc.ini', EXAMPLE_INI)]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^parsedmarc: .*parsedmarc\.ini: \[s3\]: saving to S3 is not supported by this version/,
    );
    expect(await folderCounts(imap)).toMatchObject({ INBOX: 0 });
  });
});

describe("the original's CI file (ci.ini), the server's address from the environment", () => {
  it('saves every report type with its shard settings', async () => {
    const dir = workDir();
    const index = prefix();
    const url = searchServer('elasticsearch');
    const run = await runCli(
      [
        '-c',
        write(dir, 'ci.ini', CI_INI),
        join(import.meta.dirname, '../fixtures/samples/aggregate/twilight.eml'),
      ],
      { PARSEDMARC_ELASTICSEARCH_HOSTS: url, PARSEDMARC_ELASTICSEARCH_INDEX_PREFIX: `${index}_` },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    const docs = await documentsOf(url, `${index}_dmarc_aggregate*`);
    expect(docs.count).toBeGreaterThan(0);
    const settings = (await (await fetch(`${url}/${index}_dmarc_aggregate*/_settings`)).json()) as Record<
      string,
      { settings: { index: { number_of_shards: string; number_of_replicas: string } } }
    >;
    const first = Object.values(settings)[0]!.settings.index;
    expect([first.number_of_shards, first.number_of_replicas]).toEqual(['2', '2']);
  }, 120_000);
});

describe('a systemd unit: the file from PARSEDMARC_CONFIG_FILE, the password from a credentials file', () => {
  it('reads the mailbox into OpenSearch and the output folder, archiving into its own folder', async () => {
    const dir = workDir();
    const credentials = write(dir, 'imap-password', `${imap.password}\n`);
    const os = new URL(searchServer('opensearch')).host;
    const index = prefix();
    const ini = write(
      dir,
      'parsedmarc.ini',
      `[general]
save_aggregate = True
save_failure = True
output = ${dir}/parsedmarc
offline = True

[mailbox]
archive_folder = Processed
batch_size = 1

[imap]
host = ${imap.host}
port = ${imap.tlsPort}
skip_certificate_verification = True
user = ${imap.user}

[opensearch]
hosts = ${os}
ssl = False
index_suffix = ${index}
`,
    );
    await appendAll(imap, [message(AGGREGATE), message(FORENSIC)]);
    // What `Environment=` and `LoadCredential=` lines of a unit would give the process.
    const run = await runCli([], {
      PARSEDMARC_CONFIG_FILE: ini,
      PARSEDMARC_IMAP_PASSWORD_FILE: credentials,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const url = searchServer('opensearch');
    expect((await documentsOf(url, `dmarc_aggregate_${index}*`)).count).toBeGreaterThan(0);
    expect((await documentsOf(url, `dmarc_forensic_${index}*`)).count).toBe(1);
    expect(JSON.parse(readFileSync(join(dir, 'parsedmarc/forensic.json'), 'utf8'))).toHaveLength(1);
    expect(await samplesIn(imap, 'Processed/Aggregate')).toEqual([AGGREGATE]);
  }, 120_000);
});

describe('[maildir]', () => {
  it('reads the Maildir (created when asked to) and leaves its messages in place', async () => {
    const dir = workDir();
    const maildir = join(dir, 'Maildir');
    const ini = write(
      dir,
      'parsedmarc.ini',
      `[general]\noutput = ${dir}/out\noffline = True\n\n[maildir]\nmaildir_path = ${maildir}\nmaildir_create = True\n`,
    );
    const empty = await runCli(['-c', ini]);
    expect(empty.code).toBe(0);
    expect(existsSync(join(maildir, 'new'))).toBe(true);
    writeFileSync(join(maildir, 'new', '1700000000.1.host'), message(AGGREGATE));
    const run = await runCli(['-c', ini]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'out/aggregate.json'), 'utf8'))).toHaveLength(1);
    expect(existsSync(join(maildir, 'new', '1700000000.1.host'))).toBe(true);
  });
});

describe('SIGHUP while watching', () => {
  it('reads the file again after the current batch and goes on with the new settings', async () => {
    const dir = workDir();
    const ini = (out: string, folder: string, watch: boolean): string =>
      `[general]\noutput = ${dir}/${out}\noffline = True\n\n[mailbox]\nreports_folder = ${folder}\nwatch = ${watch}\n\n${imapSection()}`;
    const path = write(dir, 'parsedmarc.ini', ini('first', 'INBOX', true));
    await appendAll(imap, [message(AGGREGATE)]);
    const running = runCli(['-c', path]);
    await waitFor(
      'the first report archived',
      async () => (await folderCounts(imap))['Archive/Aggregate'] === 1,
    );
    // The new file reads another folder (so nothing of the first run can take the new message) once, and ends.
    await appendAll(imap, [message(FORENSIC)], 'Incoming');
    write(dir, 'parsedmarc.ini', ini('second', 'Incoming', false));
    process.emit('SIGHUP');
    const run = await running;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'first/aggregate.json'), 'utf8'))).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dir, 'first/forensic.json'), 'utf8'))).toHaveLength(0);
    expect(JSON.parse(readFileSync(join(dir, 'second/forensic.json'), 'utf8'))).toHaveLength(1);
    expect(await samplesIn(imap, 'Archive/Forensic')).toEqual([FORENSIC]);
  }, 120_000);
});

describe('a report output without any save_*', () => {
  it('says once that it receives nothing and sends nothing there, as the original sends nothing', async () => {
    const url = searchServer('elasticsearch');
    const index = prefix();
    const dir = workDir();
    const ini = write(
      dir,
      'parsedmarc.ini',
      `[general]\noffline = True\n\n[elasticsearch]\nhosts = ${url}\nindex_prefix = ${index}_\n`,
    );
    const run = await runCli(['-c', ini, samples('aggregate/old_draft_from_wiki.xml')]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      '[elasticsearch] receives nothing: save_aggregate, save_failure and save_smtp_tls are all off',
    );
    expect(run.stderr.match(/receives nothing|nothing is sent/g)).toHaveLength(1);
    expect((await documentsOf(url, `${index}_dmarc_*`)).count).toBe(0);
  }, 60_000);
});
