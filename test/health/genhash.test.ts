import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';
import { closedPort, onRequest, respond, serve } from '../helpers/net-fixtures.js';

function io(): Io & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', color: false, out(s: string) { o.stdout += s; }, err(s: string) { o.stderr += s; } };
  return o;
}

t.test('genhash prints the md5sum of the served body', async (t) => {
  const body = crypto.randomBytes(200_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-genhash-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'body'), body);
  const sum = spawnSync('md5sum', [path.join(dir, 'body')], { encoding: 'utf8' });
  if (sum.status !== 0) {
    t.fail('md5sum is not available: cannot compare');
    return;
  }
  const want = sum.stdout.split(' ')[0]!;
  let head = '';
  const srv = await serve(onRequest((s, h) => { head = h; s.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Test: 1\r\n\r\n`), body])); }));
  t.teardown(() => srv.close());
  const a = io();
  t.equal(await main(['genhash', '-s', '127.0.0.1', '-p', String(srv.port), '-u', '/index.html'], a), 0, a.stderr);
  t.equal(a.stdout, `${want}\n`, 'same digest as md5sum');
  t.match(head, /^GET \/index\.html HTTP\/1\.0\r\n/);
  const b = io();
  t.equal(await main(['genhash', '-s', '127.0.0.1', '-p', String(srv.port), '-V', 'www.example.com', '-P', '1.1', '-v'], b), 0);
  t.match(b.stdout, /X-Test: 1/);
  t.match(b.stdout, new RegExp(`MD5SUM = ${want}\\n$`));
  t.match(head, /Host: www\.example\.com\r\n/);
});

t.test('genhash exit codes', async (t) => {
  const a = io();
  t.equal(await main(['genhash', '-s', '127.0.0.1', '-p', String(await closedPort())], a), 1);
  t.match(a.stderr, /connect-refused/);
  const b = io();
  t.equal(await main(['genhash', '-p', '80'], b), 2);
  t.match(b.stderr, /--server/);
  const c = io();
  t.equal(await main(['genhash', '-s', '127.0.0.1', '-p', '70000'], c), 2);
  const silent = await serve(() => {});
  t.teardown(() => silent.close());
  const d = io();
  const t0 = performance.now();
  t.equal(await main(['genhash', '-s', '127.0.0.1', '-p', String(silent.port), '-t', '0.3'], d), 1);
  t.ok(performance.now() - t0 < 600, 'the -t deadline holds');
  t.match(d.stderr, /timeout/);
  const err = await serve(respond(503, 'down'));
  t.teardown(() => err.close());
  const e = io();
  t.equal(await main(['genhash', '-s', '127.0.0.1', '-p', String(err.port)], e), 0, 'any status: genhash only hashes');
  t.equal(e.stdout, `${crypto.createHash('md5').update('down').digest('hex')}\n`);
});
