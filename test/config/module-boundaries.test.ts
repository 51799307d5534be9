/**
 * The layering is enforced by lint (eslint.config.js: @nx/enforce-module-boundaries with the tags in each
 * package.json): this checks that the rule is on and refuses what it must, on code as it would be written.
 */
import { execFileSync } from 'node:child_process';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../cli/helpers.js';

const eslint = new ESLint({ cwd: repoRoot });

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${repoRoot}${filePath}` });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('module boundaries (lint)', () => {
  beforeAll(() => {
    // The rule reads Nx's project graph; without one cached it would skip silently.
    execFileSync('npx', ['nx', 'show', 'projects'], { cwd: repoRoot, stdio: 'ignore' });
  }, 120_000);

  it('lets an app import a library by its package name', async () => {
    expect(
      await problems(
        'apps/report-parse/src/probe.ts',
        "import { parseReports } from '@parsedmarc-ts/parser';\nvoid parseReports;\n",
      ),
    ).toEqual([]);
  });

  it('refuses a library importing an app, a pure library importing an I/O one, and deep imports', async () => {
    const intoApp = await problems(
      'libs/sinks/src/probe.ts',
      "import { reportParseEnv } from '../../../apps/report-parse/src/config.js';\nvoid reportParseEnv;\n",
    );
    expect(intoApp.join('\n')).toMatch(/@nx\/enforce-module-boundaries/);
    const pureToIo = await problems(
      'libs/output/src/probe.ts',
      "import { createKafka } from '@parsedmarc-ts/kafka';\nvoid createKafka;\n",
    );
    expect(pureToIo.join('\n')).toMatch(/@nx\/enforce-module-boundaries/);
    const deep = await problems(
      'apps/cli/src/probe.ts',
      "import { ParseError } from '@parsedmarc-ts/parser/src/errors.js';\nvoid ParseError;\n",
    );
    expect(deep.join('\n')).toMatch(/no-restricted-imports|enforce-module-boundaries/);
  });
});
