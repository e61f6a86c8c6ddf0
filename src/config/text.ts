import type { Pos } from './diagnostics.js';

/**
 * A run of characters that share a source: either each character advances one column from `pos`
 * (text copied from a file), or all of them sit at `pos` (text produced by an expansion).
 */
interface Seg {
  readonly at: number;
  readonly pos: Pos;
  readonly fixed: boolean;
}

/**
 * A string that remembers where every character came from. Lines are small, so a short list of
 * segments per line keeps this cheap even for configs with tens of thousands of lines.
 */
export class Text {
  private constructor(
    readonly s: string,
    private readonly segs: readonly Seg[],
  ) {}

  /** Text copied verbatim from a file, starting at `pos`. */
  static fromSource(s: string, pos: Pos): Text {
    return new Text(s, [{ at: 0, pos, fixed: false }]);
  }

  /** Text produced by an expansion: every character reports `pos`. */
  static synthetic(s: string, pos: Pos): Text {
    return new Text(s, [{ at: 0, pos, fixed: true }]);
  }

  /** Position of the character at index `i` (the last character's, past the end). */
  posAt(i: number): Pos {
    let seg = this.segs[0]!;
    for (const s of this.segs) {
      if (s.at > i) break;
      seg = s;
    }
    if (seg.fixed) return seg.pos;
    const col = seg.pos.col + Math.max(0, Math.min(i, this.s.length) - seg.at);
    return seg.pos.via
      ? { file: seg.pos.file, line: seg.pos.line, col, via: seg.pos.via }
      : { file: seg.pos.file, line: seg.pos.line, col };
  }

  get length(): number {
    return this.s.length;
  }

  slice(start: number, end: number = this.s.length): Text {
    start = Math.max(0, Math.min(start, this.s.length));
    end = Math.max(start, Math.min(end, this.s.length));
    const out: Seg[] = [];
    for (let k = 0; k < this.segs.length; k++) {
      const s = this.segs[k]!;
      const next = this.segs[k + 1]?.at ?? Infinity;
      if (next <= start || s.at >= end) continue;
      if (s.at >= start) out.push({ at: s.at - start, pos: s.pos, fixed: s.fixed });
      else out.push({ at: 0, pos: s.fixed ? s.pos : this.posAt(start), fixed: s.fixed });
    }
    if (out.length === 0) out.push({ at: 0, pos: this.posAt(start), fixed: true });
    return new Text(this.s.slice(start, end), out);
  }

  /** Concatenates pieces, keeping each piece's positions. */
  static concat(parts: readonly Text[], fallback: Pos): Text {
    let s = '';
    const segs: Seg[] = [];
    for (const p of parts) {
      if (p.s.length === 0) continue;
      for (const g of p.segs) {
        if (g.at >= p.s.length) continue;
        segs.push({ at: s.length + g.at, pos: g.pos, fixed: g.fixed });
      }
      s += p.s;
    }
    if (segs.length === 0) segs.push({ at: 0, pos: fallback, fixed: true });
    return new Text(s, segs);
  }

  /** Returns this text with every position marked as reached through `via`. */
  through(via: Pos): Text {
    return new Text(
      this.s,
      this.segs.map((g) => ({ at: g.at, fixed: g.fixed, pos: withVia(g.pos, via) })),
    );
  }
}

function withVia(p: Pos, via: Pos): Pos {
  if (!p.via) return { file: p.file, line: p.line, col: p.col, via };
  return { file: p.file, line: p.line, col: p.col, via: withVia(p.via, via) };
}
