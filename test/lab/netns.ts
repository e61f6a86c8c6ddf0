import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Capture, type CaptureOptions, capture } from './capture.js';
import { LabError } from './errors.js';
import { guardExit } from './exit-guard.js';
import { IFNAMSIZ_MAX, checkName, newRunId } from './names.js';
import { type ExecOptions, type ExecResult, exec, execOk } from './exec.js';
import { type Proc, type SpawnOptions, spawn } from './proc.js';
import { STATE_DIR_PREFIX, type LabState, destroyNamespacesSync, netnsExists, netnsPids, ownState, sweepStaleLabs, writeState } from './state.js';

/** The subset of a tap Test the lab uses, so it can also run outside tap. */
export interface Teardownable {
  teardown(fn: () => unknown): void;
  /** When present and false at teardown, the tails of the lab's process logs are printed first. */
  passing?(): boolean;
}

/** One node (network namespace) of the lab, attached to the switch by a veth pair. */
export interface NodeSpec {
  /** Short name, e.g. `dir1`; the namespace is `<labid>-<name>` (≤ 15 chars). */
  name: string;
  /** IPv4 address with prefix length; default `<ipv4Net>.<10 + index>/24`. */
  ipv4?: string;
  /** IPv6 address with prefix length (added with nodad); default `<ipv6Net><10 + index>/64`. */
  ipv6?: string;
}

/** Options of `createLab`. */
export interface LabOptions {
  nodes: readonly (string | NodeSpec)[];
  /** First three octets of the default IPv4 plan (default `192.168.77`, only ever inside the lab's namespaces). */
  ipv4Net?: string;
  /** Default IPv6 plan prefix (default `fd00:77::`). */
  ipv6Net?: string;
}

/** A node as built. */
export interface LabNode {
  name: string;
  /** Network namespace name. */
  ns: string;
  /** Interface inside the node (always `eth0`). */
  ifname: string;
  /** The veth end in the switch namespace, enslaved to `br0`. */
  port: string;
  mac: string;
  /** IPv4 address without prefix length. */
  ipv4: string;
  ipv4Cidr: string;
  ipv6: string;
  ipv6Cidr: string;
}

const BRIDGE = 'br0';

/** A set of network namespaces joined by a bridge that lives in its own "switch" namespace. */
export class Lab {
  /** Run id, prefix of every namespace (`vg` + 4 chars). */
  readonly id: string;
  /** Temp folder for logs, configs and captures; removed on teardown. */
  readonly dir: string;
  /** Namespace holding the bridge `br0`. */
  readonly switchNs: string;
  readonly nodes: ReadonlyMap<string, LabNode>;
  private readonly procs = new Set<Proc>();
  private readonly state: LabState;
  private unguard: () => void = () => {};
  private torn: Promise<void> | undefined;

  /** Use `createLab()`. */
  constructor(id: string, dir: string, nodes: Map<string, LabNode>) {
    this.id = id;
    this.dir = dir;
    this.switchNs = `${id}-sw`;
    this.nodes = nodes;
    this.state = ownState('netns', id, [this.switchNs, ...[...nodes.values()].map((n) => n.ns)]);
  }

  /** Every namespace of the lab, switch first. */
  get namespaces(): string[] {
    return [...this.state.namespaces];
  }

  /** The node called `name`; throws ESETUP if there is none. */
  node(name: string): LabNode {
    const n = this.nodes.get(name);
    if (n === undefined) throw new LabError('ESETUP', `lab.node ${this.id}: no node "${name}"`);
    return n;
  }

  /** Namespace of `node`, or the switch namespace for `"sw"`. */
  ns(node: string): string {
    return node === 'sw' ? this.switchNs : this.node(node).ns;
  }

  /** A path inside the lab folder; its parent folders are created. */
  path(...parts: string[]): string {
    const p = join(this.dir, ...parts);
    mkdirSync(join(p, '..'), { recursive: true });
    return p;
  }

  /** A folder inside the lab folder, created if needed. */
  folder(...parts: string[]): string {
    const p = join(this.dir, ...parts);
    mkdirSync(p, { recursive: true });
    return p;
  }

  /** Runs a command in `node`'s namespace; resolves with its result whatever the exit status. */
  exec(node: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return exec(this.ns(node), argv, opts);
  }

  /** Runs a command in `node`'s namespace; rejects unless it exits 0; resolves with stdout. */
  execOk(node: string, argv: readonly string[], opts?: ExecOptions): Promise<string> {
    return execOk(this.ns(node), argv, opts);
  }

  /** Starts a long-running process in `node`'s namespace; it is stopped on teardown. */
  spawn(node: string, argv: readonly string[], opts: Partial<SpawnOptions> = {}): Proc {
    // a vigil started in the lab keeps its state (--state-dir) in the lab, never in the host's /var/lib/vigil
    const base = opts.env ?? process.env;
    const env = base['VIGIL_STATE_DIR'] !== undefined ? base : { ...base, VIGIL_STATE_DIR: this.folder(`state-${node}`) };
    const p = spawn(this.ns(node), argv, { ...opts, env, logDir: opts.logDir ?? this.folder('logs') });
    this.procs.add(p);
    return p;
  }

  /** Starts tcpdump on `iface` in `node`'s namespace (`"sw"` for the bridge side) and waits until it listens. */
  async capture(node: string, iface: string, opts: Partial<CaptureOptions> = {}): Promise<Capture> {
    const c = await capture(this.ns(node), iface, { ...opts, dir: opts.dir ?? this.folder('pcap') });
    this.procs.add(c.proc);
    return c;
  }

  /** Registers the exit safety net; called by createLab. */
  arm(): void {
    writeState(this.dir, this.state);
    this.unguard = guardExit(() => this.teardownSync());
  }

  /**
   * Stops every process, kills anything left in the namespaces, deletes the namespaces (which
   * removes veths and the bridge) and the temp folder. Idempotent; rejects with ETEARDOWN if
   * anything survived.
   */
  teardown(): Promise<void> {
    this.torn ??= this.doTeardown();
    return this.torn;
  }

  private async doTeardown(): Promise<void> {
    await Promise.all([...this.procs].map((p) => p.stop(1000)));
    destroyNamespacesSync(this.namespaces);
    const left = this.namespaces.filter(netnsExists);
    if (process.env['VIGIL_LAB_KEEP'] !== '1') rmSync(this.dir, { recursive: true, force: true });
    this.unguard();
    if (left.length > 0) throw new LabError('ETEARDOWN', `lab.teardown ${this.id}: namespaces still present: ${left.join(', ')}`);
  }

  /** Synchronous last-resort cleanup for exit and signal paths. */
  teardownSync(): void {
    for (const p of this.procs) p.killSync();
    destroyNamespacesSync(this.namespaces);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Last lines of every captured stderr log, for a failure report. */
  logTail(lines = 20): string {
    const dir = join(this.dir, 'logs');
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.err'));
    } catch {
      return '';
    }
    return files
      .map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8').split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }
}

function nodeSpecs(opts: LabOptions, id: string): LabNode[] {
  const v4 = opts.ipv4Net ?? '192.168.77';
  const v6 = opts.ipv6Net ?? 'fd00:77::';
  return opts.nodes.map((raw, i) => {
    const spec: NodeSpec = typeof raw === 'string' ? { name: raw } : raw;
    const ns = checkName('namespace', `${id}-${spec.name}`);
    const port = checkName('port', `p-${spec.name}`);
    if (spec.name === 'sw') throw new LabError('ENAME', `lab.create ${id}: node name "sw" is reserved for the switch`);
    const ipv4Cidr = spec.ipv4 ?? `${v4}.${10 + i}/24`;
    const ipv6Cidr = spec.ipv6 ?? `${v6}${(10 + i).toString(16)}/64`;
    return {
      name: spec.name,
      ns,
      ifname: 'eth0',
      port,
      mac: `02:77:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`,
      ipv4: ipv4Cidr.split('/')[0] ?? '',
      ipv4Cidr,
      ipv6: ipv6Cidr.split('/')[0] ?? '',
      ipv6Cidr,
    };
  });
}

async function ip(ns: string | null, args: string[]): Promise<void> {
  await execOk(null, ns === null ? ['ip', ...args] : ['ip', '-n', ns, ...args]);
}

async function buildNode(lab: Lab, n: LabNode): Promise<void> {
  await ip(null, ['netns', 'add', n.ns]);
  // No DAD, so IPv6 addresses (and link-local ones) are usable at once.
  const dad = '/proc/sys/net/ipv6/conf';
  await execOk(n.ns, ['sh', '-c', `echo 0 > ${dad}/all/accept_dad && echo 0 > ${dad}/default/accept_dad`]);
  await ip(lab.switchNs, ['link', 'add', 'name', n.port, 'type', 'veth', 'peer', 'name', n.ifname, 'netns', n.ns]);
  await ip(lab.switchNs, ['link', 'set', 'dev', n.port, 'master', BRIDGE, 'up']);
  await ip(n.ns, ['link', 'set', 'dev', 'lo', 'up']);
  await ip(n.ns, ['link', 'set', 'dev', n.ifname, 'address', n.mac]);
  await ip(n.ns, ['addr', 'add', n.ipv4Cidr, 'dev', n.ifname]);
  await ip(n.ns, ['addr', 'add', n.ipv6Cidr, 'dev', n.ifname, 'nodad']);
  await ip(n.ns, ['link', 'set', 'dev', n.ifname, 'up']);
}

/**
 * Builds a lab: a switch namespace with bridge `br0` and one namespace per node, each with
 * `eth0` on the bridge. Nothing is created in the host's own namespace. Teardown is registered
 * with `t.teardown` (when given) and with a process exit/signal safety net.
 */
export async function createLab(t: Teardownable | undefined, opts: LabOptions): Promise<Lab> {
  sweepStaleLabs();
  const id = newRunId();
  const nodes = nodeSpecs(opts, id);
  if (`${id}-sw`.length > IFNAMSIZ_MAX) throw new LabError('ENAME', `lab.create ${id}: id too long`);
  const dir = mkdtempSync(join(tmpdir(), `${STATE_DIR_PREFIX}${id}-`));
  const lab = new Lab(id, dir, new Map(nodes.map((n) => [n.name, n])));
  lab.arm();
  t?.teardown(() => {
    if (t.passing?.() === false) process.stderr.write(`lab ${lab.id} failed; process logs:\n${lab.logTail()}\n`);
    return lab.teardown();
  });
  try {
    await ip(null, ['netns', 'add', lab.switchNs]);
    await ip(lab.switchNs, ['link', 'add', 'name', BRIDGE, 'type', 'bridge', 'mcast_snooping', '0']);
    await ip(lab.switchNs, ['link', 'set', 'dev', BRIDGE, 'up']);
    await ip(lab.switchNs, ['link', 'set', 'dev', 'lo', 'up']);
    await Promise.all(nodes.map((n) => buildNode(lab, n)));
  } catch (err) {
    await lab.teardown().catch(() => {});
    throw new LabError('ESETUP', `lab.create ${id}: ${(err as Error).message}`, { cause: err });
  }
  return lab;
}

/** Namespaces whose name starts with `prefix` (for leak checks). */
export function namespacesWithPrefix(prefix: string): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

export { netnsPids };
