import { block } from './dsl.js';
import type { BlockSpec } from './dsl.js';

/*
 * LVS side of keepalived.conf: virtual_server_group, virtual_server, real_server and checkers.
 */

/** `virtual_server ... { ... }`. */
export interface VirtualServer {
  readonly name: string;
}

/** The `virtual_server` block. */
export const virtualServerSpec: BlockSpec<VirtualServer> = {
  name: 'virtual_server',
  head: (args) => ({ name: args.map((a) => a.text).join(' ') }),
  defaults: () => ({}),
  keywords: {},
};

/** Top-level statements that belong to the LVS side. */
export const lvsRoot = {
  virtual_server: block('virtualServers', virtualServerSpec, 'A virtual service: `virtual_server ADDR PORT { ... }`.', { repeat: 'append' }),
};

/** The LVS part of the compiled configuration. */
export interface LvsModel {
  readonly virtualServers: readonly VirtualServer[];
}

/** Defaults of the LVS part of the top level (lists start empty). */
export function lvsRootDefaults(): Partial<LvsModel> {
  return { virtualServers: [] };
}
