// The supervisor → child messages the overrides add: a `control` request (method and params) and
// the state directory in the start options; malformed ones are rejected, never acted on.
import t from 'tap';
import { parseParentMessage } from '../../src/daemon/ipc.js';

const config = { vrrpInstances: [], files: [], globalDefs: {} };

t.test('control requests and stateDir', async (t) => {
  const cases: { desc: string; input: unknown; want: unknown }[] = [
    { desc: 'control request', input: { t: 'request', id: 3, op: 'control', method: 'override.set', params: { vs: 'a' } }, want: { t: 'request', id: 3, op: 'control', method: 'override.set', params: { vs: 'a' } } },
    { desc: 'control without params', input: { t: 'request', id: 3, op: 'control', method: 'override.set' }, want: { reject: "control: needs 'method' (a string) and 'params' (an object)" } },
    { desc: 'control with array params', input: { t: 'request', id: 3, op: 'control', method: 'x', params: [] }, want: { reject: "control: needs 'method' (a string) and 'params' (an object)" } },
    { desc: 'control with a numeric method', input: { t: 'request', id: 3, op: 'control', method: 7, params: {} }, want: { reject: "control: needs 'method' (a string) and 'params' (an object)" } },
    { desc: 'start with stateDir', input: { t: 'start', config, options: { logLevel: 'info', logFormat: 'json', stateDir: '/var/lib/vigil' } }, want: { t: 'start', config, options: { logLevel: 'info', logFormat: 'json', stateDir: '/var/lib/vigil' } } },
    { desc: 'start without stateDir', input: { t: 'start', config, options: { logLevel: 'info', logFormat: 'json' } }, want: { t: 'start', config, options: { logLevel: 'info', logFormat: 'json' } } },
    { desc: 'start with a bad stateDir', input: { t: 'start', config, options: { logLevel: 'info', logFormat: 'json', stateDir: 5 } }, want: { reject: "start: 'options.stateDir' must be an absolute path" } },
  ];
  for (const c of cases) t.same(parseParentMessage(c.input), c.want, c.desc);
});
