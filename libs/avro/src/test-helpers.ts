// Test support (not exported from the package): walks the sample corpus.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
export const samplesDir = join(repoRoot, 'test/fixtures/samples');

export function sampleFiles(dir = samplesDir): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? sampleFiles(path) : [path];
    });
}
