// Long-lived client connections for the drain scenario (run inside UML, from the client netns):
// opens N connections to HOST:80 one after the other, sends half a request on each, holds it for
// HOLD_MS, then finishes the request and reads the answer. One line per connection on stdout:
// `i ok BODY MS` or `i error CODE MS`. A line `opened` once every connection is established.
import net from 'node:net';

const [host, nText, holdText] = process.argv.slice(2);
const n = Number(nText);
const hold = Number(holdText);
let open = 0;
const t0 = Date.now();
for (let i = 0; i < n; i++) {
  await new Promise((resolve) => {
    const s = net.connect(80, host);
    let body = '';
    let done = false;
    const end = (line) => {
      if (done) return;
      done = true;
      process.stdout.write(`${i} ${line} ${Date.now() - t0}\n`);
    };
    s.setTimeout(hold + 20_000, () => s.destroy(new Error('ETIMEDOUT')));
    s.on('connect', () => {
      s.write('GET / HTTP/1.0\r\nHost: vip\r\n');
      if (++open === n) process.stdout.write('opened\n');
      setTimeout(() => s.write('\r\n'), hold);
      resolve();
    });
    s.on('data', (d) => (body += d.toString()));
    s.on('end', () => end(/^HTTP\/1\.\d 200/.test(body) ? `ok ${body.trim().split('\n').pop()}` : `error bad-answer:${JSON.stringify(body.slice(0, 40))}`));
    s.on('error', (e) => {
      end(`error ${e.code ?? e.message}`);
      resolve();
    });
  });
}
