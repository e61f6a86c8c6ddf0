import { type ScriptSpec, arity, ifname, int, oneOf, script, seconds, str, wholeSeconds } from './args.js';
import { type ArgParser, type BlockSpec, type KeywordSpec, alias, block, fieldPos, list, value } from './dsl.js';
import {
  type LvsSyncDaemon,
  type LvsTimeouts,
  type RxBufsPolicy,
  type SmtpServer,
  cpuList,
  dynamicInterfaces,
  includeCheck,
  lvsSyncDaemon,
  lvsTimeouts,
  maxAutoPriority,
  mcastGroup,
  micros,
  optWord,
  processName,
  rxBufsPolicy,
  smtpServer,
  umask,
} from './global-args.js';
import { type GlobalTopModel, globalTopDefaults, globalTopRoot } from './global-static.js';
import { type FifoSpec, type GarpExtraIf, fifo, garpExtraIf, intZeroIsOne, laxBare, optBool, userGroup } from './vrrp-args.js';
import { FWMARK_BASE_DOC, fwmarkBase } from './tunnel-check.js';

/*
 * global_defs. Defaults and ranges are keepalived 2.2.7's (global_parser.c, global_data.c
 * set_defaults); keywords vigil does not act on are marked inert but kept in the model.
 */

/** `global_defs { ... }`. */
export interface GlobalDefs {
  // Identity, mail
  /** Name of this node in notifications. Default: the host name. */
  readonly routerId?: string;
  readonly notificationEmail: readonly string[];
  readonly notificationEmailFrom?: string;
  readonly smtpServer?: SmtpServer;
  readonly smtpHeloName?: string;
  /** Default 30 s. */
  readonly smtpConnectTimeoutMs: number;
  readonly smtpAlert?: boolean;
  readonly smtpAlertVrrp?: boolean;
  readonly smtpAlertChecker?: boolean;
  readonly checkerLogAllFailures?: boolean;
  readonly noEmailFaults: boolean;
  readonly noCheckerEmails?: boolean;
  readonly rsInitNotifies?: boolean;
  // Processes
  readonly processNames: boolean;
  readonly processName?: string;
  readonly vrrpProcessName?: string;
  readonly checkerProcessName?: string;
  readonly bfdProcessName?: string;
  readonly startupScript?: ScriptSpec;
  /** Default 10 s; 1-1000 s. */
  readonly startupScriptTimeoutMs: number;
  readonly shutdownScript?: ScriptSpec;
  readonly shutdownScriptTimeoutMs: number;
  /** Highest realtime priority auto-raising may reach; 0 = off (default), -1 = off without the startup warning. */
  readonly maxAutoPriority: number;
  /** Lateness that triggers a priority raise. Default 1000 ms. */
  readonly minAutoPriorityDelayMs: number;
  readonly vrrpPriority?: number;
  readonly checkerPriority?: number;
  readonly bfdPriority?: number;
  readonly vrrpNoSwap: boolean;
  readonly checkerNoSwap: boolean;
  readonly bfdNoSwap: boolean;
  readonly vrrpCpuAffinity?: readonly number[];
  readonly checkerCpuAffinity?: readonly number[];
  readonly bfdCpuAffinity?: readonly number[];
  readonly vrrpRtPriority?: number;
  readonly checkerRtPriority?: number;
  readonly bfdRtPriority?: number;
  /** RLIMIT_RTTIME when realtime; default 10 ms. */
  readonly vrrpRlimitRttimeMs?: number;
  readonly checkerRlimitRttimeMs?: number;
  readonly bfdRlimitRttimeMs?: number;
  // Scripts and FIFOs
  /** Default user (and group) for scripts. Default keepalived_script if it exists, else root. */
  readonly scriptUser?: { readonly user: string; readonly group?: string };
  readonly enableScriptSecurity: boolean;
  readonly notifyFifo?: FifoSpec;
  readonly notifyFifoScript?: ScriptSpec;
  readonly vrrpNotifyFifo?: FifoSpec;
  readonly vrrpNotifyFifoScript?: ScriptSpec;
  readonly lvsNotifyFifo?: FifoSpec;
  readonly lvsNotifyFifoScript?: ScriptSpec;
  readonly vrrpNotifyPriorityChanges: boolean;
  readonly fifoWriteVrrpStatesOnReload: boolean;
  // VRRP
  /** Default VRRP version for IPv4 instances that do not set `version`. Default 2. */
  readonly vrrpVersion: 2 | 3;
  readonly vrrpMcastGroup4: string;
  readonly vrrpMcastGroup6: string;
  /** Interface for static addresses and VIPs without `dev` when the instance has none. Default eth0. */
  readonly defaultInterface: string;
  readonly dynamicInterfaces: 'off' | 'on' | 'allow_if_changes';
  readonly vrrpGarpMasterDelayMs: number;
  readonly vrrpGarpMasterRepeat: number;
  readonly vrrpGarpMasterRefreshMs: number;
  readonly vrrpGarpMasterRefreshRepeat: number;
  /** Default: vrrp_garp_master_delay. */
  readonly vrrpGarpLowerPrioDelayMs?: number;
  /** Default: vrrp_garp_master_repeat. */
  readonly vrrpGarpLowerPrioRepeat?: number;
  readonly vrrpGarpIntervalMs: number;
  readonly vrrpGnaIntervalMs: number;
  readonly vrrpMinGarp: boolean;
  readonly vrrpGarpExtraIf?: GarpExtraIf;
  readonly vrrpDownTimerAdverts: number;
  readonly vrrpLowerPrioNoAdvert: boolean;
  readonly vrrpHigherPrioSendAdvert: boolean;
  readonly vrrpCheckUnicastSrc: boolean;
  readonly vrrpSkipCheckAdvAddr: boolean;
  readonly vrrpStrict: boolean;
  readonly vrrpStartupDelayMs?: number;
  readonly logUnknownVrids: boolean;
  readonly vmacPrefix: string;
  readonly vmacAddrPrefix?: string;
  readonly disableLocalIgmp: boolean;
  readonly vrrpIptables?: readonly string[];
  readonly vrrpIpsets?: readonly string[];
  readonly nftables?: string | true;
  readonly nftablesPriority?: number;
  readonly nftablesCounters: boolean;
  readonly nftablesIfindex: boolean;
  readonly nftablesIpvs?: string | true;
  readonly nftablesIpvsPriority?: number;
  readonly nftablesIpvsStartFwmark?: number;
  readonly vrrpRxBufsPolicy?: RxBufsPolicy;
  readonly vrrpRxBufsMultiplier: number;
  readonly vrrpNetlinkCmdRcvBufs?: number;
  readonly vrrpNetlinkCmdRcvBufsForce?: boolean;
  readonly vrrpNetlinkMonitorRcvBufs?: number;
  readonly vrrpNetlinkMonitorRcvBufsForce?: boolean;
  readonly lvsNetlinkCmdRcvBufs?: number;
  readonly lvsNetlinkCmdRcvBufsForce?: boolean;
  readonly lvsNetlinkMonitorRcvBufs?: number;
  readonly lvsNetlinkMonitorRcvBufsForce?: boolean;
  readonly processMonitorRcvBufs?: number;
  readonly processMonitorRcvBufsForce?: boolean;
  // LVS
  readonly lvsSyncDaemon?: LvsSyncDaemon;
  readonly lvsTimeouts?: LvsTimeouts;
  /** Flush the whole IPVS table at start. Default off (vigil never flushes otherwise). */
  readonly lvsFlush: boolean;
  readonly lvsFlushOnStop: 'off' | 'full' | 'vs';
  /** vigil extension: first mark of the range reserved for tunnel_check; absent: DEFAULT_TUNNEL_FWMARK_BASE. */
  readonly tunnelCheckFwmarkBase?: number;
  // SNMP, D-Bus
  readonly snmpSocket?: string;
  readonly enableSnmpVrrp: boolean;
  readonly enableSnmpChecker: boolean;
  readonly enableSnmpRfc: boolean;
  readonly enableSnmpRfcv2: boolean;
  readonly enableSnmpRfcv3: boolean;
  readonly enableTraps: boolean;
  readonly enableDbus: boolean;
  readonly dbusServiceName?: string;
  // Files, reload
  readonly umask: number;
  readonly randomSeed?: number;
  readonly tmpConfigDirectory?: string;
  readonly configSaveDir?: string;
  readonly reloadCheckConfig?: string;
  readonly includeCheck?: readonly string[];
  readonly reloadTimeFile?: string;
  readonly reloadRepeat: boolean;
  readonly reloadFile?: string | true;
  readonly dataUseInstance: boolean;
}

const UINT = 4294967295;
const INT32 = 2147483647;
const word: ArgParser<string> = (a, k, c) => (arity(a, k, c, 1, 1, 'one argument') ? a[0]!.text : undefined);
const emails: ArgParser<string[]> = (words) => words.map((w) => w.text);
const SNMP = 'vigil has no SNMP agent';
const DBUS = 'vigil has no D-Bus interface';
const MAIL = 'vigil does not send mail';
const SCHED = 'vigil does not change its scheduling';
const FW = 'vigil does not install firewall rules';
const NL = 'vigil sizes its netlink sockets itself';
const RELOAD = 'vigil reloads differently';
const I = (why: string) => ({ inert: why });

/** Process tuning keywords for the vrrp, checker and bfd children (same syntax each); applied to the vrrp and checker children (src/daemon/process-tuning.ts). */
function processTuning(p: 'vrrp' | 'checker' | 'bfd'): Record<string, KeywordSpec<any>> {
  const inert = p === 'bfd' ? I('vigil has no BFD process') : {};
  return {
    [`${p}_priority`]: value(`${p}Priority`, int(-20, 19), `Nice value of the ${p} process, -20..19 (not applied when ${p}_rt_priority is set, as keepalived).`, inert),
    [`${p}_no_swap`]: value(`${p}NoSwap`, laxBare(), `Lock the ${p} process in memory (mlockall). Refused with a warning: V8 aborts a Node process whose memory is locked when it changes page permissions.`, inert),
    [`${p}_cpu_affinity`]: value(`${p}CpuAffinity`, cpuList, `CPUs the main thread of the ${p} process may run on (sched_setaffinity).`, inert),
    [`${p}_rt_priority`]: value(`${p}RtPriority`, int(1, 99), `Realtime (SCHED_RR) priority of the ${p} process's main thread, 1-99.`, inert),
    [`${p}_rlimit_rttime`]: value(`${p}RlimitRttimeMs`, micros(1, UINT), `RLIMIT_RTTIME in microseconds when realtime (SIGXCPU, logged, at half; killed at the limit). Default 200000 (keepalived: 10000, which kills a Node main thread within seconds).`, inert),
    [`${p}_rlimit_rtime`]: alias(`${p}_rlimit_rttime`, value(`${p}RlimitRttimeMs`, micros(1, UINT), '', { deprecated: `use '${p}_rlimit_rttime'`, ...inert })),
  };
}

/** The `global_defs` block. */
export const globalDefsSpec: BlockSpec<GlobalDefs> = {
  name: 'global_defs',
  defaults: () => ({
    notificationEmail: [], smtpConnectTimeoutMs: 30000, noEmailFaults: false, processNames: false, startupScriptTimeoutMs: 10000, shutdownScriptTimeoutMs: 10000,
    maxAutoPriority: 0, minAutoPriorityDelayMs: 1000, vrrpNoSwap: false, checkerNoSwap: false, bfdNoSwap: false, enableScriptSecurity: false,
    vrrpNotifyPriorityChanges: false, fifoWriteVrrpStatesOnReload: false, vrrpVersion: 2, vrrpMcastGroup4: '224.0.0.18', vrrpMcastGroup6: 'ff02::12',
    defaultInterface: 'eth0', dynamicInterfaces: 'off', vrrpGarpMasterDelayMs: 5000, vrrpGarpMasterRepeat: 5, vrrpGarpMasterRefreshMs: 0, vrrpGarpMasterRefreshRepeat: 1,
    vrrpGarpIntervalMs: 0, vrrpGnaIntervalMs: 0, vrrpMinGarp: false, vrrpDownTimerAdverts: 3, vrrpLowerPrioNoAdvert: false, vrrpHigherPrioSendAdvert: false,
    vrrpCheckUnicastSrc: false, vrrpSkipCheckAdvAddr: false, vrrpStrict: false, logUnknownVrids: false, vmacPrefix: 'vrrp', disableLocalIgmp: false,
    nftablesCounters: false, nftablesIfindex: false, vrrpRxBufsMultiplier: 3, lvsFlush: false, lvsFlushOnStop: 'off',
    enableSnmpVrrp: false, enableSnmpChecker: false, enableSnmpRfc: false, enableSnmpRfcv2: false, enableSnmpRfcv3: false, enableTraps: false, enableDbus: false,
    umask: 0o022, reloadRepeat: false, dataUseInstance: false,
  }),
  keywords: {
    router_id: value('routerId', str, 'Name of this node in notifications and logs. Default: the host name.'),
    notification_email: list('notificationEmail', emails, 'Addresses to mail, one or more per line.', I(MAIL)),
    notification_email_from: value('notificationEmailFrom', str, 'From: address of notification mail. Default keepalived@HOSTNAME.', I(MAIL)),
    smtp_server: value('smtpServer', smtpServer, 'SMTP server for notification mail: `ADDRESS|HOSTNAME [PORT]` (default port 25).', I(MAIL)),
    smtp_helo_name: value('smtpHeloName', str, 'Name in the SMTP HELO. Default: the host name.', I(MAIL)),
    smtp_connect_timeout: value('smtpConnectTimeoutMs', (a, k, c) => { const n = intZeroIsOne(4294)(a, k, c); return n === undefined ? undefined : n * 1000; }, 'SMTP connect timeout in whole seconds, 1-4294 (0 is read as 1). Default 30.', I(MAIL)),
    smtp_alert: value('smtpAlert', optBool, 'Default for every smtp_alert `[<BOOL>]`. Default off.', I(MAIL)),
    smtp_alert_vrrp: value('smtpAlertVrrp', optBool, 'Default smtp_alert of VRRP instances and sync groups `[<BOOL>]`.', I(MAIL)),
    smtp_alert_checker: value('smtpAlertChecker', optBool, 'Default smtp_alert of checkers `[<BOOL>]`.', I(MAIL)),
    checker_log_all_failures: value('checkerLogAllFailures', optBool, 'Log every failed check, not only state changes `[<BOOL>]`.'),
    no_email_faults: value('noEmailFaults', laxBare(), 'No mail for FAULT transitions.', I(MAIL)),
    no_checker_emails: value('noCheckerEmails', optBool, 'Mail only when a real server is added or removed `[<BOOL>]`.', I(MAIL)),
    rs_init_notifies: value('rsInitNotifies', optBool, 'Send notifies for real servers at startup `[<BOOL>]`.'),
    process_names: value('processNames', laxBare(), 'Name the child processes keepalived_vrrp, keepalived_ipvs, keepalived_bfd.', I('vigil names its processes itself')),
    process_name: value('processName', processName, 'Name of the parent process (at most 15 characters).', I('vigil names its processes itself')),
    vrrp_process_name: value('vrrpProcessName', processName, 'Name of the VRRP process (at most 15 characters).', I('vigil names its processes itself')),
    checker_process_name: value('checkerProcessName', processName, 'Name of the checker process (at most 15 characters).', I('vigil names its processes itself')),
    lvs_process_name: alias('checker_process_name', value('checkerProcessName', processName, '', { deprecated: "use 'checker_process_name'" })),
    bfd_process_name: value('bfdProcessName', processName, 'Name of the BFD process (at most 15 characters).', I('vigil names its processes itself')),
    startup_script: value('startupScript', script, 'Script run once before the children start: path or quoted command line, [USER [GROUP]].'),
    startup_script_timeout: value('startupScriptTimeoutMs', wholeSeconds(1, 1000), 'Seconds the startup script may run, 1-1000. Default 10.'),
    shutdown_script: value('shutdownScript', script, 'Script run once after the children stop.'),
    shutdown_script_timeout: value('shutdownScriptTimeoutMs', wholeSeconds(1, 1000), 'Seconds the shutdown script may run, 1-1000. Default 10.'),
    max_auto_priority: value('maxAutoPriority', maxAutoPriority, 'Highest realtime priority when running late, -1..99; alone: 99. Default 0 (off).', I(SCHED)),
    min_auto_priority_delay: value('minAutoPriorityDelayMs', micros(1, 10000000), 'Lateness in microseconds (1-10000000) that raises the priority. Default 1000000.', I(SCHED)),
    ...processTuning('vrrp'),
    ...processTuning('checker'),
    ...processTuning('bfd'),
    script_user: value('scriptUser', userGroup, '`USER [GROUP]` running scripts by default. Default keepalived_script if it exists, else root.'),
    enable_script_security: value('enableScriptSecurity', laxBare(), 'Refuse root scripts a non-root user could modify.'),
    notify_fifo: value('notifyFifo', fifo, '`PATH [USER [GROUP]]`: FIFO receiving every VRRP and checker notify line.'),
    notify_fifo_script: value('notifyFifoScript', script, 'Script started to read notify_fifo (its path is appended).'),
    vrrp_notify_fifo: value('vrrpNotifyFifo', fifo, '`PATH [USER [GROUP]]`: FIFO receiving VRRP notify lines: `INSTANCE "VI_1" MASTER 100`.'),
    vrrp_notify_fifo_script: value('vrrpNotifyFifoScript', script, 'Script started to read vrrp_notify_fifo.'),
    lvs_notify_fifo: value('lvsNotifyFifo', fifo, '`PATH [USER [GROUP]]`: FIFO receiving checker notify lines.'),
    lvs_notify_fifo_script: value('lvsNotifyFifoScript', script, 'Script started to read lvs_notify_fifo.'),
    vrrp_notify_priority_changes: value('vrrpNotifyPriorityChanges', optBool, 'Write priority changes to the notify FIFOs `[<BOOL>]`. Default off.'),
    fifo_write_vrrp_states_on_reload: value('fifoWriteVrrpStatesOnReload', laxBare(), 'Write every instance state to the FIFOs after a reload.'),
    vrrp_version: value('vrrpVersion', oneOf(['2', '3'] as const), 'Default VRRP version (2 or 3) of IPv4 instances; IPv6 always uses 3. Default 2.'),
    vrrp_mcast_group4: value('vrrpMcastGroup4', mcastGroup(4), 'IPv4 advert group. Default 224.0.0.18 (RFC 5798 §5.1.1.2).'),
    vrrp_mcast_group6: value('vrrpMcastGroup6', mcastGroup(6), 'IPv6 advert group. Default ff02::12 (RFC 5798 §5.1.2.2).'),
    default_interface: value('defaultInterface', ifname, 'Interface for static addresses without dev. Default eth0.'),
    dynamic_interfaces: value('dynamicInterfaces', dynamicInterfaces, '`[allow_if_changes]`: allow interfaces that do not exist yet (and that change type).'),
    vrrp_garp_master_delay: value('vrrpGarpMasterDelayMs', wholeSeconds(0, 4294), 'Seconds after becoming MASTER before the second GARP burst (0: none), 0-4294. Default 5.'),
    vrrp_garp_master_repeat: value('vrrpGarpMasterRepeat', intZeroIsOne(UINT), 'GARPs per burst, 1-4294967295 (0 is read as 1). Default 5.'),
    vrrp_garp_master_refresh: value('vrrpGarpMasterRefreshMs', wholeSeconds(0, UINT), 'Seconds between GARP refreshes while MASTER; 0 = none (default).'),
    vrrp_garp_master_refresh_repeat: value('vrrpGarpMasterRefreshRepeat', intZeroIsOne(UINT), 'GARPs per refresh, 1-4294967295. Default 1.'),
    vrrp_garp_lower_prio_delay: value('vrrpGarpLowerPrioDelayMs', wholeSeconds(0, 4294), 'Seconds before the second burst after a lower-priority advert, 0-4294. Default: vrrp_garp_master_delay.'),
    vrrp_garp_lower_prio_repeat: value('vrrpGarpLowerPrioRepeat', int(0, INT32), 'GARPs per burst after a lower-priority advert. Default: vrrp_garp_master_repeat.'),
    vrrp_garp_interval: value('vrrpGarpIntervalMs', seconds(0.000001, 4294), 'Seconds between GARPs on an interface (µs resolution), 0.000001-4294. Default 0.'),
    vrrp_gna_interval: value('vrrpGnaIntervalMs', seconds(0.000001, 4294), 'Seconds between unsolicited NAs on an interface (µs resolution). Default 0.'),
    vrrp_min_garp: value('vrrpMinGarp', optBool, '`[<BOOL>]`: one GARP/NA, no second burst, no refresh (unless set explicitly).'),
    vrrp_garp_extra_if: value('vrrpGarpExtraIf', garpExtraIf(1), '`[all] SECONDS` (1-86400): periodic GARP/NA on VMAC (or all) interfaces of VIPs.'),
    vrrp_vmac_garp_intvl: alias('vrrp_garp_extra_if', value('vrrpGarpExtraIf', garpExtraIf(1), '', { deprecated: "use 'vrrp_garp_extra_if'" })),
    vrrp_down_timer_adverts: value('vrrpDownTimerAdverts', int(1, 100), 'Default master down timer in adverts, 1-100. Default 3 (RFC 5798).'),
    vrrp_lower_prio_no_advert: value('vrrpLowerPrioNoAdvert', optBool, '`[<BOOL>]`: do not answer lower-priority adverts. Default off (on with vrrp_strict).'),
    vrrp_higher_prio_send_advert: value('vrrpHigherPrioSendAdvert', optBool, '`[<BOOL>]`: as MASTER send one advert before yielding. Default off.'),
    vrrp_check_unicast_src: value('vrrpCheckUnicastSrc', laxBare(), 'Drop unicast adverts not from a configured peer.'),
    vrrp_skip_check_adv_addr: value('vrrpSkipCheckAdvAddr', laxBare(), 'Skip checking advert address lists from the current master.'),
    vrrp_strict: value('vrrpStrict', laxBare(), 'Strict RFC compliance: VIPs required, no unicast, no authentication, no preempt_delay, MASTER only with priority 255.'),
    vrrp_startup_delay: value('vrrpStartupDelayMs', seconds(0.000001, 4294), 'Seconds to wait before starting VRRP (for slow bonds).'),
    log_unknown_vrids: value('logUnknownVrids', laxBare(), 'Log adverts for VRIDs not configured on the interface.'),
    vmac_prefix: value('vmacPrefix', word, 'Prefix of generated VMAC names. Default vrrp.'),
    vmac_addr_prefix: value('vmacAddrPrefix', word, 'Prefix of VMAC names for VIPs on other interfaces. Default: vmac_prefix.'),
    disable_local_igmp: value('disableLocalIgmp', laxBare(), 'Set igmp_link_local_mcast_reports to 0.', I('vigil does not change sysctls')),
    vrrp_iptables: value('vrrpIptables', (a, k, c) => (arity(a, k, c, 0, 2, 'nothing, an input chain, or input and output chains') ? a.map((w) => w.text) : undefined), '`[IN_CHAIN [OUT_CHAIN]]` for no_accept rules. Default INPUT/OUTPUT.', I(FW)),
    vrrp_ipsets: value('vrrpIpsets', (a, k, c) => (arity(a, k, c, 0, 5, 'up to 5 ipset names') ? a.map((w) => w.text) : undefined), '`[SET4 [SET6 [SET_IF6 [SET_IGMP [SET_MLD]]]]]`; none disables ipsets.', I(FW)),
    nftables: value('nftables', optWord, '`[TABLE]`: use nftables (default table keepalived).', I(FW)),
    nftables_priority: value('nftablesPriority', int(-INT32 - 1, INT32), 'Priority of the nftables chains. Default -1.', I(FW)),
    nftables_counters: value('nftablesCounters', laxBare(), 'Add counters to the nftables rules.', I(FW)),
    nftables_ifindex: value('nftablesIfindex', laxBare(), 'Key link-local sets by ifindex.', I(FW)),
    nftables_ipvs: value('nftablesIpvs', optWord, '`[TABLE]`: nftables for virtual server group fwmarks (default keepalived_ipvs).', I(FW)),
    nftables_ipvs_priority: value('nftablesIpvsPriority', int(-INT32 - 1, INT32), 'Priority of the IPVS nftables chains.', I(FW)),
    nftables_ipvs_start_fwmark: value('nftablesIpvsStartFwmark', int(1, UINT), 'First fwmark used for groups, 1-4294967295. Default 1000.', I(FW)),
    vrrp_rx_bufs_policy: value('vrrpRxBufsPolicy', rxBufsPolicy, 'VRRP socket receive buffers: MTU, ADVERT or a size in bytes. Default: system default.', I(NL)),
    vrrp_rx_bufs_multiplier: value('vrrpRxBufsMultiplier', int(1, UINT), 'Multiplier of vrrp_rx_bufs_policy MTU/ADVERT. Default 3.', I(NL)),
    vrrp_netlink_cmd_rcv_bufs: value('vrrpNetlinkCmdRcvBufs', int(0, UINT), 'Netlink command socket receive buffer (bytes).', I(NL)),
    vrrp_netlink_cmd_rcv_bufs_force: value('vrrpNetlinkCmdRcvBufsForce', optBool, 'Use SO_RCVBUFFORCE `[<BOOL>]`.', I(NL)),
    vrrp_netlink_monitor_rcv_bufs: value('vrrpNetlinkMonitorRcvBufs', int(0, UINT), 'Netlink monitor socket receive buffer (bytes).', I(NL)),
    vrrp_netlink_monitor_rcv_bufs_force: value('vrrpNetlinkMonitorRcvBufsForce', optBool, 'Use SO_RCVBUFFORCE `[<BOOL>]`.', I(NL)),
    lvs_netlink_cmd_rcv_bufs: value('lvsNetlinkCmdRcvBufs', int(0, UINT), 'Checker netlink command socket receive buffer (bytes).', I(NL)),
    lvs_netlink_cmd_rcv_bufs_force: value('lvsNetlinkCmdRcvBufsForce', optBool, 'Use SO_RCVBUFFORCE `[<BOOL>]`.', I(NL)),
    lvs_netlink_monitor_rcv_bufs: value('lvsNetlinkMonitorRcvBufs', int(0, UINT), 'Checker netlink monitor socket receive buffer (bytes).', I(NL)),
    lvs_netlink_monitor_rcv_bufs_force: value('lvsNetlinkMonitorRcvBufsForce', optBool, 'Use SO_RCVBUFFORCE `[<BOOL>]`.', I(NL)),
    process_monitor_rcv_bufs: value('processMonitorRcvBufs', int(0, UINT), 'Process-events socket receive buffer (bytes).', I(NL)),
    process_monitor_rcv_bufs_force: value('processMonitorRcvBufsForce', optBool, 'Use SO_RCVBUFFORCE `[<BOOL>]`.', I(NL)),
    lvs_sync_daemon: value('lvsSyncDaemon', lvsSyncDaemon, 'IPVS connection sync daemon: `IF [[inst] VRRP_INSTANCE] [id 0-255] [maxlen 1-65507] [port 1-65535] [ttl 1-255] [group MCAST]`.'),
    lvs_timeouts: value('lvsTimeouts', lvsTimeouts, 'IPVS timeouts `[tcp S] [tcpfin S] [udp S]` (0-2678400 s); unset ones stay as they are.'),
    lvs_flush: value('lvsFlush', laxBare(), 'Flush the whole IPVS table at start. Default off (vigil never flushes otherwise).'),
    tunnel_check_fwmark_base: value('tunnelCheckFwmarkBase', fwmarkBase, FWMARK_BASE_DOC),
    lvs_flush_on_stop: value('lvsFlushOnStop', (a, k, c) => {
      if (!arity(a, k, c, 0, 1, "nothing or 'VS'")) return undefined;
      if (!a[0]) return 'full';
      if (a[0].text === 'VS') return 'vs';
      c.diag.error(a[0].pos, 'invalid-value', `'${k.text}' expects nothing or 'VS', got '${a[0].raw}'`);
      return undefined;
    }, '`[VS]`: at stop flush all of IPVS, or with VS remove keepalived\'s virtual servers at once. Default: remove each server.'),
    lvs_flush_onstop: alias('lvs_flush_on_stop', value('lvsFlushOnStop', (a, k, c) => (arity(a, k, c, 0, 1, "nothing or 'VS'") ? (a[0] ? (a[0].text === 'VS' ? 'vs' : void c.diag.error(a[0].pos, 'invalid-value', `'${k.text}' expects nothing or 'VS', got '${a[0].raw}'`)) : 'full') : undefined), '', { deprecated: "use 'lvs_flush_on_stop'" })),
    snmp_socket: value('snmpSocket', word, 'AgentX socket. Default unix:/var/agentx/master.', I(SNMP)),
    enable_snmp_vrrp: value('enableSnmpVrrp', laxBare(), 'SNMP: keepalived MIB VRRP part.', I(SNMP)),
    enable_snmp_keepalived: alias('enable_snmp_vrrp', value('enableSnmpVrrp', laxBare(), '', { deprecated: "use 'enable_snmp_vrrp'", ...I(SNMP) })),
    enable_snmp_checker: value('enableSnmpChecker', laxBare(), 'SNMP: keepalived MIB checker part.', I(SNMP)),
    enable_snmp_rfc: value('enableSnmpRfc', laxBare(), 'SNMP: RFC 2787 and RFC 6527 VRRP MIBs.', I(SNMP)),
    enable_snmp_rfcv2: value('enableSnmpRfcv2', laxBare(), 'SNMP: RFC 2787 VRRP MIB.', I(SNMP)),
    enable_snmp_rfcv3: value('enableSnmpRfcv3', laxBare(), 'SNMP: RFC 6527 VRRP MIB.', I(SNMP)),
    enable_traps: value('enableTraps', laxBare(), 'SNMP traps.', I(SNMP)),
    enable_dbus: value('enableDbus', laxBare(), 'D-Bus interface.', I(DBUS)),
    dbus_service_name: value('dbusServiceName', word, 'D-Bus service name. Default org.keepalived.Vrrp1.', I(DBUS)),
    umask: value('umask', umask, 'umask for created files: a number (0-0777, decimal/0octal/0xhex) or bits like IWGRP|IWOTH. Default 022.'),
    random_seed: value('randomSeed', int(0, UINT), 'Seed of ${_RANDOM}, 0-4294967295. Default: time based.'),
    tmp_config_directory: value('tmpConfigDirectory', word, 'Directory for the config copy shared with children.', I(RELOAD)),
    config_save_dir: value('configSaveDir', word, 'Directory to save the config before and after reloads (debugging).', I(RELOAD)),
    reload_check_config: value('reloadCheckConfig', (a, k, c) => (arity(a, k, c, 0, 1, 'nothing or a log file') ? (a[0]?.text ?? '/dev/null') : undefined), '`[LOG_FILE]`: check the new config before reloading.', I(RELOAD)),
    include_check: value('includeCheck', includeCheck, '`[[+|-]readable|match|wildcard_match|brace_match ...]`: which missing includes are errors; none = all.', I('vigil always reports missing includes')),
    reload_time_file: value('reloadTimeFile', word, 'File holding a time at which to reload.', I(RELOAD)),
    reload_repeat: value('reloadRepeat', laxBare(), 'Keep reload_time_file and reload daily.', I(RELOAD)),
    reload_file: value('reloadFile', optWord, '`[PATH]`: file present while the config is read. Default keepalived.reload in the pid directory.', I(RELOAD)),
    data_use_instance: value('dataUseInstance', optBool, '`[<BOOL>]`: put the instance name in SIGUSR1 .data file names.', I('vigil has no .data dumps')),
  },
  finalize(o) {
    const g = o as { -readonly [K in keyof GlobalDefs]: GlobalDefs[K] };
    if (g.vrrpVersion !== undefined) g.vrrpVersion = Number(g.vrrpVersion) as 2 | 3;
    g.notificationEmail = (g.notificationEmail as unknown as string[][]).flat();
    if (g.vrrpMinGarp) {
      // keepalived: one GARP, no second burst, no refresh, unless those were set explicitly.
      if (!fieldPos(o, 'vrrpGarpMasterRepeat')) g.vrrpGarpMasterRepeat = 1;
      if (!fieldPos(o, 'vrrpGarpMasterDelayMs')) g.vrrpGarpMasterDelayMs = 0;
      if (!fieldPos(o, 'vrrpGarpMasterRefreshMs')) g.vrrpGarpMasterRefreshMs = 0;
    }
    return g;
  },
};

/** Top-level statements that belong to global settings. */
export const globalRoot = {
  global_defs: block('globalDefs', globalDefsSpec, 'Process-wide settings: `global_defs { ... }`.'),
  ...globalTopRoot,
};

/** The global part of the compiled configuration. */
export interface GlobalModel extends GlobalTopModel {
  readonly globalDefs: GlobalDefs;
}

/** Defaults of the global part of the top level (lists start empty). */
export function globalRootDefaults(): Partial<GlobalModel> {
  return globalTopDefaults();
}

/** Value types of global_defs keywords, re-exported for consumers of the global model. */
export type { FifoSpec, GarpExtraIf, LvsSyncDaemon, LvsTimeouts, RxBufsPolicy, SmtpServer };
