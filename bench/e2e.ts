/*
 * End-to-end benchmark: the scenarios of test/lab/e2e/e2e.sh (issue 8's (a)..(g)) with vigil as
 * the directors, then keepalived, in one user-mode Linux boot per repetition, and one table of what
 * the client saw — failed requests and the error window per scenario — with the detection-to-removal
 * time of a failed real server, the takeover times, reload and restart impact, and the directors'
 * CPU and memory in steady state. Numbers are medians over the repetitions.
 *
 *   npm run bench:e2e
 *   VIGIL_E2E_IMPLS=vigil VIGIL_E2E_SCENARIOS='steady rs' VIGIL_E2E_REPEAT=3 npm run bench:e2e
 *   VIGIL_E2E_JSON=out.json npm run bench:e2e        (also write every outcome as JSON)
 */
import { cpus, hostname, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { type E2eRun, type Impl, SCENARIOS, SCENARIO_TITLES, type ScenarioName, type ScenarioOutcome, runE2e } from '../test/lab/e2e/engine.js';

const IMPLS = (process.env['VIGIL_E2E_IMPLS'] ?? 'vigil,keepalived').split(',').filter((s): s is Impl => s === 'vigil' || s === 'keepalived');
const WANTED = (process.env['VIGIL_E2E_SCENARIOS'] ?? SCENARIOS.join(' ')).split(/[\s,]+/).filter((s): s is ScenarioName => (SCENARIOS as readonly string[]).includes(s));
const REPEAT = Math.max(1, Number(process.env['VIGIL_E2E_REPEAT'] ?? 1));
const RATE = Number(process.env['VIGIL_E2E_RATE'] ?? 20);

const median = (xs: readonly number[]): number => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};
const s1 = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'n/a');
const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) ? (b === 0 ? (a === 0 ? '=' : '∞') : `${(a / b).toFixed(2)}×`) : '');

const started = new Date();
const load0 = loadavg()[0]!;
const runs = new Map<Impl, E2eRun[]>(IMPLS.map((i) => [i, []]));
for (let i = 0; i < REPEAT; i++) {
  process.stderr.write(`bench:e2e: boot ${i + 1}/${REPEAT}: ${IMPLS.join(', ')} × ${WANTED.join(' ')}\n`);
  const { uml, runs: got } = await runE2e({ impls: IMPLS, scenarios: WANTED, rate: RATE });
  process.stderr.write(`bench:e2e: boot ${i + 1} took ${Math.round(uml.totalMs / 1000)} s${uml.ok ? '' : ` (NOT ok: ${uml.keptDir ?? ''})`}\n`);
  for (const r of got) {
    runs.get(r.impl)!.push(r);
    for (const e of r.errors) process.stderr.write(`bench:e2e: ${r.impl}: ${e}\n`);
  }
}
const load1 = loadavg()[0]!;

const outcomes = (impl: Impl, name: ScenarioName): ScenarioOutcome[] => (runs.get(impl) ?? []).flatMap((r) => r.scenarios.filter((s) => s.name === name));
const med = (impl: Impl, name: ScenarioName, f: (s: ScenarioOutcome) => number): number => median(outcomes(impl, name).map(f));
const mark = (m: string) => (s: ScenarioOutcome): number => s.marks[m] ?? Number.NaN;

type Row = [string, ...string[]];
const rows: Row[] = [];
const both = (label: string, f: (impl: Impl) => number, fmt: (n: number) => string): void => {
  const vals = IMPLS.map(f);
  rows.push([label, ...vals.map(fmt), ...(IMPLS.length === 2 ? [ratio(vals[0]!, vals[1]!)] : [])]);
};
const failedFmt = (impl: Impl, name: ScenarioName, part: 'all' | 'fault' | 'recovery'): string => {
  const os = outcomes(impl, name);
  if (os.length === 0) return 'n/a';
  const f = median(os.map((o) => o[part].failed));
  const n = median(os.map((o) => o[part].requests));
  return `${f} / ${n}, ${s1(median(os.map((o) => o[part].windowMs)))}`;
};
for (const name of WANTED) {
  if (name === 'steady' || name === 'reload' || name === 'restart') {
    rows.push([`${SCENARIO_TITLES[name]}: failed / sent, window`, ...IMPLS.map((i) => failedFmt(i, name, 'all')), ...(IMPLS.length === 2 ? [ratio(med(IMPLS[0]!, name, (s) => s.all.windowMs), med(IMPLS[1]!, name, (s) => s.all.windowMs))] : [])]);
  } else {
    rows.push([`${SCENARIO_TITLES[name]}: fault`, ...IMPLS.map((i) => failedFmt(i, name, 'fault')), ...(IMPLS.length === 2 ? [ratio(med(IMPLS[0]!, name, (s) => s.fault.windowMs), med(IMPLS[1]!, name, (s) => s.fault.windowMs))] : [])]);
    rows.push([`${SCENARIO_TITLES[name]}: recovery`, ...IMPLS.map((i) => failedFmt(i, name, 'recovery')), ...(IMPLS.length === 2 ? [ratio(med(IMPLS[0]!, name, (s) => s.recovery.windowMs), med(IMPLS[1]!, name, (s) => s.recovery.windowMs))] : [])]);
  }
}
if (WANTED.includes('rs')) {
  both('detection to removal: rs2\'s nginx stopped → out of the master\'s table', (i) => med(i, 'rs', mark('removed')), s1);
  both('recovery to re-add: nginx started → back at weight 10', (i) => med(i, 'rs', (s) => (s.marks['restored'] ?? Number.NaN) - (s.marks['recover'] ?? Number.NaN)), s1);
}
for (const [name, what] of [['crash', 'crash'], ['stop', 'graceful stop'], ['link', 'uplink down']] as const)
  if (WANTED.includes(name)) both(`takeover: ${what} → dir2 holds the VIP`, (i) => med(i, name, mark('backup-master')), s1);
if (WANTED.includes('split')) both('split brain: both held the VIP for', (i) => med(i, 'split', (s) => s.dualMasterMs), s1);
if (WANTED.includes('split'))
  rows.push(['after healing, the client\'s ARP entry for the VIP points at dir1', ...IMPLS.map((i) => (runs.get(i) ?? []).map((r) => (r.splitArp.after !== undefined && r.splitArp.after === r.splitArp.dir1 ? 'yes' : `no (${r.splitArp.after ?? '?'})`)).join(', '))]);
if (WANTED.includes('split')) both('healed → the client\'s ARP entry for the VIP on dir1 again', (i) => med(i, 'split', (s) => (s.marks['arp-on-dir1'] ?? Number.NaN) - (s.marks['recover'] ?? Number.NaN)), s1);
if (WANTED.includes('reload')) both('reload: signal → new weight in the master\'s table', (i) => med(i, 'reload', mark('applied')), s1);
if (WANTED.includes('steady')) {
  for (const d of ['dir1', 'dir2'] as const) {
    const res = (i: Impl, f: 'cpuPct' | 'rssMb'): number => median((runs.get(i) ?? []).map((r) => r.resources.find((x) => x.dir === d)?.[f] ?? Number.NaN));
    both(`CPU in steady state, ${d} (${d === 'dir1' ? 'master' : 'backup'}), % of one core`, (i) => res(i, 'cpuPct'), (n) => (Number.isFinite(n) ? `${n.toFixed(1)} %` : 'n/a'));
    both(`memory (RSS, all processes), ${d}`, (i) => res(i, 'rssMb'), (n) => (Number.isFinite(n) ? `${n.toFixed(0)} MB` : 'n/a'));
  }
}

const head: Row = ['', ...IMPLS, ...(IMPLS.length === 2 ? [`${IMPLS[0]} / ${IMPLS[1]}`] : [])];
const table = [head, head.map(() => '---') as Row, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const cpu = cpus();
const out = [
  `vigil end-to-end benchmark, ${started.toISOString().replace(/\.\d+Z$/, 'Z')}`,
  `machine: ${hostname()}, ${cpu[0]?.model ?? '?'} × ${cpu.length}, load average ${load0.toFixed(1)} → ${load1.toFixed(1)}; directors, real servers and client in one user-mode Linux 6.1 guest`,
  `client: ${RATE} requests/s, a new connection each, 2 s timeout; "failed / sent, window" = failed requests / requests started in that part, from the first failed request's start to the last's; medians of ${REPEAT} boot(s)`,
  `fault = from the fault to the recovery action; recovery = from the recovery action (server/director back) until the pair is nominal again`,
  `rerun: npm run bench:e2e   (VIGIL_E2E_IMPLS, VIGIL_E2E_SCENARIOS, VIGIL_E2E_REPEAT, VIGIL_E2E_RATE)`,
  '',
  table,
  '',
];
process.stdout.write(out.join('\n'));
for (const [impl, rs] of runs) for (const r of rs) if (r.status !== 0) process.stdout.write(`note: ${impl}'s run ended with status ${r.status}: ${r.errors.join('; ')}\n`);
const json = process.env['VIGIL_E2E_JSON'];
if (json) writeFileSync(json, JSON.stringify([...runs].map(([impl, rs]) => ({ impl, runs: rs.map((r) => ({ ...r, records: undefined, files: undefined })) })), null, 2));
