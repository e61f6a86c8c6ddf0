/*
 * Structural sharing for desired tables: a table rebuilt from scratch (as `desiredTable` does on
 * every health transition) is given back with the previous call's ServiceEntry objects wherever a
 * service did not change, so that the reconciler recognises unchanged services by identity and
 * diffs only the ones that changed. Pure.
 */
import { serviceKey } from '../ipvs/types.js';
import { type ServiceEntry, sameEntry } from './diff.js';

/**
 * `next`, with each entry equal (field by field, see `sameEntry`) to `previous`'s entry of the
 * same service replaced by that previous object. Returns `previous` itself when nothing changed.
 * Cost: one cheap comparison per entry, no allocation for unchanged ones.
 */
export function shareEntries(previous: readonly ServiceEntry[] | undefined, next: readonly ServiceEntry[]): readonly ServiceEntry[] {
  if (previous === undefined || previous.length === 0) return next;
  // tables come out in the same order each time: try the same position first, then by key
  let byKey: Map<string, ServiceEntry> | undefined;
  let same = previous.length === next.length;
  const out = next.map((e, i) => {
    const p = previous[i];
    if (p !== undefined && (p === e || sameEntry(p, e))) return p;
    byKey ??= new Map(previous.map((x) => [serviceKey(x.service), x]));
    const q = byKey.get(serviceKey(e.service));
    same = false;
    return q !== undefined && sameEntry(q, e) ? q : e;
  });
  return same ? previous : out;
}

