import { spawn as cpSpawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from './errors.js';
import { guardExit } from './exit-guard.js';
import { newRunId } from './names.js';
import { groupAlive, killGroup } from './pids.js';
import { STATE_DIR_PREFIX, ownState, pidsByCmdline, sweepStaleLabs, writeState } from './state.js';
import { UML_BINARY, UML_MODULES, assertUmlUsable, memoryDir, umlModuleVersion } from './uml-host.js';
import { type UmlExit, type UmlResult, collectResult } from './uml-results.js';
import { sleep } from './wait.js';

export { UML_BINARY, UML_MODULES, assertUmlUsable, umlModuleVersion } from './uml-host.js';
export { type UmlResult, type UmlScenarioResult, describeUmlFailure } from './uml-results.js';

/** The LVS-TUN topology script run before the scenarios (client, dir1, dir2, rs1..3 with nginx). */
export const LVS_TUN_TOPOLOGY = fileURLToPath(new URL('./uml-topology.sh', import.meta.url));
const INIT = fileURLToPath(new URL('./uml-init.sh', import.meta.url));

/** Modules loaded at boot by default: IPVS with common schedulers, ipip, veth, bridge. */
export const DEFAULT_MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_wlc', 'ipip', 'veth', 'bridge'];

/** A bash script run inside the guest, with `SCENARIO_OUT` (folder for its files) and `LAB_ENV` set. */
export interface UmlScenario {
  /** [a-z0-9_-]+, unique within a run. */
  name: string;
  script: string;
}

/** Options of `runUml`. */
export interface UmlOptions {
  scenarios: readonly UmlScenario[];
  /** Kernel binary (default UML_BINARY). */
  binary?: string;
  /** Script building the topology before the scenarios (default LVS_TUN_TOPOLOGY; null for none). */
  topology?: string | null;
  modules?: readonly string[];
  /** Guest memory in MiB (default 640). */
  memMb?: number;
  /** Overall deadline from spawn to power-off (default 150 s): SIGTERM to the process group, SIGKILL 5 s later. */
  timeoutMs?: number;
  /** Per-scenario deadline inside the guest (default 60 s). */
  scenarioTimeoutS?: number;
  /** Keep the run folder: on failure (default), always, or never. VIGIL_LAB_KEEP=1 forces always. */
  keep?: 'on-failure' | 'always' | 'never';
  /** Called with the run folder once it is laid out, before the boot (to follow files under out/ live). */
  onStart?: (workDir: string) => void;
}

const NAME_RE = /^[a-z0-9_-]+$/;
const KILL_GRACE_MS = 5000;

/** Lays out the run folder: init, topology and scenario copies, modroot, out/ and the uml_dir. */
function prepare(work: string, opts: UmlOptions, version: string): void {
  for (const d of ['in', 'out', 'run', 'modroot/lib/modules']) mkdirSync(join(work, d), { recursive: true });
  // modprobe -d <modroot> looks in <modroot>/lib/modules/<version>
  symlinkSync(join(UML_MODULES, version), join(work, 'modroot/lib/modules', version));
  copyFileSync(INIT, join(work, 'init.sh'));
  const topology = opts.topology === undefined ? LVS_TUN_TOPOLOGY : opts.topology;
  if (topology !== null) copyFileSync(topology, join(work, 'in', 'topology.sh'));
  const seen = new Set<string>();
  for (const s of opts.scenarios) {
    if (!NAME_RE.test(s.name) || seen.has(s.name)) throw new LabError('EUML', `uml: bad or duplicate scenario name "${s.name}"`);
    seen.add(s.name);
    // copied so that the guest needs nothing outside the run folder (the repo may live under /tmp)
    copyFileSync(s.script, join(work, 'in', `${s.name}.sh`));
  }
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

/** Kernel command line: hostfs root read-only, console to fd 1, KEY=VALUE pairs for init's environment. */
function bootArgs(work: string, umid: string, opts: UmlOptions): string[] {
  return [
    `mem=${opts.memMb ?? 640}M`,
    'root=/dev/root',
    'rootfstype=hostfs',
    'rootflags=/',
    'ro',
    'con=null',
    'con0=null,fd:1',
    'quiet',
    `umid=${umid}`,
    `uml_dir=${join(work, 'run')}`,
    `init=${join(work, 'init.sh')}`,
    `VG_WORK=${work}`,
    // The repository, so scenarios can run its scripts and dist/ even when it lives under a
    // folder the guest masks with tmpfs (a CI clone under /tmp, a checkout under /root).
    `VG_REPO=${REPO_ROOT}`,
    `VG_MODULES=${(opts.modules ?? DEFAULT_MODULES).join(',')}`,
    `VG_SCENARIOS=${opts.scenarios.map((s) => s.name).join(',')}`,
    `VG_TIMEOUT=${opts.scenarioTimeoutS ?? 60}`,
  ];
}

/** Runs the kernel in its own session; on the deadline SIGTERM to the group, then SIGKILL. */
async function boot(binary: string, work: string, umid: string, opts: UmlOptions): Promise<UmlExit> {
  const consoleFd = openSync(join(work, 'out', 'console.log'), 'w');
  const startedAt = Date.now();
  const t0 = performance.now();
  let child;
  try {
    child = cpSpawn(binary, bootArgs(work, umid, opts), {
      detached: true, // setsid: UML's helper processes share the group, so one kill reaches them all
      stdio: ['ignore', consoleFd, consoleFd],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TMPDIR: memoryDir(work, opts.memMb ?? 640) },
    });
  } finally {
    closeSync(consoleFd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new LabError('EUML', `uml: could not start ${binary}`);
  let timedOut = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', () => resolve({ code: null, signal: null }));
  });
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(pid, 'SIGTERM'); // UML shuts its helpers down itself on SIGTERM
    setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  }, opts.timeoutMs ?? 150_000);
  const { code, signal } = await exited;
  clearTimeout(timer);
  const totalMs = Math.round(performance.now() - t0);
  for (let i = 0; i < 50 && groupAlive(pid); i++) await sleep(20); // helpers exit with the kernel
  if (groupAlive(pid)) killGroup(pid, 'SIGKILL');
  return { code, signal, timedOut, startedAt, totalMs };
}

function killGuest(umid: string): void {
  for (const pid of pidsByCmdline(`umid=${umid}`)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * Boots user-mode Linux once with the host's / (read-only, over hostfs) as root, builds the
 * topology, runs each scenario in turn and powers off; returns one result per scenario.
 * Rejects with EUML when the kernel cannot be run at all. The run folder is removed unless kept.
 */
export async function runUml(opts: UmlOptions): Promise<UmlResult> {
  const binary = opts.binary ?? UML_BINARY;
  assertUmlUsable(binary);
  sweepStaleLabs();
  const version = umlModuleVersion(binary);
  const id = newRunId();
  const umid = `${id}-uml`;
  const work = mkdtempSync(join(tmpdir(), `${STATE_DIR_PREFIX}${id}-`));
  if (/[\s"]/.test(work)) {
    rmSync(work, { recursive: true, force: true });
    throw new LabError('EUML', `uml: run folder "${work}" cannot be passed on the kernel command line (set TMPDIR)`);
  }
  writeState(work, ownState('uml', id, [], umid));
  const unguard = guardExit(() => {
    killGuest(umid);
    rmSync(work, { recursive: true, force: true });
  });
  let result: UmlResult | undefined;
  try {
    prepare(work, opts, version);
    opts.onStart?.(work);
    const exit = await boot(binary, work, umid, opts);
    killGuest(umid);
    result = collectResult(
      work,
      opts.scenarios.map((s) => s.name),
      umid,
      exit,
    );
    return result;
  } finally {
    killGuest(umid);
    const keep = process.env['VIGIL_LAB_KEEP'] === '1' ? 'always' : (opts.keep ?? 'on-failure');
    if (keep === 'always' || (keep === 'on-failure' && result?.ok !== true)) {
      rmSync(join(work, 'state.json'), { force: true }); // kept on purpose: not a stale lab to sweep
      rmSync(join(work, 'modroot'), { recursive: true, force: true });
      if (result !== undefined) result.keptDir = work;
      process.stderr.write(`uml: run folder kept for inspection: ${work}\n`);
    } else {
      rmSync(work, { recursive: true, force: true });
    }
    unguard();
  }
}

/**
 * runUml for a tap test file: a guest that cannot boot fails the file loudly with the reason
 * (never a skip), and boot and scenario times go into the TAP comments.
 */
export async function runUmlForTest(t: { fail(msg: string): unknown; comment(msg: string): unknown }, opts: UmlOptions): Promise<UmlResult> {
  const started = performance.now();
  let res: UmlResult;
  try {
    res = await runUml(opts);
  } catch (err) {
    t.fail(`user-mode Linux cannot run: ${(err as Error).message}`);
    process.exit(1);
  }
  t.comment(`uml: boot ${res.bootMs} ms, whole run ${res.totalMs} ms, wall ${Math.round(performance.now() - started)} ms`);
  for (const s of res.scenarios) t.comment(`uml: scenario ${s.name}: ${s.durationMs} ms, status ${s.status}`);
  return res;
}
