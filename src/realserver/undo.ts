import net from 'node:net';
import { type Observed, TUNNELS, type Vip } from './model.js';
import type { RealServerState } from './state.js';

/** One change `--undo` makes. */
export type UndoAction =
  | { readonly kind: 'delete-address'; readonly device: string; readonly family: 4 | 6; readonly address: string; readonly prefix: number }
  | { readonly kind: 'sysctl'; readonly key: string; readonly from: number; readonly to: number }
  | { readonly kind: 'link-down'; readonly device: string };

/** What `--undo` does, and what it leaves alone with the reason. */
export interface UndoPlan {
  readonly actions: readonly UndoAction[];
  /** One line per thing left as it is, e.g. a sysctl changed by someone else since setup. */
  readonly kept: readonly string[];
}

/**
 * Plans `--undo`: remove the VIPs (those given and those setup recorded) from their tunnel
 * devices; put back each saved sysctl that still holds the value setup wrote (one changed since
 * by someone else is left, and said); take down a device setup brought up once no VIP is left on
 * it. The module stays loaded (other tunnels may use it).
 */
export function planUndo(vips: readonly Vip[], state: RealServerState | undefined, o: Observed): UndoPlan {
  const actions: UndoAction[] = [];
  const kept: string[] = [];
  const all = new Map(vips.map((v) => [v.address, v]));
  for (const a of state?.vips ?? []) {
    const family = net.isIP(a);
    if ((family === 4 || family === 6) && !all.has(a)) all.set(a, { family, address: a });
  }
  const removed = new Set<string>();
  for (const v of all.values()) {
    const t = TUNNELS[v.family];
    const on = o.addresses.filter((a) => a.device === t.device && a.family === v.family && a.address === v.address);
    for (const a of on) {
      actions.push({ kind: 'delete-address', device: t.device, family: v.family, address: v.address, prefix: a.prefix });
      removed.add(`${a.device} ${a.address}`);
    }
    if (on.length === 0) kept.push(`VIP ${v.address}: not on ${t.device}, nothing to remove`);
  }
  for (const [key, s] of Object.entries(state?.sysctls ?? {})) {
    const now = o.sysctls[key];
    if (now === undefined) kept.push(`${key}: does not exist any more, cannot restore ${s.saved}`);
    else if (now === s.saved) kept.push(`${key}: already ${s.saved}, the value before setup`);
    else if (now !== s.set) kept.push(`${key}: left at ${now}: changed since setup (which set ${s.set}; ${s.saved} before)`);
    else actions.push({ kind: 'sysctl', key, from: now, to: s.saved });
  }
  for (const device of state?.linksUp ?? []) {
    const link = o.links.find((l) => l.name === device);
    if (!link?.up) continue;
    const left = o.addresses.filter((a) => a.device === device && !a.address.startsWith('fe80:') && !removed.has(`${a.device} ${a.address}`));
    if (left.length > 0) kept.push(`${device}: left up, it still has ${left.map((a) => `${a.address}/${a.prefix}`).join(', ')}`);
    else actions.push({ kind: 'link-down', device });
  }
  return { actions, kept };
}
