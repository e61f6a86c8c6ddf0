// Runs inside the UML guest, in dir1's namespace of the LVS-TUN topology (test/beds/uml/tunnel-check.sh),
// on the compiled dist/: vigil's tunnel_check end to end. The configuration is compiled, the desired
// table (the tunnel-mode service and one fwmark service per tunnel-checked real server) is
// programmed by the Reconciler through the netlink driver, and the probes are those probeFor builds
// from the compiled checkers. Each HTTP_GET carries the digest of its own real server's page
// ("rsN\n"), so a probe that reached another real server fails.
// Usage: node tunnel-check.mjs OUTDIR → OUTDIR/result.json, OUTDIR/log.jsonl
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { compileText } from '../../../dist/config/compile.js';
import { desiredTable } from '../../../dist/director/desired.js';
import { Reconciler } from '../../../dist/director/reconciler.js';
import { checkerName, probeFor } from '../../../dist/health/probe.js';
import { IpvsDriver } from '../../../dist/ipvs/driver.js';
import { poller } from '../../../dist/net/poller.js';
import { realClock } from '../../../dist/util/clock.js';

const out = process.argv[2];
if (!out) throw new Error('usage: tunnel-check.mjs OUTDIR');
const env = Object.fromEntries(
  readFileSync(process.env.LAB_ENV, 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => l.split('=')),
);
const VIP = env.LAB_VIP;
const RS = { rs1: env.LAB_RS1, rs2: env.LAB_RS2, rs3: env.LAB_RS3 };
const md5 = (s) => createHash('md5').update(s).digest('hex');
const tunnelHttp = (name) => `    HTTP_GET {
      url {
        path /
        digest ${md5(`${name}\n`)}
      }
      tunnel_check
      connect_timeout 1
    }`;
const rsBlock = (name, extra = '') => `  real_server ${RS[name]} 80 {
    weight 1
${tunnelHttp(name)}
${extra}
  }`;
const plainHttp = `    HTTP_GET {
      url {
        path /
        digest ${md5('rs2\n')}
      }
      connect_timeout 1
    }`;
const config = (names) => `virtual_server ${VIP} 80 {
  protocol TCP
  lvs_sched wrr
  lvs_method TUN
${names.map((n) => rsBlock(n, n === 'rs2' ? plainHttp : '')).join('\n')}
}
`;
/** IPv6 (set up by tunnel-check.sh): VIP 2001:db8:1::100 on rs1's ip6tnl0, a listener on rs1 port 8080. */
const VIP6 = '2001:db8:1::100';
const V6_CONFIG = `virtual_server ${VIP6} 8080 {
  protocol TCP
  lvs_sched rr
  lvs_method TUN
  real_server 2001:db8:2::11 8080 {
    TCP_CHECK {
      tunnel_check
      connect_timeout 1
    }
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`;
function compile(text) {
  const r = compileText(text, 'tunnel.conf');
  if (!r.config) throw new Error(r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`).join('; '));
  return r.config;
}

const logFile = `${out}/log.jsonl`;
const at = (level) => (obj, msg) => appendFileSync(logFile, `${JSON.stringify({ level, ...obj, msg })}\n`);
const log = { info: at('info'), warn: at('warn'), error: at('error') };
const sh = (cmd, ...args) => execFileSync(cmd, args, { encoding: 'utf8' });
const sysctl = (k, v) => writeFileSync(`/proc/sys/net/ipv4/conf/${k}`, `${v}\n`);
const json = (x) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? Number(v) : v), 1);

/** The probes of the compiled config: rs → [{ name, tunnel, probe }]. */
function probesOf(lvs) {
  const m = {};
  for (const rs of lvs.virtualServers[0].realServers) {
    const name = Object.keys(RS).find((k) => RS[k] === rs.address);
    m[name] = rs.checkers.map((c) => ({ name: checkerName(c), tunnel: c.tunnel !== undefined, probe: probeFor(c) }));
  }
  return m;
}
/** Runs every probe `n` times: `name` → ['ok' | reason ...], with the first detail. */
async function runAll(probes, n = 2) {
  const res = {};
  for (const [rs, list] of Object.entries(probes))
    for (const p of list) {
      const runs = [];
      for (let i = 0; i < n; i++) runs.push(await p.probe());
      res[`${rs} ${p.tunnel ? 'tunnel' : 'plain'}`] = { name: p.name, reasons: runs.map((r) => r.reason), detail: runs[runs.length - 1].detail };
    }
  return res;
}

const result = { vip: VIP };
const ipvs = await IpvsDriver.open();
const r = new Reconciler({ ipvs, clock: realClock, log, resyncMs: 0 });
try {
  await r.start();
  // 1. program from empty: the service, its three destinations, three fwmark services with one each
  const lvs = compile(config(['rs1', 'rs2', 'rs3']));
  const d = desiredTable({ lvs, health: () => undefined });
  result.tunnels = d.tunnels;
  result.problems = d.problems;
  result.program = await r.reconcile(d.table, 'config loaded');
  result.saveProgram = sh('ipvsadm', '-Sn');
  const probes = probesOf(lvs);
  result.names = Object.fromEntries(Object.entries(probes).map(([k, v]) => [k, v.map((p) => p.name)]));

  // 2. all real servers whole
  result.allUp = await runAll(probes);
  // 3. the VIP off rs2's tunl0: its tunnel check fails, its own address still answers
  sh('ip', 'netns', 'exec', 'rs2', 'ip', 'addr', 'del', `${VIP}/32`, 'dev', 'tunl0');
  result.rs2TunlAddrs = sh('ip', 'netns', 'exec', 'rs2', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'tunl0');
  result.vipOff = await runAll(probes);
  // 4. back on: passes again
  sh('ip', 'netns', 'exec', 'rs2', 'ip', 'addr', 'add', `${VIP}/32`, 'dev', 'tunl0');
  result.vipBack = await runAll(probes);
  result.conns = sh('ipvsadm', '-Lnc');

  // 5. the director holds the VIP (a MASTER): replies come from the VIP, one of its own addresses
  sh('ip', 'addr', 'add', `${VIP}/32`, 'dev', 'eth0');
  const al = (i) => readFileSync(`/proc/sys/net/ipv4/conf/${i}/accept_local`, 'utf8').trim();
  result.acceptLocalBefore = { all: al('all'), eth0: al('eth0') };
  result.vipHeld = await runAll({ rs1: probes.rs1 }, 1);
  sysctl('eth0/accept_local', 1);
  result.vipHeldAcceptLocal = await runAll(probes, 1);
  // the reverse-path filter does not matter: the VIP is on the interface the replies arrive on
  result.rpFilter = {};
  for (const v of [1, 2]) {
    sysctl('eth0/rp_filter', v);
    result.rpFilter[v] = (await runAll({ rs1: probes.rs1 }, 1))['rs1 tunnel'].reasons[0];
  }
  sysctl('eth0/rp_filter', 0);
  sysctl('eth0/accept_local', 0);
  sh('ip', 'addr', 'del', `${VIP}/32`, 'dev', 'eth0');

  // 6. reload without rs3: its fwmark service goes, nothing else is touched
  const two = desiredTable({ lvs: compile(config(['rs1', 'rs2'])), health: () => undefined });
  result.reload = await r.reconcile(two.table, 'reload: rs3 removed');
  result.saveReload = sh('ipvsadm', '-Sn');

  // 7. IPv6: a fwmark service of family 6 steers the probe to rs1 over ip6ip6
  const both = compile(config(['rs1', 'rs2']) + V6_CONFIG);
  const withV6 = desiredTable({ lvs: both, health: () => undefined });
  result.v6Tunnels = withV6.tunnels;
  result.v6Program = await r.reconcile(withV6.table, 'reload: IPv6 service added');
  result.saveV6 = sh('ipvsadm', '-Sn');
  const v6Probes = { rs1: both.virtualServers[1].realServers[0].checkers.map((c) => ({ name: checkerName(c), tunnel: c.tunnel !== undefined, probe: probeFor(c) })) };
  result.v6Names = v6Probes.rs1.map((p) => p.name);
  result.v6Up = await runAll(v6Probes);
  sh('ip', 'netns', 'exec', 'rs1', 'ip', 'addr', 'del', `${VIP6}/128`, 'dev', 'ip6tnl0');
  result.v6Off = await runAll(v6Probes);
  sh('ip', 'netns', 'exec', 'rs1', 'ip', 'addr', 'add', `${VIP6}/128`, 'dev', 'ip6tnl0', 'nodad');
  result.v6Back = await runAll(v6Probes);
  r.stop();

  // 8. a restart on the same configuration adopts everything: no write
  const r2 = new Reconciler({ ipvs, clock: realClock, log, resyncMs: 0 });
  await r2.start();
  result.restart = await r2.reconcile(withV6.table, 'restart');
  r2.stop();
  result.saveFinal = sh('ipvsadm', '-Sn');
} catch (e) {
  result.fatal = { message: e.message, stack: e.stack };
} finally {
  r.stop();
  ipvs.close();
  poller().stop();
}
writeFileSync(`${out}/result.json`, json(result));
