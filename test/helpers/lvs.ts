import { type CompileOptions, type CompileResult, compileText } from '../../src/config/compile.js';
import type { Checker } from '../../src/config/schema/checkers.js';
import type { RealServer, VirtualServer } from '../../src/config/schema/lvs.js';

/** Compiles `src` and summarises it for LVS tests: diagnostics as `line:col severity code`. */
export function run(src: string, opts: CompileOptions = {}): {
  r: CompileResult;
  diags: string[];
  messages: string[];
  vs: VirtualServer | undefined;
  rs: RealServer | undefined;
  ck: Checker | undefined;
} {
  const r = compileText(src, 'k.conf', opts);
  const vs = r.config?.virtualServers[0];
  const rs = vs?.realServers[0];
  return {
    r,
    diags: r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.severity} ${d.code}`),
    messages: r.diagnostics.map((d) => d.message),
    vs,
    rs,
    ck: rs?.checkers[0],
  };
}

/**
 * A one-service config: extra virtual_server lines go on line 5, real_server lines on line 7, and
 * `checker` (a whole checker block, possibly several lines) starts on line 8.
 */
export function svc(vsLine = '', rsLine = '', checker = ''): string {
  return [
    'virtual_server 10.0.0.1 80 {',
    '  protocol TCP',
    '  lvs_sched rr',
    '  lvs_method NAT',
    `  ${vsLine}`,
    '  real_server 10.0.1.1 80 {',
    `    ${rsLine}`,
    `    ${checker}`,
    '  }',
    '}',
  ].join('\n');
}
