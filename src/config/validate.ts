import type { Diagnostics, Pos } from './diagnostics.js';
import { blockPos } from './schema/build.js';
import { fieldPos } from './schema/dsl.js';
import type { RootModel } from './schema/root.js';
import { validateVrrp } from './validate-vrrp.js';
import { validateLvs } from './validate-lvs.js';

/** Finds the best position for a diagnostic about `o` (its `field` if set, else its block). */
export type PosOf = (o: object, field?: string) => Pos;

/** Host facts the validator may consult; absent ones are not checked. */
export interface HostChecks {
  /** True when a network interface of this name exists here. */
  readonly interfaceExists?: (name: string) => boolean;
}

/** Checks that span blocks: names, references, VRIDs, version rules. */
export function validate(m: RootModel, diag: Diagnostics, host: HostChecks): void {
  const at: PosOf = (o, field) => (field ? fieldPos(o, field) : undefined) ?? blockPos(o) ?? { file: '?', line: 0, col: 0 };
  validateVrrp(m, diag, host, at);
  validateLvs(m, diag, host, at);
}

