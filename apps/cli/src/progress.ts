/** A one-line progress display on stderr, only when stderr is a terminal (never in logs or pipes). */
export interface Progress {
  update(event: { filesDone: number; reports: number; failures: number }): void;
  clear(): void;
  done(): void;
}

export function createProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  totalFiles: number,
  enabled: boolean,
): Progress {
  if (!enabled || !stream.isTTY || totalFiles < 2) return { update() {}, clear() {}, done() {} };
  const width = 30;
  let last = 0;
  let shown = false;
  const render = (event: { filesDone: number; reports: number; failures: number }): void => {
    const filled = Math.round((event.filesDone / totalFiles) * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    stream.write(
      `\r[${bar}] ${event.filesDone}/${totalFiles} files, ${event.reports} reports, ${event.failures} failed`,
    );
    shown = true;
  };
  return {
    update(event) {
      const now = Date.now();
      if (now - last < 100 && event.filesDone < totalFiles) return;
      last = now;
      render(event);
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
    done() {
      if (shown) stream.write('\n');
      shown = false;
    },
  };
}
