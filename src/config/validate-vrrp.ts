import type { Diagnostics } from './diagnostics.js';
import { fieldPos } from './schema/dsl.js';
import type { RootModel } from './schema/root.js';
import type { VrrpInstance } from './schema/vrrp.js';
import type { HostChecks, PosOf } from './validate.js';

/** Cross-block checks of the VRRP side: names, references, VRIDs, version rules. */
export function validateVrrp(m: RootModel, diag: Diagnostics, host: HostChecks, at: PosOf): void {
  const names = new Map<string, VrrpInstance>();
  const scripts = new Set(m.vrrpScripts.map((s) => s.name));
  const vrids = new Map<string, VrrpInstance>();
  for (const vi of m.vrrpInstances) {
    const prev = names.get(vi.name);
    if (prev) diag.error(at(vi), 'duplicate-name', `vrrp_instance ${vi.name} is defined twice (first at line ${at(prev).line})`);
    names.set(vi.name, vi);
    const version = vi.version ?? m.globalDefs.vrrpVersion;
    if (version === 2 && vi.advertIntMs % 1000 !== 0)
      diag.error(at(vi, 'advertIntMs'), 'invalid-value', `vrrp_instance ${vi.name}: VRRPv2 advert_int must be whole seconds (got ${vi.advertIntMs / 1000}); use 'version 3' for sub-second adverts`);
    if (version === 3 && (vi.advertIntMs % 10 !== 0 || vi.advertIntMs > 40950))
      diag.error(at(vi, 'advertIntMs'), 'invalid-value', `vrrp_instance ${vi.name}: VRRPv3 advert_int must be a multiple of 0.01 s up to 40.95 s (RFC 5798 §5.2.7), got ${vi.advertIntMs / 1000}`);
    if (version === 3 && vi.authentication)
      diag.error(at(vi, 'authentication'), 'invalid-value', `vrrp_instance ${vi.name}: VRRPv3 has no authentication (RFC 5798 §9); remove the authentication block or use version 2`);
    if (vi.nopreempt && vi.state === 'MASTER')
      diag.warn(at(vi, 'nopreempt'), 'ignored', `vrrp_instance ${vi.name}: nopreempt needs 'state BACKUP'; with state MASTER it still preempts at start`);
    for (const t of vi.trackScript)
      if (!scripts.has(t.name)) diag.error(at(vi, 'trackScript'), 'unknown-reference', `vrrp_instance ${vi.name}: track_script '${t.name}' is not defined by any vrrp_script`);
    if (vi.interface && host.interfaceExists && !host.interfaceExists(vi.interface))
      diag.error(at(vi, 'interface'), 'unknown-interface', `vrrp_instance ${vi.name}: interface '${vi.interface}' does not exist on this host`);
    if (vi.virtualIpaddress.length === 0 && !fieldPos(vi, 'virtualIpaddress')) diag.warn(at(vi), 'no-vip', `vrrp_instance ${vi.name} has no virtual_ipaddress`);
    if (vi.vrid !== undefined && vi.interface) {
      const family = vi.virtualIpaddress[0]?.family ?? 4;
      const key = `${vi.interface}/${family}/${vi.vrid}`;
      const other = vrids.get(key);
      if (other)
        diag.error(at(vi, 'vrid'), 'duplicate-vrid', `vrrp_instance ${vi.name} uses VRID ${vi.vrid} with IPv${family} on ${vi.interface}, already used by ${other.name} (line ${at(other, 'vrid').line})`);
      else vrids.set(key, vi);
    }
  }
}
