// The reconciler against the in-memory IPVS (kernel error semantics) on a fake clock: adoption
// costs zero writes, hand changes are put right and logged, failures back off with growing,
// capped delays and converge, unmanaged services are never touched and nothing is flushed.
import t from 'tap';
import type { ServiceEntry } from '../../src/director/diff.js';
import { Reconciler, type ReconcilerLog, type ReconcilerOptions } from '../../src/director/reconciler.js';
import { FakeIpvs } from '../../src/ipvs/fake.js';
import { type Dest, type Service, destConfig, serviceConfig } from '../../src/ipvs/types.js';
import { FakeClock } from '../../src/util/clock.js';

const svc = (port: number, o: Partial<Service> = {}): Service => ({ family: 4, protocol: 'tcp', address: '192.0.2.100', port, scheduler: 'wrr', flags: 0, timeout: 0, netmask: 32, ...o }) as Service;
const dest = (n: number, weight = n): Dest => ({ family: 4, address: `198.51.100.${n}`, port: 80, forward: 'tun', weight, upperThreshold: 0, lowerThreshold: 0, tunType: 'ipip', tunPort: 0, tunFlags: 0 });
const entry = (s: Service, ...d: Dest[]): ServiceEntry => ({ service: s, dests: d });
const TABLE = [entry(svc(80), dest(11), dest(12), dest(13)), entry(svc(443, { scheduler: 'wlc' }), dest(11))];

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}
function logger(): ReconcilerLog & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

async function snapshot(ipvs: FakeIpvs): Promise<string[]> {
  const out: string[] = [];
  for (const s of await ipvs.services()) {
    out.push(`${s.port} ${s.scheduler}`);
    for (const d of await ipvs.dests(s)) out.push(`${s.port} ${d.address} w${d.weight}`);
  }
  return out.sort();
}

function setup(o: Partial<ReconcilerOptions> = {}, ipvs = new FakeIpvs()) {
  const clock = new FakeClock();
  const log = logger();
  const r = new Reconciler({ ipvs, clock, log, ...o });
  return { ipvs, clock, log, r };
}

/** Lets a run that a timer started finish. */
async function tick(clock: FakeClock, r: Reconciler, ms: number): Promise<void> {
  clock.advance(ms);
  await new Promise((res) => setImmediate(res));
  await r.idle();
}

t.test('from empty: one write per object, then nothing to do', async (t) => {
  const { ipvs, r, log } = setup();
  await r.start();
  const first = await r.reconcile(TABLE, 'config loaded');
  t.match(first, { ok: true, writes: 6, failed: 0, read: true });
  t.same(ipvs.calls.map((c) => c.op), ['ipvs.addService', 'ipvs.addService', 'ipvs.addDest', 'ipvs.addDest', 'ipvs.addDest', 'ipvs.addDest']);
  t.same(await snapshot(ipvs), ['443 198.51.100.11 w11', '443 wlc', '80 198.51.100.11 w11', '80 198.51.100.12 w12', '80 198.51.100.13 w13', '80 wrr']);
  const writeLogs = log.lines.filter((l) => l.msg.startsWith('ipvs add'));
  t.equal(writeLogs.length, 6, 'each write logged once');
  t.match(writeLogs[2], { level: 'info', obj: { op: 'addDest', vs: '192.0.2.100:80', rs: '198.51.100.11:80', weight: 11, reason: 'config loaded' }, msg: 'ipvs addDest 192.0.2.100:80 → 198.51.100.11:80 weight 11 tun' });
  const again = await r.reconcile(TABLE, 'nothing changed');
  t.match(again, { ok: true, writes: 0, read: false }, 'no change: no write and no kernel read (the last table is the baseline)');
  t.equal(r.writes, 6);
  t.equal(r.status().converged, true);
  r.stop();
});

t.test('restart (even after kill -9): a new reconciler adopts the kernel table with zero writes', async (t) => {
  const ipvs = new FakeIpvs();
  const a = setup({}, ipvs);
  await a.r.reconcile(TABLE, 'first life');
  a.r.stop(); // the process dies; IPVS stays
  const callsBefore = ipvs.calls.length;
  const b = setup({}, ipvs);
  await b.r.start();
  const res = await b.r.reconcile(TABLE, 'started');
  t.match(res, { ok: true, writes: 0, adopted: 2, read: true });
  t.equal(ipvs.calls.length, callsBefore, 'the IPVS layer saw no write at all');
  t.equal(b.r.writes, 0);
  t.match(b.log.lines.find((l) => l.msg.startsWith('ipvs table read')), { msg: 'ipvs table read: 2 services as wanted, 0 not vigil\'s' });
  b.r.stop();
});

t.test('adoption changes only the difference, and only in managed services', async (t) => {
  const ipvs = new FakeIpvs();
  await ipvs.addService(svc(80));
  await ipvs.addDest(svc(80), dest(11));
  await ipvs.addDest(svc(80), dest(12, 1)); // other weight
  await ipvs.addService(svc(8080, { scheduler: 'rr' })); // not vigil's
  await ipvs.addDest(svc(8080), dest(99));
  ipvs.calls.length = 0;
  const { r } = setup({}, ipvs);
  const res = await r.reconcile([entry(svc(80), dest(11), dest(12), dest(13))], 'started');
  t.match(res, { ok: true, writes: 2, unmanaged: 1 });
  t.same(ipvs.calls.map((c) => `${c.op} ${c.object}`), ['ipvs.editDest 192.0.2.100:80 → 198.51.100.12:80', 'ipvs.addDest 192.0.2.100:80 → 198.51.100.13:80']);
  t.same(await snapshot(ipvs), ['80 198.51.100.11 w11', '80 198.51.100.12 w12', '80 198.51.100.13 w13', '80 wrr', '8080 198.51.100.99 w99', '8080 rr'], 'the unmanaged service is untouched');
  await r.removeManaged('explicit removal');
  t.same(await snapshot(ipvs), ['8080 198.51.100.99 w99', '8080 rr'], 'removeManaged deletes only vigil\'s services');
  t.notOk(ipvs.calls.some((c) => c.op === 'ipvs.flush'), 'never a flush');
  r.stop();
});

t.test('a service dropped from the desired table is deleted once, then no longer managed', async (t) => {
  const { ipvs, r } = setup();
  await r.reconcile(TABLE, 'v1');
  const res = await r.reconcile([TABLE[0]!], 'reload: 443 removed');
  t.match(res, { ok: true, writes: 1 });
  t.same(ipvs.calls.at(-1), { op: 'ipvs.deleteService', object: '192.0.2.100:443' });
  t.equal(r.status().managed, 1);
  await ipvs.addService(svc(443)); // someone re-creates it by hand: now it is theirs
  t.match(await r.resync('check'), { ok: true, writes: 0, unmanaged: 1 });
  r.stop();
});

t.test('a change by hand is noticed by the periodic re-read, put right and logged', async (t) => {
  const { ipvs, clock, r, log } = setup({ resyncMs: 10_000 });
  await r.start();
  await r.reconcile(TABLE, 'config loaded');
  await ipvs.editDest(svc(80), dest(11, 5)); // like ipvsadm -e ... -w 5
  await ipvs.deleteDest(svc(80), dest(13)); // like ipvsadm -d
  await ipvs.addDest(svc(443), dest(50)); // like ipvsadm -a
  const before = r.writes;
  await tick(clock, r, 9_999);
  t.equal(r.writes, before, 'not before the period');
  await tick(clock, r, 1);
  t.equal(r.writes - before, 3, 'three writes put it right');
  t.same(await snapshot(ipvs), ['443 198.51.100.11 w11', '443 wlc', '80 198.51.100.11 w11', '80 198.51.100.12 w12', '80 198.51.100.13 w13', '80 wrr']);
  const outside = log.lines.filter((l) => l.msg.startsWith('changed outside vigil'));
  t.same(outside.map((l) => l.msg).sort(), [
    'changed outside vigil: 192.0.2.100:443 → 198.51.100.50:80 is not wanted (added outside vigil)',
    'changed outside vigil: 192.0.2.100:80 → 198.51.100.11:80: weight 5, want 11',
    'changed outside vigil: 192.0.2.100:80 → 198.51.100.13:80 is missing',
  ]);
  t.ok(outside.every((l) => l.level === 'warn' && l.obj['reason'] === 'periodic re-read'));
  t.match(log.lines.filter((l) => l.msg.startsWith('ipvs editDest')).at(-1)?.obj, { reason: 'periodic re-read: put right a change made outside vigil' }, 'the writes carry the reason');
  t.equal(r.status().outsideChanges, 3);
  await tick(clock, r, 10_000);
  t.equal(r.writes - before, 3, 'the next re-read finds nothing to do');
  r.stop();
});

t.test('refused writes: re-read and retry with growing delays, capped, until it converges', async (t) => {
  const { ipvs, clock, r, log } = setup({ resyncMs: 0, backoff: { firstMs: 100, factor: 2, maxMs: 1000 } });
  let failures = 6;
  ipvs.failWhen = (op) => (op === 'ipvs.addDest' && failures-- > 0 ? 'ENOMEM' : undefined);
  const first = await r.reconcile(TABLE, 'config loaded');
  t.match(first, { ok: false, failed: 4, error: { code: 'ENOMEM', message: 'ipvs.addDest 192.0.2.100:80 → 198.51.100.11:80: ENOMEM' } });
  t.equal(r.status().retryInMs, 100);
  let elapsed = 0;
  while (!r.status().converged && elapsed < 60_000) {
    await tick(clock, r, 50);
    elapsed += 50;
  }
  t.ok(r.status().converged, `converged after ${elapsed} ms of fake time`);
  const delays = log.lines.filter((l) => l.level === 'error').map((l) => l.obj['retryInMs']);
  t.same(delays, [100, 200], 'two failed runs (4 then 2 refusals), delays doubling');
  t.same(await snapshot(ipvs), ['443 198.51.100.11 w11', '443 wlc', '80 198.51.100.11 w11', '80 198.51.100.12 w12', '80 198.51.100.13 w13', '80 wrr']);
  t.equal(log.lines.filter((l) => l.msg.startsWith('changed outside vigil')).length, 0, 'its own half-done work is not reported as a change by hand');
  t.equal(r.status().retryAttempt, 0);
  t.equal(r.status().retryInMs, undefined);
  r.stop();
});

t.test('a kernel that keeps failing: delays grow to the cap and stay there', async (t) => {
  const { ipvs, clock, r, log } = setup({ resyncMs: 0, backoff: { firstMs: 100, factor: 2, maxMs: 1000 } });
  ipvs.failReads = 'EIO';
  t.match(await r.reconcile(TABLE, 'config loaded'), { ok: false, writes: 0, error: { code: 'EIO' } });
  for (let i = 0; i < 60; i++) await tick(clock, r, 100);
  const delays = log.lines.filter((l) => l.level === 'error').map((l) => l.obj['retryInMs']);
  t.same(delays.slice(0, 7), [100, 200, 400, 800, 1000, 1000, 1000], 'exponential, capped at maxMs');
  t.equal(r.writes, 0, 'no write while the kernel cannot be read');
  ipvs.failReads = undefined;
  await tick(clock, r, 1000);
  t.ok(r.status().converged, 'converges once the kernel answers again');
  t.equal(r.writes, 6);
  r.stop();
  const n = log.lines.length;
  await tick(clock, r, 100_000);
  t.equal(log.lines.length, n, 'after stop() no timer fires');
  t.same((await snapshot(ipvs)).length, 6, 'and IPVS is left as it is');
});

t.test('calls during a run share the next run; the latest desired table wins', async (t) => {
  const { ipvs, r } = setup();
  const p1 = r.reconcile(TABLE, 'a');
  const p2 = r.reconcile([entry(svc(80), dest(11, 1))], 'b');
  const p3 = r.reconcile([entry(svc(80), dest(11, 2))], 'c');
  const [r1, r2, r3] = await Promise.all([p1, p2, p3]);
  t.equal(r1.reason, 'a');
  t.equal(r2, r3, 'b and c were served by one run');
  t.equal(r2.reason, 'b; c');
  t.same(await snapshot(ipvs), ['80 198.51.100.11 w2', '80 wrr']);
  r.stop();
});

t.test('lvs_flush: one flush at start, only when configured', async (t) => {
  const ipvs = new FakeIpvs();
  await ipvs.addService(svc(8080));
  const a = setup({}, ipvs);
  await a.r.start();
  t.notOk(ipvs.calls.some((c) => c.op === 'ipvs.flush'), 'not configured: no flush');
  a.r.stop();
  const b = setup({ flushAtStart: true }, ipvs);
  await b.r.start();
  t.same(ipvs.calls.filter((c) => c.op === 'ipvs.flush').length, 1);
  t.same(await snapshot(ipvs), [], 'the table was flushed');
  t.equal(b.r.writes, 1, 'the flush counts as a write');
  t.match(b.log.lines[0], { level: 'warn', obj: { op: 'flush', reason: 'lvs_flush is configured' } });
  b.r.stop();
});

t.test('bad options are refused in the constructor', async (t) => {
  t.throws(() => setup({ backoff: { firstMs: 0 } }), RangeError);
  t.throws(() => setup({ resyncMs: -1 }), RangeError);
  t.throws(() => setup({ backoff: { firstMs: 100, maxMs: 10 } }), RangeError);
});

t.test('destConfig/serviceConfig round trip keeps the fake honest', async (t) => {
  const { ipvs, r } = setup();
  await r.reconcile(TABLE, 'x');
  t.same((await ipvs.services()).map(serviceConfig).map((s) => s.port), [80, 443]);
  t.same((await ipvs.dests(svc(80))).map(destConfig).map((d) => d.weight), [11, 12, 13]);
  r.stop();
});

t.test('a service made by hand that the config later asks for is read, not re-added blindly', async (t) => {
  const ipvs = new FakeIpvs();
  await ipvs.addService(svc(8080));
  await ipvs.addDest(svc(8080), dest(11));
  const { r } = setup({}, ipvs);
  t.match(await r.reconcile([TABLE[0]!], 'start'), { ok: true, unmanaged: 1 });
  const res = await r.reconcile([TABLE[0]!, entry(svc(8080), dest(11), dest(12))], 'reload adds 8080');
  t.match(res, { ok: true, writes: 1, failed: 0, read: true }, 'only the missing destination is added');
  r.stop();
});
