// The end-to-end scenario engine shared by test/beds/uml-e2e.test.ts, bench/e2e.ts and the demo:
// boots user-mode Linux once with the LVS-TUN lab, runs the scenarios of e2e.sh for each director
// implementation (vigil, keepalived) one after the other, and returns what the client saw in
// each scenario (from loadgen.mjs's records), the scenario's own events, and the directors'
// CPU and memory in steady state.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type UmlResult, runUml } from '../uml.js';

/** The director implementations the scenarios run against. */
export type Impl = 'vigil' | 'keepalived';

/** Every scenario of e2e.sh, in the order they run (issue 8's (a)..(g) after `steady`). */
export const SCENARIOS = ['steady', 'rs', 'crash', 'stop', 'link', 'split', 'reload', 'restart'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** One line of the narration of each scenario, for tables and the demo. */
export const SCENARIO_TITLES: Record<ScenarioName, string> = {
  steady: 'steady traffic (10 s)',
  rs: '(a) a real server dies and recovers',
  crash: '(b) master crashes (kill -9, link down), returns, preempts',
  stop: '(c) graceful stop of the master, start again',
  link: '(d) master\'s tracked uplink fails, recovers',
  split: '(e) directors partitioned, then healed',
  reload: '(f) reload under load (weight 10 -> 5 -> 10)',
  restart: '(g) kill -9 and immediate restart on the master',
};

/** The repository root (the guest sees the host's / read-only, so the same path works inside UML). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/** One request as the client recorded it. */
export interface ClientRecord {
  /** Wall-clock ms (the guest's clock, as the marks). */
  start: number;
  end: number;
  ok: boolean;
  detail: string;
}

/** What the client saw during one part of a scenario. */
export interface ClientView {
  requests: number;
  failed: number;
  /** First and last failed request's start, ms after the part's first mark; undefined when none failed. */
  firstFailMs?: number;
  lastFailMs?: number;
  /** From the first failed request's start to the last one's start (0 with one failure or none). */
  windowMs: number;
  /** Why requests failed: detail → count (TIMEOUT, ECONNREFUSED, 200:..., ...). */
  reasons: Record<string, number>;
}

/** One scenario's outcome. */
export interface ScenarioOutcome {
  name: ScenarioName;
  /** Whole scenario (start → end marks). */
  all: ClientView;
  /** From the fault (`<name>:fail`) to the recovery action (`<name>:recover`, or the end). */
  fault: ClientView;
  /** From the recovery action to the end (empty when the scenario has none). */
  recovery: ClientView;
  /** Every mark of the scenario, ms after its `:fail` mark (or its start). */
  marks: Record<string, number>;
  /** Wall-clock ms of that `:fail` mark (the client's records use the same clock). */
  faultAt: number;
  /** ms both directors held the VIP at once (from their address events). */
  dualMasterMs: number;
  durationMs: number;
}

/** Steady-state resources of one director. */
export interface DirectorResources {
  dir: string;
  /** CPU time over the steady window / the window, percent of one core. */
  cpuPct: number;
  rssMb: number;
}

/** One implementation's run. */
export interface E2eRun {
  impl: Impl;
  /** The guest script's exit status (0: every scenario reached its end with the pair nominal). */
  status: number | null;
  /** Problems the script noted (a director never took over, ...). */
  errors: string[];
  scenarios: ScenarioOutcome[];
  resources: DirectorResources[];
  /** The client's ARP entry for the VIP during and after the partition, and each director's MAC. */
  splitArp: { during: string | undefined; after: string | undefined; dir1: string | undefined; dir2: string | undefined };
  records: ClientRecord[];
  /** Raw files the scenario wrote (client.log, marks, director logs, status JSON, ...). */
  files: Map<string, Buffer>;
  durationMs: number;
}

/** Options of runE2e. */
export interface E2eOptions {
  impls: readonly Impl[];
  scenarios?: readonly ScenarioName[];
  /** Client requests per second (default 20). */
  rate?: number;
  /** Called with the UML run folder as soon as it exists (the demo tails files under out/). */
  onStart?: (workDir: string) => void;
  /** A different guest script (default e2e.sh), e.g. the demo's. */
  script?: string;
  keep?: 'on-failure' | 'always' | 'never';
  /** Guest-side deadline per implementation (default: 120 s + 90 s a scenario). */
  timeoutS?: number;
}

/** Parses loadgen.mjs's lines. */
export function parseClientLog(text: string): ClientRecord[] {
  const out: ClientRecord[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\d+) (ok|fail) (.*)$/.exec(line);
    if (m) out.push({ start: Number(m[1]), end: Number(m[2]), ok: m[3] === 'ok', detail: m[4] ?? '' });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Parses e2e.sh's marks ("name ns" lines) into name → wall-clock ms. */
export function parseMarks(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, ns] = line.split(' ');
    if (name && ns && /^\d+$/.test(ns)) out.set(name, Number(BigInt(ns) / 1_000_000n));
  }
  return out;
}

/** The client's view of the requests started in [from, to), relative to `from`. */
export function clientView(records: readonly ClientRecord[], from: number, to: number): ClientView {
  const rs = records.filter((r) => r.start >= from && r.start < to);
  const bad = rs.filter((r) => !r.ok);
  const reasons: Record<string, number> = {};
  for (const r of bad) {
    const why = /^\d+:/.test(r.detail) ? `HTTP ${r.detail}` : r.detail;
    reasons[why] = (reasons[why] ?? 0) + 1;
  }
  const first = bad[0];
  const last = bad.at(-1);
  return {
    requests: rs.length,
    failed: bad.length,
    ...(first && last ? { firstFailMs: first.start - from, lastFailMs: last.start - from } : {}),
    windowMs: first && last ? last.start - first.start : 0,
    reasons,
  };
}

/** Intervals (ms) during which one director held the VIP, from `ip -ts monitor address` lines. */
export function vipIntervals(text: string, vip: string, endMs: number): [number, number][] {
  const out: [number, number][] = [];
  let since: number | undefined;
  for (const line of text.split('\n')) {
    // ip may print an empty event's stamp before the real one: the last stamp is the event's
    const m = /^(?:\[\S+\]\s*)*\[(\S+)\]\s*(Deleted )?.*\binet ([\d.]+)\//.exec(line);
    if (!m || m[3] !== vip) continue;
    const at = Date.parse(`${m[1]!.replace(/(\.\d{3})\d*$/, '$1')}Z`);
    if (m[2] === undefined) since ??= at;
    else if (since !== undefined) {
      out.push([since, at]);
      since = undefined;
    }
  }
  if (since !== undefined) out.push([since, endMs]);
  return out;
}

/** Total overlap (ms) of two interval lists, clipped to [from, to). */
export function overlapMs(a: readonly [number, number][], b: readonly [number, number][], from: number, to: number): number {
  let total = 0;
  for (const [a0, a1] of a)
    for (const [b0, b1] of b) {
      const lo = Math.max(a0, b0, from);
      const hi = Math.min(a1, b1, to);
      if (hi > lo) total += hi - lo;
    }
  return total;
}

/** The guest script for one implementation, with its settings on top. */
function scriptFor(impl: Impl, opts: E2eOptions, dir: string): { name: string; script: string } {
  const src = readFileSync(opts.script ?? join(REPO, 'test/lab/e2e/e2e.sh'), 'utf8');
  const scenarios = (opts.scenarios ?? SCENARIOS).join(' ');
  const head = `REPO='${REPO}'\nIMPL=${impl}\nE2E_SCENARIOS='${scenarios}'\nE2E_RATE=${opts.rate ?? 20}\n`;
  const script = join(dir, `e2e-${impl}.sh`);
  writeFileSync(script, src.replace(/^(#!.*\n)/, `$1${head}`), { mode: 0o755 });
  return { name: `e2e-${impl}`, script };
}

/** Reads one implementation's scenario folder into an E2eRun. */
export function readRun(impl: Impl, res: UmlResult, wanted: readonly ScenarioName[]): E2eRun {
  const s = res.scenarios.find((x) => x.name === `e2e-${impl}`);
  const files = s?.files ?? new Map<string, Buffer>();
  const text = (f: string): string => files.get(f)?.toString('utf8') ?? '';
  const records = parseClientLog(text('client.log'));
  const marks = parseMarks(text('marks'));
  const lastMs = records.at(-1)?.end ?? Date.now();
  const vip1 = vipIntervals(text('addr-dir1.log'), '192.0.2.100', lastMs);
  const vip2 = vipIntervals(text('addr-dir2.log'), '192.0.2.100', lastMs);
  const scenarios: ScenarioOutcome[] = [];
  for (const name of wanted) {
    const start = marks.get(`${name}:start`);
    const end = marks.get(`${name}:end`);
    if (start === undefined || end === undefined) continue;
    const fail = marks.get(`${name}:fail`) ?? start;
    const recover = marks.get(`${name}:recover`) ?? end;
    const rel: Record<string, number> = {};
    for (const [k, v] of marks) if (k.startsWith(`${name}:`)) rel[k.slice(name.length + 1)] = v - fail;
    scenarios.push({
      name,
      all: clientView(records, start, end),
      fault: clientView(records, fail, recover),
      recovery: clientView(records, recover, end),
      marks: rel,
      faultAt: fail,
      dualMasterMs: overlapMs(vip1, vip2, start, end),
      durationMs: end - start,
    });
  }
  const resources: DirectorResources[] = [];
  const res_ = text('resources');
  const tck = Number(/clk_tck (\d+) seconds (\d+)/.exec(res_)?.[1] ?? 100);
  const secs = Number(/clk_tck (\d+) seconds (\d+)/.exec(res_)?.[2] ?? 15);
  for (const m of res_.matchAll(/^(dir\d) (\d+) (\d+)$/gm)) {
    resources.push({ dir: m[1]!, cpuPct: (Number(m[2]) / tck / secs) * 100, rssMb: Number(m[3]) / 1024 });
  }
  const arp = text('split-arp');
  const during = /^during (\S*) dir1=(\S*) dir2=(\S*)/m.exec(arp);
  const after = /^after (\S*) dir1=(\S*) dir2=(\S*)/m.exec(arp);
  return {
    impl,
    status: s?.status ?? null,
    errors: text('errors').split('\n').filter((l) => l !== ''),
    scenarios,
    resources,
    splitArp: { during: during?.[1], after: after?.[1], dir1: (after ?? during)?.[2], dir2: (after ?? during)?.[3] },
    records,
    files,
    durationMs: s?.durationMs ?? 0,
  };
}

/** Boots the lab once and runs the scenarios for each implementation in turn. */
export async function runE2e(opts: E2eOptions): Promise<{ uml: UmlResult; runs: E2eRun[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-'));
  try {
    const wanted = opts.scenarios ?? SCENARIOS;
    // ~30 s of settling per scenario on a busy machine, plus start-up, per implementation
    const perImplS = opts.timeoutS ?? 120 + wanted.length * 90;
    const uml = await runUml({
      scenarios: opts.impls.map((i) => scriptFor(i, opts, dir)),
      memMb: 1024,
      scenarioTimeoutS: perImplS,
      timeoutMs: (60 + perImplS * opts.impls.length) * 1000,
      ...(opts.keep ? { keep: opts.keep } : {}),
      ...(opts.onStart ? { onStart: opts.onStart } : {}),
    });
    return { uml, runs: opts.impls.map((i) => readRun(i, uml, wanted)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
