import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What one scenario did. */
export interface UmlScenarioResult {
  name: string;
  /** Exit status (124 = timed out in the guest); null when it never ran. */
  status: number | null;
  stdout: string;
  stderr: string;
  /** Guest-side duration. */
  durationMs: number;
  /** Every other file the scenario wrote to $SCENARIO_OUT (relative path → contents). */
  files: Map<string, Buffer>;
}

/** What a whole boot did. */
export interface UmlResult {
  /** The guest powered off after running every scenario, the topology came up and all scenarios exited 0. */
  ok: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Spawn → init running, and spawn → exit. */
  bootMs: number | null;
  totalMs: number;
  console: string;
  initLog: string;
  topology: { status: number | null; log: string };
  scenarios: UmlScenarioResult[];
  /** The guest's umid (its processes carry `umid=<this>` on their command line). */
  umid: string;
  /** The run folder (removed afterwards unless kept). */
  workDir: string;
  /** The run folder when it was kept. */
  keptDir?: string;
}

/** Text of a file, or `fallback` when it cannot be read. */
export function readOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** A numeric exit status written by the guest, or null. */
export function readStatus(path: string): number | null {
  const s = readOr(path).trim();
  return /^\d+$/.test(s) ? Number(s) : null;
}

/** Every file under `dir` (relative path → bytes), except the runner's own bookkeeping files at the top. */
export function collectFiles(dir: string, base = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const skip = new Set(['stdout', 'stderr', 'status', 'start_ns', 'end_ns']);
  let entries: string[] = [];
  try {
    entries = readdirSync(join(dir, base));
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = base ? `${base}/${e}` : e;
    if (!base && skip.has(e)) continue;
    const st = statSync(join(dir, rel));
    if (st.isDirectory()) for (const [k, v] of collectFiles(dir, rel)) out.set(k, v);
    else if (st.isFile()) out.set(rel, readFileSync(join(dir, rel)));
  }
  return out;
}

/** A readable account of a failed run: statuses, log tails and the kept folder. */
export function describeUmlFailure(r: UmlResult): string {
  const tail = (s: string): string => s.trim().split('\n').slice(-15).join('\n');
  const parts = [
    `uml: exit ${r.exitCode}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ', timed out' : ''}, topology status ${r.topology.status}`,
    ...(r.bootMs === null ? ['init never ran: the kernel did not boot (see console below)'] : []),
    ...r.scenarios.map((s) => `scenario ${s.name}: status ${s.status}\n${tail(s.stderr)}`),
    `topology log:\n${tail(r.topology.log)}`,
    `init log:\n${tail(r.initLog)}`,
    `console:\n${tail(r.console)}`,
  ];
  if (r.keptDir) parts.push(`kept: ${r.keptDir}`);
  return parts.join('\n');
}

/** How the kernel process ended, as seen by the host. */
export interface UmlExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Date.now() at spawn, and spawn → exit. */
  startedAt: number;
  totalMs: number;
}

/** Reads everything the guest wrote into `<work>/out` into a result. */
export function collectResult(work: string, names: readonly string[], umid: string, exit: UmlExit): UmlResult {
  const out = join(work, 'out');
  const scenarios = names.map((name): UmlScenarioResult => {
    const dir = join(out, name);
    const startNs = readOr(join(dir, 'start_ns')).trim();
    const endNs = readOr(join(dir, 'end_ns')).trim();
    return {
      name,
      status: readStatus(join(dir, 'status')),
      stdout: readOr(join(dir, 'stdout')),
      stderr: readOr(join(dir, 'stderr')),
      durationMs: startNs && endNs ? Number((BigInt(endNs) - BigInt(startNs)) / 1_000_000n) : 0,
      files: collectFiles(dir),
    };
  });
  const bootNs = readOr(join(out, 'boot_ns')).trim();
  const topoStatus = readStatus(join(out, 'topology.status'));
  const done = readOr(join(out, 'done')).trim() === 'ok';
  return {
    ok: !exit.timedOut && exit.code === 0 && topoStatus === 0 && done && scenarios.every((s) => s.status === 0),
    exitCode: exit.code,
    signal: exit.signal,
    timedOut: exit.timedOut,
    bootMs: bootNs ? Math.round(Number(BigInt(bootNs) / 1_000_000n) - exit.startedAt) : null,
    totalMs: exit.totalMs,
    console: readOr(join(out, 'console.log')),
    initLog: readOr(join(out, 'init.log')),
    topology: { status: topoStatus, log: readOr(join(out, 'topology.log')) },
    scenarios,
    umid,
    workDir: work,
  };
}

/** The result of scenario `name`; throws when the run has none (a broken runner, not a test failure). */
export function scenarioResult(res: UmlResult, name: string): UmlScenarioResult {
  const s = res.scenarios.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no result for scenario ${name}`);
  return s;
}

/** A file a scenario wrote under $OUT, as text; throws (with the scenario's stderr) when missing. */
export function scenarioText(s: UmlScenarioResult, file: string): string {
  const b = s.files.get(file);
  if (b === undefined) throw new Error(`scenario ${s.name} wrote no ${file}: ${s.stderr}`);
  return b.toString('utf8');
}

/**
 * A file a scenario wrote, or '' when it wrote none: for a bed that reads its files at load, so a
 * guest that wrote nothing fails the bed's first test (which reports the runner's reason, see
 * describeUmlFailure) instead of crashing the file before any test runs.
 */
export function scenarioTextOrEmpty(s: UmlScenarioResult, file: string): string {
  return s.files.get(file)?.toString('utf8') ?? '';
}

/**
 * A scenario's `phases` file (lines `NAME NANOSECONDS`, the guest's `date +%s%N`) as milliseconds
 * by phase name, in the order they happened.
 */
export function phaseTimes(text: string): ReadonlyMap<string, number> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [name, ns] = l.split(' ');
        return [name!, Number(ns) / 1e6] as const;
      }),
  );
}
