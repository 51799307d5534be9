/**
 * Forensic samples written to the -o folder under names made from their Subject, which strangers choose:
 * control characters (raw or RFC 2047-encoded) never reach a file name or stop the run, and the inputs
 * after them are still written.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, samples } from './helpers.js';

const LINKEDIN = readFileSync(samples('failure/dmarc_ruf_report_linkedin.eml'), 'latin1');
const INNER_SUBJECT = 'Subject: Subject line, could be UTF8 encoded';

function withSampleSubject(dir: string, name: string, subjectHeader: string): string {
  expect(LINKEDIN).toContain(INNER_SUBJECT);
  const path = join(dir, name);
  writeFileSync(path, LINKEDIN.replace(INNER_SUBJECT, subjectHeader), 'latin1');
  return path;
}

describe('forensic sample file names', () => {
  it('drop NUL and other control characters, raw or encoded, and the run goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-samples-'));
    const raw = withSampleSubject(dir, 'raw.eml', 'Subject: in\u0000voice\u001b[2J');
    const encoded = withSampleSubject(
      dir,
      'encoded.eml',
      `Subject: =?utf-8?B?${Buffer.from('pay\u0000me\u0007now\u202egpj.exe').toString('base64')}?=`,
    );
    const aggregate = samples('aggregate/old_draft_from_wiki.xml');
    const run = await runCli(['--offline', '-s', '-o', join(dir, 'out'), raw, encoded, aggregate]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(readdirSync(join(dir, 'out/samples')).sort()).toEqual(['invoice[2J.eml', 'paymenowgpj.exe.eml']);
    expect(JSON.parse(readFileSync(join(dir, 'out/aggregate.json'), 'utf8'))).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dir, 'out/forensic.json'), 'utf8'))).toHaveLength(2);
  });

  it('never reach the terminal raw: a subject named in a message is printed with its escapes shown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-samples-'));
    const mail = join(dir, 'not-a-report.eml');
    writeFileSync(mail, 'From: a@example.com\r\nSubject: hi\u001b[2J\u001b]0;owned\u0007\r\n\r\nhello\r\n');
    const run = await runCli(['--offline', '-s', mail]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('hi\\u001b[2J\\u001b]0;owned\\u0007');
    // eslint-disable-next-line no-control-regex -- no control character may be left
    expect(run.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
  });
});
