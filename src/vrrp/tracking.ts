import type { TrackFile, VrrpScript, VrrpSyncGroup } from '../config/schema/vrrp-blocks.js';
import type { VrrpInstance } from '../config/schema/vrrp.js';
import { fileEffect } from './track-file.js';

/** The current readings of every tracked object. */
export interface TrackReadings {
  /** Link has carrier and is up; false for unknown links. */
  linkRunning(name: string): boolean;
  /** Script state after rise/fall; undefined when it is not being run. */
  scriptUp(name: string): boolean | undefined;
  /** Number read from a tracked file; undefined when it is not being read. */
  fileValue(name: string): number | undefined;
}

/** What tracking makes of an instance: why it must be in FAULT, and how its priority moves. */
export interface TrackState {
  /** Source → reason, for every source that demands FAULT. */
  readonly faults: ReadonlyMap<string, string>;
  /** Source → priority adjustment. */
  readonly weights: ReadonlyMap<string, number>;
}

type Entry = { readonly name: string; readonly weight?: number; readonly reverse?: boolean };

/**
 * Computes an instance's faults and weights from its own tracking and its sync group's
 * (keepalived.conf(5): track_interface, track_script, track_file). Pure.
 *
 * - Interfaces: the instance's own interface always counts, without weight. No weight (or 0):
 *   down means FAULT; weight > 0 adds while up; weight < 0 adds while down.
 * - Scripts: weight from the entry, else the vrrp_script; `reverse` inverts the state; 0 means
 *   FAULT when down, > 0 adds while up, < 0 adds while down.
 * - Files: see fileEffect.
 */
export function trackState(
  vi: VrrpInstance,
  group: VrrpSyncGroup | undefined,
  scripts: ReadonlyMap<string, VrrpScript>,
  files: ReadonlyMap<string, TrackFile>,
  r: TrackReadings,
): TrackState {
  const faults = new Map<string, string>();
  const weights = new Map<string, number>();
  // dont_track_primary: the instance's own interface does not count.
  const own = vi.dontTrackPrimary ? undefined : vi.interface;
  const ifs: Entry[] = [...(own ? [{ name: own }] : []), ...[...vi.trackInterface, ...(group?.trackInterface ?? [])].filter((t) => t.name !== own)];
  for (const t of ifs) {
    const up = r.linkRunning(t.name) !== (t.reverse === true);
    apply(`if:${t.name}`, t.weight ?? 0, up, `interface ${t.name} is ${r.linkRunning(t.name) ? 'up (reverse)' : 'down'}`);
  }
  if (vi.unicastFaultNoPeer && vi.unicastSrcIp !== undefined && vi.unicastPeer.length === 0) faults.set('unicast', 'unicast instance has no peer (unicast_fault_no_peer)');
  for (const t of [...vi.trackScript, ...(group?.trackScript ?? [])]) {
    const sc = scripts.get(t.name);
    const state = r.scriptUp(t.name);
    if (!sc || state === undefined) continue;
    const up = (t.reverse ?? sc.weightReverse) ? !state : state;
    apply(`script:${t.name}`, t.weight ?? sc.weight, up, `vrrp_script ${t.name} is ${state ? 'up (reverse)' : 'down'}`);
  }
  for (const t of [...vi.trackFile, ...(group?.trackFile ?? [])]) {
    const tf = files.get(t.name);
    const value = r.fileValue(t.name);
    if (!tf || value === undefined) continue;
    const e = fileEffect(t.name, value, t.weight ?? tf.weight, t.reverse ?? tf.weightReverse);
    if (e.fault) faults.set(`file:${t.name}`, e.reason);
    else if (e.weight !== 0) weights.set(`file:${t.name}`, e.weight);
  }
  return { faults, weights };

  function apply(key: string, weight: number, up: boolean, downReason: string): void {
    if (weight === 0) {
      if (!up) faults.set(key, downReason);
    } else if (weight > 0 ? up : !up) weights.set(key, weight);
  }
}

/** keepalived: tracking never moves an address owner (255); others stay within 1..254. */
export function effectivePriority(base: number, weights: ReadonlyMap<string, number>): number {
  if (base === 255) return 255;
  let sum = 0;
  for (const w of weights.values()) sum += w;
  return Math.max(1, Math.min(254, base + sum));
}
