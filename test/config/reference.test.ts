import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { renderReference } from '../../src/config/reference.js';
import { keywordIndex } from '../../src/config/schema/build.js';
import { rootSpec } from '../../src/config/schema/root.js';
import { repoRoot } from '../helpers/paths.js';

t.test('docs/config-reference.md is generated from the keyword tables and up to date', async (t) => {
  const file = path.join(repoRoot, 'docs/config-reference.md');
  const onDisk = fs.readFileSync(file, 'utf8');
  t.equal(onDisk, renderReference(), 'stale: run `npm run docs` and commit docs/config-reference.md');
});

t.test('every keyword has a doc string and appears in the reference', async (t) => {
  const text = renderReference();
  const index = keywordIndex(rootSpec);
  t.ok(index.size > 300, `${index.size} distinct keywords`);
  for (const kw of index.keys()) t.ok(text.includes(`| \`${kw}\` |`), kw);
  const walk = (spec: typeof rootSpec, seen = new Set<unknown>()): void => {
    if (seen.has(spec)) return;
    seen.add(spec);
    for (const [name, k] of Object.entries(spec.keywords)) {
      if (!k.doc || k.doc.length < 8) t.fail(`${spec.name || 'top level'} → ${name} has no doc`);
      if (k.block) walk(k.block, seen);
    }
  };
  walk(rootSpec);
});
