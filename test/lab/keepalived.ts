import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './netns.js';
import type { Proc } from './proc.js';

/** One VRRP instance of a keepalived.conf written for the lab. */
export interface VrrpInstanceOptions {
  vrid: number;
  priority: number;
  /** VIPs with prefix length, e.g. `192.168.77.100/24`. */
  vips: readonly string[];
  /** VRRP version (default 2). */
  version?: 2 | 3;
  /** Advertisement interval in seconds (default 1). */
  advertIntS?: number;
  /** Interface (default eth0). */
  iface?: string;
  /** Simple password authentication (VRRPv2 only). */
  authPass?: string;
  /** More global_defs lines, e.g. `vrrp_rt_priority 50`. */
  globalDefs?: readonly string[];
}

/** A keepalived.conf with a single VRRP instance, starting in BACKUP (the election decides). */
export function keepalivedConf(routerId: string, o: VrrpInstanceOptions): string {
  const iface = o.iface ?? 'eth0';
  return [
    'global_defs {',
    `  router_id ${routerId}`,
    `  vrrp_version ${o.version ?? 2}`,
    '  enable_script_security',
    ...(o.globalDefs ?? []).map((l) => `  ${l}`),
    '}',
    `vrrp_instance VI_${o.vrid} {`,
    '  state BACKUP',
    `  interface ${iface}`,
    `  virtual_router_id ${o.vrid}`,
    `  priority ${o.priority}`,
    `  advert_int ${o.advertIntS ?? 1}`,
    ...(o.authPass === undefined ? [] : ['  authentication {', '    auth_type PASS', `    auth_pass ${o.authPass}`, '  }']),
    '  virtual_ipaddress {',
    ...o.vips.map((v) => `    ${v} dev ${iface}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * Starts keepalived (VRRP only, foreground, console logging) in `node`'s namespace with its
 * config and pid files in the lab folder. SIGTERM to the returned leader is a graceful stop
 * (priority-0 advert); the VRRP child's pid is in `<folder>/vrrp.pid`.
 */
export function startKeepalived(lab: Lab, node: string, o: VrrpInstanceOptions): { proc: Proc; dir: string } {
  const dir = lab.folder(`keepalived-${node}`);
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(conf, keepalivedConf(node, o));
  const argv = ['keepalived', '-n', '-l', '-D', '-G', '-P', '-f', conf];
  argv.push('-p', join(dir, 'keepalived.pid'), '-r', join(dir, 'vrrp.pid'), '-c', join(dir, 'checkers.pid'));
  return { proc: lab.spawn(node, argv, { name: `keepalived-${node}` }), dir };
}
