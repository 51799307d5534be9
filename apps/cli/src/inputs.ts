/**
 * Expands the CLI's file_path arguments: files as given, folders recursively (sorted, for stable output),
 * `-` for standard input. Each real folder is read once, however many links lead to it, so a link back
 * into a folder cannot loop; a folder or file that cannot be read is one problem, the rest goes on.
 */
import { readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';

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
 * Synchronous on purpose: listing a folder of 10,000 reports with one awaited stat per file left the
 * process idle most of the time; directory entries carry their type, so only folders and symbolic links
 * need a stat.
 */
export async function expandInputPaths(
  paths: readonly string[],
): Promise<{ files: string[]; problems: InputProblem[] }> {
  const files: string[] = [];
  const problems: InputProblem[] = [];
  /** device:inode of every folder read. */
  const visited = new Set<string>();
  const statOf = (path: string): Stats | null => {
    try {
      return statSync(path);
    } catch (error) {
      problems.push({ path, message: failureText(error) });
      return null;
    }
  };
  const visitDirectory = (dir: string, info: Stats): void => {
    const id = `${info.dev}:${info.ino}`;
    if (visited.has(id)) return;
    visited.add(id);
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      problems.push({ path: dir, message: failureText(error) });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      // Hidden files (.DS_Store, editor swap files) are never reports.
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isFile()) files.push(path);
      else if (entry.isDirectory() || entry.isSymbolicLink()) visit(path, false);
    }
  };
  /** `named`: given on the command line, where a pipe or a device is read too (not inside folders). */
  const visit = (path: string, named: boolean): void => {
    const info = statOf(path);
    if (info === null) return;
    if (info.isDirectory()) visitDirectory(path, info);
    else if (info.isFile() || (named && (info.isFIFO() || info.isCharacterDevice() || info.isSocket()))) {
      files.push(path);
    }
  };
  for (const path of paths) visit(path === '-' ? STDIN : path, true);
  return { files, problems };
}
