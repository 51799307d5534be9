import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// Tests import workspace packages by name; resolve them to their TypeScript sources so `vitest` needs no
// prior build. The production build resolves the same names through node_modules to dist/.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@parsedmarc-ts\/errors$/, replacement: src('./libs/errors/src/index.ts') },
      { find: /^@parsedmarc-ts\/parser$/, replacement: src('./libs/parser/src/index.ts') },
      { find: /^@parsedmarc-ts\/output$/, replacement: src('./libs/output/src/index.ts') },
      { find: /^@parsedmarc-ts\/api$/, replacement: src('./libs/api/src/index.ts') },
      { find: /^@parsedmarc-ts\/enrich$/, replacement: src('./libs/enrich/src/index.ts') },
      { find: /^@parsedmarc-ts\/mailbox$/, replacement: src('./libs/mailbox/src/index.ts') },
      { find: /^@parsedmarc-ts\/avro$/, replacement: src('./libs/avro/src/index.ts') },
      { find: /^@parsedmarc-ts\/kafka$/, replacement: src('./libs/kafka/src/index.ts') },
      { find: /^@parsedmarc-ts\/sinks\/service$/, replacement: src('./libs/sinks/src/service/index.ts') },
      { find: /^@parsedmarc-ts\/sinks$/, replacement: src('./libs/sinks/src/index.ts') },
      { find: /^@parsedmarc-ts\/pipeline$/, replacement: src('./libs/pipeline/src/index.ts') },
      { find: /^@parsedmarc-ts\/service-runtime$/, replacement: src('./libs/service-runtime/src/index.ts') },
    ],
  },
  test: {
    testTimeout: 30_000,
    pool: 'forks',
    // unit: the tests beside the code, no server needed; integration: test/, against the real servers.
    projects: [
      { extends: true, test: { name: 'unit', include: ['libs/**/*.test.ts', 'apps/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/**/*.test.ts'] } },
    ],
  },
});
