/**
 * The command's inputs as people give them: folders with links back into themselves, links that loop,
 * standard input and named pipes. Each real folder is read once, each file parsed once, a bad entry is one
 * line naming it, and the other inputs are still parsed.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { walkInputPaths } from '../../apps/cli/src/inputs.js';
import { repoRoot, runCli, samples } from './helpers.js';

const FORENSIC = samples('failure/dmarc_ruf_report_linkedin.eml');
const AGGREGATE = samples('aggregate/old_draft_from_wiki.xml');

describe('input folders and files', () => {
  it('reads each real folder once, however many links lead back into it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-inputs-'));
    mkdirSync(join(dir, 'reports/sub'), { recursive: true });
    copyFileSync(FORENSIC, join(dir, 'reports/sub/ruf.eml'));
    symlinkSync('.', join(dir, 'reports/self'));
    symlinkSync('..', join(dir, 'reports/sub/up'));
    symlinkSync(join(dir, 'reports'), join(dir, 'reports/sub/again'));
    const run = await runCli(['--offline', '-s', '-o', join(dir, 'out'), join(dir, 'reports')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'out/forensic.json'), 'utf8'))).toHaveLength(1);
  });

  it('walks lazily: a folder is read only when the walk reaches it, after the files before it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-inputs-'));
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    copyFileSync(AGGREGATE, join(dir, 'a/1.xml'));
    copyFileSync(AGGREGATE, join(dir, 'b/2.xml'));
    const problems: string[] = [];
    const walk = walkInputPaths([dir], (p) => problems.push(p.message));
    expect(walk.next().value).toBe(join(dir, 'a/1.xml'));
    // Not listed ahead: b is gone before the walk gets there, so it is a problem, not a file.
    rmSync(join(dir, 'b'), { recursive: true });
    expect([...walk]).toEqual([]);
    expect(problems).toEqual(['no such file or directory']);
  });

  it('names links that loop on themselves in a few words, and parses the rest (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-inputs-'));
    mkdirSync(join(dir, 'reports'));
    copyFileSync(AGGREGATE, join(dir, 'reports/a.xml'));
    symlinkSync(join(dir, 'reports/loop2'), join(dir, 'reports/loop1'));
    symlinkSync(join(dir, 'reports/loop1'), join(dir, 'reports/loop2'));
    const run = await runCli(['--offline', join(dir, 'reports')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `parsedmarc: ${join(dir, 'reports/loop1')}: INPUT_UNREADABLE: too many levels of symbolic links\n` +
        `parsedmarc: ${join(dir, 'reports/loop2')}: INPUT_UNREADABLE: too many levels of symbolic links\n`,
    );
    expect(JSON.parse(run.stdout).aggregate_reports).toHaveLength(1);
  });

  it('reads a named pipe given by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-inputs-'));
    const fifo = join(dir, 'report.fifo');
    execFileSync('mkfifo', [fifo]);
    // The writer blocks until the command opens the pipe: a child process writes it.
    const writer = spawn('sh', ['-c', `cat '${AGGREGATE}' > '${fifo}'`], { stdio: 'ignore' });
    const written = new Promise<number | null>((resolve) => writer.on('exit', resolve));
    const run = await runCli(['--offline', fifo]);
    expect(await written).toBe(0);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout).aggregate_reports).toHaveLength(1);
  });

  it('reads standard input as "-" or /dev/stdin, as the original reads it', () => {
    for (const name of ['-', '/dev/stdin']) {
      const run = spawnSync(process.execPath, [`${repoRoot}apps/cli/bin/parsedmarc.js`, '--offline', name], {
        input: readFileSync(AGGREGATE),
        encoding: 'utf8',
      });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout).aggregate_reports).toHaveLength(1);
    }
  });
});
