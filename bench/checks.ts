/*
 * Health-checker benchmark: N real servers (default 10,000), HTTP_GET with a new connection per
 * check as keepalived does, delay_loop 1 — vigil's checker and keepalived's checker (-C) on the same
 * servers, one after the other, in the same user-mode Linux boot (keepalived's checker needs IPVS,
 * which only the UML kernel has, so both run there and both program IPVS for the same table).
 *
 * The real servers are one nginx listening on 0.0.0.0:8080 inside the guest; real server i is
 * 127.1.x.y:8080 (all of 127/8 is local). nginx logs `$server_addr $msec` for every request, so
 * every figure below is measured from the servers' side, the same way for both programs:
 *   checks/s      requests answered per second over the measuring window
 *   lateness      per real server, the gap between consecutive checks minus delay_loop (p50/p99/max)
 *   starved       real servers with no check at all in the window
 *   CPU           utime+stime of every process of the program (/proc/<pid>/stat), per 1,000 checks
 *   RSS           peak of the summed VmRSS of the program's processes, sampled every second
 *
 *   npm run bench:checks                         (VIGIL_BENCH_RS=10000 VIGIL_BENCH_SECONDS=40)
 *   VIGIL_BENCH_IMPLS=keepalived npm run bench:checks
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runUml } from '../test/lab/uml.js';

const root = join(fileURLToPath(import.meta.url), '../..');
const RS = Number(process.env['VIGIL_BENCH_RS'] ?? 10_000);
const SECONDS = Number(process.env['VIGIL_BENCH_SECONDS'] ?? 40);
const WARM = Number(process.env['VIGIL_BENCH_WARM'] ?? 10);
const IMPLS = (process.env['VIGIL_BENCH_IMPLS'] ?? 'vigil,keepalived').split(',').filter((s) => s !== '');
const PER_VS = 100;
/** Where both run: the UML guest (default), or `host`: a network namespace of its own on the host, vigil's health engine alone. */
type Bed = 'uml' | 'host';
const BED: Bed = process.env['VIGIL_BENCH_BED'] === 'host' ? 'host' : 'uml';
/** VIGIL_BENCH_PROF=1: vigil's processes write CPU profiles to the scenario's out folder (keep it with VIGIL_LAB_KEEP=1). */
const PROF = process.env['VIGIL_BENCH_PROF'] === '1';

/** real server i → 127.1.x.y (x,y in 1..250). */
function rsAddr(i: number): string {
  return `127.${1 + Math.floor(i / 62_500)}.${1 + (Math.floor(i / 250) % 250)}.${1 + (i % 250)}`;
}

/** keepalived.conf with ceil(RS/100) TUN virtual servers (port 8080, as TUN needs the same port on both sides) of 100 HTTP_GET real servers each. */
export function benchConf(n: number, check: 'http' | 'tcp' = 'http'): string {
  const out = ['global_defs {', '  router_id bench', '}', ''];
  const probe =
    check === 'http'
      ? ['    HTTP_GET {', '      url {', '        path /', '        status_code 200', '      }', '      connect_timeout 3', '      retry 1', '      delay_before_retry 1', '    }']
      : ['    TCP_CHECK {', '      connect_timeout 3', '      retry 1', '      delay_before_retry 1', '    }'];
  for (let v = 0; v * PER_VS < n; v++) {
    out.push(`virtual_server 10.${20 + Math.floor(v / 250)}.${v % 250}.1 8080 {`, '  delay_loop 1', '  lb_algo wrr', '  lb_kind TUN', '  protocol TCP');
    for (let i = v * PER_VS; i < Math.min(n, (v + 1) * PER_VS); i++) out.push(`  real_server ${rsAddr(i)} 8080 {`, '    weight 1', ...probe, '  }');
    out.push('}', '');
  }
  return out.join('\n');
}

const NGINX = `worker_processes 1;
worker_rlimit_nofile 65536;
pid $B/bench-nginx.pid;
error_log $B/bench-nginx.err warn;
events { worker_connections 20000; }
http {
  log_format bench '\\$server_addr \\$msec';
  access_log $B/bench-access.log bench buffer=256k flush=1s;
  server {
    listen 8080 backlog=4096;
    location / { return 200 "ok\\n"; }
  }
}
`;

/**
 * The command that starts one implementation: `vigil` (the daemon's checker, `vigil run -C`),
 * `keepalived` (its checker, -C), or `engine` (vigil's health engine alone, bench/checks-engine.ts:
 * no IPVS, no daemon; the only one the host bed can run).
 */
function startCommand(impl: string): string {
  if (impl === 'keepalived') return `keepalived -n -l -C -f $B/bench.conf -p $B/bk.pid -c $B/bk-check.pid >$B/prog.log 2>&1 &`;
  // --cpu-prof is not allowed in NODE_OPTIONS; the daemon's children inherit it from execArgv
  const node = PROF ? 'mkdir -p $SCENARIO_OUT/prof; env -u NODE_OPTIONS node --cpu-prof --cpu-prof-dir=$SCENARIO_OUT/prof' : 'env -u NODE_OPTIONS node';
  if (impl === 'engine') return `${node} ${root}/bench/checks-engine.mjs $B/bench.conf >$B/prog.log 2>&1 &`;
  return `${node} ${root}/bin/vigil.js run -C -f $B/bench.conf --socket $B/vb.sock --log-level warn >$B/prog.log 2>&1 &`;
}

/** The scenario script for one implementation: in the UML guest, or in a network namespace of its own on the host. */
function scenario(impl: string, conf: string, n: number, bed: Bed): string {
  const start = startCommand(impl);
  // The guest masks the host's /tmp: the files travel inside the script. $B is a private folder.
  return `#!/bin/bash
set -u
B=${bed === 'uml' ? '/tmp' : '$(mktemp -d)'}
cd ${root}
cat >$B/bench.conf <<'VIGIL_BENCH_CONF'
${conf}
VIGIL_BENCH_CONF
cat >$B/nginx.conf <<VIGIL_BENCH_NGINX
${NGINX}
VIGIL_BENCH_NGINX
ulimit -n 65536
${bed === 'host' ? 'ip link set lo up' : ''}
sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000" net.core.somaxconn=4096
[ -f $B/bench-nginx.pid ] && kill "$(cat $B/bench-nginx.pid)" && sleep 1
${bed === 'uml' ? 'ipvsadm -C' : ''}
nginx -c $B/nginx.conf || exit 1
sleep 1
${start}
PROG=$!
# every process of the program: its pid and its descendants
pids() { echo $PROG; pgrep -P $PROG; for c in $(pgrep -P $PROG); do pgrep -P $c; done; }
cpu() { local s=0; for p in $(pids); do [ -r /proc/$p/stat ] && s=$((s + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $s; }
rss() { local s=0; for p in $(pids); do v=$(awk '/^VmRSS/{print $2}' /proc/$p/status 2>/dev/null); s=$((s + \${v:-0})); done; echo $s; }
# startup: until the whole table is in the kernel (at most 300 s)
s0=$(date +%s.%N)
end=$((SECONDS + 300))
${
    impl === 'engine'
      ? `while [ $SECONDS -lt $end ]; do grep -q '^started' $B/prog.log && break; sleep 0.5; done`
      : `while [ $SECONDS -lt $end ]; do [ "$(ipvsadm -Ln | grep -c -- '^  ->')" -ge ${n} ] && break; sleep 2; done`
  }
s1=$(date +%s.%N)
sleep ${WARM}
: >$B/bench-access.log
kill -USR1 $(cat $B/bench-nginx.pid)
p0=$(pids | sort | tr '\\n' ,); c0=$(cpu); t0=$(date +%s.%N); peak=0
for i in $(seq ${SECONDS}); do sleep 1; r=$(rss); [ $r -gt $peak ] && peak=$r; done
c1=$(cpu); t1=$(date +%s.%N); p1=$(pids | sort | tr '\\n' ,)
kill -USR1 $(cat $B/bench-nginx.pid); sleep 1.5
echo "startup $(awk "BEGIN{print $s1 - $s0}") cpu_ticks $((c1 - c0)) hz $(getconf CLK_TCK) window $(awk "BEGIN{print $t1 - $t0}") rss_kb $peak alive $(kill -0 $PROG && echo yes || echo no) same_pids $([ "$p0" = "$p1" ] && echo yes || echo no)" >$SCENARIO_OUT/figures
${bed === 'uml' ? "ipvsadm -Ln | grep -c -- '^  ->' >$SCENARIO_OUT/ipvs_dests || true" : `echo ${n} >$SCENARIO_OUT/ipvs_dests`}
cp $B/bench-access.log $SCENARIO_OUT/access.log
tail -c 4000 $B/prog.log >$SCENARIO_OUT/prog.log
kill -TERM $PROG; for i in $(seq ${PROF ? 60 : 3}); do kill -0 $PROG 2>/dev/null || break; sleep 1; done; kill -KILL $PROG 2>/dev/null
kill $(cat $B/bench-nginx.pid); sleep 0.5
${bed === 'uml' ? 'ipvsadm -C' : 'rm -rf $B'}
exit 0
`;
}

/** Figures of one run, from the access log and the figures line. */
export interface Figures {
  readonly checksPerS: number;
  readonly cpuPer1000: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly starved: number;
  readonly rssMb: number;
  readonly dests: number;
  readonly alive: boolean;
  /** Start → every real server in the kernel's table, s. */
  readonly startupS: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Reads the nginx log and the scenario's figures line. */
export function figures(log: string, line: string, dests: string, n: number): Figures {
  const byRs = new Map<string, number[]>();
  let count = 0;
  for (const l of log.split('\n')) {
    const sp = l.indexOf(' ');
    if (sp < 0) continue;
    const addr = l.slice(0, sp);
    const t = Number(l.slice(sp + 1)) * 1000;
    if (!Number.isFinite(t)) continue;
    count++;
    let a = byRs.get(addr);
    if (!a) byRs.set(addr, (a = []));
    a.push(t);
  }
  const late: number[] = [];
  for (const ts of byRs.values()) {
    ts.sort((a, b) => a - b);
    for (let i = 1; i < ts.length; i++) late.push(ts[i]! - ts[i - 1]! - 1000);
  }
  late.sort((a, b) => a - b);
  const kv = Object.fromEntries((line.match(/(\w+) (\S+)/g) ?? []).map((p) => p.split(' ') as [string, string]));
  const window = Number(kv['window']);
  const cpuS = Number(kv['cpu_ticks']) / Number(kv['hz']);
  return {
    checksPerS: count / window,
    // a process that ended or restarted in the window takes its ticks with it: no CPU figure then
    cpuPer1000: kv['same_pids'] === 'no' ? Number.NaN : (cpuS / count) * 1000,
    p50: quantile(late, 0.5),
    p99: quantile(late, 0.99),
    max: late.length ? late[late.length - 1]! : Number.NaN,
    starved: n - byRs.size,
    rssMb: Number(kv['rss_kb']) / 1024,
    dests: Number(dests.trim()),
    alive: kv['alive'] === 'yes',
    startupS: Number(kv['startup']),
  };
}

/** What a bed returns: per scenario its status, stderr and out files (as runUml). */
interface BedResult {
  readonly ok: boolean;
  readonly bootMs?: number | null;
  readonly scenarios: readonly { name: string; status: number | null; stderr: string; files: Map<string, Buffer> }[];
}

/** The host bed: each scenario in a network namespace of its own (unshare -n), gone when it ends. */
function runHost(dir: string, impls: readonly string[]): BedResult {
  const scenarios = impls.map((name) => {
    const out = join(dir, `${name}.out`);
    mkdirSync(out);
    const r = spawnSync('unshare', ['-n', 'bash', join(dir, `${name}.sh`)], { env: { ...process.env, SCENARIO_OUT: out }, encoding: 'utf8', timeout: (WARM + SECONDS + 120) * 1000 });
    const files = new Map(readdirSync(out).filter((f) => f !== 'prof').map((f) => [f, readFileSync(join(out, f))]));
    return { name, status: r.status, stderr: r.stderr, files };
  });
  return { ok: scenarios.every((s) => s.status === 0), scenarios };
}

async function main(): Promise<void> {
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-checks-'));
  try {
    const conf = benchConf(RS);
    // keepalived's checker needs IPVS, which the host kernel lacks: the host bed runs vigil only
    const impls = BED === 'host' ? ['engine'] : IMPLS;
    for (const impl of impls) writeFileSync(join(dir, `${impl}.sh`), scenario(impl, conf, RS, BED), { mode: 0o755 });
    process.stderr.write(`bench:checks: ${RS} real servers, HTTP_GET, delay_loop 1, ${WARM} s warm-up + ${SECONDS} s measured, each of ${impls.join(', ')} ${BED === 'uml' ? 'in one UML boot' : 'in a network namespace of its own on the host'}\n`);
    const res: BedResult = BED === 'uml' ? await runUml({
      topology: null,
      memMb: 2048,
      modules: ['ip_vs', 'ip_vs_wrr', 'ipip'],
      scenarios: impls.map((i) => ({ name: i, script: join(dir, `${i}.sh`) })),
      scenarioTimeoutS: WARM + SECONDS + 420,
      timeoutMs: (WARM + SECONDS + 450) * 1000 * impls.length + 60_000,
      keep: 'on-failure',
    }) : runHost(dir, impls);
    const rows: [string, Figures][] = [];
    for (const s of res.scenarios) {
      const f = s.files.get('figures')?.toString() ?? '';
      if (s.status !== 0 || f === '') {
        process.stderr.write(`bench:checks: ${s.name} failed (status ${s.status}):\n${s.stderr}\n${s.files.get('prog.log')?.toString() ?? ''}\n`);
        continue;
      }
      rows.push([s.name, figures(s.files.get('access.log')?.toString() ?? '', f, s.files.get('ipvs_dests')?.toString() ?? 'NaN', RS)]);
      process.stderr.write(`${s.name} log tail:\n${s.files.get('prog.log')?.toString().split('\n').slice(-5).join('\n') ?? ''}\n`);
    }
    const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
    const head = ['', 'start → full table s (engine: → checking)', 'checks/s', 'CPU s / 1k checks', 'lateness p50 ms', 'p99 ms', 'max ms', 'RS never checked', 'peak RSS MiB', 'IPVS dests', 'alive at end'];
    const lines = rows.map(([n, f]) => [n, fmt(f.startupS, 1), fmt(f.checksPerS), fmt(f.cpuPer1000, 3), fmt(f.p50), fmt(f.p99), fmt(f.max), String(f.starved), fmt(f.rssMb), fmt(f.dests), f.alive ? 'yes' : 'NO']);
    const v = rows.find(([n]) => n === 'vigil')?.[1];
    const k = rows.find(([n]) => n === 'keepalived')?.[1];
    if (v && k) lines.push(['vigil / keepalived', fmt(v.startupS / k.startupS, 2), fmt(v.checksPerS / k.checksPerS, 2), fmt(v.cpuPer1000 / k.cpuPer1000, 2), '', fmt(v.p99 / k.p99, 2), '', '', fmt(v.rssMb / k.rssMb, 2), '', '']);
    const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)].join('\n');
    const bed = BED === 'uml' ? `user-mode Linux (one CPU), boot ${res.bootMs} ms` : `host (${cpus().length} CPUs, shared), a network namespace of its own; vigil's health engine alone (no IPVS)`;
    process.stdout.write(`\nbed: ${bed}; ${RS} real servers on one nginx; load average before: ${loadBefore}, after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n${out}\n`);
    if (!res.ok) process.exitCode = 1;
  } finally {
    if (PROF && BED === 'host') process.stderr.write(`bench:checks: profiles kept in ${dir}/*.out/prof\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
