import type { BlockSpec, KeywordSpec } from './schema/dsl.js';
import { rootSpec } from './schema/root.js';

/**
 * Renders the configuration reference (docs/config-reference.md) from the block specs, so the
 * documentation lists exactly the keywords the compiler accepts.
 */
export function renderReference(root: BlockSpec<any> = rootSpec): string {
  const out: string[] = [
    '# Configuration reference',
    '',
    'Generated from the compiler\'s keyword tables (`npm run docs` rewrites this file; a test fails',
    'when it is stale). vigil reads keepalived.conf as keepalived 2.2.7 does; differences are',
    'stated per keyword. Times are in seconds in the file (fractions allowed where noted) and in',
    'milliseconds in `--dump` output (`...Ms` fields).',
    '',
    'Legend: *alias* = legacy spelling of another keyword; *inert* = accepted and kept in the',
    'model, but vigil does not act on it yet; *deprecated* = warns.',
    '',
  ];
  const seen = new Set<BlockSpec<any>>();
  const queue: { spec: BlockSpec<any>; path: string }[] = [{ spec: root, path: 'top level' }];
  while (queue.length > 0) {
    const { spec, path } = queue.shift()!;
    if (seen.has(spec)) continue;
    seen.add(spec);
    out.push(`## ${path}`, '', '| keyword | kind | meaning, default, range, keepalived differences |', '|---|---|---|');
    for (const [name, k] of Object.entries(spec.keywords).sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`| \`${name}\` | ${kind(k)} | ${cell(k)} |`);
      if (k.block && !seen.has(k.block)) queue.push({ spec: k.block, path: `${path === 'top level' ? '' : `${path} → `}${name}` });
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function kind(k: KeywordSpec): string {
  return k.kind === 'value' ? (k.repeat === 'append' ? 'value, repeatable' : 'value') : k.kind === 'list' ? 'list block' : k.repeat === 'append' ? 'block, repeatable' : 'block';
}

function cell(k: KeywordSpec): string {
  const notes: string[] = k.aliasOf ? [`*alias* of \`${k.aliasOf}\` (same meaning).`] : [k.doc];
  if (k.deprecated) notes.push(`*deprecated*: ${k.deprecated}`);
  if (k.inert) notes.push(`*inert*: ${k.inert}`);
  return notes
    .filter(Boolean)
    .join(' ')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
}
