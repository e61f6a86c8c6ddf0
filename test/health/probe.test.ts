import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import { RealServerMonitor, type RsTransition } from '../../src/health/monitor.js';
import { type SupportedChecker, checkerName, isSupported, monitoredCheckers, probeFor } from '../../src/health/probe.js';
import { onRequest, serve, serveUdp } from '../helpers/net-fixtures.js';

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

t.test('every checker type from one keepalived.conf, against real servers', async (t) => {
  const dir = t.testdir();
  fs.writeFileSync(path.join(dir, 'weight'), '4\n');
  const http = await serve(onRequest((s) => s.end('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n')));
  const smtp = await serve((s) => {
    s.write('220 ready\r\n');
    s.on('data', (d: Buffer) => s.write(d.toString().startsWith('HELO') ? '250 hi\r\n' : '221 bye\r\n'));
  });
  const dns = await serveUdp((q, reply) => {
    const r = Buffer.from(q);
    r.writeUInt16BE(0x8180, 2);
    reply(r);
  });
  const udp = await serveUdp((_m, reply) => reply(Buffer.from('pong')));
  t.teardown(() => Promise.all([http.close(), smtp.close(), dns.close(), udp.close()]));
  const src = `track_file tf {
  file "${dir}/weight"
  weight 2
}
bfd_instance b1 {
  neighbor_ip 127.0.0.1
}
virtual_server 10.0.0.100 80 {
  delay_loop 1
  lvs_sched rr
  lvs_method TUN
  protocol TCP
  real_server 127.0.0.1 80 {
    HTTP_GET {
      connect_port ${http.port}
      url {
        path /
        regex "^ok$"
      }
    }
    TCP_CHECK { connect_port ${http.port} }
    SMTP_CHECK { connect_port ${smtp.port} }
    DNS_CHECK {
      connect_port ${dns.port}
      type A
      name www.example.test
    }
    UDP_CHECK {
      connect_port ${udp.port}
      require_reply 706f6e67
    }
    PING_CHECK { }
    MISC_CHECK { misc_path "/bin/sh -c 'exit 7'"
      misc_dynamic }
    FILE_CHECK { track_file tf }
    BFD_CHECK { name b1 }
  }
}
`;
  const r = compileText(src, 'k.conf', {});
  if (!r.config) return t.fail(r.diagnostics.map((d) => d.message).join('\n'));
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
  const m = monitoredCheckers(r.config.virtualServers[0]!.realServers[0]!.checkers, { trackFiles: r.config.trackFiles, log });
  t.same(
    m.map((x) => x.name.split(' ')[0]),
    ['HTTP_GET', 'TCP_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK', 'MISC_CHECK', 'FILE_CHECK'],
    'every type but BFD_CHECK',
  );
  t.equal(lines.length, 1);
  t.match(JSON.parse(lines[0]!), { level: 40, op: 'health.checker', checker: 'BFD_CHECK', name: 'b1' }, 'BFD_CHECK is logged and skipped');
  const results = await Promise.all(m.map((x) => x.probe()));
  results.forEach((res, i) => t.equal(res.reason, 'ok', `${m[i]!.name}: ${res.detail}`));
  t.equal(results[6]!.weight, 5, 'MISC_CHECK misc_dynamic exit 7: weight 5');
  t.equal(results[7]!.weightDelta, 8, 'FILE_CHECK: 4 × weight 2');
  t.equal(m[7]!.timing.delayLoopMs, 1000, 'FILE_CHECK reads its file every second by default');
});
