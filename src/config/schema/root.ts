import type { BlockSpec } from './dsl.js';
import { type GlobalModel, globalDefsSpec, globalRoot, globalRootDefaults } from './global.js';
import { type LvsModel, lvsRoot, lvsRootDefaults } from './lvs.js';
import { type VrrpModel, vrrpRoot, vrrpRootDefaults } from './vrrp.js';
import { buildBlock } from './build.js';
import type { Builder } from './build.js';
import type { Stmt } from '../parser.js';
import { resolveTunnelChecks } from './tunnel-check.js';
import { type MaintenanceWindow, checkMaintenanceWindows, maintenanceRoot } from './maintenance.js';

/** Everything the top level of keepalived.conf holds, before cross-checks. */
export type RootModel = GlobalModel & VrrpModel & LvsModel & { readonly maintenanceWindows: readonly MaintenanceWindow[] };

/** The top level of keepalived.conf. */
export const rootSpec: BlockSpec<RootModel> = {
  name: '',
  defaults: () => ({ ...globalRootDefaults(), ...vrrpRootDefaults(), ...lvsRootDefaults(), maintenanceWindows: [] }),
  keywords: { ...globalRoot, ...vrrpRoot, ...lvsRoot, ...maintenanceRoot },
  finalize(o, stmt, c) {
    // global_defs is optional: its defaults apply when it is absent.
    if (!o.globalDefs) (o as { globalDefs: unknown }).globalDefs = buildBlock(globalDefsSpec, { keyword: stmt.keyword, args: [] }, c as Builder);
    // vigil's tunnel_check: needs every virtual server and global_defs (marks are allocated config-wide)
    resolveTunnelChecks(o, c);
    // vigil's maintenance windows name virtual and real servers: they must exist
    checkMaintenanceWindows(o, c);
    return o as RootModel;
  },
};

/** A synthetic statement holding the whole file, so the top level is built like any block. */
export function rootStmt(body: readonly Stmt[], file: string): Stmt {
  const pos = { file, line: 1, col: 1 };
  return { keyword: { text: '', raw: '', quoted: false, pos }, args: [], block: { open: pos, close: pos, body } };
}
