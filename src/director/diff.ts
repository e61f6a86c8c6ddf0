import type { IpvsOp } from '../ipvs/ipvs.js';
import {
  type Dest,
  type Service,
  SVC_F_HASHED,
  destEqual,
  destKey,
  serviceEqual,
  serviceKey,
  serviceKeyOf,
} from '../ipvs/types.js';

/*
 * The pure heart of the reconciler (STYLE habit 5, MetalLB's desired-state loop): given the
 * table vigil wants and the table the kernel holds, the smallest list of operations that makes
 * the kernel match — never a flush. Services vigil does not manage (not in its configuration now
 * or before) are left alone; inside a managed service every destination is vigil's. The diff
 * works service by service, so it can be limited to the services that changed (`diffKeys`).
 */

/** One virtual service and its destinations. Treated as immutable: a changed service is a new object. */
export interface ServiceEntry {
  readonly service: Service;
  readonly dests: readonly Dest[];
}

/** One kernel write (the IPVS layer's IpvsOp). */
export type Op = IpvsOp;

/** What `diff` returns: the operations in a safe order, and what it adopted unchanged. */
export interface Plan {
  readonly ops: readonly Op[];
  /** Services already in the kernel exactly as wanted (adopted without a write). */
  readonly adopted: number;
  /** Kernel services outside vigil's management, left untouched (keys). */
  readonly unmanaged: readonly string[];
}

/** The plan's operations by phase, in the order they are sent. */
interface Phases {
  readonly creates: Op[];
  readonly destUps: Op[];
  readonly destDowns: Op[];
  readonly removes: Op[];
}

/** A table keyed by serviceKey (the last entry wins when a key repeats, as in `diff`). */
export function byKey(table: readonly ServiceEntry[]): Map<string, ServiceEntry> {
  return new Map(table.map((e) => [serviceKey(e.service), e]));
}

/**
 * Appends the operations that turn one kernel service `cur` into `want` (either may be absent)
 * to `into`. `managed`: whether vigil may delete `cur` when it is not wanted. Returns what the
 * service is: 'adopted' (already as wanted), 'changed', 'unmanaged' or 'absent' (neither side).
 */
function planService(want: ServiceEntry | undefined, cur: ServiceEntry | undefined, managed: boolean, into: Phases): 'adopted' | 'changed' | 'unmanaged' | 'absent' {
  if (!want) {
    if (!cur) return 'absent';
    if (!managed) return 'unmanaged';
    into.removes.push({ op: 'deleteService', service: serviceKeyOf(cur.service) });
    return 'changed';
  }
  const key = serviceKeyOf(want.service);
  let changed = false;
  if (!cur) {
    into.creates.push({ op: 'addService', service: want.service });
    changed = true;
  } else if (!serviceEqual(cur.service, want.service)) {
    into.creates.push({ op: 'editService', service: want.service });
    changed = true;
  }
  const have = new Map((cur?.dests ?? []).map((d) => [destKey(d), d]));
  for (const d of want.dests) {
    const k = destKey(d);
    const h = have.get(k);
    if (!h) {
      into.destUps.push({ op: 'addDest', service: key, dest: d });
      changed = true;
    } else if (!destEqual(h, d)) {
      into.destUps.push({ op: 'editDest', service: key, dest: d });
      changed = true;
    }
    have.delete(k);
  }
  for (const extra of have.values()) {
    into.destDowns.push({ op: 'deleteDest', service: key, dest: { family: extra.family, address: extra.address, port: extra.port } });
    changed = true;
  }
  return changed ? 'changed' : 'adopted';
}

/**
 * The diff of `diff`, limited to the services named by `keys` (each compared at most once):
 * `desired` and `current` are tables by serviceKey. `adopted` and `unmanaged` count only those
 * services. With every key of both tables it is the whole diff.
 */
export function diffKeys(desired: ReadonlyMap<string, ServiceEntry>, current: ReadonlyMap<string, ServiceEntry>, keys: Iterable<string>, managed: ReadonlySet<string>): Plan {
  const into: Phases = { creates: [], destUps: [], destDowns: [], removes: [] };
  let adopted = 0;
  const unmanaged: string[] = [];
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) continue;
    seen.add(k);
    const v = planService(desired.get(k), current.get(k), managed.has(k), into);
    if (v === 'adopted') adopted++;
    else if (v === 'unmanaged') unmanaged.push(k);
  }
  return { ops: [...into.creates, ...into.destUps, ...into.destDowns, ...into.removes], adopted, unmanaged };
}

/**
 * Computes the operations that turn `current` into `desired`. `managed` holds the keys of every
 * service vigil has been configured with (now or before a reload); kernel services outside it
 * are never touched. Order: services are created or edited first, then destinations are added
 * or edited (so traffic gains capacity before it loses any), then extra destinations and
 * services are removed.
 */
export function diff(desired: readonly ServiceEntry[], current: readonly ServiceEntry[], managed: ReadonlySet<string>): Plan {
  const want = byKey(desired);
  const cur = byKey(current);
  return diffKeys(want, cur, allKeys(want, cur), managed);
}

/** The keys of `a`, then those of `b` that `a` lacks. */
export function* allKeys(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): Generator<string> {
  yield* a.keys();
  for (const k of b.keys()) if (!a.has(k)) yield k;
}

/**
 * Replays operations on a table by serviceKey, in place: only the services the operations name
 * are rebuilt (cost in proportion to them, not to the table).
 */
export function applyInPlace(table: Map<string, ServiceEntry>, ops: readonly Op[]): void {
  const touched = new Map<string, { service: Service; dests: Map<string, Dest> } | undefined>();
  const open = (k: string) => {
    if (touched.has(k)) return touched.get(k);
    const e = table.get(k);
    const t = e ? { service: e.service, dests: new Map(e.dests.map((d) => [destKey(d), d])) } : undefined;
    touched.set(k, t);
    return t;
  };
  for (const o of ops) {
    const k = serviceKey(o.service);
    switch (o.op) {
      case 'addService':
      case 'editService':
        touched.set(k, { service: o.service, dests: open(k)?.dests ?? new Map() });
        break;
      case 'deleteService':
        touched.set(k, undefined);
        break;
      case 'addDest':
      case 'editDest':
        open(k)?.dests.set(destKey(o.dest), o.dest);
        break;
      case 'deleteDest':
        open(k)?.dests.delete(destKey(o.dest));
        break;
    }
  }
  for (const [k, t] of touched) {
    if (t) table.set(k, { service: t.service, dests: [...t.dests.values()] });
    else table.delete(k);
  }
}

/** Replays operations on a table (what the kernel would hold after a successful apply). */
export function apply(table: readonly ServiceEntry[], ops: readonly Op[]): ServiceEntry[] {
  const t = byKey(table);
  applyInPlace(t, ops);
  return [...t.values()];
}

/**
 * Whether two entries are the same configuration, field by field and in the same order
 * (counters ignored). Cheap: no strings are built. Identical objects are equal at once. A false
 * "different" only costs a diff of that service; it never misses a real difference.
 */
export function sameEntry(a: ServiceEntry, b: ServiceEntry): boolean {
  if (a === b) return true;
  const s = a.service;
  const t = b.service;
  if (
    s !== t &&
    !(
      s.family === t.family &&
      s.fwmark === t.fwmark &&
      s.protocol === t.protocol &&
      s.address === t.address &&
      s.port === t.port &&
      s.scheduler === t.scheduler &&
      (s.flags & ~SVC_F_HASHED) === (t.flags & ~SVC_F_HASHED) &&
      s.timeout === t.timeout &&
      s.netmask === t.netmask &&
      (s.peName ?? '') === (t.peName ?? '')
    )
  )
    return false;
  if (a.dests === b.dests) return true;
  if (a.dests.length !== b.dests.length) return false;
  for (let i = 0; i < a.dests.length; i++) {
    const d = a.dests[i]!;
    const e = b.dests[i]!;
    if (d === e) continue;
    if (
      d.family !== e.family ||
      d.address !== e.address ||
      d.port !== e.port ||
      d.forward !== e.forward ||
      d.weight !== e.weight ||
      d.upperThreshold !== e.upperThreshold ||
      d.lowerThreshold !== e.lowerThreshold ||
      d.tunType !== e.tunType ||
      d.tunPort !== e.tunPort ||
      d.tunFlags !== e.tunFlags
    )
      return false;
  }
  return true;
}
