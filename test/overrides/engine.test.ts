// Overrides in the checker engine on the host: real HTTP servers on loopback, the real health
// engine, director, reconciler and state file; only the kernel's IPVS table is the fake (the host
// kernel has no IPVS; test/beds/uml-overrides.test.ts runs against the real one). Checked: drain
// puts weight 0, disable removes, enable gives health back; health decides under and after an
// override; overrides survive a restart of the engine (state file) and a reload; bad requests
// change nothing; --until expires; a corrupt state file is reported and kept aside.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import pino from 'pino';
import { compileText } from '../../src/config/compile.js';
import { CheckerEngine } from '../../src/daemon/checker-child.js';
import { FakeIpvs } from '../../src/ipvs/fake.js';
import { toggleHttpServer, until } from '../helpers/net-fixtures.js';

const log = pino({ level: 'silent' });

function conf(ports: number[]): string {
  const rs = ports.map(
    (p) => `  real_server 127.0.0.1 ${p} {
    weight 5
    HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 1
      retry 1
      delay_before_retry 0.1
    }
  }`,
  );
  return `virtual_server 192.0.2.100 80 {\n  delay_loop 0.2\n  lvs_sched wrr\n  lvs_method NAT\n  protocol TCP\n${rs.join('\n')}\n}\n`;
}

function compile(src: string) {
  const r = compileText(src, 'k.conf', { interfaceExists: () => true });
  if (!r.config) throw new Error(r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`).join('\n'));
  return r.config;
}

async function weights(ipvs: FakeIpvs): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await ipvs.services()) for (const d of await ipvs.dests(s)) out[`${d.port}`] = d.weight;
  return out;
}

type Answer = { ok: boolean; code?: string; message: string; changed?: boolean };
const ask = async (e: CheckerEngine, method: string, params: Record<string, unknown>) => (await e.control(method, { who: 'tester (uid 0, pid 1)', ...params })) as Answer;

t.test('drain, disable, enable; health decides underneath; restart and reload keep them', async (t) => {
  const a = await toggleHttpServer();
  const b = await toggleHttpServer();
  t.teardown(async () => Promise.all([a.close(), b.close()]));
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ov-'));
  t.teardown(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  const ipvs = new FakeIpvs();
  const cfg = compile(conf([a.port, b.port]));
  let engine = await CheckerEngine.start(cfg, { log }, { ipvs, resyncMs: 0, stateDir });
  t.teardown(() => engine.stop());
  const A = String(a.port);
  const B = String(b.port);
  t.same(await weights(ipvs), { [A]: 5, [B]: 5 }, 'both at weight 5');

  const r = await ask(engine, 'override.set', { action: 'drain', vs: '192.0.2.100:80', rs: `127.0.0.1:${a.port}`, reason: 'deploy 42' });
  t.ok(r.ok, r.message);
  t.match(r.message, new RegExp(`192.0.2.100:80 TCP 127.0.0.1:${a.port}: drain by tester .*: deploy 42`));
  await until(async () => (await weights(ipvs))[A] === 0, 2000);
  t.same(await weights(ipvs), { [A]: 0, [B]: 5 }, 'drained: still in the kernel at weight 0');
  const ra = () => engine.status().virtualServers[0]!.realServers.find((x) => x.rs.endsWith(`:${a.port}`))!;
  t.same([ra().up, ra().installed, ra().override], [true, 0, 'drain'], 'status: healthy, installed 0, override drain');
  t.match(engine.status().overrides?.active, [{ action: 'drain', reason: 'deploy 42', who: 'tester (uid 0, pid 1)', source: 'cli', inConfig: true }]);
  const onDisk = JSON.parse(fs.readFileSync(path.join(stateDir, 'overrides.json'), 'utf8')) as { overrides: unknown[] };
  t.equal(onDisk.overrides.length, 1, 'persisted');
  t.same(fs.readdirSync(stateDir), ['overrides.json'], 'no temporary file left behind');

  const conns = (await engine.control('override.conns', { vs: '192.0.2.100:80', rs: `127.0.0.1:${a.port}` })) as { ok: boolean; inKernel: boolean; active: number; weight: number };
  t.same([conns.ok, conns.inKernel, conns.active, conns.weight], [true, true, 0, 0], 'conns: read from IPVS');

  // bad requests change nothing
  const before = fs.readFileSync(path.join(stateDir, 'overrides.json'), 'utf8');
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['override.set', { action: 'disable', vs: '192.0.2.99:80', rs: `127.0.0.1:${b.port}` }, /no virtual server '192.0.2.99:80'/],
    ['override.set', { action: 'disable', vs: '192.0.2.100:80', rs: '127.0.0.9:80' }, /no real server '127.0.0.9:80'/],
    ['override.set', { action: 'disable', vs: '192.0.2.100:80', rs: `127.0.0.1:${b.port}`, until: '2001-01-01T00:00:00Z' }, /in the past/],
    ['override.set', { action: 'disable', vs: '192.0.2.100:80', rs: `127.0.0.1:${b.port}`, until: 'soon' }, /use a duration/],
    ['override.set', { action: 'pause', vs: '192.0.2.100:80', rs: `127.0.0.1:${b.port}` }, /must be drain or disable/],
    ['override.enable', { vs: '192.0.2.100:80' }, /missing 'rs'/],
    ['override.nosuch', {}, /unknown method/],
  ];
  for (const [m, p, want] of bad) {
    const x = await ask(engine, m, p);
    t.same([x.ok, x.code], [false, 'bad-request'], `${m} ${JSON.stringify(p)} refused`);
    t.match(x.message, want);
  }
  t.equal(fs.readFileSync(path.join(stateDir, 'overrides.json'), 'utf8'), before, 'the state file is unchanged');
  t.same(await weights(ipvs), { [A]: 0, [B]: 5 }, 'and the table');

  // health still decides under a drain: a failed server leaves the table
  await a.close();
  await until(() => !ra().up, 5000);
  await until(async () => (await weights(ipvs))[A] === undefined, 2000);
  t.pass('a drained server that fails is removed (health decides)');
  await a.open();
  await until(() => ra().up, 5000);
  await until(() => engine.status().ipvs.converged, 2000);
  t.same(await weights(ipvs), { [A]: 0, [B]: 5 }, 'and comes back drained, not at its weight');

  // kill and restart: the override comes back from the state file before the first table
  await engine.stop();
  const writesBefore = ipvs.calls.filter((c) => ['editDest', 'addDest', 'deleteDest'].includes(c.op)).length;
  engine = await CheckerEngine.start(cfg, { log }, { ipvs, resyncMs: 0, stateDir });
  t.equal(engine.status().ipvs.writes, 0, 'restart: zero writes (the drain was applied from the file)');
  t.equal(ipvs.calls.filter((c) => ['editDest', 'addDest', 'deleteDest'].includes(c.op)).length, writesBefore, 'the weight never went back to 5');
  t.match(engine.status().overrides?.active, [{ action: 'drain', reason: 'deploy 42' }]);

  // a reload keeps it
  await engine.reload(compile(conf([a.port, b.port])));
  t.same(await weights(ipvs), { [A]: 0, [B]: 5 }, 'reload: still drained');

  // disable the other one, then enable both
  t.ok((await ask(engine, 'override.set', { action: 'disable', vs: '192.0.2.100 80', rs: `127.0.0.1 ${b.port}` })).ok);
  await until(async () => (await weights(ipvs))[B] === undefined, 2000);
  t.same(await weights(ipvs), { [A]: 0 }, 'disabled: removed although healthy');
  t.ok((await ask(engine, 'override.enable', { vs: '192.0.2.100:80', rs: `127.0.0.1:${a.port}`, reason: 'deployed' })).ok);
  t.ok((await ask(engine, 'override.enable', { vs: '192.0.2.100:80', rs: `127.0.0.1:${b.port}` })).ok);
  await until(async () => (await weights(ipvs))[A] === 5 && (await weights(ipvs))[B] === 5, 2000);
  t.pass('enabled: both back at weight 5');
  const again = await ask(engine, 'override.enable', { vs: '192.0.2.100:80', rs: `127.0.0.1:${b.port}` });
  t.same([again.ok, again.changed], [true, false], 'enable without an override is a no-op');
  t.match(again.message, /no override in force/);
  t.same(engine.status().overrides?.changes, { disable: 1, enable: 2 }, 'changes counted by this engine (the drain was set by the one before)');
  t.same((JSON.parse(fs.readFileSync(path.join(stateDir, 'overrides.json'), 'utf8')) as { overrides: unknown[] }).overrides, [], 'state file empty');

  // --until expires
  t.ok((await ask(engine, 'override.set', { action: 'disable', vs: '192.0.2.100:80', rs: `127.0.0.1:${b.port}`, until: '1s' })).ok);
  await until(async () => (await weights(ipvs))[B] === undefined, 2000);
  await until(async () => (await weights(ipvs))[B] === 5, 3000);
  t.pass('--until 1s: disabled, then back at its weight');
  t.equal(engine.status().overrides?.changes.expire, 1, 'expiry counted');
  t.same(engine.status().overrides?.active, [], 'no override left');
});

t.test('a corrupt state file is reported and kept aside; good entries survive bad ones', async (t) => {
  const a = await toggleHttpServer();
  t.teardown(() => a.close());
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ov-'));
  t.teardown(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  const file = path.join(stateDir, 'overrides.json');
  fs.writeFileSync(file, '{"overrides": [ {"vs": "192.0.2.100:80 TCP", ');
  const ipvs = new FakeIpvs();
  const cfg = compile(conf([a.port]));
  let engine = await CheckerEngine.start(cfg, { log }, { ipvs, resyncMs: 0, stateDir });
  t.match(engine.status().overrides?.problems, [/overrides.json is corrupt .*starting without overrides \(the file is kept as .*overrides.json.corrupt-/]);
  t.same(await weights(ipvs), { [String(a.port)]: 5 }, 'the table is health-driven');
  await engine.stop();

  const good = { vs: '192.0.2.100:80 TCP', rs: `127.0.0.1:${a.port}`, action: 'drain', reason: 'r', who: 'w', since: '2026-01-01T00:00:00.000Z', source: 'cli' };
  fs.writeFileSync(file, JSON.stringify({ version: 1, overrides: [{ ...good, action: 'explode' }, good] }));
  engine = await CheckerEngine.start(cfg, { log }, { ipvs, resyncMs: 0, stateDir });
  t.teardown(() => engine.stop());
  t.match(engine.status().overrides?.problems, [/entry 0 unreadable and left out; the other 1 kept/]);
  t.match(engine.status().overrides?.active, [{ action: 'drain' }], 'the good entry is in force');
  await until(async () => (await weights(ipvs))[String(a.port)] === 0, 2000);
  t.ok(fs.readdirSync(stateDir).filter((f) => f.includes('.corrupt-')).length >= 1, 'the originals are kept aside');
});
