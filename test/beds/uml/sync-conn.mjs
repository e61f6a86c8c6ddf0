// The long-lived TCP connection of the sync-failover scenario (runs inside UML).
//   node sync-conn.mjs server NAME PORT   answers every line "N" with "NAME N" (one per real server)
//   node sync-conn.mjs client HOST PORT   one connection for its whole life: a line every 50 ms,
//                                         and on stdout one line per reply `<ns> <N> <NAME>`, then
//                                         `closed <ns> <why>` if the connection ends before SIGTERM
import net from 'node:net';

const [mode, a, b] = process.argv.slice(2);
const wall = () => `${BigInt(Date.now()) * 1000000n}`;

if (mode === 'server') {
  net
    .createServer((c) => {
      let buf = '';
      c.on('error', () => {});
      c.on('data', (d) => {
        buf += d.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          c.write(`${a} ${buf.slice(0, nl)}\n`);
          buf = buf.slice(nl + 1);
        }
      });
    })
    .listen(Number(b), '0.0.0.0');
} else {
  let seq = 0;
  let open = true;
  let buf = '';
  const c = net.connect(Number(b), a);
  const end = (why) => {
    if (!open) return;
    open = false;
    process.stdout.write(`closed ${wall()} ${why}\n`);
  };
  c.on('connect', () => {
    process.stdout.write(`connected ${wall()} ${c.localAddress}:${c.localPort}\n`);
    const tick = setInterval(() => {
      if (!open) return clearInterval(tick);
      c.write(`${++seq}\n`);
    }, 50);
  });
  c.on('data', (d) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const [name, n] = buf.slice(0, nl).split(' ');
      process.stdout.write(`${wall()} ${n} ${name}\n`);
      buf = buf.slice(nl + 1);
    }
  });
  c.on('error', (e) => end(e.code ?? e.message));
  c.on('close', () => end('close'));
  process.on('SIGTERM', () => {
    open = false;
    process.stdout.write(`stopped ${wall()}\n`);
    process.exit(0);
  });
}
