/*
 * The host bed of bench:checks: vigil's health engine alone (no IPVS, no daemon), on a
 * configuration file, until SIGTERM. The host kernel has no IPVS, so neither `vigil run -C` nor
 * keepalived's checker can run here; this isolates the cost of the checks themselves from UML's
 * system calls. Every 5 s it prints the scheduler's counters to stderr.
 *
 *   node --import=@tapjs/typescript/import bench/checks-engine.ts FILE
 */
import { compile } from '../src/config/compile.js';
import { HealthEngine } from '../src/health/engine.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: checks-engine.ts FILE');
const r = compile(file, { interfaceExists: () => true });
if (!r.config) {
  for (const d of r.diagnostics.slice(0, 5)) process.stderr.write(`${JSON.stringify(d)}\n`);
  process.exit(5);
}
const maxc = process.env['VIGIL_BENCH_MAX_CONCURRENT'];
const engine = new HealthEngine(r.config, maxc ? { maxConcurrent: Number(maxc) } : {});
engine.start();
const t = setInterval(() => {
  const s = engine.snapshot().scheduler;
  process.stderr.write(`engine: inFlight ${s.inFlight} max ${s.maxInFlight} queued ${s.queued} started ${s.started} completed ${s.completed} lateness p50 ${s.lateness.p50Ms} p99 ${s.lateness.p99Ms} ms rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB results ${JSON.stringify(engine.results().byReason)}\n`);
}, 5000);
process.on('SIGTERM', () => {
  clearInterval(t);
  engine.stop();
  process.exit(0);
});
