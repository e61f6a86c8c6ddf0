import type { Logger } from 'pino';
import type { Config } from '../config/compile.js';
import type { VirtualIp, VrrpInstance } from '../config/schema/vrrp.js';
import type { TrackFile, VrrpScript, VrrpSyncGroup } from '../config/schema/vrrp-blocks.js';
import { garpFrame, unsolicitedNaFrame } from '../net/frames.js';
import { PacketSender } from '../net/packet-socket.js';
import { type AddrInfo, KernelRtnl, type LinkInfo, type Rtnl, SCOPES } from '../net/rtnl.js';
import { type ReceivedPacket, VrrpSocket } from '../net/vrrp-socket.js';
import { RTM_DELROUTE, RTM_DELRULE, RTM_NEWROUTE, RTM_NEWRULE, routeMessage, routeWords, ruleMessage, ruleWords, unsupported } from '../net/routes.js';
import { type Clock, preciseClock, realClock } from '../util/clock.js';
import { ScriptQueue, runScript, splitCommand } from '../util/command.js';
import { RateLimiter } from '../util/rate-limit.js';
import { defaultRunAs, resolveRunAs } from '../util/users.js';
import { BurstAnnouncer } from './announce.js';
import type { Phase } from './fsm.js';
import { AUTH_PASS, encode } from './packet.js';
import { DROP_CODES, type DropCode, type InstanceView, validateAdvert } from './receive.js';
import { InstanceRunner, type Transition } from './runner.js';
import { ScriptTracker } from './track-script.js';
import { FileTracker } from './track-file.js';
import { type TrackReadings, effectivePriority, trackState } from './tracking.js';
import { NotifyFifo } from './notify-fifo.js';
import { type InstanceUpdate, planVrrpReload, stableJson, vipKernelKey, vipText } from './reload-diff.js';
import type { Hold } from './override.js';
import { type IpvsOpener, SyncDaemonControl, type SyncdStatus, syncRole, syncdConfig, wantedDaemons } from './sync-daemon.js';

/** A problem that stops the engine from starting (unknown interface, no source address...). */
export class EngineError extends Error {
  readonly code = 'VIGIL_VRRP_START';
}

/** What `vigil status` shows of one instance. */
export interface InstanceStatus {
  readonly name: string;
  readonly interface: string;
  readonly vrid: number;
  readonly state: Phase;
  readonly priority: number;
  readonly basePriority: number;
  readonly master?: string;
  readonly since: number;
  readonly lastTransition?: Transition;
  readonly drops: Readonly<Record<string, number>>;
  readonly advertsSent: number;
  readonly advertsReceived: number;
  /** Transitions into each state since start. */
  readonly transitions: Readonly<Record<string, number>>;
  /** Transitions out of MASTER (keepalived's "Released master"). */
  readonly releasedMaster: number;
  /** Priority-0 adverts sent (graceful stop, fault) and received (the master leaving). */
  readonly priorityZeroSent: number;
  readonly priorityZeroReceived: number;
  /** The IPVS sync daemon, on the instance lvs_sync_daemon names. */
  readonly syncDaemon?: SyncdStatus;
  /** `vigil failover` holds this instance in BACKUP (times as ISO dates). */
  readonly override?: { readonly by: string; readonly reason: string; readonly since: string; readonly until?: string };
}

/** An instance as it runs, for the keepalived-style data dump. */
export interface InstanceDescription {
  readonly status: InstanceStatus;
  readonly config: VrrpInstance;
  readonly version: 2 | 3;
  /** Source address of the adverts. */
  readonly source: string;
  /** Multicast group, or undefined for unicast. */
  readonly group?: string;
  readonly peers: readonly string[];
}

/** What a reload did to the VRRP engine (`vigil reload` prints it). */
export interface VrrpReloadReport {
  readonly kept: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Changed in place, without a transition. */
  readonly updated: readonly { readonly name: string; readonly details: readonly string[] }[];
  /** Identity changed (interface, VRID, family, unicast source): stopped and started again. */
  readonly restarted: readonly { readonly name: string; readonly why: string }[];
  /** vrrp_script trackers started, stopped or restarted because their definition changed. */
  readonly scripts: { readonly started: readonly string[]; readonly stopped: readonly string[] };
}

interface Inst {
  readonly cfg: VrrpInstance;
  readonly sockKey: string;
  readonly version: 2 | 3;
  readonly source: string;
  readonly group: string | undefined;
  readonly peers: readonly string[];
  readonly announcer: BurstAnnouncer;
  releasedMaster: number;
  p0Sent: number;
  p0Received: number;
  /** FAULT held because a sync-group member is in FAULT: group → reason. */
  readonly syncFaults: Map<string, string>;
  readonly view: InstanceView;
  readonly runner: InstanceRunner;
  readonly socket: VrrpSocket;
  readonly drops: Record<DropCode, number>;
  sent: number;
  received: number;
  readonly transitions: Record<string, number>;
  readonly notify: ScriptQueue;
}

/** The engine's collaborators; the defaults are the real kernel and clock. */
export interface EngineDeps {
  readonly log: Logger;
  readonly clock?: Clock;
  /** The runners' timers (adverts, master down); default: preciseClock() with the real clock, else `clock`. */
  readonly timerClock?: Clock;
  readonly rtnl?: Rtnl;
  /** Opens IPVS for lvs_sync_daemon (default: the generic-netlink driver, opened only when configured). */
  readonly ipvs?: IpvsOpener;
}

/**
 * Runs every vrrp_instance of a configuration: one raw socket per interface and family shared
 * by its instances (demultiplexed by VRID), VIPs through rtnetlink, GARP/NA bursts through a
 * packet socket, notify scripts in transition order, and the interface's own link state as a
 * fault source.
 */
export class VrrpEngine {
  private readonly insts = new Map<string, Inst>();
  private readonly sockets = new Map<string, { socket: VrrpSocket; byVrid: Map<number, Inst> }>();
  private readonly senders = new Map<string, PacketSender>();
  private readonly limiter: RateLimiter;
  private readonly clock: Clock;
  private readonly timerClock: Clock;
  private links = new Map<string, LinkInfo>();
  private readonly trackers = new Map<string, ScriptTracker>();
  private readonly files = new Map<string, FileTracker>();
  private fifo: NotifyFifo | undefined;
  /** Instance name → its sync group, if any. */
  private readonly groupOf = new Map<string, VrrpSyncGroup>();
  private syncing = false;
  private scripts: ReadonlyMap<string, VrrpScript>;
  private trackFiles: ReadonlyMap<string, TrackFile>;
  private rtnl!: Rtnl;
  private stopped = false;
  /** Reloads run one at a time. */
  private reloading: Promise<unknown> = Promise.resolve();
  /** The IPVS sync daemon (lvs_sync_daemon with an instance); created when first configured. */
  private syncd: SyncDaemonControl | undefined;
  /** Instances `vigil failover` holds in BACKUP (the supervisor owns the holds and sends the whole set). */
  private holds: Readonly<Record<string, Hold>> = {};

  private constructor(
    private config: Config,
    private readonly deps: EngineDeps,
  ) {
    this.clock = deps.clock ?? realClock;
    this.timerClock = deps.timerClock ?? (deps.clock === undefined ? preciseClock() : deps.clock);
    this.scripts = new Map(config.vrrpScripts.map((x) => [x.name, x]));
    this.trackFiles = new Map(config.trackFiles.map((x) => [x.name, x]));
    this.limiter = new RateLimiter(this.clock, 10_000);
  }

  /** Builds the engine: reads links and addresses, opens sockets; throws EngineError on what cannot work here. */
  static async create(config: Config, deps: EngineDeps): Promise<VrrpEngine> {
    const e = new VrrpEngine(config, deps);
    e.rtnl = deps.rtnl ?? new KernelRtnl({ onLink: (l) => e.onLink(l) });
    try {
      await e.init();
    } catch (err) {
      e.closeAll();
      throw err;
    }
    return e;
  }

  private async init(): Promise<void> {
    this.links = new Map((await this.rtnl.links()).map((l) => [l.name, l]));
    const addrs = await this.rtnl.addresses();
    for (const vi of this.config.vrrpInstances) this.register(this.build(vi, this.config, addrs));
    for (const g of this.config.vrrpSyncGroups) for (const m of g.group) this.groupOf.set(m, g);
    this.fifo = this.openFifo(this.config);
    for (const tf of trackedFiles(this.config)) this.files.set(tf.name, this.fileTracker(tf));
    for (const sc of trackedScripts(this.config)) this.trackers.set(sc.name, this.scriptTracker(sc, this.config));
  }

  private openFifo(config: Config): NotifyFifo | undefined {
    const fifoSpec = config.globalDefs.vrrpNotifyFifo ?? config.globalDefs.notifyFifo;
    if (!fifoSpec) return undefined;
    return new NotifyFifo(fifoSpec.path, (err) => {
      if (this.limiter.allow('fifo') >= 0) this.deps.log.warn({ op: 'vrrp.fifo', err }, `notify FIFO ${fifoSpec.path}: ${(err as Error).message}`);
    });
  }

  private fileTracker(tf: TrackFile): FileTracker {
    return new FileTracker(
      tf.name,
      tf.file,
      (value) => {
        this.deps.log.info({ op: 'vrrp.track_file', file: tf.file, name: tf.name, value }, `track_file ${tf.name} now holds ${value}`);
        this.tracked('file', tf.name);
      },
      tf.initFile,
    );
  }

  /** A tracker for one vrrp_script; throws EngineError when its user does not exist here. */
  private scriptTracker(sc: VrrpScript, config: Config): ScriptTracker {
    const argv = splitCommand(sc.script.command);
    const timing = { intervalMs: sc.intervalMs, timeoutMs: sc.timeoutMs ?? sc.intervalMs, rise: sc.rise, fall: sc.fall, initFail: sc.initFail };
    const runAs = sc.user ? resolveRunAs(sc.user.user, sc.user.group) : defaultRunAs(config.globalDefs.scriptUser);
    if (!runAs) throw new EngineError(`vrrp_script ${sc.name}: user ${sc.user?.user ?? ''} ${sc.user?.group ?? ''} does not exist here`);
    const ids = runAs.uid === process.getuid?.() && runAs.gid === process.getgid?.() ? {} : runAs;
    return new ScriptTracker(sc.name, timing, this.clock, (timeoutMs) => runScript(argv, { timeoutMs, ...ids }), (up, reason) => {
      this.deps.log.info({ op: 'vrrp.script', script: sc.name, up, reason }, reason);
      this.tracked('script', sc.name);
    });
  }

  /** Recomputes every tracked source after `name` changed, for the instances that track it. */
  private tracked(kind: 'script' | 'file', name: string): void {
    for (const inst of this.insts.values()) {
      const g = this.groupOf.get(inst.cfg.name);
      const entries = kind === 'script' ? [...inst.cfg.trackScript, ...(g?.trackScript ?? [])] : [...inst.cfg.trackFile, ...(g?.trackFile ?? [])];
      if (entries.some((t) => t.name === name)) this.reevaluate(inst);
    }
  }

  /** Recomputes the effective priority and the FAULT state from every tracked source. */
  private reevaluate(inst: Inst): void {
    if (this.stopped) return;
    const st = trackState(inst.cfg, this.groupOf.get(inst.cfg.name), this.scripts, this.trackFiles, this.readings);
    // held by `vigil failover`: the lowest priority, so this node never preempts and any peer preempts it
    inst.runner.setPriority(this.holds[inst.cfg.name] ? 1 : effectivePriority(inst.cfg.priority, st.weights));
    const faults = [...st.faults.values(), ...inst.syncFaults.values()];
    const phase = inst.runner.state.phase;
    if (faults.length > 0 && phase !== 'FAULT' && phase !== 'INIT') inst.runner.fault(faults.join('; '));
    else if (faults.length === 0 && phase === 'FAULT') inst.runner.faultCleared();
  }

  private readonly readings: TrackReadings = {
    linkRunning: (n) => this.links.get(n)?.running === true,
    scriptUp: (n) => this.trackers.get(n)?.up,
    fileValue: (n) => this.files.get(n)?.value,
  };

  /**
   * Builds an instance for `config` without registering it: its socket (shared per interface and
   * family, created when missing), advert sender, announcer, notify queue and runner. Throws
   * EngineError on what cannot work here. `carry`: the running instance this one replaces on a
   * reload; its notify queue (transition order), counters and sync-group faults carry over.
   */
  private build(vi: VrrpInstance, config: Config, addrs: AddrInfo[], carry?: Inst): Inst {
    const log = this.deps.log;
    const ifname = vi.interface;
    if (!ifname || vi.vrid === undefined) throw new EngineError(`vrrp_instance ${vi.name}: needs an interface and a virtual_router_id`);
    const link = this.links.get(ifname);
    if (!link) throw new EngineError(`vrrp_instance ${vi.name}: interface ${ifname} does not exist`);
    const family = vi.virtualIpaddress[0]?.family ?? (vi.unicastSrcIp?.includes(':') ? 6 : 4);
    const version = vi.version ?? config.globalDefs.vrrpVersion;
    const vipSet = new Set(vi.virtualIpaddress.filter((v) => v.family === family).map((v) => v.address));
    const allVips = [...vi.virtualIpaddress, ...vi.virtualIpaddressExcluded];
    const ours = new Set(allVips.map((v) => v.address));
    const source =
      vi.unicastSrcIp ??
      addrs.find((a) => a.index === link.index && a.family === family && (family === 4 ? a.scope === 0 : a.scope === SCOPES.link) && !ours.has(a.address))?.address;
    if (!source) throw new EngineError(`vrrp_instance ${vi.name}: ${ifname} has no ${family === 4 ? 'IPv4' : 'IPv6 link-local'} address to send adverts from (set unicast_src_ip)`);
    const peers = vi.unicastPeer.map((p) => p.address);
    const auth = vi.authentication;
    const g = config.globalDefs;
    const group = vi.mcastDstIp ?? (family === 4 ? g.vrrpMcastGroup4 : g.vrrpMcastGroup6);
    const view: InstanceView = {
      name: vi.name,
      vrid: vi.vrid,
      version,
      advertIntMs: vi.advertIntMs,
      ...(auth && version === 2 ? { auth } : {}),
      addresses: vipSet,
      own: new Set([source]),
      ...(peers.length > 0
        ? {
            // keepalived accepts adverts from any source unless check_unicast_src is set.
            ...(vi.checkUnicastSrc || g.vrrpCheckUnicastSrc ? { peers: new Set(peers) } : {}),
            unicastTtl: new Map(vi.unicastPeer.map((p) => [p.address, { ...(p.minTtl !== undefined ? { min: p.minTtl } : {}), ...(p.maxTtl !== undefined ? { max: p.maxTtl } : {}) }])),
          }
        : {}),
      ...(vi.skipCheckAdvAddr ?? g.vrrpSkipCheckAdvAddr ? { skipCheckAddresses: true } : {}),
    };
    const key = `${ifname}/${family}`;
    let sock = this.sockets.get(key);
    if (!sock) {
      const byVrid = new Map<number, Inst>();
      const socket = new VrrpSocket({ family, ifname, source, multicast: peers.length === 0, group }, (p) => this.receive(byVrid, p));
      sock = { socket, byVrid };
      this.sockets.set(key, sock);
    }
    const socket = sock.socket;
    if (peers.length === 0) socket.join(group);
    const addresses = [...vipSet];
    const dsts = peers.length > 0 ? peers : [group];
    let inst: Inst;
    const send = (priority: number): void => {
      for (const dst of dsts) {
        const pkt = encode(
          { version, vrid: vi.vrid!, priority, advertIntMs: vi.advertIntMs, addresses, family, ...(auth && version === 2 ? { authType: auth.type === 'PASS' ? AUTH_PASS : 2, password: auth.pass } : {}) },
          { src: source, dst },
        );
        try {
          socket.send(pkt, dst, vi.unicastTtl ?? 255);
          inst.sent++;
          if (priority === 0) inst.p0Sent++;
        } catch (err) {
          if (this.limiter.allow(`${vi.name}/send`) >= 0) log.error({ op: 'vrrp.send', instance: vi.name, err }, 'sending advert failed');
        }
      }
    };
    const announcer = new BurstAnnouncer(
      this.clock,
      {
        repeat: vi.garpMasterRepeat ?? g.vrrpGarpMasterRepeat,
        delayMs: vi.garpMasterDelayMs ?? g.vrrpGarpMasterDelayMs,
        refreshMs: vi.garpMasterRefreshMs ?? g.vrrpGarpMasterRefreshMs,
        refreshRepeat: vi.garpMasterRefreshRepeat ?? g.vrrpGarpMasterRefreshRepeat,
        lowerPrioRepeat: vi.garpLowerPrioRepeat ?? g.vrrpGarpLowerPrioRepeat ?? vi.garpMasterRepeat ?? g.vrrpGarpMasterRepeat,
        lowerPrioDelayMs: vi.garpLowerPrioDelayMs ?? g.vrrpGarpLowerPrioDelayMs ?? vi.garpMasterDelayMs ?? g.vrrpGarpMasterDelayMs,
      },
      () => this.announce(vi, allVips),
      (err) => {
        if (this.limiter.allow(`${vi.name}/garp`) >= 0) log.error({ op: 'vrrp.announce', instance: vi.name, err }, 'sending gratuitous ARP/NA failed');
      },
    );
    const notify = carry?.notify ?? new ScriptQueue((argv, r) => {
      if (r.code !== 0) log.warn({ op: 'vrrp.notify', instance: vi.name, script: argv.join(' '), code: r.code, signal: r.signal, timedOut: r.timedOut, err: r.error }, 'notify script failed');
    });
    const runner = new InstanceRunner(
      vi.name,
      {
        version,
        advertIntMs: vi.advertIntMs,
        preempt: !vi.nopreempt,
        preemptDelayMs: vi.preemptDelayMs,
        primaryAddress: source,
        downTimerAdverts: vi.downTimerAdverts ?? g.vrrpDownTimerAdverts,
        lowerPrioNoAdvert: vi.lowerPrioNoAdvert ?? g.vrrpLowerPrioNoAdvert,
        higherPrioSendAdvert: vi.higherPrioSendAdvert ?? g.vrrpHigherPrioSendAdvert,
      },
      vi.priority,
      {
        clock: this.timerClock,
        send,
        announcer,
        vips: {
          add: async () => {
            await this.vipChange(vi, allVips, 'add');
            await this.routeChange(vi, true);
          },
          remove: async () => {
            await this.routeChange(vi, false);
            await this.vipChange(vi, allVips, 'remove');
          },
        },
        onTransition: (t) => this.transition(inst, t),
        onEvent: (reason) => {
          log.info({ op: 'vrrp.event', instance: vi.name, reason }, reason);
          // the end of an adopting start is an event, not a transition: the daemon may go back to backup
          if (vi.name === syncdConfig(this.config)?.instance && !this.stopped) void this.followSyncd(reason);
        },
        onLowerPriority: (from, prio) => {
          log.info({ op: 'vrrp.lower_priority', instance: vi.name, from, priority: prio }, `(${vi.name}) master received a lower priority (${prio}) advert from ${from}`);
          if (vi.notifyMasterRxLowerPri) inst.notify.push(splitCommand(vi.notifyMasterRxLowerPri.command));
        },
      },
    );
    inst = {
      cfg: vi,
      sockKey: key,
      version,
      source,
      group: peers.length === 0 ? group : undefined,
      peers,
      announcer,
      syncFaults: carry?.syncFaults ?? new Map(),
      view,
      runner,
      socket,
      drops: carry?.drops ?? (Object.fromEntries(DROP_CODES.map((c) => [c, 0])) as Record<DropCode, number>),
      sent: 0,
      received: 0,
      transitions: carry?.transitions ?? {},
      releasedMaster: 0,
      p0Sent: 0,
      p0Received: 0,
      notify,
    };
    return inst;
  }

  /** Makes a built instance the one that receives its VRID's adverts and shows in status. */
  private register(inst: Inst): void {
    this.sockets.get(inst.sockKey)!.byVrid.set(inst.cfg.vrid!, inst);
    this.insts.set(inst.cfg.name, inst);
  }

  /** Forgets an instance; `close`: closes its socket when no other instance uses it. */
  private unregister(inst: Inst, close = true): void {
    if (this.insts.get(inst.cfg.name) === inst) this.insts.delete(inst.cfg.name);
    const sock = this.sockets.get(inst.sockKey);
    if (sock && sock.byVrid.get(inst.cfg.vrid!) === inst) sock.byVrid.delete(inst.cfg.vrid!);
    if (close) this.closeUnusedSockets();
  }

  private closeUnusedSockets(): void {
    for (const [key, sock] of this.sockets) {
      if (sock.byVrid.size > 0) continue;
      sock.socket.close();
      this.sockets.delete(key);
    }
  }

  /** Starts every instance; an instance whose interface is down starts in FAULT. */
  async start(): Promise<void> {
    let addrs: AddrInfo[] | undefined;
    try {
      addrs = await this.rtnl.addresses();
    } catch (err) {
      this.deps.log.warn({ op: 'vrrp.adopt', err }, `could not read the interface addresses to adopt VIPs left by a previous run: ${(err as Error).message}`);
    }
    for (const inst of this.insts.values()) await this.startInstance(inst, addrs);
    for (const tr of this.trackers.values()) tr.start();
    for (const f of this.files.values()) f.start();
    await this.followSyncd('start');
  }

  /**
   * Points the IPVS sync daemon at the state of the instance lvs_sync_daemon names (sync-daemon.ts):
   * master daemon while it is MASTER, backup daemon otherwise, none once stopped or unconfigured.
   */
  private followSyncd(reason: string): Promise<void> {
    const cfg = syncdConfig(this.config);
    // without an instance the checker child runs both daemons: two processes must not fight over them
    if (cfg && cfg.instance === undefined) return Promise.resolve();
    const inst = cfg?.instance !== undefined ? this.insts.get(cfg.instance) : undefined;
    if (!inst && !this.syncd) return Promise.resolve();
    const role = inst && !this.stopped ? syncRole(inst.runner.state.phase, inst.runner.state.adopting === true) : 'none';
    this.syncd ??= new SyncDaemonControl(this.deps.ipvs ?? (async () => (await import('../ipvs/driver.js')).IpvsDriver.open()), this.deps.log, cfg?.instance, { clock: this.clock });
    return this.syncd.set(wantedDaemons(inst ? cfg : undefined, inst?.cfg.vrid ?? 0, role), inst ? `${reason} (${inst.cfg.name} is ${inst.runner.state.phase})` : reason);
  }

  /**
   * Starts one instance. `addrs` (engine start only, not reloads): the kernel's addresses; when
   * some of the instance's VIPs are already there (an earlier run was killed), they are kept and
   * the instance makes the adopting start (fsm.ts). Otherwise leftovers are removed, keepalived's way.
   */
  private async startInstance(inst: Inst, addrs?: readonly AddrInfo[]): Promise<void> {
    const vips = [...inst.cfg.virtualIpaddress, ...inst.cfg.virtualIpaddressExcluded];
    const leftover = addrs ? vips.filter((v) => addrs.some((a) => a.index === this.links.get(v.dev ?? inst.cfg.interface!)?.index && a.family === v.family && a.address === v.address)) : [];
    // a held address owner (vigil failover) starts at priority 1 like any backup: it is no owner now
    const owner = inst.cfg.priority === 255 && !this.holds[inst.cfg.name];
    if (leftover.length > 0 && !owner) {
      this.deps.log.info(
        { op: 'vrrp.adopt', instance: inst.cfg.name, vips: leftover.map(vipText) },
        `(${inst.cfg.name}) found VIPs left by a previous run: ${leftover.map(vipText).join(', ')}; keeping them until a master is heard or master_down_interval passes`,
      );
      inst.runner.start(true);
    } else {
      // VIPs left by an earlier run stay only if this node wins the election again.
      if (!owner) await this.vipChange(inst.cfg, vips, 'remove', true);
      inst.runner.start();
    }
    this.reevaluate(inst);
  }

  /** Graceful stop: priority-0 adverts from masters, VIPs removed, sockets closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const tr of this.trackers.values()) tr.stop();
    for (const f of this.files.values()) f.stop();
    await Promise.all([...this.insts.values()].map((i) => i.runner.stop()));
    await this.followSyncd('shutdown');
    this.syncd?.close();
    for (const st of this.snapshot()) {
      const drops = Object.fromEntries(Object.entries(st.drops).filter(([, n]) => n > 0));
      this.deps.log.info({ op: 'vrrp.counters', instance: st.name, sent: st.advertsSent, received: st.advertsReceived, drops }, `(${st.name}) adverts sent ${st.advertsSent}, received ${st.advertsReceived}, dropped ${JSON.stringify(drops)}`);
    }
    await Promise.all([...this.insts.values()].map((i) => i.notify.idle()));
    this.closeAll();
  }

  /**
   * Applies a new configuration, changing only the difference (reload-diff.ts): unchanged
   * instances are not touched; changed ones keep their running state (no transition) and take
   * the new settings, priority and VIP list — a MASTER adds and removes just the addresses that
   * changed; new instances start; removed ones stop (priority-0 advert and VIPs released when
   * MASTER). Everything that can fail is built before anything running is touched: when the
   * promise rejects, nothing changed. Reloads run one at a time.
   */
  reload(next: Config): Promise<VrrpReloadReport> {
    const run = this.reloading.then(() => this.applyReload(next));
    this.reloading = run.catch(() => {});
    return run;
  }

  private async applyReload(next: Config): Promise<VrrpReloadReport> {
    if (this.stopped) throw new EngineError('the VRRP engine is stopping');
    const before = this.config;
    const plan = planVrrpReload(before, next);
    const wanted = new Map(next.vrrpInstances.map((v) => [v.name, v]));
    const inPlace = plan.update.filter((u) => !u.restart);
    const restarted = plan.update.filter((u) => u.restart !== undefined);
    const fresh = [...plan.add, ...restarted.map((u) => u.name)];
    const scriptKey = (c: Config, sc: VrrpScript) => stableJson([sc, sc.user ? null : (c.globalDefs.scriptUser ?? null)]);
    // 1. Build what is new, touching nothing that runs.
    const built = new Map<string, Inst>();
    const newTrackers = new Map<string, ScriptTracker>();
    const newFiles = new Map<string, FileTracker>();
    try {
      const addrs = await this.rtnl.addresses();
      for (const name of fresh) built.set(name, this.build(wanted.get(name)!, next, addrs));
      for (const u of inPlace) built.set(u.name, this.build(wanted.get(u.name)!, next, addrs, this.insts.get(u.name)));
      for (const sc of trackedScripts(next)) {
        const was = this.scripts.get(sc.name);
        if (this.trackers.has(sc.name) && was && scriptKey(before, was) === scriptKey(next, sc)) continue;
        newTrackers.set(sc.name, this.scriptTracker(sc, next));
      }
      for (const tf of trackedFiles(next)) {
        const was = this.trackFiles.get(tf.name);
        if (this.files.has(tf.name) && was && stableJson(was) === stableJson(tf)) continue;
        newFiles.set(tf.name, this.fileTracker(tf));
      }
    } catch (err) {
      this.closeUnusedSockets(); // sockets opened for instances that will not run
      for (const f of newFiles.values()) f.stop();
      throw err;
    }
    // 2. Commit. The maps the trackers and sync groups read come first.
    this.config = next;
    this.scripts = new Map(next.vrrpScripts.map((x) => [x.name, x]));
    this.trackFiles = new Map(next.trackFiles.map((x) => [x.name, x]));
    this.groupOf.clear();
    for (const g of next.vrrpSyncGroups) for (const m of g.group) this.groupOf.set(m, g);
    const scriptsNow = new Set(trackedScripts(next).map((x) => x.name));
    const stoppedScripts: string[] = [];
    for (const [name, tr] of this.trackers)
      if (!scriptsNow.has(name) || newTrackers.has(name)) {
        tr.stop();
        this.trackers.delete(name);
        if (!newTrackers.has(name)) stoppedScripts.push(name);
      }
    for (const [name, tr] of newTrackers) this.trackers.set(name, tr);
    const filesNow = new Set(trackedFiles(next).map((x) => x.name));
    for (const [name, f] of this.files)
      if (!filesNow.has(name) || newFiles.has(name)) {
        f.stop();
        this.files.delete(name);
      }
    for (const [name, f] of newFiles) this.files.set(name, f);
    const fifoOf = (c: Config) => stableJson(c.globalDefs.vrrpNotifyFifo ?? c.globalDefs.notifyFifo ?? null);
    if (fifoOf(before) !== fifoOf(next)) {
      this.fifo?.close();
      this.fifo = this.openFifo(next);
    }
    // Removed instances, and the old side of restarted ones: a graceful stop of each.
    const oldCfg = new Map(before.vrrpInstances.map((v) => [v.name, v]));
    for (const name of [...plan.remove, ...restarted.map((u) => u.name)]) {
      const inst = this.insts.get(name);
      if (!inst) continue;
      this.deps.log.info({ op: 'vrrp.reload.stop', instance: name }, `(${name}) ${plan.remove.includes(name) ? 'removed from the configuration' : restarted.find((u) => u.name === name)!.restart!}: stopping`);
      await inst.runner.stop();
      this.unregister(inst, false);
    }
    // Changed instances: the new build takes over the running state.
    for (const u of inPlace) {
      const old = this.insts.get(u.name)!;
      const neu = built.get(u.name)!;
      neu.runner.adopt(old.runner);
      neu.sent = old.sent;
      neu.received = old.received;
      neu.releasedMaster = old.releasedMaster;
      neu.p0Sent = old.p0Sent;
      neu.p0Received = old.p0Received;
      this.unregister(old, false);
      this.register(neu);
      this.deps.log.info({ op: 'vrrp.reload.update', instance: u.name, changed: u.changed, state: neu.runner.state.phase }, `(${u.name}) updated in place (${neu.runner.state.phase}): ${u.details.join('; ')}`);
      this.applyDelta(neu, oldCfg.get(u.name)!, u);
    }
    for (const name of fresh) this.register(built.get(name)!);
    this.closeUnusedSockets();
    for (const name of fresh) {
      this.deps.log.info({ op: 'vrrp.reload.start', instance: name }, `(${name}) ${plan.add.includes(name) ? 'added to the configuration' : 'restarted'}: starting`);
      await this.startInstance(built.get(name)!);
    }
    if (stableJson(before.vrrpSyncGroups) !== stableJson(next.vrrpSyncGroups)) this.recomputeSyncFaults();
    for (const u of inPlace) this.reevaluate(built.get(u.name)!);
    for (const tr of newTrackers.values()) tr.start();
    for (const f of newFiles.values()) f.start();
    await this.followSyncd('reload');
    return {
      kept: plan.keep,
      added: plan.add,
      removed: plan.remove,
      updated: inPlace.map((u) => ({ name: u.name, details: u.details })),
      restarted: restarted.map((u) => ({ name: u.name, why: u.restart! })),
      scripts: { started: [...newTrackers.keys()], stopped: stoppedScripts },
    };
  }

  /**
   * The kernel side of an in-place update, queued after the instance's pending VIP changes: a
   * MASTER adds the new VIPs and routes; addresses and routes no longer configured go, whatever
   * the state (a VIP another MASTER instance still holds stays). An address whose attributes
   * changed (label, scope...) is removed before it is added again.
   */
  private applyDelta(inst: Inst, oldVi: VrrpInstance, u: InstanceUpdate): void {
    const vi = inst.cfg;
    const newKeys = new Set(u.vipsAdded.map((v) => vipKernelKey(vi, v)));
    const replaced = u.vipsRemoved.filter((v) => newKeys.has(vipKernelKey(oldVi, v)));
    const gone = u.vipsRemoved.filter((v) => !newKeys.has(vipKernelKey(oldVi, v)));
    const words = (xs: readonly { words: readonly string[] }[]) => new Set(xs.map((x) => x.words.join(' ')));
    const [r0, r1, q0, q1] = [words(oldVi.virtualRoutes), words(vi.virtualRoutes), words(oldVi.virtualRules), words(vi.virtualRules)];
    const routesAdded = { routes: vi.virtualRoutes.filter((r) => !r0.has(r.words.join(' '))), rules: vi.virtualRules.filter((r) => !q0.has(r.words.join(' '))) };
    const routesGone = { routes: oldVi.virtualRoutes.filter((r) => !r1.has(r.words.join(' '))), rules: oldVi.virtualRules.filter((r) => !q1.has(r.words.join(' '))) };
    if (u.vipsAdded.length + u.vipsRemoved.length + routesAdded.routes.length + routesAdded.rules.length + routesGone.routes.length + routesGone.rules.length === 0) {
      if (inst.runner.state.phase === 'MASTER' && u.changed.some((c) => c.startsWith('garp_'))) inst.announcer.start('takeover');
      return;
    }
    inst.runner.enqueue(async () => {
      const master = inst.runner.state.phase === 'MASTER';
      const heldElsewhere = this.heldByOtherMasters(vi.name);
      const release = (vips: readonly VirtualIp[]) => vips.filter((v) => !heldElsewhere.has(vipKernelKey(oldVi, v)));
      if (replaced.length > 0) await this.vipChange(oldVi, release(replaced), 'remove', true);
      if (master) {
        await this.vipChange(vi, u.vipsAdded, 'add');
        await this.routeChange(vi, true, routesAdded);
      }
      await this.routeChange(oldVi, false, routesGone);
      await this.vipChange(oldVi, release(gone), 'remove', true);
      if (master && inst.runner.state.phase === 'MASTER' && u.vipsAdded.length > 0) {
        this.deps.log.info({ op: 'vrrp.reload.announce', instance: vi.name, vips: u.vipsAdded.map(vipText) }, `(${vi.name}) announcing the added VIPs`);
        inst.announcer.start('takeover');
      }
    });
  }

  /** Kernel keys of the VIPs held by MASTER instances other than `name`. */
  private heldByOtherMasters(name: string): Set<string> {
    const out = new Set<string>();
    for (const i of this.insts.values())
      if (i.cfg.name !== name && i.runner.state.phase === 'MASTER') for (const v of [...i.cfg.virtualIpaddress, ...i.cfg.virtualIpaddressExcluded]) out.add(vipKernelKey(i.cfg, v));
    return out;
  }

  /** After a sync-group change: which members are held in FAULT by another member's own fault. */
  private recomputeSyncFaults(): void {
    for (const inst of this.insts.values()) inst.syncFaults.clear();
    for (const g of this.config.vrrpSyncGroups) {
      const members = g.group.map((n) => this.insts.get(n)).filter((m): m is Inst => m !== undefined);
      for (const m of members) {
        if (trackState(m.cfg, g, this.scripts, this.trackFiles, this.readings).faults.size === 0) continue;
        for (const o of members) if (o !== m) o.syncFaults.set(g.name, `sync group ${g.name}: ${m.cfg.name} is FAULT`);
      }
    }
    for (const inst of this.insts.values()) this.reevaluate(inst);
  }

  /**
   * Applies the operator's holds (`vigil failover`), the whole set each time: a newly held MASTER
   * hands over with a priority-0 advert (the peer takes over after its skew time) and every held
   * instance runs at priority 1 — it never preempts, and takes the VIP only when no master is
   * heard at all (availability first: a held node still covers a dead peer). A released
   * instance takes its priority back and preempts by the usual rules. Returns what each held
   * instance is doing now.
   */
  setHolds(holds: Readonly<Record<string, Hold>>): Record<string, string> {
    const before = this.holds;
    this.holds = holds;
    for (const inst of this.insts.values()) {
      const name = inst.cfg.name;
      const h = holds[name];
      if (h && !before[name]) {
        const why = `operator failover by ${h.by}: ${h.reason}`;
        this.deps.log.debug({ op: 'vrrp.override', instance: name, by: h.by, reason: h.reason, until: h.until }, `(${name}) held in BACKUP: ${why}`);
        inst.runner.yieldMaster(why);
        this.reevaluate(inst);
      } else if (!h && before[name]) {
        this.deps.log.debug({ op: 'vrrp.override', instance: name, released: true }, `(${name}) failover hold released: back to priority ${inst.cfg.priority}`);
        this.reevaluate(inst);
      }
    }
    return Object.fromEntries([...this.insts.values()].filter((i) => holds[i.cfg.name]).map((i) => [i.cfg.name, i.runner.state.phase]));
  }

  /** The state of every instance, for `vigil status`. */
  snapshot(): InstanceStatus[] {
    return [...this.insts.values()].map((i) => {
      const s = i.runner.state;
      return {
        name: i.cfg.name,
        interface: i.cfg.interface ?? '',
        vrid: i.cfg.vrid ?? 0,
        state: s.phase,
        priority: s.priority,
        basePriority: i.cfg.priority,
        ...(s.masterAddress ? { master: s.masterAddress } : {}),
        since: s.since,
        ...(i.runner.last ? { lastTransition: i.runner.last } : {}),
        drops: { ...i.drops },
        advertsSent: i.sent,
        advertsReceived: i.received,
        transitions: { ...i.transitions },
        releasedMaster: i.releasedMaster,
        priorityZeroSent: i.p0Sent,
        priorityZeroReceived: i.p0Received,
        ...(this.syncd && syncdConfig(this.config)?.instance === i.cfg.name ? { syncDaemon: this.syncd.status() } : {}),
        ...(this.holds[i.cfg.name] ? { override: overrideView(this.holds[i.cfg.name]!) } : {}),
      };
    });
  }

  /** Every instance with the configuration it runs, for the keepalived-style data dump. */
  describe(): InstanceDescription[] {
    const snap = new Map(this.snapshot().map((st) => [st.name, st]));
    return [...this.insts.values()].map((i) => ({
      status: snap.get(i.cfg.name)!,
      config: i.cfg,
      version: i.version,
      source: i.source,
      ...(i.group !== undefined ? { group: i.group } : {}),
      peers: i.peers,
    }));
  }

  /** The up/down state of every running vrrp_script tracker (after rise/fall). */
  scriptStates(): Record<string, boolean> {
    return Object.fromEntries([...this.trackers].map(([name, tr]) => [name, tr.up]));
  }

  /** The configuration running now (the last one reloaded). */
  get running(): Config {
    return this.config;
  }

  private receive(byVrid: Map<number, Inst>, p: ReceivedPacket): void {
    try {
      this.accept(byVrid, p);
    } catch (err) {
      // A bug must cost one packet, never the daemon.
      if (this.limiter.allow('receive-bug') >= 0) this.deps.log.error({ op: 'vrrp.receive', src: p.src, err }, 'handling a received packet failed');
    }
  }

  private accept(byVrid: Map<number, Inst>, p: ReceivedPacket): void {
    const v = validateAdvert(p, (vrid) => byVrid.get(vrid)?.view);
    if (v.ok) {
      const inst = byVrid.get(v.advert.vrid)!;
      inst.received++;
      if (v.advert.priority === 0) inst.p0Received++;
      inst.runner.advert(p.src, v.advert.priority, v.advert.advertIntMs);
      return;
    }
    const inst = v.instance ? this.insts.get(v.instance.name) : undefined;
    if (inst) inst.drops[v.code]++;
    if (v.code === 'unknown-vrid' || v.code === 'own') return;
    const suppressed = this.limiter.allow(`${v.instance?.name ?? p.src}/${v.code}`);
    if (suppressed >= 0)
      this.deps.log.warn({ op: 'vrrp.drop', instance: v.instance?.name, reason: v.code, src: p.src, suppressed }, `${v.message}${suppressed > 0 ? ` (${suppressed} more dropped since last logged)` : ''}`);
  }

  private transition(inst: Inst, t: Transition): void {
    inst.transitions[t.to] = (inst.transitions[t.to] ?? 0) + 1;
    if (t.from === 'MASTER') inst.releasedMaster++;
    this.deps.log.info({ op: 'vrrp.transition', instance: t.instance, from: t.from, to: t.to, priority: t.priority, reason: t.reason }, `(${t.instance}) Entering ${t.to} STATE: ${t.reason}`);
    const vi = inst.cfg;
    const specific = t.to === 'MASTER' ? vi.notifyMaster : t.to === 'BACKUP' ? vi.notifyBackup : t.to === 'FAULT' ? vi.notifyFault : vi.notifyStop;
    if (specific) inst.notify.push(splitCommand(specific.command));
    if (vi.notify) inst.notify.push([...splitCommand(vi.notify.command), 'INSTANCE', vi.name, t.to === 'INIT' ? 'STOP' : t.to, String(t.priority)]);
    this.fifo?.write(`INSTANCE "${vi.name}" ${t.to === 'INIT' ? 'STOP' : t.to} ${t.priority}`);
    if (vi.name === syncdConfig(this.config)?.instance && !this.stopped) void this.followSyncd(`${t.from}→${t.to}`);
    this.sync(inst, t);
  }

  /**
   * vrrp_sync_group: members move together (keepalived vrrp_sync.c): one becomes MASTER → the
   * others in BACKUP follow; one falls back to BACKUP → the masters follow; one enters FAULT →
   * the others are held in FAULT until it leaves it. Group notify scripts and FIFO lines fire
   * once per group change.
   */
  private sync(inst: Inst, t: Transition): void {
    const g = this.groupOf.get(inst.cfg.name);
    if (!g || this.syncing || this.stopped) return;
    this.syncing = true;
    try {
      const members = g.group.map((n) => this.insts.get(n)).filter((m): m is Inst => m !== undefined && m !== inst);
      const why = `sync group ${g.name}: ${inst.cfg.name} is ${t.to}`;
      for (const m of members) {
        if (t.to === 'MASTER') m.runner.syncMaster(why);
        else if (t.to === 'BACKUP' && t.from === 'MASTER') m.runner.syncBackup(why);
        if (t.to === 'FAULT') {
          m.syncFaults.set(g.name, why);
          this.reevaluate(m);
        } else if (t.from === 'FAULT') {
          m.syncFaults.delete(g.name);
          this.reevaluate(m);
        }
      }
      const states = new Set([inst, ...members].map((m) => m.runner.state.phase));
      if (states.size === 1) this.groupNotify(g, t.to, inst);
    } finally {
      this.syncing = false;
    }
  }

  private groupNotify(g: VrrpSyncGroup, to: Phase, via: Inst): void {
    const state = to === 'INIT' ? 'STOP' : to;
    const specific = to === 'MASTER' ? g.notifyMaster : to === 'BACKUP' ? g.notifyBackup : to === 'FAULT' ? g.notifyFault : g.notifyStop;
    if (specific) via.notify.push(splitCommand(specific.command));
    if (g.notify) via.notify.push([...splitCommand(g.notify.command), 'GROUP', g.name, state, '0']);
    this.fifo?.write(`GROUP "${g.name}" ${state}`);
    this.deps.log.info({ op: 'vrrp.group', group: g.name, state }, `(${g.name}) sync group entering ${state}`);
  }

  private onLink(l: LinkInfo): void {
    const prev = this.links.get(l.name);
    this.links.set(l.name, l);
    if (prev && prev.running === l.running) return;
    if (prev) this.deps.log.info({ op: 'link', ifname: l.name, running: l.running }, `interface ${l.name} is ${l.running ? 'up' : 'down'}`);
    for (const inst of this.insts.values()) this.reevaluate(inst);
  }

  private async vipChange(vi: VrrpInstance, vips: readonly VirtualIp[], op: 'add' | 'remove', quiet = false): Promise<void> {
    for (const v of vips) {
      const dev = v.dev ?? vi.interface!;
      const link = this.links.get(dev);
      if (!link) {
        this.deps.log.error({ op: `vrrp.vip.${op}`, instance: vi.name, vip: v.address, dev }, `interface ${dev} of VIP ${v.address} does not exist`);
        continue;
      }
      const spec = {
        index: link.index,
        family: v.family,
        address: v.address,
        prefix: v.prefix,
        ...(v.brd ? { broadcast: v.brd } : {}),
        ...(v.peer ? { peer: v.peer } : {}),
        ...(v.label ? { label: v.label } : {}),
        ...(v.scope !== undefined ? { scope: SCOPES[v.scope] ?? Number(v.scope) } : {}),
        // keepalived adds IPv6 VIPs with nodad so they are usable at once after a takeover.
        noDad: v.family === 6 ? v.noDad !== false : false,
        ...(v.home ? { home: true } : {}),
        ...(v.noPrefixRoute ? { noPrefixRoute: true } : {}),
      };
      try {
        const r = op === 'add' ? await this.rtnl.addAddress(spec) : await this.rtnl.deleteAddress(spec);
        if (!quiet || r === 'deleted') this.deps.log.info({ op: `vrrp.vip.${op}`, instance: vi.name, vip: `${v.address}/${v.prefix}`, dev, result: r }, `${op === 'add' ? 'added' : 'removed'} VIP ${v.address}/${v.prefix} on ${dev}${r === 'exists' || r === 'absent' ? ` (${r} already)` : ''}`);
      } catch (err) {
        this.deps.log.error({ op: `vrrp.vip.${op}`, instance: vi.name, vip: v.address, dev, err }, `could not ${op} VIP ${v.address}/${v.prefix} on ${dev}`);
      }
    }
  }

  /** virtual_routes and virtual_rules: added on MASTER, removed otherwise (rules before routes on removal). */
  private async routeChange(vi: VrrpInstance, adding: boolean, only?: { routes: VrrpInstance['virtualRoutes']; rules: VrrpInstance['virtualRules'] }): Promise<void> {
    const routes = only?.routes ?? vi.virtualRoutes;
    const rules = only?.rules ?? vi.virtualRules;
    const ops: { what: string; words: readonly string[]; known: ReadonlySet<string>; build: (seq: number) => Buffer }[] = [
      ...routes.map((r) => ({ what: 'route', words: r.words, known: routeWords, build: (seq: number) => routeMessage(adding ? RTM_NEWROUTE : RTM_DELROUTE, seq, r, (d) => this.links.get(d)?.index) })),
      ...rules.map((r) => ({ what: 'rule', words: r.words, known: ruleWords, build: (seq: number) => ruleMessage(adding ? RTM_NEWRULE : RTM_DELRULE, seq, r) })),
    ];
    for (const o of adding ? ops : ops.reverse()) {
      const line = o.words.join(' ');
      const why = unsupported(o.words, o.known);
      if (why) {
        if (adding) this.deps.log.error({ op: `vrrp.${o.what}`, instance: vi.name, [o.what]: line }, `virtual_${o.what}s '${line}': ${why}; skipped`);
        continue;
      }
      try {
        const r = await this.rtnl.change(`rtnl.${adding ? 'add' : 'delete'} ${o.what} ${line}`, adding, o.build);
        this.deps.log.info({ op: `vrrp.${o.what}.${adding ? 'add' : 'remove'}`, instance: vi.name, [o.what]: line, result: r }, `${adding ? 'added' : 'removed'} ${o.what} ${line}`);
      } catch (err) {
        this.deps.log.error({ op: `vrrp.${o.what}`, instance: vi.name, [o.what]: line, err }, `could not ${adding ? 'add' : 'remove'} ${o.what} ${line}: ${(err as Error).message}`);
      }
    }
  }

  private announce(vi: VrrpInstance, vips: readonly VirtualIp[]): void {
    for (const v of vips) {
      const dev = v.dev ?? vi.interface!;
      const link = this.links.get(dev);
      if (!link || !link.mac) continue;
      let s = this.senders.get(dev);
      if (!s) this.senders.set(dev, (s = new PacketSender(dev)));
      s.send(v.family === 4 ? garpFrame(link.mac, v.address) : unsolicitedNaFrame(link.mac, v.address));
    }
  }

  private closeAll(): void {
    for (const s of this.sockets.values()) s.socket.close();
    for (const s of this.senders.values()) s.close();
    this.fifo?.close();
    this.rtnl?.close();
  }
}

function overrideView(h: Hold): NonNullable<InstanceStatus['override']> {
  return { by: h.by, reason: h.reason, since: new Date(h.since).toISOString(), ...(h.until !== undefined ? { until: new Date(h.until).toISOString() } : {}) };
}

/** The vrrp_scripts some instance or sync group tracks (keepalived runs only those). */
function trackedScripts(c: Config): VrrpScript[] {
  const names = new Set([...c.vrrpInstances.flatMap((vi) => vi.trackScript.map((t) => t.name)), ...c.vrrpSyncGroups.flatMap((g) => g.trackScript.map((t) => t.name))]);
  return c.vrrpScripts.filter((s) => names.has(s.name));
}

/** The track_files some instance or sync group tracks (keepalived reads only those). */
function trackedFiles(c: Config): TrackFile[] {
  const names = new Set([...c.vrrpInstances.flatMap((vi) => vi.trackFile.map((t) => t.name)), ...c.vrrpSyncGroups.flatMap((g) => g.trackFile.map((t) => t.name))]);
  return c.trackFiles.filter((f) => names.has(f.name));
}
