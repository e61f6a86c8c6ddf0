/** Parses an operator's duration: `90` (seconds), `90s`, `15m`, `2h`, `1d`, or `1h30m` (units in that order); undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s);
  if (!m || s === '') return undefined;
  const [, d, h, mi, se] = m.map((x) => Number(x ?? 0)) as [number, number, number, number, number];
  return (((d * 24 + h) * 60 + mi) * 60 + se) * 1000;
}
