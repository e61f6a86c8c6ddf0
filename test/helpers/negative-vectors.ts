import fs from 'node:fs';
import path from 'node:path';
import type { DropCode } from '../../src/vrrp/receive.js';
import { sharedDir } from './paths.js';

/** One crafted packet of shared/vectors/vrrp/negative_cases.txt and what keepalived's master logged. */
export interface NegativeCase {
  /** Section: v2, v2b, v2auth, v3, v3b (the instance keepalived ran). */
  readonly section: string;
  readonly name: string;
  /** The whole IPv4 packet, header included. */
  readonly ip: Buffer;
  /** dirA's first log line about it (undefined: dropped silently). */
  readonly log?: string;
}

/** Parses the vectors file. */
export function negativeCases(): NegativeCase[] {
  const cases: { section: string; name: string; ip: Buffer; log?: string }[] = [];
  let section = '';
  for (const line of fs.readFileSync(path.join(sharedDir, 'vectors/vrrp/negative_cases.txt'), 'utf8').split('\n')) {
    const sec = /^## (\w+):/.exec(line);
    if (sec) section = sec[1]!;
    const c = /^(\w+) ([0-9a-f]{40,})$/.exec(line);
    if (c) cases.push({ section, name: c[1]!, ip: Buffer.from(c[2]!, 'hex') });
    const l = /^\s+\[dirA\] (.*)$/.exec(line);
    const last = cases.at(-1);
    if (l && last && last.log === undefined) last.log = l[1]!;
  }
  return cases;
}

/** keepalived's verdict, from its log line: a drop code, 'ok' (accepted) or 'silent'. */
export function keepalivedVerdict(line: string | undefined): DropCode | 'ok' | 'silent' {
  if (line === undefined) return 'silent';
  const rules: [RegExp, DropCode | 'ok'][] = [
    [/packet too short - \d+ bytes/, 'too-short'],
    [/invalid TTL\/HL/, 'ttl'],
    [/Invalid VRRPv\d checksum/, 'checksum'],
    [/advertisement interval mismatch/, 'advert-interval'],
    [/wrong version/, 'version'],
    [/Invalid packet type/, 'type'],
    [/not present in MASTER advert/, 'addresses'],
    [/vrrp packet too (short|long)/, 'length'],
    [/received a \d auth/, 'auth-type'],
    [/invalid passwd/, 'auth-pass'],
    [/Master received advert|lower priority|advertisement interval updated/, 'ok'],
  ];
  const hit = rules.find(([re]) => re.test(line));
  if (!hit) throw new Error(`no rule for keepalived line: ${line}`);
  return hit[1];
}
