import { performance } from 'node:perf_hooks';
import type { Config } from '../config/compile.js';
import { poller } from '../net/poller.js';
import { type InstanceStatus, VrrpEngine } from '../vrrp/engine.js';
import type { ChildContext, ChildEngine } from './child-engine.js';
import { formatVrrpData, formatVrrpStats } from './dump.js';

/** One VRRP instance in `vigil status` (times as wall-clock ISO strings) and in the metrics. */
export interface VrrpInstanceReport extends Omit<InstanceStatus, 'since' | 'lastTransition'> {
  readonly since: string;
  readonly inStateMs: number;
  readonly lastTransition?: { readonly from: string; readonly to: string; readonly reason: string; readonly at: string };
}

/** Date.now() − performance.now(), taken once: a time converted twice must read the same (status is compared across calls). */
const WALL_OFFSET = Date.now() - performance.now();

/** The engine's snapshot with its monotonic times turned into wall-clock times (they only make sense in this process). */
export function vrrpReport(snap: readonly InstanceStatus[], now = performance.now(), wallNow = WALL_OFFSET + now): VrrpInstanceReport[] {
  const wall = (mono: number) => new Date(wallNow - (now - mono)).toISOString();
  return snap.map((v) => {
    const { lastTransition: lt, ...rest } = v;
    return {
      ...rest,
      since: wall(v.since),
      inStateMs: Math.round(now - v.since),
      ...(lt ? { lastTransition: { from: lt.from, to: lt.to, reason: lt.reason, at: wall(lt.at) } } : {}),
    };
  });
}

/** The VRRP child: the VRRP engine for every vrrp_instance, with reload and keepalived's dumps. */
export async function startVrrpChild(config: Config, ctx: ChildContext): Promise<ChildEngine> {
  let engine: VrrpEngine;
  try {
    engine = await VrrpEngine.create(config, { log: ctx.log });
  } catch (e) {
    poller().stop();
    throw e;
  }
  // holds first: a held instance (even an address owner) starts at priority 1, never as MASTER
  if (ctx.holds && Object.keys(ctx.holds).length > 0) engine.setHolds(ctx.holds);
  await engine.start();
  ctx.log.info({ op: 'vrrp.start', instances: config.vrrpInstances.length }, `VRRP engine started with ${config.vrrpInstances.length} instance(s)`);
  return {
    status: () => vrrpReport(engine.snapshot()),
    reload: (next) => engine.reload(next),
    override: (holds) => engine.setHolds(holds),
    dump: (kind) =>
      kind === 'data'
        ? formatVrrpData(engine.running, engine.describe(), engine.scriptStates(), (mono) => Date.now() - (performance.now() - mono))
        : formatVrrpStats(engine.snapshot()),
    stop: async () => {
      await engine.stop();
      poller().stop();
    },
  };
}
