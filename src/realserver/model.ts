import net from 'node:net';
import { addressBytes, addressText } from '../vrrp/packet.js';

/*
 * The real-server side of LVS tunnel mode (ipip), as pure data: what a real server needs, what
 * is wrong with an observed machine, and what to change. The director encapsulates each packet
 * for a VIP in IPv4 (IPv6 in IPv6 for IPv6 VIPs) and sends it to the real server's own address;
 * the real server's fallback tunnel device (tunl0 / ip6tnl0) decapsulates it, and the VIP on
 * that device makes the inner packet local. The reply goes straight to the client from the VIP.
 */

/** A virtual IP the real server accepts through its tunnel device. */
export interface Vip {
  readonly family: 4 | 6;
  /** Canonical text (IPv6 compressed, lower case). */
  readonly address: string;
}

/** The fallback tunnel device of one address family and the module that creates it. */
export interface Tunnel {
  readonly family: 4 | 6;
  readonly device: string;
  /** rtnetlink link kind; creating a link of this kind makes the kernel load `module`. */
  readonly kind: string;
  readonly module: string;
  /** Prefix length of a VIP on the device. */
  readonly prefix: number;
  /** Bytes of outer header the director adds to each packet. */
  readonly overhead: number;
}

/** tunl0 (ipip, IPv4 in IPv4, 20-byte outer header) and ip6tnl0 (ip6_tunnel, IPv6 in IPv6, 40). */
export const TUNNELS: Readonly<Record<4 | 6, Tunnel>> = {
  4: { family: 4, device: 'tunl0', kind: 'ipip', module: 'ipip', prefix: 32, overhead: 20 },
  6: { family: 6, device: 'ip6tnl0', kind: 'ip6tnl', module: 'ip6_tunnel', prefix: 128, overhead: 40 },
};

/** A kernel setting a real server needs, with the values that satisfy it and why. */
export interface SysctlRule {
  /** Dotted name, e.g. `net.ipv4.conf.all.arp_ignore`. */
  readonly key: string;
  /** The value setup writes. */
  readonly want: number;
  /** Values that are already fine (they include `want`). */
  readonly accept: readonly number[];
  readonly why: string;
}

const ARP_IGNORE_WHY =
  'answer ARP only for addresses of the interface asked, so this server never answers for the VIP the director owns (the kernel applies the larger of conf.all and conf.<dev>)';
const ARP_ANNOUNCE_WHY =
  'never use the VIP as the source of this server\'s ARP requests, which would teach the router the VIP is here (the kernel applies the larger of conf.all and conf.<dev>)';
const RP_FILTER_WHY =
  'requests arrive decapsulated on tunl0 while the route back to the client leaves by another interface, so the reverse-path filter would drop them; the kernel applies the larger of conf.all and conf.tunl0, so both must be 0 (interfaces with their own rp_filter keep it)';

/** The IPv4 sysctls tunnel mode needs (IPv6 has no ARP and no rp_filter sysctl). */
export const SYSCTL_RULES: readonly SysctlRule[] = ['all', 'tunl0'].flatMap((dev) => [
  { key: `net.ipv4.conf.${dev}.arp_ignore`, want: 1, accept: [1, 2], why: ARP_IGNORE_WHY },
  { key: `net.ipv4.conf.${dev}.arp_announce`, want: 2, accept: [2], why: ARP_ANNOUNCE_WHY },
  { key: `net.ipv4.conf.${dev}.rp_filter`, want: 0, accept: [0], why: RP_FILTER_WHY },
]);

/** An interface as observed. */
export interface ObservedLink {
  readonly name: string;
  readonly index: number;
  readonly up: boolean;
}

/** An address as observed, with the name of its interface. */
export interface ObservedAddr {
  readonly device: string;
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
}

/** What the real server looks like now: the input of `plan`. */
export interface Observed {
  readonly links: readonly ObservedLink[];
  readonly addresses: readonly ObservedAddr[];
  /** Sysctl values by dotted name; undefined when the file does not exist. */
  readonly sysctls: Readonly<Record<string, number | undefined>>;
  /** Names of the kernel modules (among those asked about) that are loaded. */
  readonly modules: readonly string[];
}

/** One change setup makes. */
export type Action =
  | { readonly kind: 'create-device'; readonly tunnel: Tunnel }
  | { readonly kind: 'link-up'; readonly device: string }
  | { readonly kind: 'add-address'; readonly device: string; readonly family: 4 | 6; readonly address: string; readonly prefix: number; readonly replacePrefix?: number }
  | { readonly kind: 'sysctl'; readonly key: string; readonly from: number | undefined; readonly to: number };

/** Something wrong with the real server: what, how a person fixes it, and what setup does (none: setup refuses). */
export interface Finding {
  /** The object: `module ipip`, `tunl0`, `VIP 10.0.0.100`, a sysctl name. */
  readonly item: string;
  readonly problem: string;
  /** A command that fixes it by hand. */
  readonly fix: string;
  readonly action?: Action;
}

/** A usage mistake in the VIP list. */
export class VipError extends Error {
  readonly code = 'VIGIL_USAGE';
}

/**
 * Parses `--vip` values (each may be a comma- or blank-separated list; `/32` or `/128` allowed) into
 * unique VIPs in the order given; throws VipError naming the bad value.
 */
export function parseVips(values: readonly string[]): Vip[] {
  const out: Vip[] = [];
  // commas or blanks: `--vip a,b` and an EnvironmentFile's `VIPS="a b"` both work
  for (const raw of values.flatMap((v) => v.split(/[\s,]+/))) {
    const text = raw.trim();
    if (text === '') continue;
    const [addr = '', prefix, ...extra] = text.split('/');
    const family = net.isIP(addr);
    if (family !== 4 && family !== 6) throw new VipError(`--vip '${text}' is not an IPv4 or IPv6 address`);
    const full = family === 4 ? 32 : 128;
    if (extra.length > 0 || (prefix !== undefined && prefix !== String(full)))
      throw new VipError(`--vip '${text}': a VIP is a single address (/${full} on ${TUNNELS[family].device}); give it without a prefix`);
    const address = addressText(addressBytes(addr, family), family);
    const why = unusable(address, family);
    if (why) throw new VipError(`--vip '${text}' cannot be a VIP: it is ${why}`);
    if (!out.some((v) => v.address === address)) out.push({ family, address });
  }
  if (out.length === 0) throw new VipError('give at least one --vip ADDR (repeatable, or comma-separated)');
  return out;
}

function unusable(a: string, family: 4 | 6): string | undefined {
  if (family === 4) {
    const first = Number(a.split('.')[0]);
    if (a === '0.0.0.0') return 'the unspecified address';
    if (first === 127) return 'a loopback address';
    if (first >= 224 && a !== '255.255.255.255') return first < 240 ? 'a multicast address' : 'a reserved address';
    if (a === '255.255.255.255') return 'the broadcast address';
    return undefined;
  }
  if (a === '::') return 'the unspecified address';
  if (a === '::1') return 'the loopback address';
  if (a.startsWith('ff')) return 'a multicast address';
  if (/^fe[89ab]/.test(a)) return 'a link-local address';
  return undefined;
}

/** The tunnels the VIPs need, IPv4 first. */
export function tunnelsFor(vips: readonly Vip[]): Tunnel[] {
  return ([4, 6] as const).filter((f) => vips.some((v) => v.family === f)).map((f) => TUNNELS[f]);
}

/** The sysctls the VIPs need (none for IPv6 only). */
export function sysctlRulesFor(vips: readonly Vip[]): readonly SysctlRule[] {
  return vips.some((v) => v.family === 4) ? SYSCTL_RULES : [];
}

/**
 * Compares an observed real server with what tunnel mode needs for `vips`. Every finding
 * carries a hand fix; those setup may fix carry an action. A VIP on another interface has no
 * action: it would make this server answer ARP for the VIP (or claims an address in use), and
 * setup refuses to run until a person removes it. While a tunnel device is missing, only its
 * creation and the VIPs are reported: its link state and sysctls exist once it does (setup
 * creates it, observes again and plans again).
 */
export function plan(vips: readonly Vip[], o: Observed): Finding[] {
  const out: Finding[] = [];
  for (const t of tunnelsFor(vips)) {
    const link = o.links.find((l) => l.name === t.device);
    if (!link) {
      const loaded = o.modules.includes(t.module);
      out.push({
        item: `module ${t.module}`,
        problem: loaded
          ? `loaded, but this network namespace has no ${t.device} (net.core.fb_tunnels_only_for_init_net=1?)`
          : `not loaded: there is no ${t.device} to decapsulate the director's ${t.family === 4 ? 'ipip' : 'IPv6-in-IPv6'} packets`,
        fix: loaded ? `ip link add name ${t.device} type ${t.kind}` : `modprobe ${t.module}`,
        action: { kind: 'create-device', tunnel: t },
      });
    } else if (!link.up) {
      out.push({ item: t.device, problem: 'is down: tunnelled packets are dropped', fix: `ip link set dev ${t.device} up`, action: { kind: 'link-up', device: t.device } });
    }
  }
  for (const v of vips) {
    const t = TUNNELS[v.family];
    const here = o.addresses.filter((a) => a.family === v.family && a.address === v.address);
    const elsewhere = here.filter((a) => a.device !== t.device);
    for (const a of elsewhere) {
      out.push({
        item: `VIP ${v.address}`,
        problem:
          a.device === 'lo'
            ? `is on lo, not ${t.device} (an LVS-DR leftover): remove it there, setup will not`
            : `is on ${a.device}, not ${t.device}: this server would answer ARP for it and take the traffic meant for the director; setup will not touch ${a.device}`,
        fix: `ip addr del ${a.address}/${a.prefix} dev ${a.device}`,
      });
    }
    const onTunnel = here.find((a) => a.device === t.device);
    const add = `ip addr add ${v.address}/${t.prefix} dev ${t.device}`;
    if (!onTunnel) {
      out.push({
        item: `VIP ${v.address}`,
        problem: `not on ${t.device}: decapsulated packets for it are not accepted`,
        fix: add,
        action: { kind: 'add-address', device: t.device, family: v.family, address: v.address, prefix: t.prefix },
      });
    } else if (onTunnel.prefix !== t.prefix) {
      out.push({
        item: `VIP ${v.address}`,
        problem: `is on ${t.device} as /${onTunnel.prefix}, not /${t.prefix}: it routes a whole subnet into the tunnel`,
        fix: `ip addr del ${v.address}/${onTunnel.prefix} dev ${t.device} && ${add}`,
        action: { kind: 'add-address', device: t.device, family: v.family, address: v.address, prefix: t.prefix, replacePrefix: onTunnel.prefix },
      });
    }
  }
  const haveTunl0 = o.links.some((l) => l.name === TUNNELS[4].device);
  for (const r of sysctlRulesFor(vips)) {
    if (r.key.includes(`.${TUNNELS[4].device}.`) && !haveTunl0) continue;
    const now = o.sysctls[r.key];
    if (now !== undefined && r.accept.includes(now)) continue;
    out.push({
      item: r.key,
      problem: now === undefined ? `cannot be read; tunnel mode needs ${r.want}: ${r.why}` : `is ${now}, tunnel mode needs ${r.want}: ${r.why}`,
      fix: `sysctl -w ${r.key}=${r.want}`,
      action: { kind: 'sysctl', key: r.key, from: now, to: r.want },
    });
  }
  return out;
}

/** The findings setup cannot fix (it refuses to change anything while there are any). */
export function blockers(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.action === undefined);
}

/**
 * The warning about encapsulation overhead, concretely: what breaks and the two fixes. Returned
 * for every family the VIPs use.
 */
export function mtuWarnings(vips: readonly Vip[]): string[] {
  return tunnelsFor(vips).map((t) => {
    const mss = 1500 - t.overhead - (t.family === 4 ? 40 : 60);
    const route = t.family === 4 ? 'ip route change default via GATEWAY dev eth0' : 'ip -6 route change default via GATEWAY dev eth0';
    const ipt = t.family === 4 ? 'iptables' : 'ip6tables';
    const vip = vips.find((v) => v.family === t.family)?.address ?? 'VIP';
    return (
      `${t.device}: the director adds ${t.overhead} bytes (${t.family === 4 ? 'ipip' : 'IPv6-in-IPv6'}) to every packet it forwards here, ` +
      `so a client's full 1500-byte packet becomes ${1500 + t.overhead} bytes on a 1500-byte link: the director must answer ` +
      `${t.family === 4 ? 'ICMP "fragmentation needed"' : 'ICMPv6 "packet too big"'}, which firewalls often drop, and large requests and uploads stall. ` +
      `Fix on this real server by advertising a TCP MSS of at most ${mss} to clients: ` +
      `\`${route} advmss ${mss}\` (on the route to the clients), or ` +
      `\`${ipt} -t mangle -A OUTPUT -s ${vip} -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss ${mss}\`; ` +
      `or raise the MTU of the director→real-server path to at least ${1500 + t.overhead} (jumbo frames). ` +
      `TCPMSS --clamp-mss-to-pmtu on this server does not help: its own path MTU to the client is the full 1500.`
    );
  });
}
