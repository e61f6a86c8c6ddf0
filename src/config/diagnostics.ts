/** Where a piece of configuration text came from: 1-based line and column. */
export interface Pos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Set when the text was produced by a `$NAME` expansion or `~SEQ`/`~LST`: where that happened. */
  readonly via?: Pos;
}

/** Severity of a configuration diagnostic. */
export type Severity = 'error' | 'warning';

/** One problem found in a configuration, always with a position. */
export interface Diagnostic {
  readonly severity: Severity;
  readonly pos: Pos;
  readonly message: string;
  /** Stable machine-readable code, e.g. `unknown-keyword`, `out-of-range`. */
  readonly code: string;
}

/** Formats a position as `file:line:col`. */
export function formatPos(p: Pos): string {
  return `${p.file}:${p.line}:${p.col}`;
}

/** Formats a diagnostic the way compilers do: `file:line:col: error: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  let s = `${formatPos(d.pos)}: ${d.severity}: ${d.message}`;
  for (let v = d.pos.via; v; v = v.via) s += ` (expanded at ${formatPos(v)})`;
  return s;
}

/** Collects diagnostics in order; `lenient` downgrades the codes it names to warnings. */
export class Diagnostics {
  readonly list: Diagnostic[] = [];
  constructor(private readonly downgrade: ReadonlySet<string> = new Set()) {}

  error(pos: Pos, code: string, message: string): void {
    this.list.push({ severity: this.downgrade.has(code) ? 'warning' : 'error', pos, code, message });
  }

  warn(pos: Pos, code: string, message: string): void {
    this.list.push({ severity: 'warning', pos, code, message });
  }

  get errorCount(): number {
    return this.list.reduce((n, d) => n + (d.severity === 'error' ? 1 : 0), 0);
  }

  /** Diagnostics in file order (files in the order first seen), then by line and column. */
  sorted(): Diagnostic[] {
    const fileRank = new Map<string, number>();
    for (const d of this.list) if (!fileRank.has(d.pos.file)) fileRank.set(d.pos.file, fileRank.size);
    return [...this.list].sort(
      (a, b) =>
        (fileRank.get(a.pos.file) ?? 0) - (fileRank.get(b.pos.file) ?? 0) ||
        a.pos.line - b.pos.line ||
        a.pos.col - b.pos.col,
    );
  }
}
