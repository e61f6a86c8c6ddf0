import type { ReceivedPacket } from '../net/vrrp-socket.js';
import { AUTH_NONE, AUTH_PASS, type Advert, VRRP_TTL, decode } from './packet.js';

/*
 * Receive-side validation of VRRP adverts (RFC 5798 §7.1, RFC 3768 §7.1), pure. The order of
 * checks and the wording of reasons follow keepalived 2.2.7 (shared/notes/keepalived-baseline.md),
 * so operators see familiar lines; every reason has a stable code used as a counter label.
 */

/** Why a packet was dropped. `unknown-vrid` and `own` are silent (no log line), like keepalived. */
export type DropCode =
  | 'too-short'
  | 'unknown-vrid'
  | 'own'
  | 'ttl'
  | 'length'
  | 'version'
  | 'checksum'
  | 'type'
  | 'family'
  | 'auth-type'
  | 'auth-pass'
  | 'advert-interval'
  | 'addresses'
  | 'unknown-peer';

/** Every drop code, for counters that start at zero. */
export const DROP_CODES: readonly DropCode[] = [
  'too-short',
  'unknown-vrid',
  'own',
  'ttl',
  'length',
  'version',
  'checksum',
  'type',
  'family',
  'auth-type',
  'auth-pass',
  'advert-interval',
  'addresses',
  'unknown-peer',
];

/** What validation needs to know about the instance a packet is for. */
export interface InstanceView {
  readonly name: string;
  readonly vrid: number;
  readonly version: 2 | 3;
  readonly advertIntMs: number;
  /** VRRPv2 authentication; undefined = none. */
  readonly auth?: { readonly type: 'PASS' | 'AH'; readonly pass: string };
  /** The instance's VIPs (as carried in adverts). */
  readonly addresses: ReadonlySet<string>;
  /** Our own source addresses: packets from them are ours. */
  readonly own: ReadonlySet<string>;
  /** When set (unicast with check_unicast_src), only these sources are accepted. */
  readonly peers?: ReadonlySet<string>;
  /**
   * Unicast instance: the TTL / hop limit is checked only against a peer's `min_ttl`/`max_ttl`
   * (keepalived does not require 255 on unicast; it sends IPv6 unicast adverts with hop limit 64).
   */
  readonly unicastTtl?: ReadonlyMap<string, { readonly min?: number; readonly max?: number }>;
  /** `skip_check_adv_addr`: do not compare the address list. */
  readonly skipCheckAddresses?: boolean;
}

/** The verdict on one packet. */
export type Verdict =
  | { readonly ok: true; readonly instance: InstanceView; readonly advert: Advert }
  | { readonly ok: false; readonly code: DropCode; readonly message: string; readonly instance?: InstanceView };

/**
 * Validates a received packet against the instances on its interface (looked up by VRID).
 * Never throws.
 */
export function validateAdvert(p: ReceivedPacket, byVrid: (vrid: number) => InstanceView | undefined): Verdict {
  const b = p.payload;
  if (b.length < 8) return { ok: false, code: 'too-short', message: `IPv${p.family} VRRP packet too short - ${p.headerLength + b.length} bytes` };
  const inst = byVrid(b[1]!);
  if (!inst) return { ok: false, code: 'unknown-vrid', message: `VRID ${b[1]} is not configured here` };
  const drop = (code: DropCode, message: string): Verdict => ({ ok: false, code, message: `(${inst.name}) ${message}`, instance: inst });
  if (inst.own.has(p.src)) return drop('own', `own packet from ${p.src}`);
  if (inst.unicastTtl) {
    const r = inst.unicastTtl.get(p.src);
    if (r && ((r.min !== undefined && p.ttl < r.min) || (r.max !== undefined && p.ttl > r.max)))
      return drop('ttl', `invalid TTL/HL. Received ${p.ttl} and expect ${r.min ?? 0}-${r.max ?? 255} from unicast peer ${p.src}`);
  } else if (p.ttl !== VRRP_TTL) return drop('ttl', `invalid TTL/HL. Received ${p.ttl} and expect ${VRRP_TTL}`);
  if (inst.peers && !inst.peers.has(p.src)) return drop('unknown-peer', `advert from ${p.src}, which is not a configured unicast_peer`);
  const d = decode(b, p.family, { src: p.src, dst: p.dst });
  if (!d.ok) {
    const e = d.error;
    switch (e.code) {
      case 'too-short':
      case 'length-mismatch':
        // keepalived counts the IP header in both figures.
        return drop('length', `vrrp packet too ${(e.got ?? 0) < (e.want ?? 0) ? 'short' : 'long'}, length ${p.headerLength + (e.got ?? 0)} and expect ${p.headerLength + (e.want ?? 0)}`);
      case 'bad-version':
        return drop('version', `wrong version. Received ${b[0]! >> 4} and expect ${inst.version}`);
      case 'bad-address-family':
        return drop('family', e.message);
      case 'bad-type':
        return drop('type', `Invalid packet type. ${b[0]! & 0x0f} and expect 1`);
      case 'bad-checksum':
        // A version mismatch is the better explanation when the version differs.
        if (b[0]! >> 4 !== inst.version) return drop('version', `wrong version. Received ${b[0]! >> 4} and expect ${inst.version}`);
        return drop('checksum', `Invalid VRRPv${b[0]! >> 4} checksum`);
    }
  }
  const a = d.advert;
  if (a.version !== inst.version) return drop('version', `wrong version. Received ${a.version} and expect ${inst.version}`);
  if (a.version === 2) {
    const want = inst.auth ? (inst.auth.type === 'PASS' ? AUTH_PASS : 2) : AUTH_NONE;
    if (a.authType !== want) return drop('auth-type', `received a ${a.authType} auth, expecting ${want}!`);
    if (inst.auth?.type === 'PASS') {
      const pass = Buffer.alloc(8);
      Buffer.from(inst.auth.pass, 'latin1').subarray(0, 8).copy(pass);
      if (!pass.equals(a.authData!)) return drop('auth-pass', 'received an invalid passwd!');
    }
    // RFC 3768 §7.1: a v2 advert whose interval differs is discarded.
    if (a.advertIntMs !== inst.advertIntMs)
      return drop('advert-interval', `advertisement interval mismatch mine=${inst.advertIntMs / 1000} sec rcv'd=${a.advertIntMs / 1000} sec`);
  }
  if (!inst.skipCheckAddresses && a.priority !== 0) {
    const missing = [...inst.addresses].find((x) => !a.addresses.includes(x));
    if (missing !== undefined || a.addresses.length !== inst.addresses.size)
      return drop('addresses', `ip address associated with VRID ${inst.vrid} not present in MASTER advert: ${missing ?? a.addresses.find((x) => !inst.addresses.has(x))}`);
  }
  return { ok: true, instance: inst, advert: a };
}
