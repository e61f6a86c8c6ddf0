import { RealServerError } from './errors.js';
import { type RealServerHost, observe } from './host.js';
import { type Action, type Finding, type Observed, type Vip, blockers, mtuWarnings, plan, sysctlRulesFor, tunnelsFor } from './model.js';
import { mergeState, readState, removeState, writeState } from './state.js';
import { type UndoAction, planUndo } from './undo.js';

/*
 * `vigil realserver`: setup, check and undo over a RealServerHost. Setup observes, plans (pure),
 * creates missing tunnel devices (which loads their modules) and plans again, saves what it is
 * about to change, then changes only the difference; a second run changes nothing.
 */

/** One change made, for the report. */
export interface Change {
  readonly item: string;
  readonly what: string;
}

/** What setup did. */
export interface SetupResult {
  readonly changes: readonly Change[];
  /** Problems setup will not fix; when any, it changed nothing. */
  readonly blockers: readonly Finding[];
  readonly warnings: readonly string[];
  /** The state file, when setup wrote it. */
  readonly stateFile?: string;
}

/** What `--check` found. */
export interface CheckResult {
  readonly problems: readonly Finding[];
  readonly warnings: readonly string[];
}

/** What `--undo` did and left. */
export interface UndoResult {
  readonly changes: readonly Change[];
  readonly kept: readonly string[];
  /** False when there was no state file (only the VIPs given were removed). */
  readonly hadState: boolean;
}

function look(host: RealServerHost, vips: readonly Vip[], extraKeys: readonly string[] = []): Promise<Observed> {
  const keys = [...new Set([...sysctlRulesFor(vips).map((r) => r.key), ...extraKeys])];
  return observe(host, keys, tunnelsFor(vips).map((t) => t.module));
}

/** Reports every problem of the real server for `vips` without changing anything. */
export async function check(host: RealServerHost, vips: readonly Vip[]): Promise<CheckResult> {
  return { problems: plan(vips, await look(host, vips)), warnings: mtuWarnings(vips) };
}

async function apply(host: RealServerHost, a: Action): Promise<Change> {
  switch (a.kind) {
    case 'create-device': {
      const r = await host.createDevice(a.tunnel);
      return { item: `module ${a.tunnel.module}`, what: r === 'created' ? `created ${a.tunnel.device}` : `loaded (${a.tunnel.device} is there now)` };
    }
    case 'link-up':
      await host.setLinkUp(a.device, true);
      return { item: a.device, what: 'set up' };
    case 'add-address':
      if (a.replacePrefix !== undefined) await host.deleteAddress(a.device, a.family, a.address, a.replacePrefix);
      await host.addAddress(a.device, a.family, a.address, a.prefix);
      return {
        item: `VIP ${a.address}`,
        what: a.replacePrefix !== undefined ? `replaced ${a.address}/${a.replacePrefix} by /${a.prefix} on ${a.device}` : `added ${a.address}/${a.prefix} to ${a.device}`,
      };
    case 'sysctl':
      host.write(a.key, a.to);
      return { item: a.key, what: `${a.from ?? '(unreadable)'} → ${a.to}` };
  }
}

/**
 * Configures the real server for `vips`, idempotently. Refuses (changes nothing, returns the
 * blockers) when a VIP sits on another interface; throws ENOMODULE, before any change, when the
 * kernel cannot create the tunnel device. Saves the original value of every sysctl it changes in
 * `stateFile` before changing it (values saved by an earlier run are kept).
 */
export async function setup(host: RealServerHost, vips: readonly Vip[], stateFile: string): Promise<SetupResult> {
  const warnings = mtuWarnings(vips);
  const prev = readState(stateFile); // a foreign or corrupt file stops us before any change
  let findings = plan(vips, await look(host, vips));
  const blocked = blockers(findings);
  if (blocked.length > 0) return { changes: [], blockers: blocked, warnings };
  const changes: Change[] = [];
  const creates = findings.filter((f) => f.action?.kind === 'create-device');
  if (creates.length > 0) {
    for (const f of creates) changes.push(await apply(host, f.action!));
    findings = plan(vips, await look(host, vips));
    const still = findings.find((f) => f.action?.kind === 'create-device');
    if (still) throw new RealServerError('EKERNEL', still.item, `still ${still.problem} after creating it`);
  }
  const actions = findings.map((f) => f.action).filter((a): a is Action => a !== undefined);
  if (actions.length === 0) return { changes, blockers: [], warnings };
  writeState(
    stateFile,
    mergeState(
      prev,
      vips.map((v) => v.address),
      actions,
    ),
  );
  for (const a of actions) changes.push(await apply(host, a));
  return { changes, blockers: [], warnings, stateFile };
}

async function applyUndo(host: RealServerHost, a: UndoAction): Promise<Change> {
  switch (a.kind) {
    case 'delete-address':
      await host.deleteAddress(a.device, a.family, a.address, a.prefix);
      return { item: `VIP ${a.address}`, what: `removed ${a.address}/${a.prefix} from ${a.device}` };
    case 'sysctl':
      host.write(a.key, a.to);
      return { item: a.key, what: `${a.from} → ${a.to} (restored)` };
    case 'link-down':
      await host.setLinkUp(a.device, false);
      return { item: a.device, what: 'set down (setup had brought it up)' };
  }
}

/**
 * Reverts setup: removes the VIPs (given and recorded) from the tunnel devices, restores the
 * sysctls saved in `stateFile` that still hold setup's value, takes down a device setup brought
 * up, and removes the state file. Leaves the module loaded.
 */
export async function undo(host: RealServerHost, vips: readonly Vip[], stateFile: string): Promise<UndoResult> {
  const state = readState(stateFile);
  const stateVips = (state?.vips ?? []).map((address): Vip => ({ family: address.includes(':') ? 6 : 4, address }));
  const o = await look(host, [...vips, ...stateVips], Object.keys(state?.sysctls ?? {}));
  const p = planUndo(vips, state, o);
  const changes: Change[] = [];
  for (const a of p.actions) changes.push(await applyUndo(host, a));
  if (state) removeState(stateFile);
  return { changes, kept: p.kept, hadState: state !== undefined };
}
