import type { Diagnostics, Pos } from './diagnostics.js';
import type { Text } from './text.js';

/** A token of keepalived.conf: a word (quotes removed, escapes applied inside quotes) or a brace. */
export interface Token {
  readonly kind: 'word' | '{' | '}' | 'eol';
  /** The word's value: quotes removed, escapes inside quotes applied. */
  readonly text: string;
  /** The characters as written, quotes included. */
  readonly raw: string;
  /** True when any part of the word was quoted. */
  readonly quoted: boolean;
  readonly pos: Pos;
}

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/**
 * Splits one logical line into tokens and appends an `eol` token. Words are separated by blanks;
 * `{` and `}` outside quotes are tokens of their own (keepalived splits lines at them); double or
 * single quotes group blanks into a word and allow shell-like escapes (`\n`, `\x41`, `\101`, `\cA`).
 */
export function lexLine(line: Text, diag: Diagnostics, out: Token[] = []): Token[] {
  const s = line.s;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\r') {
      i++;
      continue;
    }
    if (c === '{' || c === '}') {
      out.push({ kind: c, text: c, raw: c, quoted: false, pos: line.posAt(i) });
      i++;
      continue;
    }
    const start = i;
    let text = '';
    let quoted = false;
    let quote: string | undefined;
    while (i < s.length) {
      const ch = s[i]!;
      if (quote) {
        if (ch === quote) {
          quote = undefined;
          i++;
        } else if (ch === '\\' && i + 1 < s.length) {
          const [value, used] = unescape(s, i + 1);
          text += value;
          i += 1 + used;
        } else {
          text += ch;
          i++;
        }
        continue;
      }
      if (ch === ' ' || ch === '\t' || ch === '{' || ch === '}' || ch === '\f' || ch === '\v' || ch === '\r') break;
      if (ch === '"' || ch === "'") {
        quote = ch;
        quoted = true;
        i++;
        continue;
      }
      text += ch;
      i++;
    }
    if (quote) diag.error(line.posAt(start), 'unterminated-quote', `unterminated quoted string: missing closing ${quote}`);
    out.push({ kind: 'word', text, raw: s.slice(start, i), quoted, pos: line.posAt(start) });
  }
  out.push({ kind: 'eol', text: '', raw: '', quoted: false, pos: line.posAt(s.length) });
  return out;
}

/** Decodes the escape that starts at `s[i]` (just after the backslash): returns [value, chars used]. */
function unescape(s: string, i: number): [string, number] {
  const c = s[i]!;
  if (c === 'x' && /[0-9a-fA-F]/.test(s[i + 1] ?? '')) {
    const m = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1))!;
    return [String.fromCharCode(parseInt(m[0], 16)), 1 + m[0].length];
  }
  if (c === 'c' && i + 1 < s.length) return [String.fromCharCode(s.charCodeAt(i + 1) & 0x1f), 2];
  if (c >= '0' && c <= '7') {
    const m = /^[0-7]{1,3}/.exec(s.slice(i))!;
    return [String.fromCharCode(parseInt(m[0], 8) & 0xff), m[0].length];
  }
  return [ESCAPES[c] ?? c, 1];
}
