/**
 * parsedmarc.ini, PARSEDMARC_* variables and flags together, as the original reads them: precedence, the
 * refused sections and keys, and the messages for a bad file (exit 2, naming the file, line, key or
 * variable; never a stack trace, never a secret).
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, samples } from '../cli/helpers.js';

const aggregate = samples('aggregate/!example.com!1538204542!1538463818.xml');

function workDir(): string {
  return mkdtempSync(join(tmpdir(), 'pdm-ini-'));
}

function iniFile(dir: string, text: string, name = 'parsedmarc.ini'): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('parsedmarc -c FILE', () => {
  it('reads the [general] section: output folder, offline, and silent implied', async () => {
    const dir = workDir();
    const ini = iniFile(dir, `# written for the original\n[general]\noutput = ${dir}/out\noffline = True\n`);
    const run = await runCli(['-c', ini, aggregate]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // A config file implies --silent, as the original's help says.
    expect(run.stdout).toBe('');
    expect(readdirSync(join(dir, 'out')).sort()).toContain('aggregate.json');
    const json = JSON.parse(readFileSync(join(dir, 'out', 'aggregate.json'), 'utf8')) as unknown[];
    expect(json).toHaveLength(1);
  });

  it('prints the results when the file says silent = False', async () => {
    const dir = workDir();
    const ini = iniFile(dir, '[general]\nsilent = False\noffline = yes\n');
    const run = await runCli(['-c', ini, aggregate]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toHaveProperty('aggregate_reports');
  });

  it('takes the file from PARSEDMARC_CONFIG_FILE when -c is not given', async () => {
    const dir = workDir();
    const ini = iniFile(dir, `[general]\noutput = ${dir}/from-env\noffline = on\n`);
    const run = await runCli([aggregate], { PARSEDMARC_CONFIG_FILE: ini });
    expect(run.code).toBe(0);
    expect(readdirSync(join(dir, 'from-env'))).toContain('aggregate.csv');
  });

  it('applies the original precedence: flags, then the file, then PARSEDMARC_{SECTION}_{KEY}', async () => {
    const dir = workDir();
    const ini = iniFile(dir, `[general]\noutput = ${dir}/file\noffline = True\n`);
    await runCli(['-c', ini, '-o', `${dir}/flag`, aggregate]);
    expect(readdirSync(dir).sort()).toEqual(['file', 'parsedmarc.ini']);
    await runCli(['-c', ini, '-o', `${dir}/flag`, aggregate], { PARSEDMARC_GENERAL_OUTPUT: `${dir}/env` });
    expect(readdirSync(dir).sort()).toEqual(['env', 'file', 'parsedmarc.ini']);
    // A flag the file does not set still counts.
    const bare = iniFile(dir, '[general]\noffline = True\n', 'bare.ini');
    await runCli(['-c', bare, '-o', `${dir}/flag`, aggregate]);
    expect(readdirSync(dir)).toContain('flag');
  });

  it('expands $VARS and ~ in paths, as the original does', async () => {
    const dir = workDir();
    const ini = iniFile(dir, '[general]\noutput = $PDM_TEST_BASE/expanded\noffline = True\n');
    const run = await runCli(['-c', ini, aggregate], { PDM_TEST_BASE: dir });
    expect(run.code).toBe(0);
    expect(readdirSync(dir)).toContain('expanded');
  });

  it('reads a secret from PARSEDMARC_{SECTION}_{KEY}_FILE, which wins over the plain variable', async () => {
    const dir = workDir();
    const secret = join(dir, 'token');
    writeFileSync(secret, 'file-token\n');
    // No collector is listening on port 9: the run stops at start, naming the collector (not the token).
    const run = await runCli(['--offline', aggregate], {
      PARSEDMARC_SPLUNK_HEC_URL: 'http://127.0.0.1:9',
      PARSEDMARC_SPLUNK_HEC_TOKEN: 'plain-token',
      PARSEDMARC_SPLUNK_HEC_TOKEN_FILE: secret,
      PARSEDMARC_SPLUNK_HEC_RETRY_SECONDS: '0',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('127.0.0.1:9');
    expect(run.stderr).not.toContain('file-token');
    expect(run.stderr).not.toContain('plain-token');
  });

  it('names the variable behind a bad value', async () => {
    const run = await runCli(['--offline', aggregate], { PARSEDMARC_GENERAL_DNS_TIMEOUT: 'fast' });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'parsedmarc: PARSEDMARC_GENERAL_DNS_TIMEOUT ([general] dns_timeout): expected a number\n',
    );
  });

  it('ignores variables of no known section, as the original does', async () => {
    const run = await runCli(['--offline', '-s', aggregate], { PARSEDMARC_SOMETHING_ELSE: 'x' });
    expect(run.code).toBe(0);
  });
});

describe('[general] output options', () => {
  it('names the six output files as the file says, forensic_* being the older name of failure_*', async () => {
    const dir = workDir();
    const ini = iniFile(
      dir,
      `[general]
output = ${dir}/out
offline = True
aggregate_json_filename = dmarc_agg.json
forensic_json_filename = old_forensic.json
failure_csv_filename = new_failure.csv
forensic_csv_filename = old_forensic.csv
smtp_tls_json_filename = tls.json
aggregate_csv_filename = dmarc_agg.csv
smtp_tls_csv_filename = tls.csv
`,
    );
    const run = await runCli(['-c', ini, aggregate, samples('failure'), samples('smtp_tls')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // (beside the folder's own bookkeeping, .parsedmarc-checkpoint.json)
    expect(readdirSync(join(dir, 'out')).filter((name) => !name.startsWith('.')).sort()).toEqual([
      'dmarc_agg.csv',
      'dmarc_agg.json',
      'new_failure.csv',
      'old_forensic.json',
      'samples',
      'tls.csv',
      'tls.json',
    ]);
    const forensic = JSON.parse(readFileSync(join(dir, 'out', 'old_forensic.json'), 'utf8')) as unknown[];
    expect(forensic.length).toBeGreaterThan(0);
  });

  it('prints one line with prettify_json = False, as Python json.dumps without indent writes it', async () => {
    const dir = workDir();
    const ini = iniFile(dir, '[general]\nsilent = False\noffline = True\nprettify_json = False\n');
    const compact = await runCli(['-c', ini, aggregate, samples('smtp_tls')]);
    const pretty = await runCli(['--offline', aggregate, samples('smtp_tls')]);
    expect(compact.code).toBe(0);
    expect(compact.stdout.split('\n')).toHaveLength(2);
    expect(compact.stdout).toMatch(
      /^\{"aggregate_reports": \[\{"xml_schema": "draft", "report_metadata": \{/,
    );
    expect(JSON.parse(compact.stdout)).toEqual(JSON.parse(pretty.stdout));
    const flag = await runCli(['--offline', '--no-prettify-json', aggregate, samples('smtp_tls')]);
    expect(flag.stdout).toBe(compact.stdout);
  });

  it('refuses file names that leave the folder or collide (exit 2, naming the key)', async () => {
    const dir = workDir();
    const outside = iniFile(dir, `[general]\noutput = ${dir}/out\naggregate_json_filename = ../x.json\n`);
    const run = await runCli(['-c', outside, aggregate]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('[general] aggregate_json_filename');
    expect(run.stderr).toContain('without a folder part');
    const same = await runCli([
      '--offline',
      '-o',
      `${dir}/out`,
      '--smtp-tls-csv-filename',
      'aggregate.csv',
      aggregate,
    ]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('must all differ');
    expect(readdirSync(dir)).not.toContain('out');
  });
});

describe('a file this version cannot serve, or a bad one: exit 2 with a message', () => {
  const cases: [string, string, RegExp][] = [
    [
      'a wrong type',
      '[general]\noffline = True\ndns_timeout = fast\n',
      /parsedmarc\.ini:3: \[general\] dns_timeout: expected a number/,
    ],
    [
      'a bad boolean',
      '[general]\noffline = maybe\n',
      /parsedmarc\.ini:2: \[general\] offline: expected true\/false/,
    ],
    [
      'an unknown key',
      '[general]\noffline = True\n\n[imap]\nhost = imap.example.com\nuser = u\npassword = p\nfolder = INBOX\n',
      /parsedmarc\.ini:8: \[imap\] folder: unknown key in \[imap\]/,
    ],
    [
      'an unknown section',
      '[general]\noffline = True\n[postgres]\nhost = db\n',
      /parsedmarc\.ini: unknown section \[postgres\]/,
    ],
    [
      'S3',
      '[general]\noffline = True\n[s3]\nbucket = my-bucket\npath = parsedmarc\n',
      /\[s3\]: saving to S3 is not supported by this version/,
    ],
    [
      'the Gmail API',
      '[gmail_api]\ncredentials_file = /etc/example/credentials.json\n',
      /\[gmail_api\]: reading a Gmail mailbox/,
    ],
    ['Microsoft Graph', '[msgraph]\nclient_id = x\n', /\[msgraph\]: reading a Microsoft 365 mailbox/],
    ['GELF', '[gelf]\nhost = g\nport = 12201\nmode = udp\n', /\[gelf\]: sending to Graylog/],
    ['PostgreSQL', '[postgresql]\nhost = db\n', /\[postgresql\]: saving to PostgreSQL/],
    [
      'Log Analytics',
      '[log_analytics]\ndce = https://x\n',
      /\[log_analytics\]: sending to Azure Log Analytics/,
    ],
    [
      'a refused key',
      '[general]\noffline = True\n[mailbox]\nsince = 2d\n',
      /parsedmarc\.ini:4: \[mailbox\] since: since .* is not supported yet/,
    ],
    [
      'AWS SigV4',
      '[opensearch]\nhosts = localhost:9200\nauth_type = awssigv4\n',
      /\[opensearch\] auth_type: only basic authentication/,
    ],
    [
      'a section without its main key',
      '[general]\noffline = True\n[elasticsearch]\nssl = False\n',
      /\[elasticsearch\] needs hosts/,
    ],
    ['no section header', 'save_aggregate = True\n', /parsedmarc\.ini:1: /],
    ['a duplicate key', '[general]\noffline = True\noffline = False\n', /parsedmarc\.ini:3: /],
    [
      'a port out of range',
      '[imap]\nhost = h\nuser = u\npassword = secret-pw\nport = 99999\n',
      /parsedmarc\.ini:5 \(\[imap\] port\): must be a port number/,
    ],
  ];
  for (const [what, text, message] of cases) {
    it(`${what}`, async () => {
      const dir = workDir();
      const ini = iniFile(dir, text);
      const run = await runCli(['-c', ini, aggregate]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(run.stderr).not.toContain('secret-pw');
      expect(run.stdout).toBe('');
    });
  }

  it('[kafka] settings of the wrong shape', async () => {
    const dir = workDir();
    const noUser = iniFile(dir, '[kafka]\nhosts = 127.0.0.1:1\npassword = secret-kafka-pw\n');
    const run = await runCli(['-c', noUser, aggregate]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('a password needs a user');
    expect(run.stderr).not.toContain('secret-kafka-pw');
    const badSsl = iniFile(dir, '[kafka]\nhosts = 127.0.0.1:1\nssl = sometimes\n', 'ssl.ini');
    const ssl = await runCli(['-c', badSsl, aggregate]);
    expect(ssl.code).toBe(2);
    expect(ssl.stderr).toMatch(/ssl\.ini:3: \[kafka\] ssl: expected true\/false/);
  });

  it('a missing file', async () => {
    const run = await runCli(['-c', '/nonexistent/parsedmarc.ini', aggregate]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('parsedmarc: --config-file: no file at /nonexistent/parsedmarc.ini\n');
  });

  it('a refused section set by a variable names the variable', async () => {
    const run = await runCli(['--offline', aggregate], { PARSEDMARC_S3_BUCKET: 'b' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('PARSEDMARC_S3_BUCKET');
  });

  it('keys with no effect here are named once on stderr and the run goes on', async () => {
    const dir = workDir();
    const ini = iniFile(dir, '[general]\noffline = True\nn_procs = 4\nalways_use_local_files = True\n');
    const run = await runCli(['-c', ini, aggregate]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('parsedmarc.ini:3: [general] n_procs has no effect here');
    expect(run.stderr).toContain('parsedmarc.ini:4: [general] always_use_local_files has no effect here');
  });
});
