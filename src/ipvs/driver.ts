/*
 * The IPVS driver: generic netlink to the kernel's "IPVS" family, in-process (no ipvsadm).
 * Requests are sent one at a time on one socket; every failure is an IpvsError naming the
 * operation and the object.
 */
import { type Attr, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, type NlMessage } from '../netlink/codec.js';
import { NETLINK_GENERIC, encodeGenl, resolveFamily } from '../netlink/genl.js';
import { NetlinkSocket } from '../netlink/socket.js';
import type { Poller } from '../net/poller.js';
import {
  CMD,
  IPVS_GENL_NAME,
  IPVS_GENL_VERSION,
  daemonRequestAttrs,
  decodeAll,
  decodeConfigMessage,
  decodeDaemonMessage,
  decodeDestMessage,
  decodeInfoMessage,
  decodeServiceMessage,
  requestAttrs,
  timeoutAttrs,
} from './codec.js';
import { type Ipvs, IpvsError, type IpvsOp } from './ipvs.js';
import {
  type Dest,
  type DestKey,
  type IpvsInfo,
  type IpvsTimeouts,
  type Service,
  type ServiceKey,
  type SyncDaemon,
  type SyncState,
  destText,
  serviceKeyOf,
  serviceText,
  syncDaemonText,
} from './types.js';

/** Options of `IpvsDriver.open`. */
export interface IpvsDriverOptions {
  /** Per-request deadline (default 5000 ms). */
  timeoutMs?: number;
  /** Writes `apply` keeps in flight at once (default 64; the socket's receive buffer holds their ACKs). */
  window?: number;
  poller?: Poller;
}

/** Why a request failed, as an errno-style code. */
function codeOf(e: unknown): string {
  const c = (e as { code?: unknown } | null)?.code;
  if (typeof c === 'string') return c;
  if (e instanceof RangeError || e instanceof TypeError) return 'EINVAL'; // bad address text etc.
  return 'EIO';
}

/** A write, encoded: the op name and object for errors, the command and its attributes. */
interface Encoded {
  readonly op: string;
  readonly object: string;
  readonly cmd: number;
  readonly attrs: () => Attr[];
}

const destObject = (svc: ServiceKey, d: DestKey): string => `${serviceText(svc)} → ${destText(d)}`;

/** The request for one IpvsOp (the same bytes the single-op methods send). */
function encodeOp(o: IpvsOp): Encoded {
  switch (o.op) {
    case 'addService':
      return { op: 'ipvs.addService', object: serviceText(o.service), cmd: CMD.NEW_SERVICE, attrs: () => requestAttrs({ s: o.service, full: true }) };
    case 'editService':
      return { op: 'ipvs.editService', object: serviceText(o.service), cmd: CMD.SET_SERVICE, attrs: () => requestAttrs({ s: o.service, full: true }) };
    case 'deleteService':
      return { op: 'ipvs.deleteService', object: serviceText(o.service), cmd: CMD.DEL_SERVICE, attrs: () => requestAttrs({ s: serviceKeyOf(o.service), full: false }) };
    case 'addDest':
      return { op: 'ipvs.addDest', object: destObject(o.service, o.dest), cmd: CMD.NEW_DEST, attrs: () => requestAttrs({ s: serviceKeyOf(o.service), full: false }, { d: o.dest, full: true }) };
    case 'editDest':
      return { op: 'ipvs.editDest', object: destObject(o.service, o.dest), cmd: CMD.SET_DEST, attrs: () => requestAttrs({ s: serviceKeyOf(o.service), full: false }, { d: o.dest, full: true }) };
    case 'deleteDest': {
      const d = { family: o.dest.family, address: o.dest.address, port: o.dest.port };
      return { op: 'ipvs.deleteDest', object: destObject(o.service, d), cmd: CMD.DEL_DEST, attrs: () => requestAttrs({ s: serviceKeyOf(o.service), full: false }, { d, full: false }) };
    }
  }
}

/** IPVS over generic netlink. */
export class IpvsDriver implements Ipvs {
  /** Messages sent to the kernel so far: reads (dumps, GET_*) and writes (every other command). */
  readonly sent = { reads: 0, writes: 0 };

  private constructor(
    private readonly sock: NetlinkSocket,
    /** The family id the controller gave "IPVS". */
    readonly familyId: number,
    private readonly window: number,
  ) {}

  /** Opens a generic netlink socket and resolves the IPVS family; IpvsError ENOENT when ip_vs is not loaded. */
  static async open(opts: IpvsDriverOptions = {}): Promise<IpvsDriver> {
    let sock: NetlinkSocket;
    try {
      sock = new NetlinkSocket(NETLINK_GENERIC, {
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        ...(opts.poller !== undefined ? { poller: opts.poller } : {}),
      });
    } catch (e) {
      throw new IpvsError('ipvs.open', 'generic netlink socket', codeOf(e), { cause: e });
    }
    try {
      const fam = await resolveFamily(sock, IPVS_GENL_NAME);
      return new IpvsDriver(sock, fam.id, Math.max(1, opts.window ?? 64));
    } catch (e) {
      sock.close();
      throw new IpvsError('ipvs.open', 'family IPVS', codeOf(e), { cause: e });
    }
  }

  /** The last request in flight: requests go one at a time (a netlink socket runs one dump at a time, EBUSY). */
  private tail: Promise<unknown> = Promise.resolve();

  private send(op: string, object: string, cmd: number, flags: number, attrs: () => Attr[]): Promise<NlMessage[]> {
    const run = async (): Promise<NlMessage[]> => {
      if (flags & NLM_F_ACK) this.sent.writes++;
      else this.sent.reads++;
      try {
        const seq = this.sock.nextSeq();
        return await this.sock.request(`${op} ${object}`, seq, encodeGenl(this.familyId, flags, seq, cmd, IPVS_GENL_VERSION, attrs()));
      } catch (e) {
        throw new IpvsError(op, object, codeOf(e), { cause: e });
      }
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  private async write(op: string, object: string, cmd: number, attrs: () => Attr[]): Promise<void> {
    await this.send(op, object, cmd, NLM_F_REQUEST | NLM_F_ACK, attrs);
  }

  /** IPVS version and connection table size. */
  async info(): Promise<IpvsInfo> {
    const msgs = await this.send('ipvs.info', '', CMD.GET_INFO, NLM_F_REQUEST, () => []);
    const m = msgs[0];
    const r = m ? decodeInfoMessage(m) : undefined;
    if (!r?.ok) throw new IpvsError('ipvs.info', '', 'EIPVSDECODE', { cause: r?.error });
    return r.value;
  }

  /** Every virtual service with counters; a service the decoder refuses fails the whole read. */
  async services(): Promise<Service[]> {
    const msgs = await this.send('ipvs.services', '', CMD.GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP, () => []);
    const { values, errors } = decodeAll(msgs, decodeServiceMessage);
    if (errors.length) throw new IpvsError('ipvs.services', '', 'EIPVSDECODE', { cause: errors[0] });
    return values;
  }

  /** The destinations of `svc` with counters (empty when the service does not exist). */
  async dests(svc: ServiceKey): Promise<Dest[]> {
    const object = serviceText(svc);
    const msgs = await this.send('ipvs.dests', object, CMD.GET_DEST, NLM_F_REQUEST | NLM_F_DUMP, () => requestAttrs({ s: serviceKeyOf(svc), full: false }));
    const { values, errors } = decodeAll(msgs, (m) => decodeDestMessage(m, svc.family));
    if (errors.length) throw new IpvsError('ipvs.dests', object, 'EIPVSDECODE', { cause: errors[0] });
    return values;
  }

  private one(o: IpvsOp): Promise<void> {
    const e = encodeOp(o);
    return this.write(e.op, e.object, e.cmd, e.attrs);
  }

  /** Adds a service (EEXIST when it exists, ENOENT for an unknown scheduler). */
  addService(svc: Service): Promise<void> {
    return this.one({ op: 'addService', service: svc });
  }

  /** Changes scheduler, flags, timeout or netmask of a service (ESRCH when it does not exist). */
  editService(svc: Service): Promise<void> {
    return this.one({ op: 'editService', service: svc });
  }

  /** Deletes a service and its destinations (ESRCH when it does not exist). */
  deleteService(svc: ServiceKey): Promise<void> {
    return this.one({ op: 'deleteService', service: svc });
  }

  /** Adds a destination (EEXIST when it exists, ESRCH when the service does not). */
  addDest(svc: ServiceKey, dest: Dest): Promise<void> {
    return this.one({ op: 'addDest', service: svc, dest });
  }

  /** Changes a destination's forwarding, weight, tunnel or thresholds (ENOENT when it does not exist). */
  editDest(svc: ServiceKey, dest: Dest): Promise<void> {
    return this.one({ op: 'editDest', service: svc, dest });
  }

  /** Deletes a destination (ENOENT when it does not exist, ESRCH when the service does not). */
  deleteDest(svc: ServiceKey, dest: DestKey): Promise<void> {
    return this.one({ op: 'deleteDest', service: svc, dest });
  }

  /**
   * Sends the writes in order with up to `window` in flight: each sendto is handled by the
   * kernel before it returns, so order is kept, and the ACKs are collected afterwards.
   */
  apply(ops: readonly IpvsOp[]): Promise<(IpvsError | undefined)[]> {
    const run = async (): Promise<(IpvsError | undefined)[]> => {
      const out: (IpvsError | undefined)[] = [];
      for (let i = 0; i < ops.length; i += this.window) {
        const chunk = ops.slice(i, i + this.window).map((o) => {
          const e = encodeOp(o);
          this.sent.writes++;
          let p: Promise<unknown>;
          try {
            const seq = this.sock.nextSeq();
            p = this.sock.request(`${e.op} ${e.object}`, seq, encodeGenl(this.familyId, NLM_F_REQUEST | NLM_F_ACK, seq, e.cmd, IPVS_GENL_VERSION, e.attrs()));
          } catch (err) {
            p = Promise.reject(err);
          }
          return p.then(
            () => undefined,
            (err: unknown) => new IpvsError(e.op, e.object, codeOf(err), { cause: err }),
          );
        });
        out.push(...(await Promise.all(chunk)));
      }
      return out;
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** The running sync daemons (GET_DAEMON dump). */
  async daemons(): Promise<SyncDaemon[]> {
    const msgs = await this.send('ipvs.daemons', '', CMD.GET_DAEMON, NLM_F_REQUEST | NLM_F_DUMP, () => []);
    const { values, errors } = decodeAll(msgs, decodeDaemonMessage);
    if (errors.length) throw new IpvsError('ipvs.daemons', '', 'EIPVSDECODE', { cause: errors[0] });
    return values;
  }

  /** Starts a sync daemon (EEXIST when one of that state runs, ENODEV for an unknown interface). */
  startDaemon(d: SyncDaemon): Promise<void> {
    return this.write('ipvs.startDaemon', syncDaemonText(d), CMD.NEW_DAEMON, () => daemonRequestAttrs(d, true));
  }

  /** Stops the sync daemon of that state (ESRCH when none runs). */
  stopDaemon(state: SyncState): Promise<void> {
    return this.write('ipvs.stopDaemon', syncDaemonText({ state }), CMD.DEL_DAEMON, () => daemonRequestAttrs({ state }, false));
  }

  /** The connection timeouts in seconds (GET_CONFIG). */
  async timeouts(): Promise<IpvsTimeouts> {
    const msgs = await this.send('ipvs.timeouts', '', CMD.GET_CONFIG, NLM_F_REQUEST, () => []);
    const m = msgs[0];
    const r = m ? decodeConfigMessage(m) : undefined;
    if (!r?.ok) throw new IpvsError('ipvs.timeouts', '', 'EIPVSDECODE', { cause: r?.error });
    return r.value;
  }

  /** Sets the timeouts (SET_CONFIG); 0 leaves one unchanged. */
  setTimeouts(t: IpvsTimeouts): Promise<void> {
    return this.write('ipvs.setTimeouts', `tcp ${t.tcp} tcpfin ${t.tcpFin} udp ${t.udp}`, CMD.SET_CONFIG, () => timeoutAttrs(t));
  }

  /** Removes every service. vigil never calls this on its own. */
  flush(): Promise<void> {
    return this.write('ipvs.flush', '', CMD.FLUSH, () => []);
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    this.sock.close();
  }
}
