/*
 * Generic netlink (linux/genetlink.h): the 4-byte genlmsghdr after the netlink header, and
 * family resolution through the controller (CTRL_CMD_GETFAMILY). Encoders and decoders are
 * pure; `resolveFamily` is the only function that talks to the kernel.
 */
import { type Attr, type NlMessage, NLM_F_ACK, NLM_F_REQUEST, attr, attrString, decodeAttrs, encodeMessage } from './codec.js';
import type { NetlinkSocket } from './socket.js';

/** Netlink protocol number of generic netlink (linux/netlink.h). */
export const NETLINK_GENERIC = 16;
/** The controller's fixed family id (GENL_ID_CTRL). */
export const GENL_ID_CTRL = 0x10;
/** Controller command and attributes (linux/genetlink.h). */
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const CTRL_ATTR_VERSION = 3;
export const CTRL_ATTR_HDRSIZE = 4;
export const CTRL_ATTR_MAXATTR = 5;

/** Size of struct genlmsghdr: u8 cmd, u8 version, u16 reserved. */
export const GENL_HDRLEN = 4;

/** A decoded generic netlink message: the netlink header fields plus the genl header. */
export interface GenlMessage {
  /** Family id (the netlink message type). */
  readonly family: number;
  readonly flags: number;
  readonly seq: number;
  readonly cmd: number;
  readonly version: number;
  /** Attributes after the genl header (and any family header, which IPVS does not use). */
  readonly attrs: Buffer;
}

/** A generic netlink family as the controller reports it. */
export interface GenlFamily {
  readonly id: number;
  readonly name: string;
  readonly version: number;
}

/** Encodes a generic netlink message: nlmsghdr(type = family id), genlmsghdr, attributes. */
export function encodeGenl(family: number, flags: number, seq: number, cmd: number, version: number, attrs: readonly Attr[] = []): Buffer {
  const g = Buffer.alloc(GENL_HDRLEN);
  g.writeUInt8(cmd, 0);
  g.writeUInt8(version, 1);
  return encodeMessage(family, flags, seq, g, attrs);
}

/** Splits a netlink message into its generic netlink parts; undefined when the body is too short. */
export function decodeGenl(m: NlMessage): GenlMessage | undefined {
  if (m.body.length < GENL_HDRLEN) return undefined;
  return {
    family: m.type,
    flags: m.flags,
    seq: m.seq,
    cmd: m.body.readUInt8(0),
    version: m.body.readUInt8(1),
    attrs: m.body.subarray(GENL_HDRLEN),
  };
}

/** The CTRL_CMD_GETFAMILY request for `name` (controller version 1, as libnl sends it). */
export function encodeGetFamily(seq: number, name: string): Buffer {
  return encodeGenl(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq, CTRL_CMD_GETFAMILY, 1, [attr.str(CTRL_ATTR_FAMILY_NAME, name)]);
}

/** Reads the family id, name and version from a controller reply; undefined when they are missing. */
export function decodeFamily(m: NlMessage): GenlFamily | undefined {
  const g = decodeGenl(m);
  if (!g) return undefined;
  const a = decodeAttrs(g.attrs);
  const id = a.get(CTRL_ATTR_FAMILY_ID);
  const name = attrString(a.get(CTRL_ATTR_FAMILY_NAME));
  const ver = a.get(CTRL_ATTR_VERSION);
  if (!id || id.length < 2 || name === undefined) return undefined;
  return { id: id.readUInt16LE(0), name, version: ver && ver.length >= 4 ? ver.readUInt32LE(0) : 0 };
}

/** Asks the controller for a family by name; rejects with NetlinkError ENOENT when it is not registered. */
export async function resolveFamily(sock: NetlinkSocket, name: string): Promise<GenlFamily> {
  const seq = sock.nextSeq();
  const replies = await sock.request(`genl.resolveFamily ${name}`, seq, encodeGetFamily(seq, name));
  for (const m of replies) {
    const f = decodeFamily(m);
    if (f) return f;
  }
  throw new Error(`genl.resolveFamily ${name}: no family in the controller's reply`);
}
