import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import { compileUrlRegex, httpGet } from '../../src/health/http-check.js';
import { isSupported, probeFor } from '../../src/health/probe.js';
import { tcpCheck } from '../../src/health/tcp-check.js';
import { spawn } from '../lab/proc.js';
import { closedPort, expiredCert, selfSigned } from '../helpers/net-fixtures.js';

/*
 * HTTP_GET and SSL_GET against a real nginx (Debian package) on 127.0.0.1: a self-signed and an
 * expired certificate pass without verification, as keepalived (SSL_VERIFY_NONE), and fail with
 * `tls-error` when verifyTls is on; a 1 GB file ends as `body-too-large` at once, read in bounded
 * memory; a regex runs on nginx's real body.
 */

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const BODY = 'hello from nginx';

t.test('SSL_GET and HTTP_GET against nginx', async (t) => {
  const self = selfSigned();
  const expired = expiredCert();
  if (!self || !expired) return t.fail('openssl is not available: NOT RUN');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-nginx-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.chmodSync(dir, 0o755);
  for (const [n, c] of [['self', self], ['expired', expired]] as const) {
    fs.writeFileSync(path.join(dir, `${n}.crt`), c.cert);
    fs.writeFileSync(path.join(dir, `${n}.key`), c.key, { mode: 0o600 });
  }
  fs.mkdirSync(path.join(dir, 'www'));
  fs.writeFileSync(path.join(dir, 'www', 'status.html'), '<html><body>status: OK, load 0.3</body></html>\n');
  // A sparse 1 GB file: nginx streams it, and no test memory holds it.
  const big = fs.openSync(path.join(dir, 'www', 'big'), 'w');
  fs.ftruncateSync(big, 1024 ** 3);
  fs.closeSync(big);
  const [pSelf, pExpired, pPlain] = [await closedPort(), await closedPort(), await closedPort()];
  const tls = (port: number, name: string) =>
    `  server { listen 127.0.0.1:${port} ssl; ssl_certificate ${dir}/${name}.crt; ssl_certificate_key ${dir}/${name}.key; location / { default_type text/plain; return 200 "${BODY}\\n"; } }`;
  const conf = [
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    'events { worker_connections 128; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((x) => `  ${x}_temp_path ${dir}/${x};`),
    tls(pSelf, 'self'),
    tls(pExpired, 'expired'),
    `  server { listen 127.0.0.1:${pPlain}; root ${dir}/www; }`,
    '}',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const nginx = spawn(null, ['nginx', '-p', dir, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`, '-g', 'daemon off;'], { logDir: dir, name: 'nginx' });
  t.teardown(() => nginx.stop());
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    up = (await Promise.all([pSelf, pExpired, pPlain].map((port) => tcpCheck({ host: '127.0.0.1', port, deadlineMs: 200 })))).every((r) => r.ok);
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  if (!up) return t.fail(`nginx did not start: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8').slice(-500)}`);

  const cfg = compileText(
    `virtual_server 10.0.0.100 443 {
  lvs_sched rr
  lvs_method TUN
  protocol TCP
  real_server 127.0.0.1 443 {
    SSL_GET {
      connect_ip 127.0.0.1
      connect_port ${pSelf}
      url {
        path /
        digest ${md5(`${BODY}\n`)}
      }
      connect_timeout 2
    }
  }
  real_server 127.0.0.2 443 {
    SSL_GET {
      connect_ip 127.0.0.1
      connect_port ${pExpired}
      url {
        path /
        digest ${md5(`${BODY}\n`)}
      }
      connect_timeout 2
    }
  }
}
`,
    'k.conf',
    {},
  );
  if (!cfg.config) return t.fail(cfg.diagnostics.map((d) => d.message).join('\n'));
  const [selfCk, expiredCk] = cfg.config.virtualServers[0]!.realServers.map((rs) => rs.checkers.filter(isSupported)[0]!);
  for (const [name, ck] of [['self-signed', selfCk!], ['expired', expiredCk!]] as const) {
    const a = await probeFor(ck)();
    t.equal(a.reason, 'ok', `${name}: passes without verification, as keepalived (${a.detail})`);
    const b = await probeFor(ck, { verifyTls: true })();
    t.equal(b.reason, 'tls-error', `${name}: verifyTls fails it (${b.detail})`);
  }
  const e = await httpGet({ host: '127.0.0.1', port: pExpired, path: '/', deadlineMs: 2000, virtualhost: 'localhost', tls: { verify: true, servername: 'localhost', ca: expired.cert } });
  t.equal(e.reason, 'tls-error', e.detail);
  t.match(e.detail, /CERT_HAS_EXPIRED/, 'trusted but expired: the expiry is the reason');
  const s = await httpGet({ host: '127.0.0.1', port: pSelf, path: '/', deadlineMs: 2000, virtualhost: 'localhost', tls: { verify: true, servername: 'localhost', ca: self.cert } });
  t.equal(s.reason, 'ok', `self-signed and trusted: verifies (${s.detail})`);

  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const g = await httpGet({ host: '127.0.0.1', port: pPlain, path: '/big', deadlineMs: 5000, statusCodes: [{ min: 200, max: 299 }] });
  const took = performance.now() - t0;
  t.equal(g.reason, 'body-too-large', g.detail);
  t.ok(took < 1000, `1 GB body refused after ${took.toFixed(0)} ms`);
  t.ok(process.memoryUsage().rss - rss0 < 64 * 1024 ** 2, `memory grew by ${((process.memoryUsage().rss - rss0) / 1024 ** 2).toFixed(1)} MiB`);

  const re = compileUrlRegex({ regex: 'status: OK', regexNoMatch: false, regexOptions: [] });
  const down = compileUrlRegex({ regex: 'status: (DOWN|MAINTENANCE)', regexNoMatch: true, regexOptions: [] });
  if (!('regex' in re) || !('regex' in down)) return t.fail('regex');
  const r1 = await httpGet({ host: '127.0.0.1', port: pPlain, path: '/status.html', deadlineMs: 2000, regex: re.regex });
  t.equal(r1.reason, 'ok', r1.detail);
  const r2 = await httpGet({ host: '127.0.0.1', port: pPlain, path: '/status.html', deadlineMs: 2000, regex: down.regex });
  t.equal(r2.reason, 'ok', r2.detail);
  fs.writeFileSync(path.join(dir, 'www', 'status.html'), '<html><body>status: MAINTENANCE</body></html>\n');
  const r3 = await httpGet({ host: '127.0.0.1', port: pPlain, path: '/status.html', deadlineMs: 2000, regex: down.regex });
  t.equal(r3.reason, 'regex-mismatch', r3.detail);
});
