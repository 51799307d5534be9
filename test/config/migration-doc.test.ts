/**
 * docs/migration.md lists every section and key of the original's parsedmarc.ini with what this version
 * does with it; the table is generated from the table the CLI itself reads (SECTIONS), so the page cannot
 * drift from the code. `UPDATE_DOCS=1 npx vitest run test/config/migration-doc.test.ts` rewrites it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PARSEDMARC_INI_KEYS } from '@parsedmarc-ts/service-runtime';
import { SECTIONS } from '../../apps/cli/src/settings.js';
import { repoRoot } from '../pipeline/harness.js';

const docPath = `${repoRoot}docs/migration.md`;
const BEGIN =
  '<!-- keys:begin (generated from apps/cli/src/settings.ts; see test/config/migration-doc.test.ts) -->';
const END = '<!-- keys:end -->';

type Spec = { type: string; default?: unknown; aliasOf?: string; required?: boolean };

const cell = (text: string): string => text.replace(/\|/g, '\\|');

function keyTable(): string {
  const lines: string[] = [];
  for (const [section, keys] of Object.entries(SECTIONS)) {
    lines.push('', `### [${section}]`, '');
    if ('refusedSection' in keys) {
      lines.push(`**Refused** (exit 2, naming the section): ${keys.refusedSection} is not supported yet.`);
      continue;
    }
    lines.push('| key | the original | here |', '|---|---|---|');
    const originals = (PARSEDMARC_INI_KEYS as Record<string, Record<string, Spec>>)[section] ?? {};
    for (const [key, status] of Object.entries(keys)) {
      const spec = originals[key];
      const theirs =
        spec === undefined
          ? '(ours)'
          : spec.aliasOf !== undefined
            ? `alias of ${spec.aliasOf}`
            : spec.required
              ? `${spec.type}, required`
              : `${spec.type}, default ${JSON.stringify(spec.default ?? null)}`;
      const here =
        status.status === 'served'
          ? `served${status.note ? `: ${status.note}` : ''}`
          : status.status === 'ignored'
            ? `no effect (a notice says so): ${status.why}`
            : `refused (exit 2)${status.unless ? ` unless ${status.unless}` : ''}: ${status.why}`;
      lines.push(`| \`${key}\` | ${cell(theirs)} | ${cell(here)} |`);
    }
  }
  return lines.join('\n').trimStart();
}

describe('docs/migration.md', () => {
  it("lists every section and key of the original's parsedmarc.ini with its status here", () => {
    const doc = readFileSync(docPath, 'utf8');
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    const generated = `${BEGIN}\n\n${keyTable()}\n\n${END}`;
    if (process.env['UPDATE_DOCS'] === '1') {
      const next =
        start === -1
          ? `${doc}\n${generated}\n`
          : doc.slice(0, start) + generated + doc.slice(end + END.length);
      writeFileSync(docPath, next);
      return;
    }
    expect(start, `${docPath} has the generated key table`).toBeGreaterThan(-1);
    expect(doc.slice(start, end + END.length)).toBe(generated);
    // Every section of the original is there (the table is built from SECTIONS, which must know them all).
    for (const section of Object.keys(PARSEDMARC_INI_KEYS)) expect(doc).toContain(`### [${section}]`);
  });
});
