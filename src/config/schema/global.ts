import { flag, int, oneOf, seconds, str, text } from './args.js';
import { type BlockSpec, block, value } from './dsl.js';

/*
 * global_defs and the other process-wide top-level keywords of keepalived.conf.
 */

/** `global_defs { ... }`. */
export interface GlobalDefs {
  readonly routerId?: string;
  /** Default VRRP version for instances that do not set `version`. Default 2. */
  readonly vrrpVersion: 2 | 3;
  readonly scriptUser?: string;
  readonly enableScriptSecurity: boolean;
  readonly vrrpGarpMasterDelayMs: number;
  readonly vrrpGarpMasterRepeat: number;
  readonly lvsFlush: boolean;
  readonly vrrpStrict: boolean;
  readonly notificationEmailFrom?: string;
  readonly smtpServer?: string;
  readonly smtpConnectTimeoutMs?: number;
}

/** The `global_defs` block. */
export const globalDefsSpec: BlockSpec<GlobalDefs> = {
  name: 'global_defs',
  defaults: () => ({ vrrpVersion: 2, enableScriptSecurity: false, vrrpGarpMasterDelayMs: 5000, vrrpGarpMasterRepeat: 5, lvsFlush: false, vrrpStrict: false }),
  keywords: {
    router_id: value('routerId', str, 'Name of this node in notifications and logs. Default: the host name.'),
    vrrp_version: value('vrrpVersion', oneOf(['2', '3'] as const), 'Default VRRP version (2 or 3). Default 2.'),
    script_user: value('scriptUser', text, 'User (and optional group) that runs scripts. Default keepalived_script, else root.'),
    enable_script_security: value('enableScriptSecurity', flag, 'Refuse scripts that a non-root user could modify when run as root.'),
    vrrp_garp_master_delay: value('vrrpGarpMasterDelayMs', seconds(0, 255), 'Seconds after becoming MASTER before the second GARP burst. Default 5.'),
    vrrp_garp_master_repeat: value('vrrpGarpMasterRepeat', int(0, 255), 'GARPs sent in each burst. Default 5.'),
    lvs_flush: value('lvsFlush', flag, 'Flush the whole IPVS table at start. Default off (vigil never flushes otherwise).'),
    vrrp_strict: value('vrrpStrict', flag, 'Strict RFC compliance: no unicast, no auth, no VIPs beyond 20 per instance.'),
    notification_email_from: value('notificationEmailFrom', str, 'From: address of notification mail.'),
    smtp_server: value('smtpServer', text, 'SMTP server for notification mail: ADDRESS [PORT].'),
    smtp_connect_timeout: value('smtpConnectTimeoutMs', seconds(0, 3600), 'SMTP connect timeout in seconds. Default 30.'),
  },
  finalize(o) {
    if (o.vrrpVersion !== undefined) (o as { vrrpVersion: unknown }).vrrpVersion = Number(o.vrrpVersion);
    return o as GlobalDefs;
  },
};

/** Top-level statements that belong to global settings. */
export const globalRoot = {
  global_defs: block('globalDefs', globalDefsSpec, 'Process-wide settings: `global_defs { ... }`.'),
};

/** The global part of the compiled configuration. */
export interface GlobalModel {
  readonly globalDefs: GlobalDefs;
}

/** Defaults of the global part of the top level (lists start empty). */
export function globalRootDefaults(): Partial<GlobalModel> {
  return {};
}
