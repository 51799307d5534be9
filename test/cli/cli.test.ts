import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformance, dnsServer, repoRoot, runCli, samples, withTimeZone } from './helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'parsedmarc-cli-'));

describe('parsedmarc -h / -v', () => {
  it('accepts every flag of the original and lists it in -h', async () => {
    const help = readFileSync(conformance('documented/cli-help.txt'), 'utf8');
    const seedFlags = new Set(help.match(/--[a-z][a-z_-]+/g));
    const run = await runCli(['-h']);
    expect(run.code).toBe(0);
    for (const flag of seedFlags) expect(run.stdout, flag).toContain(flag);
    for (const short of [
      '-o',
      '-n',
      '-t',
      '-H',
      '-u',
      '-p',
      '-r',
      '-a',
      '-d',
      '-E',
      '-K',
      '-O',
      '-U',
      '-P',
      '-F',
      '-T',
      '-S',
      '-A',
      '-M',
      '-w',
      '-s',
      '-v',
    ])
      expect(run.stdout).toContain(`${short}, --`);
    expect(run.stdout).toContain('--offline');
  });
  it("prints its version with -v, the launcher's short cut saying the same as the command", async () => {
    const run = await runCli(['-v']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['-v', '--version']) {
      const launched = spawnSync(process.execPath, [join(repoRoot, 'apps/cli/bin/parsedmarc.js'), flag], {
        encoding: 'utf8',
      });
      expect([launched.status, launched.stdout]).toEqual([0, run.stdout]);
    }
  });
  it('rejects an unknown flag and an invalid value with exit 2', async () => {
    expect((await runCli(['--no-such-flag', 'x'])).code).toBe(2);
    const bad = await runCli(['-t', 'soon', samples('empty.xml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--timeout');
  });
});

describe('parsedmarc with an output it cannot open', () => {
  it('says so (exit 2) and prints no empty document: -o naming a file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pdm-o-file-')), 'not-a-folder.txt');
    writeFileSync(file, 'x');
    const run = await runCli(['--offline', '-o', file, samples('aggregate/old_draft_from_wiki.xml')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `parsedmarc: output-dir (${file}): INVALID_SINK_CONFIG: ${file} is not a directory\n`,
    );
    expect(run.stdout).toBe('');
  });
});

describe('parsedmarc on files', () => {
  it("reproduces the original's documented aggregate JSON and CSV, with reverse DNS from a real resolver", async () => {
    const server = dnsServer();
    const out = tmp();
    const run = await withTimeZone('America/New_York', () =>
      runCli(['-n', server, '-o', out, samples('aggregate/old_draft_from_wiki.xml')]),
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const seed = JSON.parse(readFileSync(conformance('documented/aggregate.json'), 'utf8'));
    const ours = JSON.parse(run.stdout).aggregate_reports[0];
    // Every key and value of the seed, same nesting; newer keys may be added.
    expect(ours).toMatchObject(seed);
    expect(JSON.parse(readFileSync(join(out, 'aggregate.json'), 'utf8'))).toEqual([ours]);
    const [seedHeader, seedRow] = readFileSync(conformance('documented/aggregate.csv'), 'utf8')
      .trim()
      .split('\n');
    const [header, row] = readFileSync(join(out, 'aggregate.csv'), 'utf8').trim().split('\n');
    expect(header!.startsWith(`${seedHeader},`)).toBe(true);
    expect(row!.startsWith(`${seedRow},`)).toBe(true);
  });

  it("reproduces the original's documented forensic report", async () => {
    const out = tmp();
    const file = samples(
      'failure/DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml',
    );
    const run = await runCli(['--offline', '-o', out, file]);
    expect(run.stderr).toBe('');
    const seed = JSON.parse(readFileSync(conformance('documented/forensic.json'), 'utf8'));
    const ours = JSON.parse(run.stdout).forensic_reports[0];
    // `sample` is compared apart: the seed was made from another copy of this email (its sample carries the
    // MIME part's own headers); ours is the embedded message as sent, equal to parsedmarc 10.4.3's.
    const { parsed_sample: _ps, source: _s, sample: _sample, ...seedTop } = seed;
    expect(ours).toMatchObject(seedTop);
    expect(ours.sample).toContain('Message-ID: <38.E7.30937.BD6E1BB5@ mailrelay.de>');
    expect(ours.parsed_sample).toMatchObject({
      subject: 'Subject',
      date: '2018-10-01 09:20:27',
      to_domains: ['domain.de'],
    });
    expect(ours.source.ip_address).toBe('10.10.10.10');
    const [seedHeader, seedRow] = readFileSync(conformance('documented/forensic.csv'), 'utf8')
      .trim()
      .split('\n');
    const [header, row] = readFileSync(join(out, 'forensic.csv'), 'utf8').trim().split('\n');
    expect(header!.startsWith(`${seedHeader},`)).toBe(true);
    expect(row!.startsWith(`${seedRow},`)).toBe(true);
    expect(readdirSync(join(out, 'samples'))).toEqual(['Subject.eml']);
  });

  it('parses a whole folder; a bad input is one stderr line and never stops the others', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'nested'));
    copyFileSync(samples('aggregate/old_draft_from_wiki.xml'), join(dir, 'a.xml'));
    writeFileSync(join(dir, 'b-garbage.bin'), Buffer.from('this is not a report at all\n'));
    copyFileSync(samples('smtp_tls/rfc8460.json'), join(dir, 'nested', 'c.json'));
    copyFileSync(
      samples('aggregate/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz'),
      join(dir, 'nested', 'd'),
    );
    const run = await runCli(['--offline', dir]);
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('b-garbage.bin');
    expect(lines[0]).toContain('UNRECOGNIZED_FORMAT');
    const results = JSON.parse(run.stdout);
    expect(
      results.aggregate_reports.map(
        (r: { report_metadata: { org_name: string } }) => r.report_metadata.org_name,
      ),
    ).toEqual(['acme.com', 'FastMail Pty Ltd']);
    expect(results.smtp_tls_reports).toHaveLength(1);
  });

  it('with --debug names each input and the failure context; without, one line per failure', async () => {
    const dir = tmp();
    copyFileSync(samples('aggregate/old_draft_from_wiki.xml'), join(dir, 'a.xml'));
    writeFileSync(join(dir, 'b-garbage.bin'), Buffer.from('this is not a report at all\n'));
    const plain = await runCli(['--offline', dir]);
    const debug = await runCli(['--offline', '--debug', dir]);
    expect(plain.stderr.trim().split('\n')).toHaveLength(1);
    expect(debug.code).toBe(plain.code);
    expect(debug.stdout).toBe(plain.stdout);
    expect(debug.stderr).toContain(`input: ${join(dir, 'a.xml')}`);
    expect(debug.stderr).toMatch(/b-garbage\.bin: UNRECOGNIZED_FORMAT context: \{.*"source"/);
  });

  it('appends to existing output files like the original', async () => {
    const out = tmp();
    const file = samples('aggregate/old_draft_from_wiki.xml');
    await runCli(['--offline', '-s', '-o', out, file]);
    const second = await runCli([
      '--offline',
      '-s',
      '-o',
      out,
      file,
      samples('aggregate/veeam.com!example.com!1530133200!1530219600.xml'),
    ]);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('');
    const json = JSON.parse(readFileSync(join(out, 'aggregate.json'), 'utf8'));
    expect(json).toHaveLength(3);
    const csv = readFileSync(join(out, 'aggregate.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(csv.filter((l) => l.startsWith('xml_schema,'))).toHaveLength(1);
  });

  it('skips an aggregate report already seen in the run (same org and report id), like the original', async () => {
    // The corpus holds one report three times (.xml, .xml.gz, .zip) and two others twice: the original
    // writes 20 aggregate reports for it, not 24.
    const run = await runCli(['--offline', samples('')]);
    const reports = JSON.parse(run.stdout).aggregate_reports as {
      report_metadata: { org_name: string; report_id: string };
    }[];
    expect(reports).toHaveLength(20);
    const keys = reports.map((r) => `${r.report_metadata.org_name}_${r.report_metadata.report_id}`);
    expect(new Set(keys).size).toBe(20);
    expect(keys.filter((k) => k === 'google.com_11038226378739404135')).toHaveLength(1);
  });

  it('names a missing file and goes on', async () => {
    const run = await runCli([
      '--offline',
      '/nonexistent/report.xml',
      samples('aggregate/old_draft_from_wiki.xml'),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('/nonexistent/report.xml');
    expect(JSON.parse(run.stdout).aggregate_reports).toHaveLength(1);
  });
});
