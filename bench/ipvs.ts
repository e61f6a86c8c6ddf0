/*
 * IPVS programming benchmark, in one user-mode Linux boot (a real kernel with IPVS):
 *   program   1,000 virtual services × 10 tunnel real servers from an empty table
 *   weights   10,000 weight changes (every real server), as one desired table
 *   trickle   10,000 weight changes as 1,000 reconciles of 10 (as checkers would report them):
 *             with a table rebuilt from scratch each time (11,000 new objects per call); with
 *             structural sharing (only the changed service is a new object); and rebuilt then
 *             passed through director/memo.ts shareEntries (the daemon's way). The kernel's
 *             weights are checked after each (ipvsadm -Ln)
 *   adopt     a restart on the full table: read it all, zero writes
 * for vigil (Reconciler + generic-netlink driver, in node), beside `ipvsadm --restore` of the
 * same table and the same weight changes (`-e` lines), and keepalived 2.2.7 starting on a
 * keepalived.conf with the same services (real servers without checkers, so all up at start;
 * timed from its start until the kernel holds every destination).
 *
 *   npm run build && npm run bench:ipvs        (as root, with user-mode-linux, ipvsadm, keepalived)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeUmlFailure, runUml } from '../test/lab/uml.js';

const REPO = fileURLToPath(new URL('../', import.meta.url)).replace(/\/$/, '');
const SERVICES = Number(process.env['VIGIL_BENCH_SERVICES'] ?? 1000);
const REALS = Number(process.env['VIGIL_BENCH_REALS'] ?? 10);

/** The node program run in the guest (written there by the scenario script); prints one JSON line. */
const GUEST = String.raw`
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Reconciler } from '${REPO}/dist/director/reconciler.js';
import { shareEntries } from '${REPO}/dist/director/memo.js';
import { IpvsDriver } from '${REPO}/dist/ipvs/driver.js';
import { poller } from '${REPO}/dist/net/poller.js';
import { realClock } from '${REPO}/dist/util/clock.js';

const [S, R, dir] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const vip = (i) => '198.18.' + (i >> 8) + '.' + (i & 255);
const rip = (j) => '198.19.0.' + (j + 1);
const svc = (i) => ({ family: 4, protocol: 'tcp', address: vip(i), port: 80, scheduler: 'wrr', flags: 0, timeout: 0, netmask: 32 });
const dest = (j, w) => ({ family: 4, address: rip(j), port: 80, forward: 'tun', weight: w, upperThreshold: 0, lowerThreshold: 0, tunType: 'ipip', tunPort: 0, tunFlags: 0 });
const table = (w) => Array.from({ length: S }, (_, i) => ({ service: svc(i), dests: Array.from({ length: R }, (_, j) => dest(j, w(i, j))) }));
const log = { info() {}, warn() {}, error: (o, m) => console.error(m) };
const ms = (t0) => Math.round(performance.now() - t0);
const destLines = () => execFileSync('ipvsadm', ['-Ln'], { encoding: 'utf8', maxBuffer: 1 << 26 }).split('\n').filter((l) => l.startsWith('  -> ') && !l.includes('RemoteAddress'));
const count = () => destLines().length;
/** Destinations in the kernel at weight w (ipvsadm -Ln: "  -> addr:port  Tunnel  w  active  inactive"). */
const atWeight = (w) => destLines().filter((l) => l.trim().split(/\s+/)[3] === String(w)).length;
const out = {};

// vigil
let ipvs = await IpvsDriver.open();
let r = new Reconciler({ ipvs, clock: realClock, log, resyncMs: 0 });
let t0 = performance.now();
let res = await r.reconcile(table(() => 1), 'bench: program');
out.vigilProgram = { ms: ms(t0), writes: res.writes, ok: res.ok };
t0 = performance.now();
res = await r.reconcile(table(() => 2), 'bench: weights');
out.vigilWeights = { ms: ms(t0), writes: res.writes, ok: res.ok };
t0 = performance.now();
let writes = 0;
let buildMs = 0;
for (let k = 0; k < S; k++) {
  const t1 = performance.now();
  const w = table((i, j) => (i <= k ? 3 : 2));
  buildMs += performance.now() - t1;
  res = await r.reconcile(w, 'bench: trickle');
  writes += res.writes;
}
out.vigilTrickle = { ms: ms(t0), writes, buildMs: Math.round(buildMs), ok: res.ok && atWeight(3) === S * R };
// the same with structural sharing: each call's table reuses the previous one's unchanged entries
let shared = table(() => 3);
await r.reconcile(shared, 'bench: same table');
t0 = performance.now();
writes = 0;
let diffed = 0;
for (let k = 0; k < S; k++) {
  shared = shared.slice();
  shared[k] = { service: svc(k), dests: Array.from({ length: R }, (_, j) => dest(j, 4)) };
  res = await r.reconcile(shared, 'bench: trickle shared');
  writes += res.writes;
  diffed += res.diffed;
}
out.vigilTrickleShared = { ms: ms(t0), writes, diffed, ok: res.ok && atWeight(4) === S * R };
// the daemon's way: the table rebuilt from scratch each time (as desiredTable does), then shareEntries
let memo = shared;
t0 = performance.now();
writes = 0;
buildMs = 0;
for (let k = 0; k < S; k++) {
  const t1 = performance.now();
  const w = table((i, j) => (i <= k ? 5 : 4));
  buildMs += performance.now() - t1;
  memo = shareEntries(memo, w);
  res = await r.reconcile(memo, 'bench: trickle rebuilt + shareEntries');
  writes += res.writes;
}
out.vigilTrickleMemo = { ms: ms(t0), writes, buildMs: Math.round(buildMs), ok: res.ok && atWeight(5) === S * R };
r.stop();
ipvs.close();
ipvs = await IpvsDriver.open();
r = new Reconciler({ ipvs, clock: realClock, log, resyncMs: 0 });
t0 = performance.now();
res = await r.reconcile(table(() => 5), 'bench: restart');
out.vigilAdopt = { ms: ms(t0), writes: res.writes, reads: ipvs.sent.reads, ok: res.ok };
out.destsInKernel = count();
await ipvs.flush();
r.stop();
ipvs.close();
poller().stop();

// ipvsadm --restore
const restore = (text) => execFileSync('ipvsadm', ['--restore'], { input: text, maxBuffer: 1 << 26 });
const lines = [];
for (let i = 0; i < S; i++) {
  lines.push('-A -t ' + vip(i) + ':80 -s wrr');
  for (let j = 0; j < R; j++) lines.push('-a -t ' + vip(i) + ':80 -r ' + rip(j) + ':80 -i -w 1');
}
t0 = performance.now();
restore(lines.join('\n') + '\n');
out.ipvsadmProgram = { ms: ms(t0), ok: count() === S * R };
const edits = [];
for (let i = 0; i < S; i++) for (let j = 0; j < R; j++) edits.push('-e -t ' + vip(i) + ':80 -r ' + rip(j) + ':80 -i -w 2');
t0 = performance.now();
restore(edits.join('\n') + '\n');
out.ipvsadmWeights = { ms: ms(t0), ok: true };
execFileSync('ipvsadm', ['-C']);

// keepalived on the same services (checker process only, no checkers: all real servers up)
const conf = ['global_defs {', '  router_id bench', '}'];
for (let i = 0; i < S; i++) {
  conf.push('virtual_server ' + vip(i) + ' 80 {', '  protocol TCP', '  lvs_sched wrr', '  lvs_method TUN');
  for (let j = 0; j < R; j++) conf.push('  real_server ' + rip(j) + ' 80 {', '    weight 1', '  }');
  conf.push('}');
}
writeFileSync(dir + '/keepalived.conf', conf.join('\n') + '\n');
t0 = performance.now();
const k = spawn('keepalived', ['-n', '-C', '-l', '-f', dir + '/keepalived.conf', '-p', dir + '/k.pid', '-c', dir + '/kc.pid'], { stdio: 'ignore' });
let n = 0;
while (ms(t0) < 120000) {
  n = count();
  if (n >= S * R) break;
  await new Promise((res) => setTimeout(res, 100));
}
out.keepalivedProgram = { ms: ms(t0), ok: n >= S * R, dests: n };
k.kill('SIGTERM');
await new Promise((res) => k.on('exit', res));
console.log(JSON.stringify(out));
`;

const SCRIPT = (guest: string) => `#!/bin/bash
set -eu
mkdir -p /tmp/bench
cat >/tmp/bench/guest.mjs <<'VIGIL_GUEST_EOF'
${guest}
VIGIL_GUEST_EOF
node /tmp/bench/guest.mjs ${SERVICES} ${REALS} /tmp/bench >"$SCENARIO_OUT/result.json"
`;

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-ipvs-'));
try {
  const script = join(dir, 'bench-ipvs.sh');
  writeFileSync(script, SCRIPT(GUEST), { mode: 0o755 });
  const res = await runUml({ topology: null, scenarios: [{ name: 'bench-ipvs', script }], timeoutMs: 900_000, scenarioTimeoutS: 840, memMb: 1024 });
  const s = res.scenarios[0];
  if (!res.ok || !s) {
    console.error(describeUmlFailure(res));
    process.exit(1);
  }
  const raw = s.files.get('result.json')?.toString() ?? '';
  if (!raw.trim()) {
    console.error(`bench: no result\n${s.stderr}`);
    process.exit(1);
  }
  const r = JSON.parse(raw.trim().split('\n').at(-1) ?? '{}') as Record<string, { ms: number; writes?: number; ok: boolean }>;
  const row = (what: string, vigil: { ms: number; writes?: number; ok: boolean } | undefined, other: { ms: number } | undefined, otherName: string) =>
    `| ${what} | ${vigil ? `${vigil.ms} ms${vigil.writes !== undefined ? ` (${vigil.writes} writes)` : ''}${vigil.ok ? '' : ' **NOT OK**'}` : '-'} | ${other ? `${other.ms} ms (${otherName})` : '-'} | ${vigil && other ? `${(vigil.ms / other.ms).toFixed(2)}×` : '-'} |`;
  console.log(`IPVS programming in user-mode Linux: ${SERVICES} services × ${REALS} real servers (tunnel mode)\n`);
  console.log('| task | vigil | other | vigil / other |');
  console.log('|---|---|---|---|');
  console.log(row(`program ${SERVICES * (REALS + 1)} objects from empty`, r['vigilProgram'], r['ipvsadmProgram'], 'ipvsadm --restore'));
  console.log(row('same, keepalived starting on the same config', r['vigilProgram'], r['keepalivedProgram'], 'keepalived'));
  console.log(row(`${SERVICES * REALS} weight changes, one desired table`, r['vigilWeights'], r['ipvsadmWeights'], 'ipvsadm --restore -e'));
  console.log(row(`${SERVICES * REALS} weight changes, ${SERVICES} reconciles of ${REALS}, table rebuilt each time`, r['vigilTrickle'], r['ipvsadmWeights'], 'ipvsadm --restore -e'));
  console.log(row('same, only the changed entry is a new object', r['vigilTrickleShared'], r['ipvsadmWeights'], 'ipvsadm --restore -e'));
  console.log(row('same, table rebuilt each time + memo.ts shareEntries', r['vigilTrickleMemo'], r['ipvsadmWeights'], 'ipvsadm --restore -e'));
  console.log(row('restart on the full table (adopt, 0 writes expected)', r['vigilAdopt'], undefined, ''));
  const tb = (name: string) => (r[name] as { buildMs?: number } | undefined)?.buildMs;
  console.log(`\nbuilding the 1,000 tables (the caller's work, inside the timings): ${tb('vigilTrickle')} ms in the rebuilt row, ${tb('vigilTrickleMemo')} ms in the shareEntries row`);
  console.log(`\nraw: ${JSON.stringify(r)}`);
  console.log(`uml: boot ${res.bootMs} ms, scenario ${s.durationMs} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
