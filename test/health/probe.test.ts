import { createHash } from 'node:crypto';
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import { RealServerMonitor, type RsTransition } from '../../src/health/monitor.js';
import { type SupportedChecker, checkerName, isSupported, monitoredCheckers, probeFor } from '../../src/health/probe.js';
import { onRequest, serve } from '../helpers/net-fixtures.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** Compiles one virtual server with `checkers` on a real server at 127.0.0.1:port. */
function checkersOf(port: number, checkers: string): SupportedChecker[] {
  const src = `virtual_server 10.0.0.100 80 {
  delay_loop 1
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 127.0.0.1 ${port} {
    ${checkers}
  }
}
`;
  const r = compileText(src, 'k.conf', {});
  if (!r.config) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.config.virtualServers[0]!.realServers[0]!.checkers.filter(isSupported);
}

t.test('probes built from a compiled keepalived.conf', async (t) => {
  let healthy = true;
  const heads: string[] = [];
  const srv = await serve(onRequest((s, h) => {
    heads.push(h);
    const body = h.startsWith('GET /b ') ? 'bee\n' : 'ay\n';
    s.end(`HTTP/1.0 ${healthy ? 200 : 503} X\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  }));
  t.teardown(() => srv.close());
  const cks = checkersOf(srv.port, `HTTP_GET {
      url { path /a
            digest ${md5('ay\n')} }
      url { path /b
            status_code 200 503 }
      virtualhost www.example.com
      connect_timeout 0.5
      retry 0
      delay_before_retry 0.1
      warmup 0
    }
    TCP_CHECK { connect_timeout 0.5 }`);
  t.equal(cks.length, 2);
  t.equal(checkerName(cks[0]!), `HTTP_GET 127.0.0.1:${srv.port}`);
  const a = await probeFor(cks[0]!)();
  t.equal(a.reason, 'ok', a.detail);
  t.same(heads.map((h) => h.split('\r\n')[0]), ['GET /a HTTP/1.0', 'GET /b HTTP/1.0'], 'every url, in order');
  t.match(heads[0], /Host: www\.example\.com\r\n/);
  healthy = false;
  const b = await probeFor(cks[0]!)();
  t.equal(b.reason, 'bad-status');
  t.match(b.detail, /^\/a: status 503 not in 200-299/);
  t.equal((await probeFor(cks[1]!)()).reason, 'ok');

  // The monitor on the real clock: the RS goes down after one failed check (retry 0), up when healthy.
  const out: RsTransition[] = [];
  const m = new RealServerMonitor({ rs: `127.0.0.1:${srv.port}`, checkers: monitoredCheckers(cks), onTransition: (x) => out.push(x) });
  m.start();
  await new Promise((r) => setTimeout(r, 300));
  t.same(out.map((x) => x.up), [false]);
  t.match(out[0]?.reason, /HTTP_GET 127\.0\.0\.1:\d+: bad-status/);
  healthy = true;
  await new Promise((r) => setTimeout(r, 1300));
  m.stop();
  t.same(out.map((x) => x.up), [false, true]);
  t.equal(m.snapshot().checkers.length, 2);
});
