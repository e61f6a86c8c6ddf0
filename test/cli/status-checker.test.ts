import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import pino from 'pino';
import { STATUS_DEGRADED, STATUS_OK, type StatusResult, degradedReasons, filterServices, renderStatus, statusCommand, statusExitCode, weightCell } from '../../src/cli/status.js';
import { compileText } from '../../src/config/compile.js';
import { ControlServer } from '../../src/control/server.js';
import { CheckerEngine } from '../../src/daemon/checker-child.js';
import { FakeIpvs } from '../../src/ipvs/fake.js';
import { toggleHttpServer, until } from '../helpers/net-fixtures.js';

/*
 * `vigil status`'s checker part from a real report: the checker engine runs real HTTP checks
 * against servers on loopback (only the kernel's IPVS table is the fake), its status() is put in
 * a status answer and rendered, and the exit code follows what broke: a real server down, a quorum
 * lost, IPVS writes failing. The last test asks over a real control socket, as the CLI does.
 */

const server = toggleHttpServer;

const check = `    HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 1
      retry 1
      delay_before_retry 0.1
      warmup 0
    }`;

/** VS1: a (weight 3), b, c (inhibit_on_failure); VS2: b alone with quorum 1 and a sorry server. */
function conf(a: number, b: number, c: number): string {
  return `virtual_server 192.0.2.100 80 {
  delay_loop 0.2
  lvs_sched wrr
  lvs_method NAT
  protocol TCP
  real_server 127.0.0.1 ${a} {
    weight 3
${check}
  }
  real_server 127.0.0.1 ${b} {
    weight 1
${check}
  }
  real_server 127.0.0.1 ${c} {
    weight 1
    inhibit_on_failure
${check}
  }
}
virtual_server 192.0.2.101 8080 {
  delay_loop 0.2
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  quorum 1
  sorry_server 198.51.100.9 80
  real_server 127.0.0.1 ${b} {
    weight 1
${check}
  }
}
`;
}

function compile(src: string) {
  const r = compileText(src, 'k.conf', { interfaceExists: () => true });
  if (!r.config) throw new Error(r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`).join('\n'));
  return r.config;
}

const log = pino({ level: 'silent' });

function answer(engine: CheckerEngine): StatusResult {
  return {
    version: '0.0.0-test',
    pid: 1234,
    config: '/etc/keepalived/keepalived.conf',
    startedAt: new Date().toISOString(),
    vrrp: [],
    children: [{ kind: 'checker', state: 'running', pid: 1235, restarts: 0 }],
    reloads: { ok: 0, failed: 0 },
    // through JSON as over IPC and the control socket
    checker: JSON.parse(JSON.stringify(engine.status())) as NonNullable<StatusResult['checker']>,
  };
}

/** The table row of real server `port` under virtual server `vs` in a rendering. */
function row(text: string, vs: string, port: number): string {
  const block = text.slice(text.indexOf(`  ${vs}:`));
  return block.split('\n').find((l) => l.includes(`127.0.0.1:${port} `)) ?? '';
}

t.test('rendering and exit codes follow the real engine: all up, servers down, IPVS failing', async (t) => {
  const [a, b, c] = await Promise.all([server(), server(), server()]);
  t.teardown(async () => Promise.all([a.close(), b.close(), c.close()]));
  const ipvs = new FakeIpvs();
  const engine = await CheckerEngine.start(compile(conf(a.port, b.port, c.port)), { log }, { ipvs, resyncMs: 0 });
  t.teardown(() => engine.stop());
  await until(() => engine.status().virtualServers.every((v) => v.realServers.every((r) => r.lastResult !== undefined)) && engine.status().ipvs.converged, 5000);

  let st = answer(engine);
  let text = renderStatus(st, false);
  t.equal(statusExitCode(st), STATUS_OK, 'all up: exit 0', { reasons: degradedReasons(st) });
  t.match(text, /VIRTUAL SERVERS\n {2}192\.0\.2\.100:80 TCP: 3\/3 up, weight sum 5\n/, 'VS line with the count up');
  t.match(text, /REAL SERVER +HEALTH +WEIGHT +LAST CHECK +FAILS +SINCE +REASON/, 'table head');
  t.match(row(text, '192.0.2.100:80 TCP', a.port), new RegExp(`^ {4}127\\.0\\.0\\.1:${a.port} +UP +3/3 +ok \\d+(\\.\\d)?ms +0 +\\d+s +`), 'a: UP, kernel 3 / effective 3, ok with latency');
  t.match(text, /IPVS: converged; 2 service\(s\) managed, \d+ write\(s\), 0 failed, 0 outside change\(s\)/, 'IPVS line');
  t.match(text, /checks: 3 distinct for 4 real server\(s\)/, 'b is checked once for both virtual servers');
  t.notOk(text.includes('\x1b['), 'no colour when not on a tty');
  t.match(renderStatus(st, true), /\x1b\[32mUP/, 'UP in green on a tty');

  await b.close();
  await c.close();
  await until(() => engine.status().virtualServers.every((v) => v.realServers.every((r) => r.up === r.rs.endsWith(`:${a.port}`))), 5000);
  await until(() => engine.status().ipvs.converged, 2000);
  st = answer(engine);
  text = renderStatus(st, false);
  t.equal(statusExitCode(st), STATUS_DEGRADED, 'real servers down: exit 1');
  t.same(
    degradedReasons(st).sort(),
    [`192.0.2.100:80 TCP: 127.0.0.1:${b.port} down`, `192.0.2.100:80 TCP: 127.0.0.1:${c.port} down`, `192.0.2.101:8080 TCP: 127.0.0.1:${b.port} down`, '192.0.2.101:8080 TCP: quorum lost'].sort(),
    'each problem named',
  );
  t.match(row(text, '192.0.2.100:80 TCP', b.port), new RegExp(`127\\.0\\.0\\.1:${b.port} +DOWN +-/1 +connect-refused [\\d.]+ms +[12] +\\d+s +.*connect-refused`), 'b: DOWN, not in the kernel, the failure and its count');
  t.match(row(text, '192.0.2.100:80 TCP', c.port), / DOWN +0\/1 inhibited +connect-refused/, 'c: in the kernel at 0, inhibited');
  t.match(text, /192\.0\.2\.101:8080 TCP: 0\/1 up, weight sum 0 {2}QUORUM LOST {2}SORRY SERVER ACTIVE/, 'quorum lost and sorry server flagged');
  const colored = renderStatus(st, true);
  t.match(colored, /\x1b\[31;1mDOWN/, 'DOWN in red on a tty');
  t.match(colored, /\x1b\[31;1mQUORUM LOST\x1b\[0m/, 'QUORUM LOST in red on a tty');

  // --service: by name, substring
  const only = filterServices(st, ['192.0.2.101']);
  const onlyText = renderStatus(only, false);
  t.notMatch(onlyText, /^ {2}192\.0\.2\.100:80 TCP:/m, '--service leaves the other virtual server out');
  t.ok(onlyText.includes('192.0.2.101:8080 TCP'), '--service keeps the matching one');
  t.same(degradedReasons(only).sort(), [`192.0.2.101:8080 TCP: 127.0.0.1:${b.port} down`, '192.0.2.101:8080 TCP: quorum lost'].sort(), 'the exit reasons follow the filter');
  t.equal(statusExitCode(filterServices(st, ['203.0.113.1'])), STATUS_OK, 'no matching service: nothing down');
  t.same(filterServices(st, undefined), st, 'no --service: unchanged');

  // IPVS refuses the write that brings b back: not converged, with the error
  ipvs.failWhen = (op) => (op === 'ipvs.addDest' ? 'ENOMEM' : undefined);
  await b.open();
  await until(() => {
    const s = engine.status();
    return s.virtualServers.every((v) => v.realServers.every((r) => r.up || r.rs.endsWith(`:${c.port}`))) && !s.ipvs.converged && s.ipvs.lastError !== undefined;
  }, 5000);
  st = filterServices(answer(engine), ['192.0.2.101']);
  text = renderStatus(st, false);
  t.match(text, /IPVS: NOT CONVERGED, retry \d+( in \d+s)?: .*ENOMEM.*; 2 service\(s\) managed, \d+ write\(s\), [1-9]\d* failed/, 'IPVS line names the retry and the error');
  t.equal(statusExitCode(st), STATUS_DEGRADED, 'IPVS not converged with an error: exit 1 even with every shown real server up');
  t.match(degradedReasons(st), [/^IPVS not converged: .*ENOMEM/]);
  ipvs.failWhen = undefined;
});

t.test('weight cell', async (t) => {
  const base = { rs: 'x', up: true, reason: '', since: '', checks: 0, failures: 0, checkers: [] };
  const cases: { desc: string; input: Parameters<typeof weightCell>[0]; want: string }[] = [
    { desc: 'installed at its weight', input: { ...base, weight: 10, configuredWeight: 10, installed: 10 }, want: '10/10' },
    { desc: 'inhibited', input: { ...base, up: false, weight: 10, configuredWeight: 10, installed: 0 }, want: '0/10 inhibited' },
    { desc: 'not installed', input: { ...base, up: false, weight: 10, configuredWeight: 10 }, want: '-/10' },
    { desc: 'dynamic weight', input: { ...base, weight: 4, configuredWeight: 10, installed: 4 }, want: '4/4 (configured 10)' },
  ];
  for (const c of cases) t.equal(weightCell(c.input), c.want, c.desc);
});

t.test('vigil status over a real control socket: --service, --json and the exit code', async (t) => {
  const [a, b, c] = await Promise.all([server(), server(), server()]);
  t.teardown(async () => Promise.all([a.close(), b.close(), c.close()]));
  const engine = await CheckerEngine.start(compile(conf(a.port, b.port, c.port)), { log }, { ipvs: new FakeIpvs(), resyncMs: 0 });
  t.teardown(() => engine.stop());
  await until(() => engine.status().virtualServers.every((v) => v.realServers.every((r) => r.lastResult !== undefined)) && engine.status().ipvs.converged, 5000);
  await c.close();
  await until(() => engine.status().virtualServers[0]!.realServers.some((r) => !r.up), 5000);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-status-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'ctl', 'vigil.sock');
  const ctl = new ControlServer(sock, { status: () => answer(engine) }, log);
  await ctl.listen();
  t.teardown(() => ctl.close());
  const run = async (...args: string[]) => {
    let out = '';
    let err = '';
    const code = await statusCommand(['--socket', sock, ...args], { out: (s) => (out += s), err: (s) => (err += s), color: false });
    return { code, out, err };
  };

  const all = await run();
  t.equal(all.code, STATUS_DEGRADED, 'c down: exit 1', { stderr: all.err });
  t.match(all.out, new RegExp(`127\\.0\\.0\\.1:${c.port} +DOWN +0/1 inhibited`));
  const vs2 = await run('--service', '192.0.2.101:8080 TCP');
  t.equal(vs2.code, STATUS_OK, 'only the healthy virtual server: exit 0');
  t.notMatch(vs2.out, /^ {2}192\.0\.2\.100:80 TCP:/m, 'and only it is shown');
  t.match(vs2.out, /^ {2}192\.0\.2\.101:8080 TCP: 1\/1 up/m);
  const json = await run('--json', '--service', '192.0.2.100');
  const parsed = JSON.parse(json.out) as StatusResult;
  t.same(
    parsed.checker!.virtualServers.map((v) => v.vs),
    ['192.0.2.100:80 TCP'],
    '--json passes the filtered report through',
  );
  t.equal(parsed.checker!.virtualServers[0]!.realServers.find((r) => r.rs.endsWith(`:${c.port}`))!.installed, 0, 'with the installed weight');
  t.equal(json.code, STATUS_DEGRADED);
});
