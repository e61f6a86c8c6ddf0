import { execFileSync } from 'node:child_process';

/** What `tcpdump -n -tt -e -v` printed about one packet: an independent oracle for the decoders. */
export interface TcpdumpLine {
  /** `sec.usec` exactly as printed. */
  ts: string;
  ethSrc: string;
  ethDst: string;
  ttl?: number;
  ipSrc?: string;
  ipDst?: string;
  vrrp?: { version: number; vrid: number; priority: number; interval?: string; addrs: string[]; auth?: string };
  arp?: { op: 'request' | 'reply'; tpa: string; spa: string };
  na?: { target: string; flags: string[] };
  text: string;
}

/** Parses tcpdump's `-n -tt -e -v` text (continuation lines are indented). */
export function parseTcpdumpText(text: string): TcpdumpLine[] {
  const records: string[] = [];
  for (const line of text.split('\n')) {
    if (/^\d+\.\d{6} /.test(line)) records.push(line);
    else if (records.length > 0 && line.trim() !== '') records[records.length - 1] += ` ${line.trim()}`;
  }
  return records.map((r) => {
    const head = /^(\d+\.\d{6}) (\S+) > (\S+),/.exec(r);
    const out: TcpdumpLine = { ts: head?.[1] ?? '', ethSrc: head?.[2] ?? '', ethDst: head?.[3] ?? '', text: r };
    const ttl = /(?:\(tos 0x[0-9a-f]+, ttl|\(hlim|, hlim) (\d+)/.exec(r);
    if (ttl?.[1] !== undefined) out.ttl = Number(ttl[1]);
    const ips = /(?:\)|length \d+\)) ([0-9a-f.:]+) > ([0-9a-f.:]+): /.exec(r);
    if (ips?.[1] !== undefined && ips[2] !== undefined) {
      out.ipSrc = ips[1];
      out.ipDst = ips[2];
    }
    const v = /VRRPv(\d+), Advertisement, (?:\(ttl \d+\), )?vrid (\d+), prio (\d+)(.*)$/.exec(r);
    if (v?.[1] !== undefined) {
      const rest = v[4] ?? '';
      const addrs = /addrs(?:\(\d+\))?: ([0-9a-f.:,]+)/.exec(rest)?.[1]?.split(',') ?? [];
      out.vrrp = { version: Number(v[1]), vrid: Number(v[2]), priority: Number(v[3]), addrs };
      const iv = /intvl (\d+(?:s|cs))/.exec(rest)?.[1];
      if (iv !== undefined) out.vrrp.interval = iv;
      const auth = /auth "([^"]*)"/.exec(rest)?.[1];
      if (auth !== undefined) out.vrrp.auth = auth;
    }
    const a = /(Request who-has (\S+) .*tell (\S+),|Reply (\S+) is-at)/.exec(r);
    if (a !== null) {
      out.arp = a[2] !== undefined ? { op: 'request', tpa: a[2], spa: a[3] ?? '' } : { op: 'reply', tpa: '', spa: a[4] ?? '' };
    }
    const na = /neighbor advertisement, length \d+, tgt is (\S+), Flags \[([^\]]*)\]/.exec(r);
    if (na?.[1] !== undefined) out.na = { target: na[1].replace(/,$/, ''), flags: (na[2] ?? '').split(/,\s*/).filter(Boolean) };
    return out;
  });
}

/** Runs `tcpdump -r file -n -tt -e -v` and parses what it prints. */
export function tcpdumpRead(file: string): TcpdumpLine[] {
  const text = execFileSync('tcpdump', ['-r', file, '-n', '-tt', '-e', '-v'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return parseTcpdumpText(text);
}
