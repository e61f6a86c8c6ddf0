import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import { isReject, parseChildMessage, parseParentMessage } from '../../src/daemon/ipc.js';

const config = compileText('vrrp_instance A {\n interface lo\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n').config!;
const options = { logLevel: 'info', logFormat: 'json' };

t.test('supervisor → child: valid messages pass unchanged', async (t) => {
  const good: unknown[] = [
    { t: 'start', config, options },
    { t: 'start', config, options, holds: { VI_1: { by: 'alice', reason: 'r', since: 1 } } },
    { t: 'start', config, options: { ...options, stateDir: '/var/lib/vigil', ipvsResyncMs: 2000 } },
    { t: 'request', id: 0, op: 'status' },
    { t: 'request', id: 7, op: 'reload', config },
    { t: 'request', id: 8, op: 'dump', kind: 'stats' },
    { t: 'request', id: 9, op: 'override', holds: {} },
    { t: 'request', id: 9, op: 'override', holds: { VI_1: { by: 'alice', reason: 'r', since: 1, until: 2 } } },
    { t: 'stop' },
  ];
  for (const m of good) {
    const r = parseParentMessage(m);
    t.notOk(isReject(r), JSON.stringify(m).slice(0, 60));
    t.equal((r as { t: string }).t, (m as { t: string }).t);
  }
  const holds = { VI_1: { by: 'alice', reason: 'r', since: 1 } };
  t.same((parseParentMessage({ t: 'start', config, options, holds }) as { holds?: unknown }).holds, holds, 'start carries the holds');
  t.match(parseParentMessage({ t: 'start', config, options: { ...options, stateDir: '/s', ipvsResyncMs: 500 } }), { options: { stateDir: '/s', ipvsResyncMs: 500 } }, 'and the settings the children need');
});

t.test('supervisor → child: malformed messages are rejected with a reason', async (t) => {
  const bad: [unknown, RegExp][] = [
    [null, /an object/],
    [[1, 2], /an object/],
    ['start', /an object/],
    [{}, /unknown message type undefined/],
    [{ t: 'launch' }, /unknown message type "launch"/],
    [{ t: 'start', options }, /'config' is not a compiled configuration/],
    [{ t: 'start', config: { vrrpInstances: 'x' }, options }, /'config' is not/],
    [{ t: 'start', config, options: { logLevel: 'loud', logFormat: 'json' } }, /bad 'options'/],
    [{ t: 'start', config, options, holds: { VI_1: { by: 'a' } } }, /start: 'holds'/],
    [{ t: 'start', config, options: { ...options, stateDir: 'relative' } }, /options.stateDir/],
    [{ t: 'start', config, options: { ...options, ipvsResyncMs: '2000' } }, /options.ipvsResyncMs/],
    [{ t: 'request', op: 'status' }, /'id' must be a non-negative integer/],
    [{ t: 'request', id: -1, op: 'status' }, /'id'/],
    [{ t: 'request', id: 1.5, op: 'status' }, /'id'/],
    [{ t: 'request', id: 1, op: 'reboot' }, /unknown op "reboot"/],
    [{ t: 'request', id: 1, op: 'reload' }, /reload: 'config'/],
    [{ t: 'request', id: 1, op: 'dump', kind: 'json' }, /data or stats/],
    [{ t: 'request', id: 1, op: 'override' }, /override: 'holds'/],
    [{ t: 'request', id: 1, op: 'override', holds: { VI_1: { by: 'a', reason: 'r' } } }, /override: 'holds'/],
    [{ t: 'request', id: 1, op: 'override', holds: { VI_1: { by: 'a', reason: 'r', since: 1, until: 'later' } } }, /override: 'holds'/],
  ];
  for (const [m, re] of bad) {
    const r = parseParentMessage(m);
    t.ok(isReject(r), `${JSON.stringify(m)?.slice(0, 60)} rejected`);
    if (isReject(r)) t.match(r.reject, re);
  }
});

t.test('child → supervisor', async (t) => {
  t.same(parseChildMessage({ t: 'hello' }), { t: 'hello' });
  t.same(parseChildMessage({ t: 'ready', extra: 1 }), { t: 'ready' }, 'unknown fields are dropped');
  t.same(parseChildMessage({ t: 'fatal', message: 'no such interface' }), { t: 'fatal', message: 'no such interface' });
  t.same(parseChildMessage({ t: 'reply', id: 3, ok: true, result: { a: 1 } }), { t: 'reply', id: 3, ok: true, result: { a: 1 } });
  t.same(parseChildMessage({ t: 'reply', id: 3, ok: false, error: 'nope' }), { t: 'reply', id: 3, ok: false, error: 'nope' });
  const bad: [unknown, RegExp][] = [
    [42, /an object/],
    [{ t: 'bogus' }, /unknown message type/],
    [{ t: 'fatal' }, /'message' must be a string/],
    [{ t: 'reply', ok: true }, /'id'/],
    [{ t: 'reply', id: 1, ok: false }, /ok: false with 'error'/],
    [{ t: 'reply', id: 1, ok: 'yes', result: 1 }, /needs ok: true/],
  ];
  for (const [m, re] of bad) {
    const r = parseChildMessage(m);
    t.ok(isReject(r));
    if (isReject(r)) t.match(r.reject, re);
  }
});
