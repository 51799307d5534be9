/**
 * A Maildir as a mailbox (Maildir++ folders, as Dovecot and Courier lay them out): messages are the files in
 * new/ and cur/ (tmp/ holds deliveries in progress and is never read), oldest delivery first; a folder
 * "Archive/Aggregate" is the directory ".Archive.Aggregate" beside them. Moving is a rename, atomic on one
 * file system.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MailboxError } from './errors.js';
import type { FolderPath, MailMessage, MessageRef, WatchableSource } from './types.js';

const SUBDIRS = ['new', 'cur'] as const;

/** Whether `dir` looks like a Maildir: it has both cur/ and new/ directories. */
export async function isMaildir(dir: string): Promise<boolean> {
  try {
    const [cur, fresh] = await Promise.all([stat(join(dir, 'cur')), stat(join(dir, 'new'))]);
    return cur.isDirectory() && fresh.isDirectory();
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code === 'ENOENT' ||
      (error as NodeJS.ErrnoException).code === 'ENOTDIR'
    )
      return false;
    throw error;
  }
}

/**
 * Orders Maildir file names by delivery: names start with the delivery time in seconds
 * ("1700000000.M12345P678.host,S=1234:2,S"), then by the microseconds of "M<usec>" when present, then by name.
 */
export function compareMaildirNames(a: string, b: string): number {
  const key = (name: string): [number, number] => {
    const match = /^(\d+)(?:\.M(\d+))?/.exec(name);
    return match ? [Number(match[1]), Number(match[2] ?? 0)] : [Number.MAX_SAFE_INTEGER, 0];
  };
  const [ta, ua] = key(a);
  const [tb, ub] = key(b);
  return ta - tb || ua - ub || (a < b ? -1 : a > b ? 1 : 0);
}

/** The message size a Maildir name may carry (",S=<bytes>"), else null. */
function sizeFromName(name: string): number | null {
  const match = /,S=(\d+)/.exec(name);
  return match ? Number(match[1]) : null;
}

interface MaildirEntry {
  /** "new/<name>" or "cur/<name>", relative to the folder. */
  relative: string;
  name: string;
}

async function listEntries(folderDir: string): Promise<MaildirEntry[]> {
  const entries: MaildirEntry[] = [];
  for (const sub of SUBDIRS) {
    let names: string[];
    try {
      names = await readdir(join(folderDir, sub));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    // Dot files are not messages (e.g. editors' or tools' leftovers).
    for (const name of names) if (!name.startsWith('.')) entries.push({ relative: `${sub}/${name}`, name });
  }
  return entries.sort((a, b) => compareMaildirNames(a.name, b.name));
}

/** The message files of a Maildir folder (new/ and cur/), oldest delivery first, as absolute paths. */
export async function listMaildirMessages(dir: string): Promise<string[]> {
  return (await listEntries(dir)).map((entry) => join(dir, entry.relative));
}

export interface MaildirSourceOptions {
  /** The Maildir root (its INBOX). */
  root: string;
  /** The reports folder as segments below the root; [] (default) is the root itself. */
  folder?: FolderPath;
  /** Polling interval of waitForChange when file system events are unavailable. */
  pollMs?: number;
}

export class MaildirSource implements WatchableSource {
  readonly name: string;
  private readonly folderDir: string;

  constructor(private readonly options: MaildirSourceOptions) {
    this.folderDir = this.dirOf(options.folder ?? []);
    this.name = `maildir:${this.folderDir}`;
  }

  /** Maildir++: subfolders are ".A.B" directories in the root; "." inside a segment is not representable. */
  private dirOf(folder: FolderPath): string {
    if (folder.length === 0) return this.options.root;
    for (const segment of folder)
      if (segment.length === 0 || segment.includes('.') || segment.includes('/'))
        throw new MailboxError('MAILDIR', `folder name segment "${segment}" cannot be a Maildir++ folder`, {
          mailbox: this.options.root,
        });
    return join(this.options.root, `.${folder.join('.')}`);
  }

  private fail(error: unknown, what: string, messages?: string[]): MailboxError {
    if (MailboxError.is(error)) return error;
    return new MailboxError(
      'MAILDIR',
      `${what}: ${(error as Error).message}`,
      { mailbox: this.name, ...(messages ? { messages } : {}) },
      { cause: error },
    );
  }

  async list(): Promise<MessageRef[]> {
    try {
      if (!(await isMaildir(this.folderDir))) throw new Error('not a Maildir (no cur/ and new/)');
      const entries = await listEntries(this.folderDir);
      const refs: MessageRef[] = [];
      for (const entry of entries) {
        const size = sizeFromName(entry.name) ?? (await stat(join(this.folderDir, entry.relative))).size;
        refs.push({ id: entry.relative, size });
      }
      return refs;
    } catch (error) {
      throw this.fail(error, 'cannot list messages');
    }
  }

  async fetch(refs: readonly MessageRef[]): Promise<MailMessage[]> {
    const messages: MailMessage[] = [];
    for (const ref of refs) {
      const path = join(this.folderDir, ref.id);
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (error) {
        // Moved or deleted by another reader since the listing: not ours to process any more.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw this.fail(error, 'cannot read message', [path]);
      }
      messages.push({ id: ref.id, size: bytes.length, source: path, bytes });
    }
    return messages;
  }

  async ensureFolder(folder: FolderPath): Promise<void> {
    const dir = this.dirOf(folder);
    try {
      for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(dir, sub), { recursive: true });
      // Maildir++ marks subfolders with an empty "maildirfolder" file.
      if (folder.length > 0) await writeFile(join(dir, 'maildirfolder'), '', { flag: 'a' });
    } catch (error) {
      throw this.fail(error, `cannot create folder ${folder.join('/')}`);
    }
  }

  async move(refs: readonly MessageRef[], folder: FolderPath): Promise<void> {
    const dir = this.dirOf(folder);
    for (const ref of refs) {
      const from = join(this.folderDir, ref.id);
      try {
        // Same subdirectory (new/ stays new/, i.e. unseen) and same unique name.
        await rename(from, join(dir, ref.id));
      } catch (error) {
        throw this.fail(error, `cannot move to ${folder.join('/')}`, [from]);
      }
    }
  }

  async delete(refs: readonly MessageRef[]): Promise<void> {
    for (const ref of refs) {
      const path = join(this.folderDir, ref.id);
      try {
        await unlink(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // already gone: the goal is reached
        throw this.fail(error, 'cannot delete message', [path]);
      }
    }
  }

  async waitForChange(options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    // A delivery is a rename into new/ (or cur/): inotify reports it at once; the poll is the fallback.
    const watchers: FSWatcher[] = [];
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        for (const watcher of watchers) watcher.close();
        options.signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, options.timeoutMs);
      const before = this.list()
        .then((refs) => refs.length)
        .catch(() => -1);
      const poll = setInterval(() => {
        void Promise.all([
          before,
          this.list()
            .then((refs) => refs.length)
            .catch(() => -1),
        ]).then(([a, b]) => {
          if (a !== b) done();
        });
      }, this.options.pollMs ?? 1000);
      options.signal?.addEventListener('abort', done);
      for (const sub of SUBDIRS) {
        try {
          watchers.push(watch(join(this.folderDir, sub), done));
        } catch {
          // No inotify (or the directory vanished): the poll above still notices new mail.
        }
      }
    });
  }

  async close(): Promise<void> {}
}
