/** Expands the CLI's file_path arguments: files as given, folders recursively (sorted, for stable output). */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface InputProblem {
  path: string;
  message: string;
}

export async function expandInputPaths(
  paths: readonly string[],
): Promise<{ files: string[]; problems: InputProblem[] }> {
  const files: string[] = [];
  const problems: InputProblem[] = [];
  const visit = async (path: string): Promise<void> => {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      problems.push({
        path,
        message:
          (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? 'no such file or directory'
            : (error as Error).message,
      });
      return;
    }
    if (info.isDirectory()) {
      const entries = (await readdir(path)).sort();
      for (const entry of entries) {
        // Hidden files (.DS_Store, editor swap files) are never reports.
        if (!entry.startsWith('.')) await visit(join(path, entry));
      }
    } else if (info.isFile()) files.push(path);
  };
  for (const path of paths) await visit(path);
  return { files, problems };
}
