import type { Diagnostics } from './diagnostics.js';
import type { RootModel } from './schema/root.js';
import type { HostChecks, PosOf } from './validate.js';

/** Cross-block checks of the LVS side: group references, duplicate services, sorry servers. */
export function validateLvs(m: RootModel, diag: Diagnostics, host: HostChecks, at: PosOf): void {
  void m;
  void diag;
  void host;
  void at;
}
