import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import { type HealthTransition, HealthEngine, type RsView } from '../../src/health/engine.js';
import { handleCount, until } from '../helpers/net-fixtures.js';

/*
 * HealthEngine against the real thing: real node HTTP and TCP servers on loopback, the real clock
 * and the real probes of probe.ts. Closing a server takes its real server down after exactly
 * retry + 1 failed checks, with the reason; listening again on the same port brings it back. A
 * real MISC_CHECK script sets a dynamic weight.
 */

/** A server that can be closed and opened again on the same port. */
interface Toggle {
  port: number;
  close(): Promise<void>;
  open(): Promise<void>;
}

async function toggle(host: string, make: () => net.Server): Promise<Toggle> {
  let srv: net.Server | undefined;
  const conns = new Set<net.Socket>();
  const self: Toggle = {
    port: 0,
    open: async () => {
      const s = make();
      s.on('connection', (c: net.Socket) => {
        conns.add(c);
        c.on('close', () => conns.delete(c));
      });
      await new Promise<void>((res, rej) => {
        s.once('error', rej);
        s.listen(self.port, host, () => res());
      });
      self.port = (s.address() as net.AddressInfo).port;
      srv = s;
    },
    close: () =>
      new Promise<void>((res) => {
        for (const c of conns) c.destroy();
        if (!srv) return res();
        srv.close(() => res());
        srv = undefined;
      }),
  };
  await self.open();
  return self;
}

const httpServer = () => http.createServer((_req, res) => res.end('ok\n'));
const tcpServer = () => net.createServer((c) => c.end());

// LVS-TUN: real servers on port 80 of their own address; the checkers reach the test servers with connect_port.
const TIMING = ['connect_timeout 0.5', 'retry 2', 'delay_before_retry 0.1', 'delay_loop 0.2', 'warmup 0.1'];
const http_ = (ip: string, port: number) => [`  real_server ${ip} 80 {`, '    HTTP_GET {', '      url {', '        path /health', '        status_code 200', '      }', `      connect_port ${port}`, ...TIMING.map((l) => `      ${l}`), '    }', '  }'];
const tcp_ = (ip: string, port: number) => [`  real_server ${ip} 80 {`, '    TCP_CHECK {', `      connect_port ${port}`, ...TIMING.map((l) => `      ${l}`), '    }', '  }'];
const vs = (addr: string, ...rss: string[][]) => [`virtual_server ${addr} 80 {`, '  protocol TCP', '  lvs_sched rr', '  lvs_method TUN', ...rss.flat(), '}'].join('\n');

t.test('real servers on loopback: down after exactly retry+1 failures, up again when they return', async (t) => {
  const handlesBefore = handleCount();
  const web = await toggle('127.0.0.11', httpServer);
  const tcp = await toggle('127.0.0.12', tcpServer);
  const control = await toggle('127.0.0.13', httpServer);
  t.teardown(async () => {
    await web.close();
    await tcp.close();
    await control.close();
  });
  const src = `${vs('10.0.0.1', http_('127.0.0.11', web.port), tcp_('127.0.0.12', tcp.port), http_('127.0.0.13', control.port))}\n${vs('10.0.0.2', http_('127.0.0.11', web.port))}`;
  const r = compileText(src, 'k.conf', {});
  if (!r.config) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const engine = new HealthEngine(r.config);
  t.teardown(() => engine.stop());
  const out: (HealthTransition & { failures: number; checks: number })[] = [];
  const rsOf = (vsName: string, rs: string): RsView => engine.snapshot().virtualServers.find((v) => v.vs === vsName)!.realServers.find((x) => x.rs === rs)!;
  engine.onTransition((x) => {
    const v = rsOf(x.vs, x.rs);
    out.push({ ...x, failures: v.failures, checks: v.checks });
  });
  t.equal(engine.snapshot().distinctChecks, 3, 'the web check shared by both virtual servers runs once');
  engine.start();
  const all = () => engine.snapshot().virtualServers.flatMap((v) => v.realServers);
  await until(() => all().every((x) => x.checks >= 2), 3000);
  t.ok(all().every((x) => x.up && x.checks >= 2 && x.last?.reason === 'ok'), 'every real server checked and up');

  for (const [name, srv, ip, vss, kind] of [
    ['HTTP', web, '127.0.0.11', ['10.0.0.1:80 TCP', '10.0.0.2:80 TCP'], 'HTTP_GET'],
    ['TCP', tcp, '127.0.0.12', ['10.0.0.1:80 TCP'], 'TCP_CHECK'],
  ] as const) {
    const rs = `${ip}:80`;
    const re = ip.replaceAll('.', '\\.');
    out.length = 0;
    const checksBefore = rsOf(vss[0], rs).checks;
    const closedAt = performance.now();
    await srv.close();
    await until(() => out.length >= vss.length, 3000);
    const downAfter = performance.now() - closedAt;
    t.same(out.map((x) => [x.vs, x.rs, x.change]), vss.map((v) => [v, rs, 'down']), `${name}: down in every virtual server that has it`);
    const d = out[0]!;
    t.match(d.reason, new RegExp(`^${kind} ${re}:${srv.port}: connect-refused \\(.*\\) after 2 retries$`), `${name}: reason ${d.reason}`);
    t.equal(d.failures, 3, `${name}: down at the 3rd consecutive failure (retry 2)`);
    t.ok(d.checks - checksBefore <= 4, `${name}: ${d.checks - checksBefore} checks from close to down (at most one ok in flight before the 3 failures)`);
    t.ok(downAfter < 1000, `${name}: down ${downAfter.toFixed(0)} ms after the close (delay_loop 0.2 + 2 x delay_before_retry 0.1)`);
    t.same(engine.verdicts()['10.0.0.1:80 TCP']![rs], { up: false, weight: 1 });
    out.length = 0;
    await srv.open();
    await until(() => out.length >= vss.length, 3000);
    t.same(out.map((x) => [x.vs, x.rs, x.change, x.reason]), vss.map((v) => [v, rs, 'up', `${kind} ${ip}:${srv.port}: ok`]), `${name}: up again on the same port`);
    t.equal(out[0]!.failures, 0);
  }
  const ctl = rsOf('10.0.0.1:80 TCP', '127.0.0.13:80');
  t.same([ctl.up, ctl.transitions], [true, 0], 'the control server never moved');
  const lat = engine.lateness();
  t.ok(lat.count > 0 && lat.p99Ms < 50, `lateness on the real clock: p50 ${lat.p50Ms} ms, p99 ${lat.p99Ms} ms, max ${lat.maxMs} ms over ${lat.count} checks`);
  engine.stop();
  await web.close();
  await tcp.close();
  await control.close();
  await until(() => handleCount() <= handlesBefore, 2000);
  t.equal(handleCount(), handlesBefore, 'no socket or server handle left after stop');
});

t.test('a real MISC_CHECK with misc_dynamic: exit status sets the weight, exit 1 takes the server down', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-misc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const status = path.join(dir, 'status');
  const script = path.join(dir, 'check.sh');
  fs.writeFileSync(status, '0');
  fs.writeFileSync(script, `#!/bin/sh\nexit $(cat ${status})\n`, { mode: 0o755 });
  const src = vs('10.0.0.1', [
    '  real_server 127.0.0.21 80 {',
    '    weight 3',
    '    MISC_CHECK {',
    `      misc_path "${script}"`,
    '      misc_dynamic',
    '      misc_timeout 2',
    '      retry 0',
    '      delay_loop 0.1',
    '      warmup 0.05',
    '    }',
    '  }',
  ]);
  const r = compileText(src, 'k.conf', {});
  if (!r.config) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const engine = new HealthEngine(r.config, { notify: {} });
  t.teardown(() => engine.stop());
  const out: HealthTransition[] = [];
  engine.onTransition((x) => out.push(x));
  engine.start();
  const rs = () => engine.snapshot().virtualServers[0]!.realServers[0]!;
  await until(() => rs().checks >= 2, 3000);
  t.same([rs().up, rs().weight, out.length], [true, 3, 0], 'exit 0: up, configured weight');
  for (const [code, want] of [
    ['7', [['weight', true, 5]]],
    ['12', [['weight', true, 10]]],
    ['1', [['down', false, 10]]],
    ['0', [['up', true, 10]]],
  ] as const) {
    out.length = 0;
    fs.writeFileSync(status, code);
    await until(() => out.length > 0, 3000);
    t.same(out.map((x) => [x.change, x.up, x.weight]), want, `exit ${code}`);
  }
  t.match(rs().checkers[0]!.name, /^MISC_CHECK /);
  engine.stop();
});
