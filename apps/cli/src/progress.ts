/**
 * A one-line progress display on stderr, only when stderr is a terminal (never in logs or pipes). The
 * inputs are parsed as the folder walk finds them, so there is no total to show: files done so far, reports,
 * failures; nothing for a single file.
 */
export interface Progress {
  update(event: { filesDone: number; reports: number; failures: number }): void;
  clear(): void;
  done(): void;
}

export function createProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  enabled: boolean,
): Progress {
  if (!enabled || !stream.isTTY) return { update() {}, clear() {}, done() {} };
  let last = 0;
  let shown = false;
  return {
    update(event) {
      const now = Date.now();
      if (event.filesDone < 2 || now - last < 100) return;
      last = now;
      stream.write(`\r${event.filesDone} files, ${event.reports} reports, ${event.failures} failed`);
      shown = true;
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
