import type net from 'node:net';
import t from 'tap';
import type { Reason } from '../../src/health/result.js';
import { parseSmtpReply, smtpCheck } from '../../src/health/smtp-check.js';
import { closedPort, fdCount, handleCount, serve, tally, until } from '../helpers/net-fixtures.js';

/*
 * SMTP_CHECK against real loopback servers: a well-behaved one and every way a mail server can
 * misbehave. Each check ends within its deadline with the right reason and leaves no socket.
 */

const DEADLINE = 400;
const MARGIN = 250;

/** An SMTP server: greets with `greeting`, answers HELO with `helo`, QUIT with 221; records commands. */
function smtpServer(o: { greeting?: string; helo?: string; commands?: string[] } = {}): (s: net.Socket) => void {
  return (s) => {
    s.write(o.greeting ?? '220 mx.example.test ESMTP ready\r\n');
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        o.commands?.push(line);
        if (line.startsWith('HELO ')) s.write(o.helo ?? `250 mx.example.test Hello ${line.slice(5)}\r\n`);
        else if (line === 'QUIT') s.end('221 2.0.0 Bye\r\n');
        else s.write('500 5.5.2 what?\r\n');
      }
    });
  };
}

t.test('reply parser (RFC 5321 §4.2)', async (t) => {
  t.same(parseSmtpReply('220 ok\r\n'), { kind: 'reply', code: 220, text: '220 ok', rest: '' });
  t.same(parseSmtpReply('250-a\r\n250-b\r\n250 c\r\nX'), { kind: 'reply', code: 250, text: '250-a 250-b 250 c', rest: 'X' });
  t.same(parseSmtpReply('250-a\r\n25'), { kind: 'more' });
  t.same(parseSmtpReply('22'), { kind: 'more' });
  t.same(parseSmtpReply('220\n'), { kind: 'reply', code: 220, text: '220', rest: '' });
  t.equal(parseSmtpReply('SSH-2.0-OpenSSH\r\n').kind, 'bad');
  t.equal(parseSmtpReply('HTTP/1.1 400').kind, 'bad', 'garbage is seen before its line ends');
  t.equal(parseSmtpReply(`220-${'x'.repeat(20_000)}`).kind, 'bad', 'unbounded line');
});

interface Case {
  desc: string;
  handler?: (s: net.Socket) => void;
  want: Reason;
  full?: boolean;
}

t.test('SMTP_CHECK failure modes end within the deadline with the right reason', async (t) => {
  const commands: string[] = [];
  const cases: Case[] = [
    { desc: 'healthy server', handler: smtpServer({ commands }), want: 'ok' },
    { desc: 'multi-line greeting and HELO reply', handler: smtpServer({ greeting: '220-mx.example.test\r\n220-policy text\r\n220 ready\r\n', helo: '250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n' }), want: 'ok' },
    { desc: 'connection refused', want: 'connect-refused' },
    { desc: 'accept then silence', handler: () => {}, want: 'timeout', full: true },
    { desc: 'greeting 554 (service unavailable)', handler: smtpServer({ greeting: '554 5.3.2 no service\r\n' }), want: 'bad-reply' },
    { desc: 'HELO refused with 501', handler: smtpServer({ helo: '501 5.5.4 bad HELO\r\n' }), want: 'bad-reply' },
    { desc: 'garbage instead of SMTP', handler: (s) => s.write('SSH-2.0-OpenSSH_9.2\r\n'), want: 'bad-reply' },
    { desc: 'greeting trickles and never ends', handler: (s) => { s.write('220 '); const iv = setInterval(() => s.write('x'), 20); s.on('close', () => clearInterval(iv)); }, want: 'timeout', full: true },
    { desc: 'closed without a byte', handler: (s) => s.end(), want: 'empty-response' },
    { desc: 'closed after the greeting', handler: (s) => s.end('220 bye at once\r\n'), want: 'bad-reply' },
    { desc: 'reset after the greeting', handler: (s) => { s.write('220 hi\r\n'); s.once('data', () => s.resetAndDestroy()); }, want: 'reset' },
    { desc: 'greets, never answers HELO', handler: (s) => s.write('220 hi\r\n'), want: 'timeout', full: true },
  ];
  for (const c of cases) {
    const srv = c.handler ? await serve(c.handler) : undefined;
    const port = srv?.port ?? (await closedPort());
    const t0 = performance.now();
    const r = await smtpCheck({ host: '127.0.0.1', port, deadlineMs: DEADLINE, heloName: 'checker.example.test' });
    const took = performance.now() - t0;
    t.equal(r.reason, c.want, `${c.desc}: reason (${r.detail})`);
    t.ok(took < DEADLINE + MARGIN, `${c.desc}: ended in ${took.toFixed(0)} ms`);
    if (c.full) t.ok(took >= DEADLINE - 5, `${c.desc}: waited the deadline (${took.toFixed(0)} ms)`);
    await srv?.close();
  }
  t.same(commands, ['HELO checker.example.test', 'QUIT'], 'HELO with helo_name, then QUIT');
});

t.test('IPv6 loopback and bindto', async (t) => {
  let peer = '';
  const srv = await serve((s) => { peer = s.remoteAddress ?? ''; smtpServer()(s); }, { host: '::1' });
  t.teardown(() => srv.close());
  const r = await smtpCheck({ host: '::1', port: srv.port, deadlineMs: DEADLINE, heloName: 'x', localAddress: '::1' });
  t.equal(r.reason, 'ok', r.detail);
  t.equal(peer, '::1');
});

t.test('no fd or handle leaks over 10,000 checks', async (t) => {
  const servers = await Promise.all([
    serve(smtpServer()),
    serve(smtpServer({ helo: '421 go away\r\n' })),
    serve((s) => s.write('garbage\r\n')),
    serve((s) => s.once('data', () => s.resetAndDestroy()).write('220 x\r\n')),
    serve(() => {}),
  ]);
  const refused = await closedPort();
  const ports = [...servers.map((s) => s.port), refused];
  const run = (i: number) => smtpCheck({ host: '127.0.0.1', port: ports[i % ports.length]!, deadlineMs: 100, heloName: 'x' });
  await tally(ports.length, ports.length, run);
  await until(() => servers.every((s) => s.open.size === 0));
  const fd0 = fdCount();
  const h0 = handleCount();
  const N = 10_000;
  const t0 = performance.now();
  const seen = await tally(N, 50, run);
  t.comment(`${N} SMTP checks in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(Object.fromEntries(seen))}`);
  await until(() => servers.every((s) => s.open.size === 0));
  await new Promise((r) => setTimeout(r, 50));
  t.same([...seen.keys()].sort(), ['bad-reply', 'connect-refused', 'ok', 'reset', 'timeout']);
  t.equal(fdCount(), fd0, `open fds: ${fdCount()} (before ${fd0})`);
  t.equal(handleCount(), h0, `active handles: ${handleCount()} (before ${h0})`);
  await Promise.all(servers.map((s) => s.close()));
});
