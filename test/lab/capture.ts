import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.js';
import { type Packet, decodePcap } from './wire/decode.js';
import { type Proc, spawn } from './proc.js';
import { waitFor } from './wait.js';

/** Options of `capture`. */
export interface CaptureOptions {
  /** Folder for the pcap file and tcpdump's logs. */
  dir: string;
  /** File base name (default `<iface>-<time>`). */
  name?: string;
  /** tcpdump filter expression words, e.g. `['vrrp', 'or', 'arp']`. */
  filter?: readonly string[];
  /** How long to wait for "listening on" (default 5 s). */
  startTimeoutMs?: number;
}

/** A running tcpdump writing a classic pcap. */
export interface Capture {
  readonly file: string;
  readonly proc: Proc;
  /** Stops tcpdump (SIGTERM, so it flushes) and returns the pcap path. Idempotent. */
  stop(): Promise<string>;
  /** Stops the capture and decodes every frame. */
  packets(): Promise<Packet[]>;
}

/**
 * Starts `tcpdump -U -w` on `iface` inside `ns` and resolves once tcpdump reports that it is
 * listening, so that no packet sent after this resolves is missed.
 */
export async function capture(ns: string | null, iface: string, opts: CaptureOptions): Promise<Capture> {
  const name = opts.name ?? `${iface}-${Date.now().toString(36)}`;
  const file = join(opts.dir, `${name}.pcap`);
  // -Z root: tcpdump would drop to user "tcpdump" before opening the file in our 0700 folder.
  const argv = ['tcpdump', '-i', iface, '-n', '-s', '0', '-U', '--immediate-mode', '-Z', 'root', '-w', file, ...(opts.filter ?? [])];
  const proc = spawn(ns, argv, { logDir: opts.dir, name: `tcpdump-${name}`, graceMs: 2000 });
  try {
    await waitFor(
      () => {
        if (!proc.running) throw new LabError('ESPAWN', `tcpdump exited: ${proc.stderr().trim()}`);
        return proc.stderr().includes('listening on');
      },
      { desc: `tcpdump listening on ${ns ?? 'host'}/${iface}`, timeoutMs: opts.startTimeoutMs ?? 5000, intervalMs: 20 },
    );
  } catch (err) {
    await proc.stop(500);
    throw new LabError('ESPAWN', `lab.capture ${ns ?? 'host'}/${iface}: ${(err as Error).message}`, { cause: err });
  }
  let stopped: Promise<string> | undefined;
  const stop = (): Promise<string> => {
    stopped ??= proc.stop().then(() => file);
    return stopped;
  };
  return {
    file,
    proc,
    stop,
    packets: async () => decodePcap(readFileSync(await stop())),
  };
}
