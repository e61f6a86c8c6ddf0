import t from 'tap';
import pino from 'pino';
import { compileText } from '../../src/config/compile.js';
import { CheckerEngine, ipvsModeFromEnv } from '../../src/daemon/checker-child.js';
import { FakeIpvs } from '../../src/ipvs/fake.js';
import { toggleHttpServer, until } from '../helpers/net-fixtures.js';

/*
 * The checker child's engine end to end on the host: real HTTP servers on loopback, the real
 * health engine and probes, the real director and reconciler — only the kernel's IPVS table is
 * the fake (the host kernel has no IPVS; test/beds/uml-daemon.test.ts runs the same against the
 * real one). A server that stops answering leaves the table after its retries (removed, or weight 0
 * with inhibit_on_failure) and returns when it answers again; a reload that adds a real server
 * writes only that destination; stop leaves the table in place.
 */

const server = toggleHttpServer;

function conf(ports: number[], inhibit: number[] = []): string {
  const rs = ports.map(
    (p) => `  real_server 127.0.0.1 ${p} {
    weight ${p === ports[0] ? 3 : 1}
    ${inhibit.includes(p) ? 'inhibit_on_failure' : ''}
    HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 1
      retry 1
      delay_before_retry 0.1
      warmup 0
    }
  }`,
  );
  return `virtual_server 192.0.2.100 80 {
  delay_loop 0.2
  lvs_sched wrr
  lvs_method NAT
  protocol TCP
${rs.join('\n')}
}
`;
}

function compile(src: string) {
  const r = compileText(src, 'k.conf', { interfaceExists: () => true });
  if (!r.config) throw new Error(r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`).join('\n'));
  return r.config;
}

const log = pino({ level: 'silent' });

async function destWeights(ipvs: FakeIpvs): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await ipvs.services()) for (const d of await ipvs.dests(s)) out[`${d.address}:${d.port}`] = d.weight;
  return out;
}

t.test('verdicts reach the table: down leaves, up returns, inhibit keeps weight 0', async (t) => {
  const a = await server();
  const b = await server();
  const c = await server();
  t.teardown(async () => Promise.all([a.close(), b.close(), c.close()]));
  const ipvs = new FakeIpvs();
  const engine = await CheckerEngine.start(compile(conf([a.port, b.port, c.port], [c.port])), { log }, { ipvs, resyncMs: 0 });
  t.teardown(() => engine.stop());
  t.same(await destWeights(ipvs), { [`127.0.0.1:${a.port}`]: 3, [`127.0.0.1:${b.port}`]: 1, [`127.0.0.1:${c.port}`]: 1 }, 'all three programmed at their weights at start');

  await b.close();
  await c.close();
  await until(() => {
    const r = engine.status().virtualServers[0]?.realServers;
    return r?.find((x) => x.rs.endsWith(`:${b.port}`))?.up === false && r.find((x) => x.rs.endsWith(`:${c.port}`))?.up === false;
  }, 5000);
  await until(() => engine.status().ipvs.converged, 2000);
  t.same(await destWeights(ipvs), { [`127.0.0.1:${a.port}`]: 3, [`127.0.0.1:${c.port}`]: 0 }, 'b removed, c (inhibit_on_failure) at weight 0');
  const rb = engine.status().virtualServers[0]!.realServers.find((x) => x.rs.endsWith(`:${b.port}`))!;
  t.match(rb.reason, /connect-refused.*after 1 retry/, 'the reason names the failure and the retries');
  t.equal(rb.installed, undefined, 'status: b is not in the kernel');
  const rc = engine.status().virtualServers[0]!.realServers.find((x) => x.rs.endsWith(`:${c.port}`))!;
  t.same([rc.installed, rc.configuredWeight], [0, 1], 'status: c is in the kernel at weight 0, configured 1');
  t.equal(engine.status().virtualServers[0]!.realServers.find((x) => x.rs.endsWith(`:${a.port}`))!.installed, 3, 'status: a installed at 3');

  await b.open();
  await c.open();
  await until(() => engine.status().virtualServers[0]!.realServers.every((x) => x.up), 5000);
  await until(() => engine.status().ipvs.converged, 2000);
  t.same(await destWeights(ipvs), { [`127.0.0.1:${a.port}`]: 3, [`127.0.0.1:${b.port}`]: 1, [`127.0.0.1:${c.port}`]: 1 }, 'both back at their configured weights');
});

t.test('a restart adopts the table with zero writes; a reload writes only the difference', async (t) => {
  const a = await server();
  const b = await server();
  const d = await server();
  t.teardown(async () => Promise.all([a.close(), b.close(), d.close()]));
  const ipvs = new FakeIpvs();
  const first = await CheckerEngine.start(compile(conf([a.port, b.port])), { log }, { ipvs, resyncMs: 0 });
  await first.stop();
  t.equal((await ipvs.services()).length, 1, 'stop leaves IPVS in place');
  const calls = ipvs.calls.length;
  const second = await CheckerEngine.start(compile(conf([a.port, b.port])), { log }, { ipvs, resyncMs: 0 });
  t.teardown(() => second.stop());
  t.equal(second.status().ipvs.writes, 0, 'restart: zero writes');
  t.same(ipvs.calls.slice(calls).filter((c) => !['services', 'dests', 'info', 'timeouts', 'daemons'].includes(c.op)), [], 'restart: the fake saw no write');

  const before = second.status().virtualServers[0]!.realServers.find((x) => x.rs.endsWith(`:${a.port}`))!;
  await until(() => second.status().virtualServers[0]!.realServers[0]!.checks >= 2, 3000);
  const checksBefore = second.status().virtualServers[0]!.realServers.find((x) => x.rs.endsWith(`:${a.port}`))!.checks;
  const r = (await second.reload(compile(conf([a.port, b.port, d.port])))) as { ipvsWrites: number };
  t.equal(r.ipvsWrites, 1, 'reload adding one real server: one write');
  const after = second.status().virtualServers[0]!.realServers.find((x) => x.rs.endsWith(`:${a.port}`))!;
  t.ok(after.checks >= checksBefore, 'an unchanged check keeps its counters across the reload');
  t.equal(after.since, before.since, 'and its state');
  t.same(Object.keys(await destWeights(ipvs)).length, 3);
});

t.test('lvs_sync_daemon without an instance: the checker runs both daemons, hands them over to VRRP, and stops them', async (t) => {
  const ipvs = new FakeIpvs();
  const states = async () => (await ipvs.daemons()).map((d) => `${d.state} ${d.ifname} ${d.syncId}`).sort();
  const vs = `virtual_server 192.0.2.100 80 {\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n}\n`;
  const withSync = (line: string) => compile(`global_defs {\n  ${line}\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n${vs}`);
  const engine = await CheckerEngine.start(withSync('lvs_sync_daemon eth0 id 7'), { log }, { ipvs });
  t.same(await states(), ['backup eth0 7', 'master eth0 7'], 'both, as keepalived checker does');
  // the instance is named now: the VRRP child owns them; the checker leaves them alone
  await engine.reload(withSync('lvs_sync_daemon eth0 VI_1'));
  t.same(await states(), ['backup eth0 7', 'master eth0 7'], 'untouched by the checker (the VRRP child reconciles)');
  await engine.reload(withSync('lvs_sync_daemon eth0 id 8'));
  t.same(await states(), ['backup eth0 8', 'master eth0 8'], 'back to the checker: restarted with the new id');
  await engine.stop();
  t.same(await states(), [], 'stopped with the checker');
});

t.test('VIGIL_IPVS: kernel by default, memory only when asked, anything else refused', async (t) => {
  const table: { env: string | undefined; want: string | RegExp }[] = [
    { env: undefined, want: 'kernel' },
    { env: '', want: 'kernel' },
    { env: 'kernel', want: 'kernel' },
    { env: 'memory', want: 'memory' },
    { env: 'fake', want: /VIGIL_IPVS must be 'kernel' \(the default\) or 'memory'.*got 'fake'/ },
  ];
  for (const c of table) {
    const env = c.env === undefined ? {} : { VIGIL_IPVS: c.env };
    if (c.want instanceof RegExp) t.throws(() => ipvsModeFromEnv(env), c.want, `${c.env}`);
    else t.equal(ipvsModeFromEnv(env), c.want, `${c.env}`);
  }
});

t.test('the managed set is kept in the state dir for the kernel table, never for VIGIL_IPVS=memory', async (t) => {
  const { mkdtempSync, rmSync, existsSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const a = await server();
  t.teardown(() => a.close());
  for (const keepManaged of [true, false]) {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-keep-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const engine = await CheckerEngine.start(compile(conf([a.port])), { log, stateDir: dir }, { ipvs: new FakeIpvs(), resyncMs: 0, keepManaged });
    await engine.stop();
    t.equal(existsSync(join(dir, 'ipvs-managed.json')), keepManaged, `keepManaged ${keepManaged}: ipvs-managed.json ${keepManaged ? 'written' : 'not written'}`);
  }
});
