import { createHash } from 'node:crypto';
import type net from 'node:net';
import t from 'tap';
import { httpGet, type HttpGetOptions } from '../../src/health/http-check.js';
import { tcpCheck } from '../../src/health/tcp-check.js';
import type { Reason } from '../../src/health/result.js';
import { closedPort, fdCount, handleCount, onRequest, respond, selfSigned, serve, until } from '../helpers/net-fixtures.js';

/*
 * Every failure mode against a real loopback server: the check ends within its deadline with the
 * right reason, and no socket is left behind.
 */

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');
const DEADLINE = 400;
/** Slack for event-loop scheduling on a loaded machine. */
const MARGIN = 250;
const BODY = 'hello from the real server\n';

/** A server that sends `n` bytes of body in 64 KiB writes, honouring backpressure, until closed. */
function hugeBody(total: number, sent: { n: number }): (s: net.Socket) => void {
  return onRequest((s) => {
    s.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let closed = false;
    s.on('close', () => {
      closed = true;
    });
    const pump = () => {
      while (!closed && sent.n < total) {
        sent.n += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      if (!closed) s.end();
    };
    pump();
  });
}

interface Case {
  desc: string;
  handler?: (s: net.Socket) => void;
  refused?: boolean;
  opts?: Partial<HttpGetOptions>;
  want: Reason;
  /** The check must take about the whole deadline (timeouts). */
  full?: boolean;
}

const huge = { n: 0 };
const cases: Case[] = [
  { desc: 'healthy, status and digest match', handler: respond(200, BODY), opts: { digest: md5(BODY) }, want: 'ok' },
  { desc: 'connection refused', refused: true, want: 'connect-refused' },
  { desc: 'accept then silence', handler: () => {}, want: 'timeout', full: true },
  {
    desc: 'slow trickle of headers (slowloris)',
    handler: onRequest((s) => {
      s.write('HTTP/1.0 200 OK\r\n');
      const iv = setInterval(() => s.write('X'), 20);
      s.on('close', () => clearInterval(iv));
    }),
    want: 'timeout',
    full: true,
  },
  {
    desc: 'slow trickle of body bytes',
    handler: onRequest((s) => {
      s.write('HTTP/1.0 200 OK\r\n\r\n');
      const iv = setInterval(() => s.write('b'), 20);
      s.on('close', () => clearInterval(iv));
    }),
    want: 'timeout',
    full: true,
  },
  {
    desc: 'reset mid-response',
    handler: onRequest((s) => {
      s.write('HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\npartial');
      setTimeout(() => s.resetAndDestroy(), 20);
    }),
    want: 'reset',
  },
  { desc: 'reset before any byte', handler: (s) => setTimeout(() => s.resetAndDestroy(), 10), want: 'reset' },
  { desc: 'closed without data', handler: onRequest((s) => s.end()), want: 'empty-response' },
  { desc: 'wrong status', handler: respond(500, 'oops'), want: 'bad-status' },
  { desc: 'status in a configured range', handler: respond(401, 'no'), opts: { statusCodes: [{ min: 200, max: 299 }, { min: 401, max: 401 }] }, want: 'ok' },
  { desc: 'wrong digest', handler: respond(200, 'changed content\n'), opts: { digest: md5(BODY) }, want: 'bad-digest' },
  { desc: 'garbage instead of HTTP', handler: (s) => s.end('SSH-2.0-OpenSSH_9.2\r\n'), want: 'bad-response' },
  { desc: 'garbage after a request', handler: onRequest((s) => s.end(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]))), want: 'bad-response' },
  { desc: 'header never ends (64 KiB of header lines)', handler: onRequest((s) => s.end(`HTTP/1.0 200 OK\r\n${'X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(2000)}`)), want: 'bad-response' },
  { desc: '1 GB body stops at the byte limit', handler: hugeBody(1024 ** 3, huge), opts: { maxBodyBytes: 256 * 1024, digest: md5(BODY) }, want: 'body-too-large' },
  { desc: 'truncated header then EOF', handler: onRequest((s) => s.end('HTTP/1.0 200 OK\r\nContent-Le')), want: 'bad-response' },
];

t.test('HTTP_GET failure modes end within the deadline with the right reason', async (t) => {
  for (const c of cases) {
    const srv = c.handler ? await serve(c.handler) : undefined;
    const port = srv?.port ?? (await closedPort());
    const t0 = performance.now();
    const r = await httpGet({ host: '127.0.0.1', port, path: '/health', deadlineMs: DEADLINE, statusCodes: [{ min: 200, max: 299 }], ...c.opts });
    const took = performance.now() - t0;
    t.equal(r.reason, c.want, `${c.desc}: reason (${r.detail})`);
    t.equal(r.ok, c.want === 'ok', `${c.desc}: ok`);
    t.ok(took < DEADLINE + MARGIN, `${c.desc}: ended in ${took.toFixed(0)} ms < ${DEADLINE + MARGIN}`);
    if (c.full) t.ok(took >= DEADLINE - 5, `${c.desc}: waited the deadline (${took.toFixed(0)} ms)`);
    t.ok(Math.abs(r.latencyMs - took) < 50, `${c.desc}: latencyMs ${r.latencyMs.toFixed(0)} ≈ ${took.toFixed(0)}`);
    await srv?.close();
  }
  t.ok(huge.n < 64 * 1024 * 1024, `1 GB server stopped after ${(huge.n / 2 ** 20).toFixed(1)} MiB sent`);
});

t.test('request line, Host header, protocol and digest as keepalived', async (t) => {
  let head = '';
  const srv = await serve(onRequest((s, h) => { head = h; s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}trailing junk past content-length`); }));
  t.teardown(() => srv.close());
  const r = await httpGet({ host: '127.0.0.1', port: srv.port, path: '/a?b=c', deadlineMs: DEADLINE });
  t.equal(head, `GET /a?b=c HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:${srv.port}\r\n\r\n`);
  t.equal(r.http?.digest, md5(BODY), 'digest cut at Content-Length');
  t.equal(r.http?.bodyBytes, BODY.length);
  await httpGet({ host: '127.0.0.1', port: srv.port, path: '/', deadlineMs: DEADLINE, httpProtocol: '1.1', virtualhost: 'www.example.com' });
  t.equal(head, 'GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n');
  await httpGet({ host: '127.0.0.1', port: srv.port, path: '/', deadlineMs: DEADLINE, httpProtocol: '1.0C' });
  t.match(head, /^GET \/ HTTP\/1\.0\r\n.*Connection: close\r\n/s);
});

t.test('no Content-Length: the body runs to EOF', async (t) => {
  const srv = await serve(onRequest((s) => s.end(`HTTP/1.0 200 OK\r\n\r\n${BODY}`)));
  t.teardown(() => srv.close());
  const r = await httpGet({ host: '127.0.0.1', port: srv.port, path: '/', deadlineMs: DEADLINE, digest: md5(BODY) });
  t.equal(r.reason, 'ok', r.detail);
});

t.test('IPv6 loopback, bindto', async (t) => {
  let srv;
  try {
    srv = await serve(respond(200, BODY), { host: '::1' });
  } catch {
    t.comment('SKIP: no IPv6 loopback on this host');
    return;
  }
  const s = srv;
  t.teardown(() => s.close());
  let peer = '';
  const r = await httpGet({ host: '::1', port: s.port, path: '/', deadlineMs: DEADLINE, localAddress: '::1' });
  t.equal(r.reason, 'ok', r.detail);
  const v4 = await serve(onRequest((c) => { peer = c.remoteAddress ?? ''; c.end('HTTP/1.0 204 No\r\n\r\n'); }));
  t.teardown(() => v4.close());
  const b = await httpGet({ host: '127.0.0.1', port: v4.port, path: '/', deadlineMs: DEADLINE, localAddress: '127.0.0.2' });
  t.equal(b.reason, 'ok', b.detail);
  t.equal(peer, '127.0.0.2', 'bindto is the source address');
});

t.test('SSL_GET: self-signed certificate', async (t) => {
  const cert = selfSigned();
  if (!cert) {
    t.fail('openssl is not available: SSL_GET cases NOT RUN');
    return;
  }
  let sni: string | undefined;
  const srv = await serve(respond(200, BODY), { tls: { ...cert, SNICallback: (name, cb) => { sni = name; cb(null); } } });
  t.teardown(() => srv.close());
  const base = { host: '127.0.0.1', port: srv.port, path: '/', deadlineMs: DEADLINE, digest: md5(BODY) };
  const a = await httpGet({ ...base, tls: {} });
  t.equal(a.reason, 'ok', `not verified, as keepalived: ${a.detail}`);
  t.equal(sni, undefined, 'no SNI unless asked');
  const t0 = performance.now();
  const b = await httpGet({ ...base, tls: { verify: true } });
  t.equal(b.reason, 'tls-error', `verified: ${b.detail}`);
  t.ok(performance.now() - t0 < DEADLINE + MARGIN);
  const c = await httpGet({ ...base, virtualhost: 'localhost', tls: { verify: true, servername: 'localhost', ca: cert.cert } });
  t.equal(c.reason, 'ok', `verified against its own CA: ${c.detail}`);
  t.equal(sni, 'localhost', 'SNI sent');
  const plain = await serve((s) => s.once('data', () => s.end('HTTP/1.0 400 Bad Request\r\n\r\n')));
  t.teardown(() => plain.close());
  const d = await httpGet({ ...base, port: plain.port, tls: {} });
  t.equal(d.reason, 'tls-error', `TLS to a plain HTTP server: ${d.detail}`);
  const silent = await serve(() => {});
  t.teardown(() => silent.close());
  const t1 = performance.now();
  const e = await httpGet({ ...base, port: silent.port, tls: {} });
  t.equal(e.reason, 'timeout', `TLS handshake never answered: ${e.detail}`);
  t.ok(performance.now() - t1 < DEADLINE + MARGIN);
});

t.test('TCP_CHECK', async (t) => {
  const srv = await serve((s) => s.end());
  t.teardown(() => srv.close());
  t.equal((await tcpCheck({ host: '127.0.0.1', port: srv.port, deadlineMs: DEADLINE })).reason, 'ok');
  t.equal((await tcpCheck({ host: '127.0.0.1', port: await closedPort(), deadlineMs: DEADLINE })).reason, 'connect-refused');
  t.equal((await tcpCheck({ host: '127.0.0.1', port: srv.port, deadlineMs: DEADLINE, localAddress: '192.0.2.1' })).reason, 'connect-error', 'bindto an address not on this host');
});

t.test('no fd or handle leaks over many checks of every kind', async (t) => {
  const servers = await Promise.all([
    serve(respond(200, BODY)),
    serve(() => {}),
    serve(onRequest((s) => setTimeout(() => s.resetAndDestroy(), 1))),
    serve((s) => s.end('garbage\r\n\r\n')),
    serve(hugeBody(1024 ** 3, { n: 0 })),
  ]);
  const refused = await closedPort();
  const run = () =>
    Promise.all([
      ...servers.map((s) => httpGet({ host: '127.0.0.1', port: s.port, path: '/', deadlineMs: 100, maxBodyBytes: 64 * 1024 })),
      httpGet({ host: '127.0.0.1', port: refused, path: '/', deadlineMs: 100 }),
      tcpCheck({ host: '127.0.0.1', port: servers[0]!.port, deadlineMs: 100 }),
    ]);
  await run(); // warm up lazy handles (DNS-free, but crypto/timers)
  await until(() => servers.every((s) => s.open.size === 0));
  const fd0 = fdCount();
  const h0 = handleCount();
  const N = 60;
  const seen = new Map<string, number>();
  for (let i = 0; i < N; i++) for (const r of await run()) seen.set(r.reason, (seen.get(r.reason) ?? 0) + 1);
  await until(() => servers.every((s) => s.open.size === 0));
  await new Promise((r) => setTimeout(r, 50));
  t.same([...seen.keys()].sort(), ['bad-response', 'body-too-large', 'connect-refused', 'ok', 'reset', 'timeout'], `reasons seen: ${JSON.stringify(Object.fromEntries(seen))}`);
  t.equal(fdCount(), fd0, `open fds after ${N * 7} checks: ${fdCount()} (before ${fd0})`);
  t.equal(handleCount(), h0, `active handles after: ${handleCount()} (before ${h0})`);
  await Promise.all(servers.map((s) => s.close()));
});
