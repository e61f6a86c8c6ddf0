import type { IpvsOp } from '../ipvs/ipvs.js';
import {
  type Dest,
  type Service,
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
 * or before) are left alone; inside a managed service every destination is vigil's.
 */

/** One virtual service and its destinations. */
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

/**
 * Computes the operations that turn `current` into `desired`. `managed` holds the keys of every
 * service vigil has been configured with (now or before a reload); kernel services outside it
 * are never touched. Order: services are created or edited first, then destinations are added
 * or edited (so traffic gains capacity before it loses any), then extra destinations and
 * services are removed.
 */
export function diff(desired: readonly ServiceEntry[], current: readonly ServiceEntry[], managed: ReadonlySet<string>): Plan {
  const cur = new Map(current.map((e) => [serviceKey(e.service), e]));
  const want = new Map(desired.map((e) => [serviceKey(e.service), e]));
  const creates: Op[] = [];
  const destUps: Op[] = [];
  const destDowns: Op[] = [];
  const removes: Op[] = [];
  let adopted = 0;
  for (const [k, w] of want) {
    const c = cur.get(k);
    const key = serviceKeyOf(w.service);
    if (!c) creates.push({ op: 'addService', service: w.service });
    else if (!serviceEqual(c.service, w.service)) creates.push({ op: 'editService', service: w.service });
    const have = new Map((c?.dests ?? []).map((d) => [destKey(d), d]));
    let changed = !c || !serviceEqual(c.service, w.service);
    for (const d of w.dests) {
      const h = have.get(destKey(d));
      if (!h) {
        destUps.push({ op: 'addDest', service: key, dest: d });
        changed = true;
      } else if (!destEqual(h, d)) {
        destUps.push({ op: 'editDest', service: key, dest: d });
        changed = true;
      }
      have.delete(destKey(d));
    }
    for (const extra of have.values()) {
      destDowns.push({ op: 'deleteDest', service: key, dest: { family: extra.family, address: extra.address, port: extra.port } });
      changed = true;
    }
    if (!changed) adopted++;
  }
  const unmanaged: string[] = [];
  for (const [k, c] of cur) {
    if (want.has(k)) continue;
    if (managed.has(k)) removes.push({ op: 'deleteService', service: serviceKeyOf(c.service) });
    else unmanaged.push(k);
  }
  return { ops: [...creates, ...destUps, ...destDowns, ...removes], adopted, unmanaged };
}

/** Replays operations on a table (what the kernel would hold after a successful apply). */
export function apply(table: readonly ServiceEntry[], ops: readonly Op[]): ServiceEntry[] {
  const t = new Map(table.map((e) => [serviceKey(e.service), { service: e.service, dests: new Map(e.dests.map((d) => [destKey(d), d])) }]));
  for (const o of ops) {
    const k = serviceKey(o.service);
    switch (o.op) {
      case 'addService':
      case 'editService':
        t.set(k, { service: o.service, dests: t.get(k)?.dests ?? new Map() });
        break;
      case 'deleteService':
        t.delete(k);
        break;
      case 'addDest':
      case 'editDest':
        t.get(k)?.dests.set(destKey(o.dest), o.dest);
        break;
      case 'deleteDest':
        t.get(k)?.dests.delete(destKey(o.dest));
        break;
    }
  }
  return [...t.values()].map((e) => ({ service: e.service, dests: [...e.dests.values()] }));
}
