/** A PEM file a sink's settings name (a CA, a client certificate or key), read at open. */
import { readFileSync } from 'node:fs';
import { SinkError } from './errors.js';

/** The file's text; a file that cannot be read is a setting to fix (INVALID_SINK_CONFIG, exit 2). */
export function readPemFile(sink: string, path: string, what = 'CA file'): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new SinkError(
      'INVALID_SINK_CONFIG',
      `cannot read the ${what} ${path}: ${(error as Error).message}`,
      { sink, target: path },
      { cause: error },
    );
  }
}
