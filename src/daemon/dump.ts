/*
 * keepalived's signal dumps, in keepalived 2.2.7's layout so that tooling reading them keeps
 * working: SIGUSR1 writes the data file (/tmp/keepalived.data: global definitions, VRRP topology,
 * scripts), SIGUSR2 the stats file (/tmp/keepalived.stats: per-instance counters). Only what
 * vigil knows is printed — keepalived's internals (fds, flags, timers in usecs) are left out —
 * and a first line says that vigil wrote it. Pure: the caller passes the clock.
 */
import type { Config } from '../config/compile.js';
import type { VirtualIp } from '../config/schema/vrrp.js';
import type { InstanceDescription, InstanceStatus } from '../vrrp/engine.js';

/** Converts a monotonic time (ms) of the VRRP process to wall-clock ms since the epoch. */
export type ToWall = (mono: number) => number;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** keepalived's time stamp: `1795581646.845716 (Wed Nov 25 04:40:46.845716 2026)` (local time). */
export function keepalivedTime(ms: number): string {
  const d = new Date(ms);
  const usec = String(Math.round((ms % 1000) * 1000)).padStart(6, '0').slice(0, 6);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const text = `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${usec} ${d.getFullYear()}`;
  return `${Math.floor(ms / 1000)}.${usec} (${text})`;
}

/** keepalived prints whole seconds as `N sec` and the rest as `N milli-sec`. */
function interval(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} sec` : `${ms} milli-sec`;
}

const secs = (ms: number) => String(ms / 1000);
const bool = (b: boolean | undefined) => (b ? 'true' : 'false');

function vipLine(v: VirtualIp, dev: string, set: boolean): string {
  const scope = v.scope ?? (v.family === 6 && v.address.toLowerCase().startsWith('fe80') ? 'link' : 'global');
  return [`${v.address}/${v.prefix}`, ...(v.brd ? [`brd ${v.brd}`] : []), `dev ${v.dev ?? dev}`, `scope ${scope}`, ...(v.label ? [`label ${v.label}`] : []), ...(set ? ['set'] : [])].join(' ');
}

/** The data dump's VRRP sections (keepalived's `------< ... >------` headings). */
export function formatVrrpData(c: Config, insts: readonly InstanceDescription[], scripts: Readonly<Record<string, boolean>>, toWall: ToWall): string {
  const g = c.globalDefs;
  const out: string[] = [
    '------< Global definitions >------',
    ...(g.routerId ? [` Router ID = ${g.routerId}`] : []),
    ` VRRP IPv4 mcast group = ${g.vrrpMcastGroup4}`,
    ` VRRP IPv6 mcast group = ${g.vrrpMcastGroup6}`,
    ` Gratuitous ARP delay = ${secs(g.vrrpGarpMasterDelayMs)}`,
    ` Gratuitous ARP repeat = ${g.vrrpGarpMasterRepeat}`,
    ` Gratuitous ARP refresh timer = ${secs(g.vrrpGarpMasterRefreshMs)}`,
    ` Gratuitous ARP refresh repeat = ${g.vrrpGarpMasterRefreshRepeat}`,
    ` Num adverts before down = ${g.vrrpDownTimerAdverts}`,
    ` Send advert after receive lower priority advert = ${bool(!g.vrrpLowerPrioNoAdvert)}`,
    ` Send advert after receive higher priority advert = ${bool(g.vrrpHigherPrioSendAdvert)}`,
    ` VRRP default protocol version = ${g.vrrpVersion}`,
    ` VRRP check unicast_src = ${bool(g.vrrpCheckUnicastSrc)}`,
    ` VRRP skip check advert addresses = ${bool(g.vrrpSkipCheckAdvAddr)}`,
    ` VRRP strict mode = ${bool(g.vrrpStrict)}`,
    '------< VRRP Topology >------',
  ];
  for (const d of insts) {
    const vi = d.config;
    const st = d.status;
    const dev = vi.interface ?? '';
    const master = st.state === 'MASTER';
    out.push(
      ` VRRP Instance = ${vi.name}`,
      `   VRRP Version = ${d.version}`,
      `   State = ${st.state}`,
      ...(d.group === undefined ? ['   Flags:', '     Using unicast'] : ['   Flags: none']),
      `   Last transition = ${keepalivedTime(toWall(st.lastTransition?.at ?? st.since))}`,
      ...(st.master && !master ? [`   Master router = ${st.master}`] : []),
      `   Interface = ${dev}`,
      `   Using src_ip = ${d.source}${vi.unicastSrcIp ? ' (from configuration)' : ''}`,
      ...(d.group !== undefined ? [`   Multicast address ${d.group}`] : []),
      `   Gratuitous ARP delay = ${secs(vi.garpMasterDelayMs ?? c.globalDefs.vrrpGarpMasterDelayMs)}`,
      `   Gratuitous ARP repeat = ${vi.garpMasterRepeat ?? c.globalDefs.vrrpGarpMasterRepeat}`,
      `   Gratuitous ARP refresh = ${secs(vi.garpMasterRefreshMs ?? c.globalDefs.vrrpGarpMasterRefreshMs)}`,
      `   Down timer adverts = ${vi.downTimerAdverts ?? c.globalDefs.vrrpDownTimerAdverts}`,
      `   Virtual Router ID = ${vi.vrid ?? 0}`,
      `   Priority = ${vi.priority}`,
      `   Effective priority = ${st.priority}`,
      `   Advert interval = ${interval(vi.advertIntMs)}`,
      `   Preempt = ${vi.nopreempt ? 'disabled' : 'enabled'}`,
      ...(vi.preemptDelayMs > 0 ? [`   Preempt delay = ${secs(vi.preemptDelayMs)} secs`] : []),
      ...(d.version === 2 ? [`   Authentication type = ${vi.authentication ? (vi.authentication.type === 'PASS' ? 'SIMPLE_PASSWORD' : 'IPSEC_AH') : 'none'}`] : []),
      `   Virtual IP (${vi.virtualIpaddress.length}):`,
      ...vi.virtualIpaddress.map((v) => `     ${vipLine(v, dev, master)}`),
    );
    if (vi.virtualIpaddressExcluded.length > 0) out.push(`   Virtual IP Excluded (${vi.virtualIpaddressExcluded.length}):`, ...vi.virtualIpaddressExcluded.map((v) => `     ${vipLine(v, dev, master)}`));
    if (vi.virtualRoutes.length > 0) out.push(`   Virtual Routes (${vi.virtualRoutes.length}):`, ...vi.virtualRoutes.map((r) => `     ${r.words.join(' ')}`));
    if (vi.virtualRules.length > 0) out.push(`   Virtual Rules (${vi.virtualRules.length}):`, ...vi.virtualRules.map((r) => `     ${r.words.join(' ')}`));
    if (d.group === undefined) {
      out.push(`   Unicast TTL = ${vi.unicastTtl ?? 255}`, `   Check unicast src : ${vi.checkUnicastSrc ? 'yes' : 'no'}`, '   Unicast Peer :');
      for (const p of vi.unicastPeer) out.push(`     ${p.address} min_ttl ${p.minTtl ?? 0} max_ttl ${p.maxTtl ?? 255}`);
    }
    if (vi.trackInterface.length > 0) out.push('   Tracked interfaces :', ...vi.trackInterface.map((t) => `     ${t.name} weight ${t.weight ?? 0}${t.reverse ? ' reverse' : ''}`));
    if (vi.trackScript.length > 0) out.push('   Tracked scripts :', ...vi.trackScript.map((t) => `     ${t.name} weight ${t.weight ?? c.vrrpScripts.find((s) => s.name === t.name)?.weight ?? 0}${t.reverse ? ' reverse' : ''}`));
    if (vi.trackFile.length > 0) out.push('   Tracked files :', ...vi.trackFile.map((t) => `     ${t.name} weight ${t.weight ?? c.trackFiles.find((f) => f.name === t.name)?.weight ?? 1}${t.reverse ? ' reverse' : ''}`));
  }
  const running = c.vrrpScripts.filter((s) => scripts[s.name] !== undefined);
  if (running.length > 0) {
    out.push('------< VRRP Scripts >------');
    for (const s of running)
      out.push(
        ` VRRP Script = ${s.name}`,
        `   Command = '${s.script.command}'`,
        `   Interval = ${secs(s.intervalMs)} sec`,
        `   Timeout = ${secs(s.timeoutMs ?? s.intervalMs)} sec`,
        `   Weight = ${s.weight}${s.weightReverse ? ' reverse' : ''}`,
        `   Rise = ${s.rise}`,
        `   Fall = ${s.fall}`,
        `   Status = ${scripts[s.name] ? 'GOOD' : 'BAD'}`,
      );
  }
  return `${out.join('\n')}\n`;
}

/** The stats dump (keepalived.stats), one block per instance; vigil's finer drop reasons follow keepalived's. */
export function formatVrrpStats(snap: readonly InstanceStatus[]): string {
  const out: string[] = [];
  for (const i of snap) {
    const d = (k: string) => i.drops[k] ?? 0;
    out.push(
      `VRRP Instance: ${i.name}`,
      '  Advertisements:',
      `    Received: ${i.advertsReceived}`,
      `    Sent: ${i.advertsSent}`,
      `  Became master: ${i.transitions.MASTER ?? 0}`,
      `  Released master: ${i.releasedMaster}`,
      '  Packet Errors:',
      `    Length: ${d('length') + d('too-short')}`,
      `    TTL: ${d('ttl')}`,
      `    Invalid Type: ${d('type')}`,
      `    Advertisement Interval: ${d('advert-interval')}`,
      `    Address List: ${d('addresses')}`,
      '  Authentication Errors:',
      '    Invalid Type: 0',
      `    Type Mismatch: ${d('auth-type')}`,
      `    Failure: ${d('auth-pass')}`,
      '  Priority Zero:',
      `    Received: ${i.priorityZeroReceived}`,
      `    Sent: ${i.priorityZeroSent}`,
      '  Other drops (vigil):',
      `    Version: ${d('version')}`,
      `    Checksum: ${d('checksum')}`,
      `    Address Family: ${d('family')}`,
      `    Unknown Peer: ${d('unknown-peer')}`,
    );
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
