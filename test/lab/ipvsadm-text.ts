/** A real server line of `ipvsadm -Ln`. */
export interface IpvsDestRow {
  addr: string;
  forward: string;
  weight: number;
  activeConns: number;
  inactConns: number;
}

/** A virtual service of `ipvsadm -Ln`. */
export interface IpvsServiceRow {
  proto: string;
  addr: string;
  scheduler: string;
  dests: IpvsDestRow[];
}

/** Counters of `ipvsadm -Ln --stats --exact` for a service or a real server. */
export interface IpvsStatsRow {
  addr: string;
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

const isHeader = (l: string): boolean => /RemoteAddress|LocalAddress|IP Virtual Server/.test(l);

/** Parses `ipvsadm -Ln` (numeric) output. */
export function parseIpvsList(text: string): IpvsServiceRow[] {
  const out: IpvsServiceRow[] = [];
  for (const line of text.split('\n')) {
    if (isHeader(line) || line.trim() === '') continue;
    const f = line.trim().split(/\s+/);
    if (f[0] === '->') {
      out[out.length - 1]?.dests.push({
        addr: f[1] ?? '',
        forward: f[2] ?? '',
        weight: Number(f[3]),
        activeConns: Number(f[4]),
        inactConns: Number(f[5]),
      });
    } else {
      out.push({ proto: f[0] ?? '', addr: f[1] ?? '', scheduler: f[2] ?? '', dests: [] });
    }
  }
  return out;
}

/** Parses `ipvsadm -Ln --stats --exact`: each service row followed by its real servers. */
export function parseIpvsStats(text: string): (IpvsStatsRow & { proto: string; dests: IpvsStatsRow[] })[] {
  const out: (IpvsStatsRow & { proto: string; dests: IpvsStatsRow[] })[] = [];
  for (const line of text.split('\n')) {
    if (isHeader(line) || line.trim() === '') continue;
    const f = line.trim().split(/\s+/);
    const dest = f[0] === '->';
    const n = f.slice(2).map(Number);
    const row: IpvsStatsRow = {
      addr: f[1] ?? '',
      conns: n[0] ?? NaN,
      inPkts: n[1] ?? NaN,
      outPkts: n[2] ?? NaN,
      inBytes: n[3] ?? NaN,
      outBytes: n[4] ?? NaN,
    };
    if (dest) out[out.length - 1]?.dests.push(row);
    else out.push({ ...row, proto: f[0] ?? '', dests: [] });
  }
  return out;
}
