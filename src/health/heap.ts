/*
 * A binary min-heap ordered by (at, seq): the earliest deadline first, ties in insertion order.
 * Removal is lazy: callers mark entries dead and skip them when they reach the top.
 */

/** What the heap orders by. */
export interface HeapItem {
  readonly at: number;
  readonly seq: number;
}

const before = (a: HeapItem, b: HeapItem): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** A min-heap of deadlines. */
export class MinHeap<T extends HeapItem> {
  private readonly a: T[] = [];

  /** Number of entries (dead ones included until popped). */
  get size(): number {
    return this.a.length;
  }

  /** The earliest entry, or undefined. */
  peek(): T | undefined {
    return this.a[0];
  }

  /** Adds an entry. */
  push(x: T): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  /** Removes and returns the earliest entry. */
  pop(): T | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && before(a[l]!, a[m]!)) m = l;
      if (r < a.length && before(a[r]!, a[m]!)) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
    return top;
  }

  /** Drops every entry. */
  clear(): void {
    this.a.length = 0;
  }
}
