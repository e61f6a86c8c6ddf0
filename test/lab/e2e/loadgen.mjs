// The client of the end-to-end scenarios: a small load generator that starts a request to URL
// RATE times a second (each on a new connection, as a browser behind a NAT would) and records
// every request's outcome, one line each, in OUT:
//   <start ms> <end ms> ok|fail <status:body | error code>
// A request fails when it errs, times out (TIMEOUT_MS without progress), or answers anything but
// 200 with a real server's name. Plain JavaScript so that it starts fast inside user-mode Linux.
// Usage: node loadgen.mjs URL RATE OUT [TIMEOUT_MS]; SIGTERM flushes and exits.
import { openSync, writeSync } from 'node:fs';
import http from 'node:http';

const [url, rateArg, out, timeoutArg] = process.argv.slice(2);
if (url === undefined || out === undefined) {
  process.stderr.write('usage: node loadgen.mjs URL RATE OUT [TIMEOUT_MS]\n');
  process.exit(2);
}
const rate = Number(rateArg ?? 20);
const timeout = Number(timeoutArg ?? 2000);
const fd = openSync(out, 'a');
let lines = [];
const pfd = openSync(`${out}.ports`, 'a');
let ports = [];
const flush = () => {
  if (lines.length > 0) writeSync(fd, lines.join(''));
  if (ports.length > 0) writeSync(pfd, ports.join(''));
  lines = [];
  ports = [];
};
setInterval(flush, 250);

function one() {
  const start = Date.now();
  let done = false;
  const finish = (ok, detail) => {
    if (done) return;
    done = true;
    lines.push(`${start} ${Date.now()} ${ok ? 'ok' : 'fail'} ${detail}\n`);
    // the failed request's source port, to match it against the director's IPVS connection entries
    if (!ok) ports.push(`${start} ${req.socket?.localPort ?? '-'} ${detail}\n`);
  };
  const req = http.get(url, { agent: false, timeout }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => {
      body += c;
    });
    res.on('end', () => finish(res.statusCode === 200 && /^rs\d+$/.test(body.trim()), `${res.statusCode}:${body.trim() || '-'}`));
    res.on('error', (e) => finish(false, e.code ?? 'ERR'));
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  req.on('error', (e) => finish(false, e.code ?? 'ERR'));
}
setInterval(one, 1000 / rate);
process.on('SIGTERM', () => {
  flush();
  process.exit(0);
});
