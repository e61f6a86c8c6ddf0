import net from 'node:net';
import t from 'tap';
import pino from 'pino';
import { Registry } from 'prom-client';
import { compileText } from '../../src/config/compile.js';
import { CheckerEngine } from '../../src/daemon/checker-child.js';
import { FakeIpvs } from '../../src/ipvs/fake.js';
import { type CheckerMetricsReport, asCheckerReport, checkerMetrics, serveMetrics } from '../../src/metrics/server.js';
import { toggleHttpServer, until } from '../helpers/net-fixtures.js';

/*
 * The checker metrics scraped over HTTP from serveMetrics, fed by a real checker engine: real HTTP
 * checks against servers on loopback, the real director and reconciler, only the kernel's IPVS
 * table is the fake. The report crosses JSON as it does over IPC. A server that goes down shows
 * in the up/down gauges, the per-reason counters and the histogram; a refused IPVS write in the
 * failed-writes counter and the converged gauge.
 */

const server = toggleHttpServer;

function conf(a: number, b: number): string {
  const rs = (p: number, w: number) => `  real_server 127.0.0.1 ${p} {
    weight ${w}
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
  }`;
  return `virtual_server 192.0.2.100 80 {
  delay_loop 0.2
  lvs_sched wrr
  lvs_method NAT
  protocol TCP
${rs(a, 3)}
${rs(b, 1)}
}
`;
}

const log = pino({ level: 'silent' });

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The value of one series in exposition text; undefined when absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('checker metrics over HTTP follow a real engine', async (t) => {
  const [a, b] = await Promise.all([server(), server()]);
  t.teardown(async () => Promise.all([a.close(), b.close()]));
  const ipvs = new FakeIpvs();
  const r = compileText(conf(a.port, b.port), 'k.conf', { interfaceExists: () => true });
  const engine = await CheckerEngine.start(r.config!, { log }, { ipvs, resyncMs: 0 });
  t.teardown(() => engine.stop());
  let answering = true;
  const report = (): CheckerMetricsReport | undefined => (answering ? asCheckerReport(JSON.parse(JSON.stringify(engine.status()))) : undefined);
  const reg = new Registry();
  checkerMetrics(reg, report);
  const listen = `127.0.0.1:${await freePort()}`;
  const close = await serveMetrics(listen, reg, log);
  t.teardown(close);
  const scrape = async () => {
    const res = await fetch(`http://${listen}/metrics`);
    t.equal(res.status, 200);
    return res.text();
  };
  const vs = 'vs="192.0.2.100:80 TCP"';
  const A = `${vs},rs="127.0.0.1:${a.port}"`;
  const B = `${vs},rs="127.0.0.1:${b.port}"`;

  await until(() => engine.status().virtualServers[0]!.realServers.every((x) => x.checks >= 2) && engine.status().ipvs.converged, 5000);
  let m = await scrape();
  t.match(m, /# TYPE vigil_checks_total counter/);
  t.match(m, /# TYPE vigil_check_duration_seconds histogram/);
  t.equal(value(m, `vigil_realserver_up{${A}}`), 1, 'a up');
  t.equal(value(m, `vigil_realserver_up{${B}}`), 1, 'b up');
  t.equal(value(m, `vigil_realserver_weight{${A},kind="installed"}`), 3, 'a installed at 3');
  t.equal(value(m, `vigil_virtualserver_realservers{${vs},state="up"}`), 2);
  t.equal(value(m, `vigil_virtualserver_realservers{${vs},state="down"}`), 0);
  t.equal(value(m, `vigil_virtualserver_quorum_up{${vs}}`), 1);
  const ok1 = value(m, 'vigil_checks_total{result="ok",reason="ok"}') ?? 0;
  t.ok(ok1 >= 4, `ok checks counted (${ok1})`);
  t.equal(value(m, 'vigil_check_duration_seconds_count'), ok1, 'histogram count = results');
  t.equal(value(m, 'vigil_check_duration_seconds_bucket{le="+Inf"}'), ok1, '+Inf bucket = count');
  t.ok((value(m, 'vigil_check_duration_seconds_bucket{le="1"}') ?? 0) === ok1, 'loopback checks all under 1 s');
  t.ok((value(m, 'vigil_check_duration_seconds_sum') ?? 0) > 0, 'latency sum');
  t.equal(value(m, 'vigil_ipvs_converged'), 1);
  t.equal(value(m, 'vigil_ipvs_writes_total'), engine.status().ipvs.writes, 'writes as the reconciler counts them');
  t.equal(value(m, 'vigil_ipvs_failed_writes_total'), 0);
  t.equal(value(m, 'vigil_ipvs_outside_changes_total'), 0);
  t.equal(value(m, 'vigil_checks_distinct'), 2);
  t.ok(value(m, `vigil_check_last_latency_seconds{${A}}`)! > 0, 'last latency per real server');
  const writes1 = value(m, 'vigil_ipvs_writes_total')!;

  await b.close();
  await until(() => engine.status().virtualServers[0]!.realServers.some((x) => !x.up) && engine.status().ipvs.converged, 5000);
  m = await scrape();
  t.equal(value(m, `vigil_realserver_up{${B}}`), 0, 'b down');
  t.equal(value(m, `vigil_realserver_up{${A}}`), 1, 'a still up');
  t.equal(value(m, `vigil_realserver_weight{${B},kind="installed"}`), undefined, 'b no longer installed');
  t.equal(value(m, `vigil_virtualserver_realservers{${vs},state="down"}`), 1);
  const refused = value(m, 'vigil_checks_total{result="failed",reason="connect-refused"}') ?? 0;
  t.ok(refused >= 2, `connect-refused counted (${refused}: the failure and its retry)`);
  t.ok(value(m, `vigil_check_consecutive_failures{${B}}`)! >= 2, 'consecutive failures');
  t.equal(value(m, 'vigil_ipvs_writes_total'), writes1 + 1, 'one write: b removed');
  const total = (m.match(/^vigil_checks_total\{[^}]*\} \d+$/gm) ?? []).reduce((n, l) => n + Number(l.split(' ')[1]), 0);
  t.equal(value(m, 'vigil_check_duration_seconds_count'), total, 'histogram count = all results');

  ipvs.failWhen = (op) => (op === 'ipvs.addDest' ? 'ENOMEM' : undefined);
  await b.open();
  await until(() => engine.status().ipvs.failedWrites > 0 && !engine.status().ipvs.converged, 5000);
  m = await scrape();
  t.equal(value(m, 'vigil_ipvs_converged'), 0, 'not converged while the kernel refuses');
  t.ok(value(m, 'vigil_ipvs_failed_writes_total')! >= 1, 'failed writes counted');
  t.ok(value(m, 'vigil_ipvs_retry_attempt')! >= 1, 'retry attempt');
  ipvs.failWhen = undefined;

  answering = false;
  m = await scrape();
  t.notMatch(m, /^vigil_realserver_up\{/m, 'no checker series while the child does not answer');
  t.equal(value(m, 'vigil_check_duration_seconds_count'), undefined);
});

t.test('asCheckerReport refuses what is not a report', async (t) => {
  for (const x of [undefined, null, 3, 'x', {}, { virtualServers: [] }, { virtualServers: 'x', ipvs: {}, checks: {} }]) t.equal(asCheckerReport(x), undefined, JSON.stringify(x) ?? 'undefined');
  t.ok(asCheckerReport({ virtualServers: [], ipvs: {}, checks: {} }));
});
