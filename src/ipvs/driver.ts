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
  decodeAll,
  decodeDestMessage,
  decodeInfoMessage,
  decodeServiceMessage,
  requestAttrs,
} from './codec.js';
import { type Ipvs, IpvsError } from './ipvs.js';
import { type Dest, type DestKey, type IpvsInfo, type Service, type ServiceKey, destText, serviceKeyOf, serviceText } from './types.js';

/** Options of `IpvsDriver.open`. */
export interface IpvsDriverOptions {
  /** Per-request deadline (default 5000 ms). */
  timeoutMs?: number;
  poller?: Poller;
}

/** Why a request failed, as an errno-style code. */
function codeOf(e: unknown): string {
  const c = (e as { code?: unknown } | null)?.code;
  if (typeof c === 'string') return c;
  if (e instanceof RangeError || e instanceof TypeError) return 'EINVAL'; // bad address text etc.
  return 'EIO';
}

/** IPVS over generic netlink. */
export class IpvsDriver implements Ipvs {
  private constructor(
    private readonly sock: NetlinkSocket,
    /** The family id the controller gave "IPVS". */
    readonly familyId: number,
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
      return new IpvsDriver(sock, fam.id);
    } catch (e) {
      sock.close();
      throw new IpvsError('ipvs.open', 'family IPVS', codeOf(e), { cause: e });
    }
  }

  /** The last request in flight: requests go one at a time (a netlink socket runs one dump at a time, EBUSY). */
  private tail: Promise<unknown> = Promise.resolve();

  private send(op: string, object: string, cmd: number, flags: number, attrs: () => Attr[]): Promise<NlMessage[]> {
    const run = async (): Promise<NlMessage[]> => {
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

  /** Adds a service (EEXIST when it exists, ENOENT for an unknown scheduler). */
  addService(svc: Service): Promise<void> {
    return this.write('ipvs.addService', serviceText(svc), CMD.NEW_SERVICE, () => requestAttrs({ s: svc, full: true }));
  }

  /** Changes scheduler, flags, timeout or netmask of a service (ESRCH when it does not exist). */
  editService(svc: Service): Promise<void> {
    return this.write('ipvs.editService', serviceText(svc), CMD.SET_SERVICE, () => requestAttrs({ s: svc, full: true }));
  }

  /** Deletes a service and its destinations (ESRCH when it does not exist). */
  deleteService(svc: ServiceKey): Promise<void> {
    return this.write('ipvs.deleteService', serviceText(svc), CMD.DEL_SERVICE, () => requestAttrs({ s: serviceKeyOf(svc), full: false }));
  }

  /** Adds a destination (EEXIST when it exists, ESRCH when the service does not). */
  addDest(svc: ServiceKey, dest: Dest): Promise<void> {
    return this.write('ipvs.addDest', `${serviceText(svc)} → ${destText(dest)}`, CMD.NEW_DEST, () =>
      requestAttrs({ s: serviceKeyOf(svc), full: false }, { d: dest, full: true }),
    );
  }

  /** Changes a destination's forwarding, weight, tunnel or thresholds (ENOENT when it does not exist). */
  editDest(svc: ServiceKey, dest: Dest): Promise<void> {
    return this.write('ipvs.editDest', `${serviceText(svc)} → ${destText(dest)}`, CMD.SET_DEST, () =>
      requestAttrs({ s: serviceKeyOf(svc), full: false }, { d: dest, full: true }),
    );
  }

  /** Deletes a destination (ENOENT when it does not exist, ESRCH when the service does not). */
  deleteDest(svc: ServiceKey, dest: DestKey): Promise<void> {
    return this.write('ipvs.deleteDest', `${serviceText(svc)} → ${destText(dest)}`, CMD.DEL_DEST, () =>
      requestAttrs({ s: serviceKeyOf(svc), full: false }, { d: { family: dest.family, address: dest.address, port: dest.port }, full: false }),
    );
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
