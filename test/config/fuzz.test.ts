import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import { repoRoot, sharedDir } from '../helpers/paths.js';

// Thousands of mutated configs (tokens of real samples deleted, duplicated, swapped, braces
// dropped, garbage inserted) must never crash the compiler: each yields a Config or errors, and
// every diagnostic has a real position.
const SAMPLES = '/usr/share/doc/keepalived/samples';
const ITERATIONS = Number(process.env.VIGIL_FUZZ_ITERATIONS ?? 4000);

const corpus: [string, string][] = [];
if (fs.existsSync(SAMPLES))
  for (const f of fs.readdirSync(SAMPLES).filter((f) => f.startsWith('keepalived.conf.')))
    corpus.push([f, fs.readFileSync(path.join(SAMPLES, f), 'utf8')]);
const vec = path.join(sharedDir, 'vectors/keepalived-config-test');
for (const f of fs.readdirSync(vec).filter((f) => f.endsWith('.conf'))) corpus.push([f, fs.readFileSync(path.join(vec, f), 'utf8')]);
corpus.push(['example', fs.readFileSync(path.join(repoRoot, 'etc/keepalived.conf'), 'utf8')]);

/** A small deterministic PRNG (mulberry32) so failures reproduce from the printed seed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const GARBAGE = ['{', '}', '"', "'", '\\', '$X', '${X}', '$X=', '@', '@^x', '~SEQ(A,1,3)', '~LST(A,1)', 'include', '#', '!', '\u0000', '\uFFFF', '-1', '99999999999999999999', '1e9', '0x10', '::', '1.2.3.4/99', 'nan', ''];

function mutate(src: string, r: () => number): string {
  const toks = src.split(/(\s+)/);
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(r() * toks.length);
    const j = Math.floor(r() * toks.length);
    switch (Math.floor(r() * 5)) {
      case 0: toks.splice(i, 1); break;
      case 1: toks.splice(i, 0, toks[i] ?? ''); break;
      case 2: [toks[i], toks[j]] = [toks[j] ?? '', toks[i] ?? '']; break;
      case 3: toks.splice(i, 0, ` ${GARBAGE[Math.floor(r() * GARBAGE.length)]} `); break;
      default: toks[i] = (toks[i] ?? '').replace(/[{}]/, ''); break;
    }
  }
  return toks.join('');
}

t.test(`compiler survives ${ITERATIONS} mutated configs`, async (t) => {
  t.ok(corpus.length >= 10, `corpus of ${corpus.length} configs`);
  const seed = Number(process.env.VIGIL_FUZZ_SEED ?? 20261125);
  const r = rng(seed);
  let configs = 0;
  let rejected = 0;
  for (let it = 0; it < ITERATIONS; it++) {
    const [name, src] = corpus[Math.floor(r() * corpus.length)]!;
    const mutated = mutate(src, r);
    let res;
    try {
      res = compileText(mutated, 'fuzz.conf', { configId: 'main' });
    } catch (e) {
      t.fail(`iteration ${it} (seed ${seed}, from ${name}) threw: ${(e as Error).stack}\n--- input ---\n${mutated}`);
      return;
    }
    for (const d of res.diagnostics) {
      if (!(d.pos.line >= 1 && d.pos.col >= 1 && d.pos.file.length > 0)) {
        t.fail(`iteration ${it}: diagnostic without a position: ${JSON.stringify(d)}`);
        return;
      }
    }
    if (res.errors > 0) {
      rejected++;
      if (res.config) return void t.fail(`iteration ${it}: a Config despite errors`);
    } else {
      configs++;
      if (!res.config) return void t.fail(`iteration ${it}: no Config and no error`);
    }
  }
  t.ok(rejected > ITERATIONS / 10, `${rejected} rejected with positioned errors`);
  // Many mutations are harmless (a duplicated comment, a swapped value of the same type): a
  // compiler that rejected nearly everything would be broken too.
  t.ok(configs > ITERATIONS / 20, `${configs} still compiled`);
});
