/*
 * `npm run demo`: vigil's main job, shown end to end. Boots the lab in user-mode Linux (this host's
 * kernel need not have IPVS; nothing touches this machine's network): two vigil directors on
 * etc/keepalived.conf, three nginx real servers in tunnel mode and a client sending steady traffic;
 * then walks through a real-server failure and a director failover, printing real `vigil status`
 * screens and the client's success rate as they happen (test/lab/e2e/demo.sh), and a summary.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, clientView, parseClientLog, parseMarks, runE2e } from '../test/lab/e2e/engine.js';
import { UML_BINARY } from '../test/lab/uml.js';

const missing = [UML_BINARY, '/usr/sbin/ipvsadm', '/usr/sbin/nginx'].filter((p) => !existsSync(p));
if (missing.length > 0) {
  process.stderr.write(`demo: missing ${missing.join(', ')}: run  bash scripts/install-deps.sh  first (as root)\n`);
  process.exit(1);
}
process.stdout.write('vigil demo: booting a user-mode Linux kernel with the LVS tunnel-mode lab (about a minute on a quiet machine)...\n');

let narration: string | undefined;
let offset = 0;
const buf = Buffer.alloc(65536);
const pump = (): void => {
  if (narration === undefined || !existsSync(narration)) return;
  const fd = openSync(narration, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, offset);
      if (n <= 0) break;
      offset += n;
      process.stdout.write(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
};
const timer = setInterval(pump, 200);
const t0 = performance.now();
const { uml, runs } = await runE2e({
  impls: ['vigil'],
  scenarios: [],
  script: join(REPO, 'test/lab/e2e/demo.sh'),
  keep: 'on-failure',
  timeoutS: 480,
  onStart: (work) => {
    narration = join(work, 'out', 'e2e-vigil', 'narration');
  },
});
clearInterval(timer);
const run = runs[0]!;
if (offset === 0) process.stdout.write(run.files.get('narration')?.toString('utf8') ?? '');

const text = (f: string): string => run.files.get(f)?.toString('utf8') ?? '';
const records = parseClientLog(text('client.log'));
const marks = parseMarks(text('marks'));
const at = (m: string): number => marks.get(`demo:${m}`) ?? Number.NaN;
const pct = (from: number, to: number): string => {
  const v = clientView(records, from, to);
  return v.requests === 0 ? 'n/a' : `${(((v.requests - v.failed) / v.requests) * 100).toFixed(1)} % ok (${v.failed} of ${v.requests} failed${v.failed > 0 ? ` over ${(v.windowMs / 1000).toFixed(1)} s` : ''})`;
};
const s1 = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'n/a');
process.stdout.write(
  [
    '',
    '━━ Summary: what the client saw',
    `  whole run:                          ${pct(records[0]?.start ?? 0, Infinity)}`,
    `  real server down → out of the table: ${pct(at('rs-fail'), at('rs-removed'))}; seen out of the table ${s1(at('rs-removed') - at('rs-fail'))} after (polled about every 2 s here)`,
    `  once rs2 was out, and back:          ${pct(at('rs-removed'), at('crash'))}`,
    `  master died → dir2 serving:          ${pct(at('crash'), at('return'))}`,
    `  dir1 back and preempting:            ${pct(at('return'), Infinity)}`,
    '',
    `demo ${uml.ok && run.status === 0 ? 'finished' : `FAILED (guest status ${run.status}${uml.keptDir ? `, files kept in ${uml.keptDir}` : ''})`} in ${Math.round((performance.now() - t0) / 1000)} s.`,
    'Next: the side-by-side with keepalived, npm run bench:e2e; the whole test suite, bash .ci/run.',
    '',
  ].join('\n'),
);
process.exit(uml.ok && run.status === 0 ? 0 : 1);
