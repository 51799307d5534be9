/**
 * Expands the CLI's file_path arguments: files as given, folders recursively (sorted, for stable output),
 * `-` for standard input. Each real folder is read once, however many links lead to it, so a link back
 * into a folder cannot loop; a folder or file that cannot be read is one problem, the rest goes on. A
 * Maildir (a folder with cur/ and new/) is read as its messages, oldest delivery first, and left as it is.
 */
import { readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import { isMaildir, listMaildirMessages } from '@parsedmarc-ts/mailbox/maildir';

export interface InputProblem {
  path: string;
  message: string;
}

const STDIN = '/dev/stdin';

/** An fs error in a few words (its code and errno text, without the path repeated). */
function failureText(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'INPUT_UNREADABLE: permission denied';
  if (code === 'ELOOP') return 'INPUT_UNREADABLE: too many levels of symbolic links';
  return `INPUT_UNREADABLE: ${code ?? ''} ${message.split(', ')[0] ?? message}`.replace(/\s+/g, ' ');
}

/**
 * The input files, one at a time as the walk finds them: parsing starts with the first file, and a folder of
 * a million files is never listed whole. Problems (a missing path, an unreadable folder) go to `onProblem`
 * as they are met; the rest of the walk goes on.
 *
 * Synchronous on purpose: listing a folder of 10,000 reports with one awaited stat per file left the
 * process idle most of the time; directory entries carry their type, so only folders and symbolic links
 * need a stat.
 */
export function* walkInputPaths(
  paths: readonly string[],
  onProblem: (problem: InputProblem) => void,
): Generator<string> {
  /** device:inode of every folder read. */
  const visited = new Set<string>();
  const statOf = (path: string): Stats | null => {
    try {
      return statSync(path);
    } catch (error) {
      onProblem({ path, message: failureText(error) });
      return null;
    }
  };
  function* visitDirectory(dir: string, info: Stats): Generator<string> {
    const id = `${info.dev}:${info.ino}`;
    if (visited.has(id)) return;
    visited.add(id);
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      onProblem({ path: dir, message: failureText(error) });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      // Hidden files (.DS_Store, editor swap files) are never reports.
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isFile()) yield path;
      else if (entry.isDirectory() || entry.isSymbolicLink()) yield* visit(path, false);
    }
  }
  /** `named`: given on the command line, where a pipe or a device is read too (not inside folders). */
  function* visit(path: string, named: boolean): Generator<string> {
    const info = statOf(path);
    if (info === null) return;
    if (info.isDirectory()) yield* visitDirectory(path, info);
    else if (info.isFile() || (named && (info.isFIFO() || info.isCharacterDevice() || info.isSocket()))) {
      yield path;
    }
  }
  for (const path of paths) yield* visit(path === '-' ? STDIN : path, true);
}

/**
 * Replaces each path that is a Maildir (has cur/ and new/) by its message files, oldest delivery first;
 * other paths are kept as they are (folders are expanded later, recursively and sorted).
 */
export async function expandMaildirInputs(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    if (await isMaildir(path)) out.push(...(await listMaildirMessages(path)));
    else out.push(path);
  }
  return out;
}
