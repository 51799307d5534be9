/**
 * The -o folder's last durable point, so that after a crash all its files are cut back to the same report:
 * at each flush, once every file is fsynced, their sizes are written to `.parsedmarc-checkpoint.json`
 * (written aside and renamed into place); each forensic sample is named in `.parsedmarc-samples` before it
 * is written. A folder opened with a checkpoint has its files cut back to the sizes recorded and the samples
 * named since deleted: what followed was not durable, and its inputs (a mailbox message, moved only after a
 * flush) are processed again. A file shorter than recorded means someone else changed the folder: then
 * nothing is cut.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';

const CHECKPOINT = '.parsedmarc-checkpoint.json';
const SAMPLES_JOURNAL = '.parsedmarc-samples';

interface CheckpointFile {
  version: 1;
  /** Each file's size at the last durable point, by its name in the folder. */
  sizes: Record<string, number>;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readCheckpoint(path: string): CheckpointFile | null {
  if (!existsSync(path)) return null;
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<CheckpointFile>;
    if (value.version !== 1 || typeof value.sizes !== 'object' || value.sizes === null) return null;
    const sizes = Object.entries(value.sizes);
    if (!sizes.every(([name, size]) => basename(name) === name && Number.isSafeInteger(size) && size >= 0)) {
      return null;
    }
    return value as CheckpointFile;
  } catch {
    return null;
  }
}

export class OutputCheckpoint {
  private readonly checkpointPath: string;
  private readonly journalPath: string;

  /** @param files the folder's output files (paths inside `dir`) */
  constructor(
    private readonly dir: string,
    private readonly samplesDir: string,
    private readonly files: readonly string[],
  ) {
    this.checkpointPath = join(dir, CHECKPOINT);
    this.journalPath = join(dir, SAMPLES_JOURNAL);
  }

  /** Before the files are opened: cuts them back to the last durable point, if there is one. */
  recover(): void {
    const checkpoint = readCheckpoint(this.checkpointPath);
    if (checkpoint !== null) {
      const cuts = this.files
        .map((path) => ({ path, size: checkpoint.sizes[basename(path)] }))
        .filter((f): f is { path: string; size: number } => f.size !== undefined);
      const current = cuts.map(({ path }) => (existsSync(path) ? statSync(path).size : -1));
      if (cuts.every(({ size }, i) => current[i]! >= size)) {
        cuts.forEach(({ path, size }, i) => {
          if (current[i]! > size) truncateSync(path, size);
        });
        if (existsSync(this.journalPath)) {
          for (const name of readFileSync(this.journalPath, 'utf8').split('\n')) {
            const path = join(this.samplesDir, name);
            if (name !== '' && basename(name) === name && existsSync(path)) unlinkSync(path);
          }
        }
      }
    }
    this.clearJournal();
  }

  /** Before samples are written: named, so that a crash before the next checkpoint removes them. */
  samplesComing(names: readonly string[]): void {
    const fd = openSync(this.journalPath, 'a');
    try {
      writeSync(fd, names.map((name) => `${name}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** After every file is fsynced: their sizes become the durable point. */
  record(): void {
    const sizes: Record<string, number> = {};
    for (const path of this.files) if (existsSync(path)) sizes[basename(path)] = statSync(path).size;
    const aside = `${this.checkpointPath}.tmp`;
    writeFileSync(aside, JSON.stringify({ version: 1, sizes } satisfies CheckpointFile));
    fsyncPath(aside);
    // The journal is emptied first: a crash before the rename then keeps at worst a sample too many (named
    // again "X (1)" on the rerun), never deletes one whose rows are durable.
    this.clearJournal();
    renameSync(aside, this.checkpointPath);
    fsyncPath(this.dir);
  }

  private clearJournal(): void {
    if (!existsSync(this.journalPath) || statSync(this.journalPath).size === 0) return;
    truncateSync(this.journalPath, 0);
    fsyncPath(this.journalPath);
  }
}
