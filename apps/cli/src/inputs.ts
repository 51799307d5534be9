/** Expands the CLI's file_path arguments: files as given, folders recursively (sorted, for stable output). */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface InputProblem {
  path: string;
  message: string;
}

/**
 * Synchronous on purpose: listing a folder of 10,000 reports with one awaited stat per file left the
 * process idle most of the time; directory entries carry their type, so only symbolic links need a stat.
 */
export async function expandInputPaths(
  paths: readonly string[],
): Promise<{ files: string[]; problems: InputProblem[] }> {
  const files: string[] = [];
  const problems: InputProblem[] = [];
  const visitDirectory = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      // Hidden files (.DS_Store, editor swap files) are never reports.
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visitDirectory(path);
      else if (entry.isFile()) files.push(path);
      else if (entry.isSymbolicLink()) visit(path);
    }
  };
  const visit = (path: string): void => {
    let info;
    try {
      info = statSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push({
        path,
        message: code === 'ENOENT' ? 'no such file or directory' : (error as Error).message,
      });
      return;
    }
    if (info.isDirectory()) visitDirectory(path);
    else if (info.isFile()) files.push(path);
  };
  for (const path of paths) visit(path);
  return { files, problems };
}
