/** The README's layout table and docs/architecture.md stay in step with the projects that exist. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../cli/helpers.js';

const projects = ['apps', 'libs'].flatMap((dir) =>
  readdirSync(join(repoRoot, dir)).map((name) => `${dir}/${name}`),
);

describe('the layout as documented', () => {
  it('the README lists every project, and no project that is gone', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const listed = [...readme.matchAll(/^((?:apps|libs)\/[a-z-]+)\s{2,}/gm)].map((m) => m[1]!);
    expect([...listed].sort()).toEqual([...projects].sort());
  });

  it('docs/architecture.md names every project', () => {
    const doc = readFileSync(join(repoRoot, 'docs/architecture.md'), 'utf8');
    expect(projects.filter((p) => !doc.includes(`\`${p}\``) && !doc.includes(`\`${p}/`))).toEqual([]);
  });
});
