/*
 * VRRP failover benchmark: the same scenarios for a vigil pair and a keepalived pair, in one run,
 * on the namespace lab. Times come from a capture on the bridge (wire timestamps):
 *   crash    kill -9 of the process that sends the master's adverts: last master advert → first
 *            advert of the backup
 *   graceful SIGTERM of the master: priority-0 advert → first advert of the backup
*            (keepalived runs with -R so its parent does not respawn the killed VRRP child)
 * VRRPv2 with 1 s adverts and VRRPv3 with 0.1 s adverts; min / median / max over N runs.
 *
 *   npm run bench:failover          (VIGIL_BENCH_RUNS=10)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keepalivedConf } from '../test/lab/keepalived.js';
import { type Lab, createLab } from '../test/lab/netns.js';
import type { Proc } from '../test/lab/proc.js';
import { sleep, waitFor } from '../test/lab/wait.js';
import { vrrpAdverts } from '../test/lab/wire/select.js';

const root = join(fileURLToPath(import.meta.url), '../..');
const RUNS = Number(process.env.VIGIL_BENCH_RUNS ?? 10);
const VIP = '192.168.77.100';

type Impl = 'vigil' | 'keepalived';
type Kind = 'crash' | 'graceful';
interface Scenario {
  readonly kind: Kind;
  readonly version: 2 | 3;
  readonly advertS: number;
}
const scenarios: Scenario[] = [
  { kind: 'crash', version: 2, advertS: 1 },
  { kind: 'crash', version: 3, advertS: 0.1 },
  { kind: 'graceful', version: 2, advertS: 1 },
  { kind: 'graceful', version: 3, advertS: 0.1 },
];

function start(lab: Lab, impl: Impl, node: string, s: Scenario, priority: number): { proc: Proc; advertPid: () => number } {
  const dir = lab.folder(`${impl}-${node}-${Date.now()}`);
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(conf, keepalivedConf(node, { vrid: 51, priority, vips: [`${VIP}/24`], version: s.version, advertIntS: s.advertS }));
  if (impl === 'vigil') {
    const proc = lab.spawn(node, [process.execPath, join(root, 'bin/vigil.js'), 'run', '-f', conf, '--socket', join(dir, 'vigil.sock'), '--log-format', 'json'], { name: `vigil-${node}` });
    return { proc, advertPid: () => proc.pid };
  }
  const argv = ['keepalived', '-n', '-l', '-D', '-P', '-R', '-f', conf, '-p', join(dir, 'k.pid'), '-r', join(dir, 'vrrp.pid'), '-c', join(dir, 'c.pid')];
  const proc = lab.spawn(node, argv, { name: `keepalived-${node}` });
  return { proc, advertPid: () => Number(readFileSync(join(dir, 'vrrp.pid'), 'utf8').trim()) };
}

async function holds(lab: Lab, node: string): Promise<boolean> {
  return (await lab.execOk(node, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).includes(` ${VIP}/`);
}

async function once(impl: Impl, s: Scenario): Promise<number> {
  const teardowns: (() => unknown)[] = [];
  const lab = await createLab({ teardown: (fn) => teardowns.push(fn) }, { nodes: ['dir1', 'dir2'] });
  try {
    const cap = await lab.capture('sw', 'br0', { filter: ['vrrp'] });
    const m = start(lab, impl, 'dir1', s, 150);
    await sleep(200);
    start(lab, impl, 'dir2', s, 100);
    await waitFor(() => holds(lab, 'dir1'), { desc: 'dir1 master', timeoutMs: 15000, intervalMs: 50 });
    await sleep(Math.max(1500, s.advertS * 3000));
    if (s.kind === 'crash') process.kill(m.advertPid(), 'SIGKILL');
    else m.proc.signal('SIGTERM');
    await waitFor(() => holds(lab, 'dir2'), { desc: 'dir2 takes over', timeoutMs: 15000, intervalMs: 20 });
    await sleep(Math.max(300, s.advertS * 2000));
    const ads = vrrpAdverts(await cap.packets(), 51);
    const d1 = lab.node('dir1').ipv4;
    const d2 = lab.node('dir2').ipv4;
    const fromMaster = ads.filter((a) => a.ip?.src === d1);
    const last = s.kind === 'crash' ? fromMaster.at(-1) : fromMaster.find((a) => a.vrrp.priority === 0);
    if (!last) throw new Error(`${impl} ${s.kind}: no reference advert from the master`);
    const first = ads.find((a) => a.ip?.src === d2 && a.tsMs > last.tsMs);
    if (!first) throw new Error(`${impl} ${s.kind}: no advert from the backup`);
    return first.tsMs - last.tsMs;
  } catch (e) {
    process.stderr.write(`${impl} ${s.kind} v${s.version} failed; logs:\n${lab.logTail(30)}\n`);
    throw e;
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0]!.toFixed(1)} / ${s[Math.floor(s.length / 2)]!.toFixed(1)} / ${s.at(-1)!.toFixed(1)}`;
}

async function main(): Promise<void> {
  const formula = (s: Scenario) => (s.kind === 'crash' ? 3 * s.advertS * 1000 : 0) + (s.version === 2 ? (156 * 1000) / 256 : (156 * s.advertS * 1000) / 256);
  const rows: string[] = [];
  for (const s of scenarios) {
    const res: Record<Impl, number[]> = { vigil: [], keepalived: [] };
    for (let i = 0; i < RUNS; i++) for (const impl of ['vigil', 'keepalived'] as const) res[impl].push(await once(impl, s));
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    rows.push(
      `| ${s.kind} | v${s.version}, ${s.advertS} s | ${formula(s).toFixed(1)} | ${stats(res.vigil)} | ${stats(res.keepalived)} | ${(med(res.vigil) / med(res.keepalived)).toFixed(3)} |`,
    );
    process.stderr.write(`${rows.at(-1)}\n`);
  }
  console.log(`# VRRP failover, vigil vs keepalived ${'2.2.7'} — ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${RUNS} runs each`);
  console.log('# crash: last master advert → first backup advert; graceful: priority-0 advert → first backup advert (ms, wire time)');
  console.log('');
  console.log('| scenario | VRRP | RFC formula (ms) | vigil min / median / max | keepalived min / median / max | median ratio |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('\nRerun: npm run bench:failover');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
