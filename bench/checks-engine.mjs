/*
 * The engine-only program of bench:checks: vigil's health engine alone (no IPVS, no daemon) on a
 * configuration file, until SIGTERM. The host kernel has no IPVS, so neither `vigil run -C` nor
 * keepalived's checker can run on the host bed; this isolates the cost of the checks themselves.
 * Plain JavaScript over dist/ (bench:checks builds it), so that it starts as fast as the daemon.
 * Prints `started` once checking, then the scheduler's counters every 5 s, to stderr.
 *
 *   node bench/checks-engine.mjs FILE        (VIGIL_BENCH_MAX_CONCURRENT=N to cap probes in flight)
 */
import { compile } from '../dist/config/compile.js';
import { HealthEngine } from '../dist/health/engine.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: checks-engine.mjs FILE');
const r = compile(file, { interfaceExists: () => true });
if (!r.config) {
  for (const d of r.diagnostics.slice(0, 5)) process.stderr.write(`${JSON.stringify(d)}\n`);
  process.exit(5);
}
const maxc = process.env['VIGIL_BENCH_MAX_CONCURRENT'];
const engine = new HealthEngine(r.config, maxc ? { maxConcurrent: Number(maxc) } : {});
engine.start();
process.stderr.write('started\n');
const t = setInterval(() => {
  const s = engine.snapshot().scheduler;
  process.stderr.write(
    `engine: window ${s.window} lag ${s.loopLagMs.toFixed(1)} ms inFlight ${s.inFlight} max ${s.maxInFlight} queued ${s.queued} started ${s.started} completed ${s.completed} lateness p50 ${s.lateness.p50Ms} p99 ${s.lateness.p99Ms} ms rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB results ${JSON.stringify(engine.results().byReason)}\n`,
  );
}, 5000);
process.on('SIGTERM', () => {
  clearInterval(t);
  engine.stop();
  process.exit(0);
});
