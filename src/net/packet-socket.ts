import * as libc from './libc.js';

const ETH_P_ALL = 0x0003;

/** Sends whole Ethernet frames on one interface (AF_PACKET); receives nothing. */
export class PacketSender {
  private readonly fd: number;
  private readonly addr: Buffer;
  private closed = false;

  constructor(readonly ifname: string) {
    const index = libc.ifIndex(ifname);
    // Protocol 0: the socket is bound to no ethertype, so the kernel queues nothing to it.
    this.fd = libc.socket(libc.AF_PACKET, libc.SOCK_RAW, 0);
    this.addr = Buffer.alloc(20); // struct sockaddr_ll
    this.addr.writeUInt16LE(libc.AF_PACKET, 0);
    this.addr.writeUInt16BE(ETH_P_ALL, 2);
    this.addr.writeInt32LE(index, 4);
    this.addr[11] = 6; // halen
  }

  /** Sends one frame (destination MAC inside the frame). */
  send(frame: Buffer): void {
    if (this.closed) throw new Error(`packet socket on ${this.ifname} is closed`);
    libc.sendto(this.fd, frame, this.addr, `send frame on ${this.ifname}`);
  }

  /** Closes the socket; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc.close(this.fd);
  }
}
