/*
 * The checker child's side of `vigil drain | disable | enable`: the `override.*` control methods
 * and the overrides part of the status report. Answers are values: `{ok: true, ...}` or
 * `{ok: false, code, message}` (the supervisor turns the latter into a control error with that
 * code), so the reason of a refusal crosses the IPC channel intact.
 */
import type { Config } from '../config/compile.js';
import type { DesiredTable } from '../director/desired.js';
import { rsName, vsName } from '../health/names.js';
import type { Ipvs } from '../ipvs/ipvs.js';
import { destKey, serviceKey, serviceText } from '../ipvs/types.js';
import { type ChangeResult, type OverrideManager, OverrideRequestError } from './manager.js';
import { type Override, findTarget } from './model.js';

/** One override in `vigil status`. */
export type OverrideReport = Override & {
  /** False when the real server is no longer in the configuration (kept until enabled). */
  readonly inConfig: boolean;
};

/** One maintenance window in `vigil status`. */
export interface WindowReport {
  readonly name: string;
  readonly schedule: string;
  readonly timezone?: string;
  readonly durationMs: number;
  readonly targets: readonly string[];
  readonly active: boolean;
  /** Next start (ISO); absent when the schedule has none. */
  readonly nextRun?: string;
  /** End of the current run (ISO), while active. */
  readonly endsAt?: string;
}

/** The overrides part of the checker report. */
export interface OverridesReport {
  readonly active: readonly OverrideReport[];
  readonly windows: readonly WindowReport[];
  /** Changes since the child started, by kind (drain, disable, enable, expire, window-start, window-end). */
  readonly changes: Readonly<Record<string, number>>;
  readonly problems: readonly string[];
}

/** Connection counts of one real server in each kernel service of its virtual server. */
export interface ConnsAnswer {
  readonly ok: true;
  readonly vs: string;
  readonly rs: string;
  readonly override?: Override;
  /** Whether the real server is in the kernel table at all. */
  readonly inKernel: boolean;
  readonly weight?: number;
  readonly active: number;
  readonly inactive: number;
  readonly services: readonly { readonly service: string; readonly weight: number; readonly active: number; readonly inactive: number }[];
}

/** What the handlers need from the checker engine. */
export interface OverrideDeps {
  readonly manager: OverrideManager;
  readonly config: Config;
  readonly table: () => DesiredTable | undefined;
  readonly ipvs: Ipvs;
  readonly windows?: () => readonly WindowReport[];
}

const str = (p: Record<string, unknown>, k: string): string | undefined => (typeof p[k] === 'string' ? (p[k] as string) : undefined);

function need(p: Record<string, unknown>, k: string): string {
  const v = str(p, k);
  if (v === undefined || v.trim() === '') throw new OverrideRequestError('bad-request', `missing '${k}'`);
  return v;
}

function changed(r: ChangeResult): Record<string, unknown> {
  return { ok: true, ...r };
}

/** Reads the kernel's connection counts of a real server in every service of its virtual server. */
async function conns(d: OverrideDeps, p: Record<string, unknown>): Promise<ConnsAnswer> {
  const t = findTarget(d.config.virtualServers, need(p, 'vs'), need(p, 'rs'));
  if ('error' in t) throw new OverrideRequestError('bad-request', t.error);
  const table = d.table();
  const keys = new Set(table?.status.find((s) => s.vs === t.vs)?.services ?? []);
  const vs = d.config.virtualServers.find((v) => vsName(v) === t.vs)!;
  const rs = vs.realServers.find((r) => rsName(r) === t.rs)!;
  const want = destKey(rs);
  const services: { service: string; weight: number; active: number; inactive: number }[] = [];
  for (const e of table?.table ?? []) {
    if (!keys.has(serviceKey(e.service))) continue;
    const dest = (await d.ipvs.dests(e.service)).find((x) => destKey(x) === want);
    if (dest) services.push({ service: serviceText(e.service), weight: dest.weight, active: dest.conns?.active ?? 0, inactive: dest.conns?.inactive ?? 0 });
  }
  const ov = d.manager.get(t.vs, t.rs);
  return {
    ok: true,
    vs: t.vs,
    rs: t.rs,
    ...(ov ? { override: ov } : {}),
    inKernel: services.length > 0,
    ...(services.length ? { weight: Math.max(...services.map((s) => s.weight)) } : {}),
    active: services.reduce((n, s) => n + s.active, 0),
    inactive: services.reduce((n, s) => n + s.inactive, 0),
    services,
  };
}

async function dispatch(method: string, p: Record<string, unknown>, d: OverrideDeps): Promise<unknown> {
  const vss = d.config.virtualServers;
  switch (method) {
    case 'override.set': {
      const action = str(p, 'action');
      if (action !== 'drain' && action !== 'disable') throw new OverrideRequestError('bad-request', `'action' must be drain or disable, got ${JSON.stringify(p.action)}`);
      const reason = str(p, 'reason');
      const until = str(p, 'until');
      return changed(d.manager.request(vss, { action, vs: need(p, 'vs'), rs: need(p, 'rs'), who: need(p, 'who'), ...(reason !== undefined ? { reason } : {}), ...(until !== undefined ? { until } : {}) }));
    }
    case 'override.enable': {
      const reason = str(p, 'reason');
      return changed(d.manager.enable(vss, { vs: need(p, 'vs'), rs: need(p, 'rs'), who: need(p, 'who'), ...(reason !== undefined ? { reason } : {}) }));
    }
    case 'override.conns':
      return conns(d, p);
    case 'override.list':
      return { ok: true, ...report(d.manager, d.config, d.windows?.() ?? []) };
    default:
      throw new OverrideRequestError('bad-request', `unknown method '${method}'`);
  }
}

function report(m: OverrideManager, config: Config, windows: readonly WindowReport[] = []): OverridesReport {
  const names = new Set(config.virtualServers.flatMap((v) => v.realServers.map((r) => `${vsName(v)}|${rsName(r)}`)));
  return {
    active: m.list().map((o) => ({ ...o, inConfig: names.has(`${o.vs}|${o.rs}`) })),
    windows,
    changes: m.counts(),
    problems: m.problems(),
  };
}

/** The `override.*` methods and the status part, as the checker engine uses them. */
export const overrideControl = {
  /** Answers one method; a refusal is `{ok: false, code, message}`, never a throw. */
  async handle(method: string, params: Record<string, unknown>, d: OverrideDeps): Promise<unknown> {
    try {
      return await dispatch(method, params, d);
    } catch (e) {
      if (e instanceof OverrideRequestError) return { ok: false, code: e.errorCode, message: e.message };
      return { ok: false, code: 'internal', message: `${method}: ${(e as Error).message}` };
    }
  },
  report,
};
