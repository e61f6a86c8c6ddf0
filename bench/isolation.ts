/*
 * Load-isolation benchmark (issue 7): does checker load delay VRRP adverts? A vigil master
 * (VRRPv3, advert_int 0.1) runs beside ~10,000 checks a second, and its adverts are timed on the
 * wire; then the same with both engines forced into one process (--single-process), to show
 * what the process split buys; and keepalived as the master beside the same load, for the same
 * figures from keepalived.
 *
 * Bed: the namespace lab (test/lab/netns.ts), two nodes on a bridge.
 *   dir1  vigil, priority 150: vrrp_instance VI_51 + N real servers (bench/checks.ts's benchConf:
 *         HTTP_GET or TCP_CHECK, a new connection per check, delay_loop 1) on 127.1.x.y:8080,
 *         answered by one nginx in dir1 (its stub_status counts the connections: checks/s from the
 *         servers' side; its access log the HTTP requests and the real servers checked).
 *         The host kernel has no IPVS: the checker runs with VIGIL_IPVS=memory (in-memory table,
 *         logged loudly at start), so checks, verdicts, director and reconciler all run for real.
 *   dir2  keepalived, priority 100, VRRP only: the backup that must never become master.
 *   sw    tcpdump on br0: every advert with its kernel timestamp.
 * Variants `keepalived` and `keepalived-tuned` swap the roles: keepalived (priority 150, the same
 * process keywords as split-rt / split-tuned) is the master in dir2, and vigil (split-rt /
 * split-tuned, with the checks) the backup in dir1 that must never take over while its checker is
 * loaded.
 * Measured over the window (after a warm-up): intervals between consecutive adverts of the master
 *   (on the bridge, and at the master's eth0 where its kernel sends them)
 * (distribution and deviation from 100 ms), adverts sent by the backup and MASTER transitions
 * in either log (spurious transitions), checks/s answered by nginx, vigil's CPU, and the load
 * averages — the machine is shared, so the figures include whatever else ran.
 *
 *   npm run bench:isolation                           (10 minutes per variant, as the issue asks)
 *   npm run bench:isolation -- --duration 60          (development)
 *   options: --duration SECONDS  --warmup SECONDS (20)  --rs N (10000)
 *            --check http|tcp   HTTP_GET (default) or TCP_CHECK in every real server
 *            --variants split,split-rt,single[,keepalived][,vrrp-only]   vrrp-only: the same master
 *            without any check, a reference for what the machine's own load does to the intervals;
 *            split-rt: the split with `vrrp_rt_priority` in global_defs, as an operator wanting the
 *            guarantee would; split-tuned: also vrrp_cpu_affinity (last CPU) /
 *            checker_cpu_affinity 0, nginx on CPU 0 (taskset); keepalived, keepalived-tuned: see
 *            above, with split-rt's and split-tuned's keywords
 *            --rt-priority N   the vrrp_rt_priority of split-rt and keepalived (50)
 *            --vrrp-nice N   `vrrp_priority N` in global_defs of every variant
 *            --hog N   N busy loops beside the checker (a machine with no idle CPU)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { keepalivedConf, startKeepalived } from '../test/lab/keepalived.js';
import { type Lab, createLab } from '../test/lab/netns.js';
import type { Proc } from '../test/lab/proc.js';
import { sleep, waitFor } from '../test/lab/wait.js';
import { vrrpAdverts } from '../test/lab/wire/select.js';
import { benchConf } from './checks.js';

const root = join(fileURLToPath(import.meta.url), '../..');
const VIP = '192.168.77.100';
const VRID = 51;
const ADVERT_MS = 100;
const TOLERANCE_MS = 2;

type Variant = 'split' | 'split-rt' | 'split-tuned' | 'single' | 'vrrp-only' | 'keepalived' | 'keepalived-tuned';
const VARIANTS: readonly Variant[] = ['split', 'split-rt', 'split-tuned', 'single', 'vrrp-only', 'keepalived', 'keepalived-tuned'];
/** Column order of the table. */
const ORDER: readonly Variant[] = ['split', 'split-rt', 'split-tuned', 'single', 'keepalived', 'keepalived-tuned', 'vrrp-only'];
const LABEL: Record<Variant, string> = {
  split: 'split (VRRP child + checker child)',
  'split-rt': 'split + vrrp_rt_priority',
  'split-tuned': 'split + rt, cpu_affinity',
  single: 'single process (--single-process)',
  'vrrp-only': 'reference: VRRP only, no checks',
  keepalived: 'keepalived master (rt), vigil (split + rt) backup under the load',
  'keepalived-tuned': 'keepalived master (rt, cpu_affinity), vigil (split tuned) backup',
};
/** Variants where keepalived is the master and vigil the loaded backup. */
const KD_MASTER: ReadonlySet<Variant> = new Set(['keepalived', 'keepalived-tuned']);
/** Variants that pin the VRRP process to the last CPU and the checks (checker, nginx) to CPU 0 (no vrrp_no_swap: vigil refuses it, see process-tuning.ts). */
const PINNED: ReadonlySet<Variant> = new Set(['split-tuned', 'keepalived-tuned']);
const LAST_CPU = os.cpus().length - 1;
/** The checker in each real server: HTTP_GET (a request on a new connection) or TCP_CHECK (connect only). */
type CheckKind = 'http' | 'tcp';
/** nginx's stub_status (accepted connections = checks, for either kind), on loopback in dir1. */
const STATUS_URL = 'http://127.0.0.1:8081/status';

/** Load averages (1, 5, 15 min) as `uptime` shows them. */
function loadavg(): [number, number, number] {
  const [a, b, c] = os.loadavg();
  return [a!, b!, c!];
}

/** utime + stime in seconds of `pid` and its live descendants. */
function cpuSeconds(pid: number): number {
  const hz = 100; // USER_HZ on Linux
  let ticks = 0;
  const visit = (p: number) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
      for (const t of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) visit(Number(t));
    } catch {
      /* gone */
    }
  };
  visit(pid);
  return ticks / hz;
}

/** Resident memory (MiB) of `pid` and its live descendants, by role: vigil's supervisor, and each child by the kind on its command line. */
function rssByRole(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  const visit = (p: number, role: string) => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
      out[role] = (out[role] ?? 0) + kb / 1024;
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
        const argv = readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0');
        visit(Number(c), argv.includes('vrrp') ? 'vrrp' : argv.includes('checker') ? 'checker' : `${role}+`);
      }
    } catch {
      /* gone */
    }
  };
  visit(pid, 'supervisor');
  return out;
}

function nginxConf(prefix: string): string {
  return `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 16000; }
http {
  log_format bench '$server_addr $msec';
  access_log ${prefix}/access.log bench buffer=256k flush=1s;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 8080 backlog=4096;
    location / { return 200 "ok\\n"; }
  }
  server {
    listen 127.0.0.1:8081;
    access_log off;
    location /status { stub_status; }
  }
}
`;
}

/** Figures of one variant. */
interface Figures {
  readonly variant: Variant;
  readonly windowS: number;
  readonly adverts: number;
  /** Intervals between consecutive master adverts, ms, sorted. */
  readonly intervals: number[];
  /** |interval − 100 ms|, sorted. */
  readonly deviations: number[];
  /** The same, captured on dir1's eth0 (the send time). */
  readonly egressDeviations: number[];
  readonly outside: number;
  /** Adverts sent by the backup in the window, and over the whole run. */
  readonly backupAdverts: number;
  readonly backupAdvertsRun: number;
  /** The backup's MASTER transitions in the window. */
  readonly backupMaster: number;
  readonly vigilTransitions: number;
  readonly vigilTransitionsWindow: number;
  /** Connections nginx accepted per second (stub_status): checks of either kind. */
  readonly checksPerS: number;
  /** HTTP requests per second in nginx's access log (HTTP_GET only). */
  readonly httpPerS: number;
  readonly rsChecked: number;
  readonly cpuPct: number;
  /** Resident MiB at the end of the window: supervisor, vrrp and checker children (single: all in the supervisor). */
  readonly rss: Record<string, number>;
  readonly nginxCpuPct: number;
  readonly loadStart: [number, number, number];
  readonly loadEnd: [number, number, number];
  readonly loadMax1: number;
}

function q(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** JSON lines of a log file. */
function jsonLines(file: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      /* a partial line */
    }
  }
  return out;
}

/** The global_defs process keywords of a variant (applied by each child, src/daemon/process-tuning.ts; keepalived's own for its master). */
function tuningLines(variant: Variant, o: { rtPriority: number; vrrpNice?: number }): string[] {
  return [
    ...(variant === 'split' || variant === 'single' || variant === 'vrrp-only' ? [] : [`vrrp_rt_priority ${o.rtPriority}`]),
    ...(PINNED.has(variant) ? [`vrrp_cpu_affinity ${LAST_CPU}`, 'checker_cpu_affinity 0'] : []),
    ...(o.vrrpNice !== undefined ? [`vrrp_priority ${o.vrrpNice}`] : []),
  ];
}

function startVigil(lab: Lab, variant: Variant, o: { rs: number; check: CheckKind; rtPriority: number; vrrpNice?: number; priority: number }): { proc: Proc; dir: string } {
  const dir = lab.folder(`vigil-${variant}`);
  const file = join(dir, 'keepalived.conf');
  // the VRRP instance (with its global_defs) and benchConf's virtual servers (without its own global_defs)
  const lvs = variant === 'vrrp-only' ? '' : benchConf(o.rs, o.check).replace(/^global_defs \{[^}]*\}\n/, '');
  const tuning = tuningLines(variant, o).map((l) => `  ${l}`);
  const vrrp = keepalivedConf('dir1', { vrid: VRID, priority: o.priority, vips: [`${VIP}/24`], version: 3, advertIntS: ADVERT_MS / 1000 }).replace(/^global_defs \{\n/, (m) => m + tuning.map((l) => `${l}\n`).join(''));
  writeFileSync(file, vrrp + lvs);
  const vigil = [process.execPath, join(root, 'bin/vigil.js'), 'run', '-f', file, '--socket', join(dir, 'vigil.sock'), '--log-format', 'json', '--log-level', 'info'];
  if (variant === 'single') vigil.push('--single-process');
  if (tuning.length > 0) process.stderr.write(`isolation: ${variant}: global_defs gets ${tuning.map((l) => l.trim()).join(', ')}\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, VIGIL_IPVS: 'memory' };
  delete env['NODE_OPTIONS']; // no TypeScript loader in the daemon: it runs dist/
  delete env['VIGIL_SINGLE_PROCESS'];
  return { proc: lab.spawn('dir1', vigil, { name: `vigil-${variant}`, env, graceMs: 20_000 }), dir };
}

async function holds(lab: Lab, node: string): Promise<boolean> {
  return (await lab.execOk(node, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).includes(` ${VIP}/`);
}

/** Connections nginx has accepted so far (stub_status), each one a check. */
async function accepted(lab: Lab): Promise<number> {
  const body = await lab.execOk('dir1', ['curl', '-sS', '--max-time', '5', STATUS_URL]);
  const m = /server accepts handled requests\s+(\d+)/.exec(body);
  if (!m) throw new Error(`stub_status: unexpected answer ${JSON.stringify(body.slice(0, 200))}`);
  return Number(m[1]);
}

async function runVariant(variant: Variant, o: { durationS: number; warmupS: number; rs: number; check: CheckKind; rtPriority: number; vrrpNice?: number; hogs: number }): Promise<Figures> {
  const teardowns: (() => unknown)[] = [];
  const lab = await createLab({ teardown: (fn) => teardowns.push(fn) }, { nodes: ['dir1', 'dir2'] });
  try {
    // per-namespace TCP settings for tens of thousands of short connections (dir1 only)
    await lab.execOk('dir1', ['sysctl', '-qw', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=1024 65000', 'net.core.somaxconn=4096']);
    const prefix = lab.folder('nginx');
    writeFileSync(join(prefix, 'nginx.conf'), nginxConf(prefix));
    const nginx = lab.spawn('dir1', [...(PINNED.has(variant) ? ['taskset', '-c', '0'] : []), 'nginx', '-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log'), '-g', 'daemon off;'], {
      name: 'nginx',
    });
    await waitFor(async () => {
      if (!nginx.running) throw new Error(`nginx exited: ${nginx.stderr()}`);
      return (await lab.exec('dir1', ['curl', '-sS', '--max-time', '1', 'http://127.1.1.1:8080/'])).code === 0;
    }, { desc: 'nginx answering', timeoutMs: 10_000, intervalMs: 100 });
    // keepalived variant: keepalived (dir2) is the master and vigil (dir1, with the checks) the backup
    const kdMaster = KD_MASTER.has(variant);
    const masterNode = kdMaster ? 'dir2' : 'dir1';
    const cap = await lab.capture('sw', 'br0', { filter: ['vrrp'] });
    // and where the master's kernel hands them to its interface: the send time, before the veth
    // peer's receive path (a per-CPU backlog shared with dir1's loopback traffic) and the bridge
    const egress = await lab.capture(masterNode, 'eth0', { filter: ['vrrp'], name: 'egress' });
    // the master first, so that it is master before the backup starts: every later takeover is spurious
    const kdOpts = { vrid: VRID, vips: [`${VIP}/24`], version: 3 as const, advertIntS: ADVERT_MS / 1000, globalDefs: kdMaster ? tuningLines(variant, o) : [] };
    let kd: { proc: Proc; dir: string } | undefined;
    if (kdMaster) {
      kd = startKeepalived(lab, 'dir2', { ...kdOpts, priority: 150 });
      await waitFor(() => holds(lab, 'dir2'), { desc: 'keepalived master', timeoutMs: 30_000, intervalMs: 100 });
    }
    const v = startVigil(lab, variant, { ...o, priority: kdMaster ? 100 : 150 });
    if (!kdMaster) {
      await waitFor(() => holds(lab, 'dir1'), { desc: 'vigil master', timeoutMs: 30_000, intervalMs: 100 });
      kd = startKeepalived(lab, 'dir2', { ...kdOpts, priority: 100 });
    }
    const backup = kd!;
    const kdMasterLines = () => (backup.proc.stderr() + readFileSync(backup.proc.stdoutPath, 'utf8')).split('\n').filter((l) => l.includes('Entering MASTER STATE')).length;
    const vigilMasterLines = () => jsonLines(v.proc.stderrPath).filter((l) => l['op'] === 'vrrp.transition' && l['to'] === 'MASTER').length;
    // spurious: the backup entering MASTER (keepalived's log line, or vigil's transition)
    const backupMasterLines = kdMaster ? vigilMasterLines : kdMasterLines;
    await waitFor(() => {
      if (!v.proc.running) throw new Error(`vigil exited:\n${v.proc.stderr().slice(-3000)}`);
      return jsonLines(v.proc.stderrPath).some((l) => l['op'] === 'start' && typeof l['pids'] === 'object');
    }, { desc: 'vigil started (checker programmed)', timeoutMs: 600_000, intervalMs: 500 });
    const tuned = jsonLines(v.proc.stderrPath).filter((l) => l['op'] === 'process.tuning').map((l) => `${String(l['child'])}: ${String(l['msg'])}`);
    for (const l of tuned) process.stderr.write(`isolation: ${variant}: ${l}\n`);
    // --hog N: N busy loops at nice 0 in dir1 beside the checker, for a machine that has no idle CPU at all
    for (let i = 0; i < o.hogs; i++) lab.spawn('dir1', ['sh', '-c', 'while :; do :; done'], { name: `hog${i}` });
    process.stderr.write(`isolation: ${variant}: master, checker running${o.hogs > 0 ? `, ${o.hogs} busy loops` : ''}; warm-up ${o.warmupS} s\n`);
    await sleep(o.warmupS * 1000);

    const loadStart = loadavg();
    const cpu0 = cpuSeconds(v.proc.pid);
    const nginxCpu0 = cpuSeconds(nginx.pid);
    const accepted0 = await accepted(lab);
    const backupMaster0 = backupMasterLines();
    const t0 = Date.now();
    let loadMax1 = loadStart[0];
    const end = t0 + o.durationS * 1000;
    let lastReport = t0;
    while (Date.now() < end) {
      await sleep(Math.min(5000, end - Date.now()));
      loadMax1 = Math.max(loadMax1, loadavg()[0]);
      if (!v.proc.running) throw new Error(`vigil exited during the run:\n${v.proc.stderr().slice(-3000)}`);
      if (Date.now() - lastReport >= 60_000) {
        lastReport = Date.now();
        process.stderr.write(`isolation: ${variant}: ${Math.round((Date.now() - t0) / 1000)} / ${o.durationS} s, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
      }
    }
    const t1 = Date.now();
    const cpu1 = cpuSeconds(v.proc.pid);
    const nginxCpu1 = cpuSeconds(nginx.pid);
    const accepted1 = await accepted(lab);
    const rss = rssByRole(v.proc.pid);
    const backupMaster = backupMasterLines() - backupMaster0;
    const loadEnd = loadavg();
    await sleep(1500); // nginx flushes its log every second

    const ads = vrrpAdverts(await cap.packets(), VRID);
    const out = vrrpAdverts(await egress.packets(), VRID).filter((a) => a.ip?.src === lab.node(masterNode).ipv4 && a.tsMs >= t0 && a.tsMs <= t1 && a.vrrp.priority > 0);
    const egressDeviations = out
      .slice(1)
      .map((a, i) => Math.abs(a.tsMs - out[i]!.tsMs - ADVERT_MS))
      .sort((a, b) => a - b);
    const masterIp = lab.node(masterNode).ipv4;
    const backupIp = lab.node(kdMaster ? 'dir1' : 'dir2').ipv4;
    const master = ads.filter((a) => a.ip?.src === masterIp && a.tsMs >= t0 && a.tsMs <= t1 && a.vrrp.priority > 0);
    const intervals = master.slice(1).map((a, i) => a.tsMs - master[i]!.tsMs);
    const deviations = intervals.map((x) => Math.abs(x - ADVERT_MS)).sort((a, b) => a - b);
    intervals.sort((a, b) => a - b);
    const backupAdverts = ads.filter((a) => a.ip?.src === backupIp && a.tsMs >= t0 && a.tsMs <= t1).length;
    const backupAdvertsRun = ads.filter((a) => a.ip?.src === backupIp).length;
    const trans = jsonLines(v.proc.stderrPath).filter((l) => l['op'] === 'vrrp.transition');
    const vigilTransitionsWindow = trans.filter((l) => Number(l['time']) >= t0 && Number(l['time']) <= t1).length;
    for (const l of trans) process.stderr.write(`isolation: ${variant}: vigil ${String(l['from'])} → ${String(l['to'])} at t0${Number(l['time']) - t0 >= 0 ? '+' : ''}${((Number(l['time']) - t0) / 1000).toFixed(1)} s: ${String(l['reason'])}\n`);

    let checks = 0;
    const rsSeen = new Set<string>();
    for (const l of readFileSync(join(prefix, 'access.log'), 'utf8').split('\n')) {
      const sp = l.indexOf(' ');
      const ts = Number(l.slice(sp + 1)) * 1000;
      if (sp < 0 || !(ts >= t0 && ts <= t1)) continue;
      checks++;
      rsSeen.add(l.slice(0, sp));
    }
    const windowS = (t1 - t0) / 1000;
    return {
      variant,
      windowS,
      adverts: master.length,
      intervals,
      deviations,
      egressDeviations,
      outside: deviations.filter((d) => d > TOLERANCE_MS).length,
      backupAdverts,
      backupAdvertsRun,
      backupMaster,
      vigilTransitions: trans.length,
      vigilTransitionsWindow,
      checksPerS: (accepted1 - accepted0 - 1) / windowS,
      httpPerS: checks / windowS,
      rsChecked: o.check === 'http' ? rsSeen.size : Number.NaN,
      cpuPct: ((cpu1 - cpu0) / windowS) * 100,
      rss,
      nginxCpuPct: ((nginxCpu1 - nginxCpu0) / windowS) * 100,
      loadStart,
      loadEnd,
      loadMax1,
    };
  } catch (e) {
    process.stderr.write(`isolation: ${variant} failed; logs:\n${lab.logTail(30)}\n`);
    throw e;
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
}

function fmt(x: number, d = 1): string {
  return Number.isFinite(x) ? x.toFixed(d) : 'n/a';
}

function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return '';
  if (b === 0) return a === 0 ? '1' : '∞';
  return `${(a / b).toFixed(2)}×`;
}

function outsidePct(f: Figures): number {
  return (100 * f.outside) / Math.max(1, f.intervals.length);
}

/** The side-by-side table: split (and split + rt) first, single process next, ratio single / split. */
export function table(rows: readonly Figures[]): string {
  const split = rows.find((r) => r.variant === 'split');
  const single = rows.find((r) => r.variant === 'single');
  const line: [string, (f: Figures) => string, ((f: Figures) => number) | undefined][] = [
    ['window (s)', (f) => fmt(f.windowS, 0), undefined],
    ['master adverts on the wire', (f) => String(f.adverts), undefined],
    ['interval min / p50 / p90 (ms)', (f) => `${fmt(q(f.intervals, 0), 2)} / ${fmt(q(f.intervals, 0.5), 2)} / ${fmt(q(f.intervals, 0.9), 2)}`, undefined],
    ['interval p99 / p99.9 / max (ms)', (f) => `${fmt(q(f.intervals, 0.99), 2)} / ${fmt(q(f.intervals, 0.999), 2)} / ${fmt(f.intervals.at(-1) ?? NaN, 2)}`, (f) => f.intervals.at(-1) ?? NaN],
    ['│deviation│ from 100 ms: min / p50 / p90 (ms)', (f) => `${fmt(q(f.deviations, 0), 2)} / ${fmt(q(f.deviations, 0.5), 2)} / ${fmt(q(f.deviations, 0.9), 2)}`, (f) => q(f.deviations, 0.9)],
    ['│deviation│: p99 / p99.9 / max (ms)', (f) => `${fmt(q(f.deviations, 0.99), 2)} / ${fmt(q(f.deviations, 0.999), 2)} / ${fmt(f.deviations.at(-1) ?? NaN, 2)}`, (f) => q(f.deviations, 0.99)],
    [`intervals outside ±${TOLERANCE_MS} ms`, (f) => `${f.outside} (${fmt(outsidePct(f), 2)} %)`, outsidePct],
    ['at the master\'s eth0 (send time): │deviation│ p50 / p90 / p99 / max (ms)', (f) => [0.5, 0.9, 0.99].map((p) => fmt(q(f.egressDeviations, p), 2)).concat(fmt(f.egressDeviations.at(-1) ?? NaN, 2)).join(' / '), (f) => q(f.egressDeviations, 0.99)],
    [`at the master\'s eth0: outside ±${TOLERANCE_MS} ms`, (f) => { const n = f.egressDeviations.filter((d) => d > TOLERANCE_MS).length; return `${n} (${fmt((100 * n) / Math.max(1, f.egressDeviations.length), 2)} %)`; }, undefined],
    ['spurious: backup → MASTER in window', (f) => String(f.backupMaster), (f) => f.backupMaster],
    ['backup adverts: in window / whole run', (f) => `${f.backupAdverts} / ${f.backupAdvertsRun}`, (f) => f.backupAdverts],
    ['vigil transitions: in window / whole run (start: 2)', (f) => `${f.vigilTransitionsWindow} / ${f.vigilTransitions}`, undefined],
    ['checks/s (connections nginx accepted)', (f) => fmt(f.checksPerS, 0), (f) => f.checksPerS],
    ['of which HTTP requests/s (access log)', (f) => fmt(f.httpPerS, 0), undefined],
    ['real servers checked in window (HTTP_GET)', (f) => (Number.isNaN(f.rsChecked) ? 'n/a' : String(f.rsChecked)), undefined],
    ['CPU, % of one core: vigil / nginx', (f) => `${fmt(f.cpuPct, 0)} / ${fmt(f.nginxCpuPct, 0)}`, (f) => f.cpuPct],
    ['vigil RSS MiB: supervisor / VRRP child / checker child', (f) => ['supervisor', 'vrrp', 'checker'].map((k) => (f.rss[k] === undefined ? '–' : fmt(f.rss[k]!, 0))).join(' / '), undefined],
    ['load average at start (1/5/15 min)', (f) => f.loadStart.map((x) => x.toFixed(2)).join(' '), undefined],
    ['load average at end; max 1-min', (f) => `${f.loadEnd.map((x) => x.toFixed(2)).join(' ')}; ${f.loadMax1.toFixed(2)}`, undefined],
  ];
  // ratio columns: one process against the split, and each vigil split beside keepalived tuned alike
  const pairs: [Figures, Figures, string][] = [];
  if (split && single) pairs.push([single, split, 'single / split']);
  for (const [a, b] of [['split-rt', 'keepalived'], ['split-tuned', 'keepalived-tuned']] as const) {
    const fa = rows.find((r) => r.variant === a);
    const fb = rows.find((r) => r.variant === b);
    if (fa && fb) pairs.push([fa, fb, `${a} / ${b}`]);
  }
  const shown = ORDER.map((v) => rows.find((r) => r.variant === v)).filter((r): r is Figures => r !== undefined);
  const head = ['', ...shown.map((c) => LABEL[c.variant]), ...pairs.map((p) => p[2])];
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const [name, show, num] of line) out.push(`| ${[name, ...shown.map(show), ...pairs.map(([a, b]) => (num ? ratio(num(a), num(b)) : ''))].join(' | ')} |`);
  return out.join('\n');
}

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(s.trim());
  if (!m) throw new Error(`--duration: '${s}' is not SECONDS (or Nm)`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '600' },
      warmup: { type: 'string', default: '20' },
      rs: { type: 'string', default: '10000' },
      variants: { type: 'string', default: 'split,single' },
      check: { type: 'string', default: 'http' },
      hog: { type: 'string', default: '0' },
      'vrrp-nice': { type: 'string' },
      'rt-priority': { type: 'string', default: '50' },
    },
  });
  if (values.check !== 'http' && values.check !== 'tcp') throw new Error(`--check: '${values.check}' is not http or tcp`);
  const o = {
    check: values.check as CheckKind,
    hogs: Number(values.hog),
    durationS: parseDuration(values.duration),
    warmupS: parseDuration(values.warmup),
    rs: Number(values.rs),
    rtPriority: Number(values['rt-priority']),
    ...(values['vrrp-nice'] !== undefined ? { vrrpNice: Number(values['vrrp-nice']) } : {}),
  };
  const variants = values.variants.split(',').map((x) => {
    if (!VARIANTS.includes(x as Variant)) throw new Error(`--variants: '${x}' is not one of ${VARIANTS.join(', ')}`);
    return x as Variant;
  });
  const started = new Date();
  const checkName = o.check === 'http' ? 'HTTP_GET' : 'TCP_CHECK';
  process.stderr.write(`isolation: ${o.rs} real servers (${checkName}, delay_loop 1), VRRPv3 advert_int 0.1, ${o.durationS} s per variant after ${o.warmupS} s warm-up: ${variants.join(', ')}\n`);
  const rows: Figures[] = [];
  for (const variant of variants) {
    rows.push(await runVariant(variant, o));
    process.stderr.write(`isolation: ${variant} done\n`);
  }
  const cpu = os.cpus();
  const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  console.log(`# Load isolation: VRRPv3 adverts (advert_int 0.1) on the wire while the checker runs ${o.rs} ${checkName} real servers at delay_loop 1`);
  console.log(`# ${started.toISOString()} — nproc ${cpu.length}, ${cpu[0]?.model ?? '?'}, Linux ${kernel}, node ${process.version}; ${o.durationS} s measured per variant after ${o.warmupS} s warm-up`);
  console.log('# Bed: namespace lab; vigil master (priority 150, VIGIL_IPVS=memory: the host kernel has no IPVS) and nginx in dir1, keepalived backup (priority 100) in dir2, tcpdump on the bridge.');
  console.log('# The machine is shared: the load averages below include other work, and so do the intervals.');
  if (variants.some((v) => PINNED.has(v)))
    console.log(`# tuned: vrrp_rt_priority ${o.rtPriority}, vrrp_cpu_affinity ${LAST_CPU}, checker_cpu_affinity 0, and nginx (standing in for remote real servers) on CPU 0 by taskset: the checks' network work lands on CPU 0, the adverts leave from CPU ${LAST_CPU}; keepalived's master gets the same vrrp_* keywords.`);
  if (variants.includes('split-rt')) console.log(`# split + vrrp_rt_priority: the same split with \`vrrp_rt_priority ${o.rtPriority}\` in global_defs (the VRRP child's main thread runs SCHED_RR; RLIMIT_RTTIME vigil's default 200 ms).`);
  if (o.hogs > 0) console.log(`# --hog ${o.hogs}: ${o.hogs} shell busy loops (nice 0) run in dir1 beside the checker during warm-up and window: no idle CPU is left.`);
  if (o.vrrpNice !== undefined) console.log(`# Every variant has \`vrrp_priority ${o.vrrpNice}\` in global_defs (nice of the VRRP child; not applied with vrrp_rt_priority, as keepalived).`);
  console.log('');
  console.log(table(rows));
  console.log('');
  console.log('Intervals: between consecutive adverts of the master (tcpdump timestamps on the bridge). Spurious: the backup entering MASTER (it sends adverts only then); the backup is keepalived, except in the keepalived column, where keepalived is the master and vigil, running the checks, the backup.');
  console.log('single / split: the one-process figure divided by the split one (above 1 = larger in one process). The reference column, when run, is the same master without any check.');
  const extra = [
    ...(o.rs !== 10_000 ? [`--rs ${o.rs}`] : []),
    ...(values.variants !== 'split,single' ? [`--variants ${values.variants}`] : []),
    ...(o.check !== 'http' ? [`--check ${o.check}`] : []),
    ...(o.hogs > 0 ? [`--hog ${o.hogs}`] : []),
    ...(o.vrrpNice !== undefined ? [`--vrrp-nice=${o.vrrpNice}`] : []),
    ...(o.rtPriority !== 50 ? [`--rt-priority ${o.rtPriority}`] : []),
  ];
  console.log(`Rerun: npm run bench:isolation -- --duration ${o.durationS} --warmup ${o.warmupS}${extra.map((x) => ` ${x}`).join('')}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
