// Runs one command and measures it: wall time (from spawn to exit, as a user sees it), CPU time, and peak
// resident memory.
//
// Peak memory is taken two ways and the larger is reported:
// - GNU time's %M: the kernel's exact high-water mark (ru_maxrss) of the largest single process in the tree;
// - the sum of VmRSS over the whole process tree, sampled every few milliseconds from /proc. This matters
//   for the original, whose CLI parses in a worker process (a one-worker ProcessPoolExecutor) while the
//   main process holds the results: both are resident at once. Sampling can miss a short spike, %M cannot,
//   and %M alone would undercount two concurrent processes, hence the max of the two.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';
export const hasGnuTime = existsSync(GNU_TIME);

function readProc(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // the process exited between listing and reading: nothing to count
  }
}

/** Every pid in the tree rooted at `pid` (including it), from /proc/<pid>/task/<tid>/children. */
function processTree(pid) {
  const out = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop();
    out.push(p);
    let tasks;
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue; // gone
    }
    for (const t of tasks) {
      const children = readProc(`/proc/${p}/task/${t}/children`);
      if (children) for (const c of children.trim().split(/\s+/)) if (c) stack.push(Number(c));
    }
  }
  return out;
}

function statusKB(text, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number, sampleMs?: number }} [opts]
 * @returns {Promise<{ wallMs: number, userS: number|null, sysS: number|null, peakRssKB: number,
 *   maxProcRssKB: number|null, treeRssKB: number, exitCode: number|null, signal: string|null,
 *   timedOut: boolean, stderr: string }>}
 */
export async function measure(cmd, args, opts = {}) {
  const { env = process.env, cwd, timeoutMs = 15 * 60_000, sampleMs = 10 } = opts;
  const work = mkdtempSync(join(tmpdir(), 'pdm-bench-'));
  const timeFile = join(work, 'time.txt');
  const devnull = openSync('/dev/null', 'w');
  const [file, argv] = hasGnuTime
    ? [GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, cmd, ...args]]
    : [cmd, args];
  const started = process.hrtime.bigint();
  const child = spawn(file, argv, { env, cwd, stdio: ['ignore', devnull, 'pipe'], detached: true });
  closeSync(devnull);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 256 * 1024) stderr = stderr.slice(-128 * 1024);
  });
  let treeRssKB = 0;
  const hwmByPid = new Map();
  const sample = () => {
    if (child.pid === undefined) return;
    let sum = 0;
    for (const p of processTree(child.pid)) {
      if (hasGnuTime && p === child.pid) continue; // the time wrapper itself is not the measured program
      const st = readProc(`/proc/${p}/status`);
      if (!st) continue;
      sum += statusKB(st, 'VmRSS');
      hwmByPid.set(p, Math.max(hwmByPid.get(p) ?? 0, statusKB(st, 'VmHWM')));
    }
    if (sum > treeRssKB) treeRssKB = sum;
  };
  const timer = setInterval(sample, sampleMs);
  let timedOut = false;
  const killer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid, 'SIGKILL'); // the whole group: the wrapper and everything it started
    } catch {
      // already gone
    }
  }, timeoutMs);
  const { code, signal } = await new Promise((resolve) =>
    child.on('close', (c, s) => resolve({ code: c, signal: s })),
  );
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  clearInterval(timer);
  clearTimeout(killer);
  let maxProcRssKB = null;
  let userS = null;
  let sysS = null;
  let exitCode = code;
  if (hasGnuTime) {
    const text = readProc(timeFile) ?? '';
    // GNU time prints "Command exited with non-zero status N" before the format line when N != 0
    const line = text.trim().split('\n').pop() ?? '';
    const m = /^(\d+) ([\d.]+) ([\d.]+)$/.exec(line.trim());
    if (m) {
      maxProcRssKB = Number(m[1]);
      userS = Number(m[2]);
      sysS = Number(m[3]);
    }
  } else {
    maxProcRssKB = Math.max(0, ...hwmByPid.values());
  }
  rmSync(work, { recursive: true, force: true });
  return {
    wallMs,
    userS,
    sysS,
    peakRssKB: Math.max(maxProcRssKB ?? 0, treeRssKB),
    maxProcRssKB,
    treeRssKB,
    exitCode,
    signal,
    timedOut,
    stderr,
  };
}
