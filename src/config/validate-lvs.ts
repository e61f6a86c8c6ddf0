import type { Diagnostics } from './diagnostics.js';
import type { Family } from './schema/args.js';
import { fieldPos } from './schema/dsl.js';
import { type VsgEntry, fromBig, toBig } from './schema/lvs-args.js';
import { vsName } from './schema/lvs-resolve.js';
import type { VirtualServer, VirtualServerGroup } from './schema/lvs.js';
import type { RootModel } from './schema/root.js';
import type { HostChecks, PosOf } from './validate.js';

/** Cross-block checks of the LVS side: group references, duplicate services and servers, families, ports. */
export function validateLvs(m: RootModel, diag: Diagnostics, _host: HostChecks, at: PosOf): void {
  const groups = new Map<string, VirtualServerGroup>();
  for (const g of m.virtualServerGroups) {
    const prev = groups.get(g.name);
    if (prev) diag.error(at(g), 'duplicate-name', `virtual_server_group ${g.name} is defined twice (first at line ${at(prev).line})`);
    else groups.set(g.name, g);
    checkGroup(g, diag, at);
  }

  const services = new Map<string, VirtualServer>();
  for (const vs of m.virtualServers) {
    const name = vsName(vs);
    let group: VirtualServerGroup | undefined;
    if (vs.kind === 'group') {
      group = groups.get(vs.group);
      if (!group) {
        diag.error(at(vs), 'unknown-reference', `${name}: no virtual_server_group named '${vs.group}' is defined${hint(vs.group, groups.keys())}`);
        continue;
      }
      checkGroupService(vs, group, diag, at);
    }
    for (const key of serviceKeys(vs, group)) {
      const other = services.get(key);
      if (other && other !== vs) {
        diag.error(at(vs), 'duplicate-service', `${name} duplicates ${vsName(other)} (line ${at(other).line}): ${describeKey(key)} is already a virtual service`);
        break;
      }
      services.set(key, vs);
    }
    const seen = new Map<string, object>();
    for (const rs of vs.realServers) {
      const key = `${rs.address}/${rs.port}`;
      const prev = seen.get(key);
      if (prev) diag.error(at(rs), 'duplicate-real-server', `${name}: real_server ${rs.address}${rs.port ? ` ${rs.port}` : ''} is listed twice (first at line ${at(prev).line}); keepalived drops the second`);
      else seen.set(key, rs);
    }
  }
  checkTrackedNames(m, diag, at);
}

/** Entries that cannot work: mixed families with a family-less fwmark, duplicates. */
function checkGroup(g: VirtualServerGroup, diag: Diagnostics, at: PosOf): void {
  const fams = new Set(g.entries.flatMap((e) => (e.kind === 'range' ? [e.family] : [])));
  if (fams.size === 2 && g.entries.some((e) => e.kind === 'fwmark' && e.family === undefined))
    diag.error(at(g, 'entries'), 'family-mismatch', `virtual_server_group ${g.name} has IPv4 and IPv6 addresses and a fwmark without a family: write 'fwmark N inet' or 'fwmark N inet6'`);
  const seen = new Set<string>();
  for (const e of g.entries) {
    const k = e.kind === 'fwmark' ? `fwmark ${e.fwmark} ${e.family ?? ''}` : `${e.first}-${e.last} ${e.port ?? 0}`;
    if (seen.has(k)) diag.warn(at(g, 'entries'), 'duplicate-entry', `virtual_server_group ${g.name}: entry '${k.trim()}' is listed twice`);
    seen.add(k);
  }
}

/** Family and port rules between a group service, its group's entries and its servers. */
function checkGroupService(vs: VirtualServer & { kind: 'group' }, g: VirtualServerGroup, diag: Diagnostics, at: PosOf): void {
  const name = vsName(vs);
  const ranges = g.entries.filter((e): e is VsgEntry & { kind: 'range' } => e.kind === 'range');
  const fams = new Set<Family>([...ranges.map((e) => e.family), ...g.entries.flatMap((e) => (e.kind === 'fwmark' && e.family ? [e.family] : []))]);
  for (const s of [...vs.realServers, ...(vs.sorryServer ? [vs.sorryServer] : [])]) {
    const what = 'weight' in s ? 'real_server' : 'sorry_server';
    const pos = what === 'real_server' ? at(s) : at(vs, 'sorryServer');
    if (s.lvsMethod.method !== 'TUN' && [...fams].some((f) => f !== s.family))
      diag.error(pos, 'family-mismatch', `${name}: ${what} ${s.address} is IPv${s.family} but virtual_server_group ${g.name} has IPv${s.family === 4 ? 6 : 4} entries; only tunnelled servers may differ`);
    if (s.lvsMethod.method === 'NAT' || !s.port) continue;
    for (const e of ranges)
      if (e.port !== undefined && e.port !== s.port)
        diag.error(pos, 'port-mismatch', `${name}: ${what} ${s.address} port ${s.port} differs from group entry ${e.first} port ${e.port}; only NAT can change the port`);
  }
  if (vs.persistenceTimeoutS === undefined && ranges.some((e) => e.port === undefined))
    diag.error(at(vs), 'missing-port', `${name}: virtual_server_group ${g.name} has an entry without a port; that is only valid for persistent services (add 'persistence_timeout')`);
  if (vs.haSuspend && g.entries.some((e) => e.kind === 'fwmark'))
    diag.error(at(vs, 'haSuspend'), 'invalid-option', `${name}: 'ha_suspend' cannot be used with a group that has fwmarks`);
  if (vs.family === undefined && fams.size === 1) (vs as { family?: Family }).family = [...fams][0]!;
}

/** Keys that identify the kernel services a virtual_server creates (for duplicate detection). */
function serviceKeys(vs: VirtualServer, g: VirtualServerGroup | undefined): string[] {
  if (vs.kind === 'ip') return [`${vs.protocol} ${vs.address} ${vs.port ?? 0}`];
  if (vs.kind === 'fwmark') return [`fwmark ${vs.fwmark} IPv${vs.family}`];
  const keys = [`group ${vs.group} ${vs.protocol} IPv${vs.family ?? '?'}`];
  for (const e of g?.entries ?? []) {
    if (e.kind === 'fwmark') keys.push(`fwmark ${e.fwmark} IPv${e.family ?? vs.family ?? 4}`);
    else if (e.first === e.last) keys.push(`${vs.protocol} ${e.first} ${e.port ?? 0}`);
    else if (toBig(e.last, e.family) - toBig(e.first, e.family) < 256n) {
      for (let n = toBig(e.first, e.family); n <= toBig(e.last, e.family); n++) keys.push(`${vs.protocol} ${fromBig(n, e.family)} ${e.port ?? 0}`);
    }
  }
  return keys;
}

function describeKey(key: string): string {
  const [a, b, c] = key.split(' ');
  if (a === 'fwmark') return `fwmark ${b} (${c})`;
  if (a === 'group') return `group ${b} with ${c} ${key.split(' ')[3]}`;
  return `${a} ${b} port ${c}`;
}

function hint(name: string, names: Iterable<string>): string {
  const all = [...names];
  return all.length ? ` (defined: ${all.join(', ')})` : ' (there is no virtual_server_group at all)';
}

/** FILE_CHECK and BFD_CHECK name blocks defined elsewhere (track_file, bfd_instance), when the model has them. */
function checkTrackedNames(m: RootModel, diag: Diagnostics, at: PosOf): void {
  const names = (field: string): Set<string> | undefined => {
    const v = (m as unknown as Record<string, unknown>)[field];
    return Array.isArray(v) ? new Set(v.map((x: { name?: string }) => x.name ?? '')) : undefined;
  };
  const files = names('trackFiles');
  const bfds = names('bfdInstances');
  for (const vs of m.virtualServers)
    for (const rs of vs.realServers)
      for (const ck of rs.checkers) {
        if (ck.type === 'FILE_CHECK' && files && !files.has(ck.trackFile))
          diag.error(fieldPos(ck, 'trackFile') ?? at(ck), 'unknown-reference', `${vsName(vs)}: FILE_CHECK track_file '${ck.trackFile}' is not defined by any track_file block`);
        if (ck.type === 'BFD_CHECK' && bfds && !bfds.has(ck.name))
          diag.error(fieldPos(ck, 'name') ?? at(ck), 'unknown-reference', `${vsName(vs)}: BFD_CHECK '${ck.name}' is not defined by any bfd_instance`);
      }
}
