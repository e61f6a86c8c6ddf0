// Host lab: network namespaces on a bridge, real processes, captures, and no leftovers.
import { spawn as cpSpawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { createLab, namespacesWithPrefix } from '../lab/netns.js';
import { startNginx } from '../lab/nginx.js';
import { execOk } from '../lab/exec.js';
import { pidAlive } from '../lab/pids.js';
import { netnsPids, sweepStaleLabs } from '../lab/state.js';
import { waitFor } from '../lab/wait.js';

/** The host's own interfaces and addresses, to prove the lab adds nothing there. */
async function hostNetState(): Promise<string> {
  const links = await execOk(null, ['ip', '-o', 'link', 'show']);
  const addrs = await execOk(null, ['ip', '-o', 'addr', 'show']);
  const strip = (s: string): string =>
    s
      .split('\n')
      .map((l) => l.replace(/\s+(state|qlen|valid_lft|link\/).*$/, ''))
      .sort()
      .join('\n');
  return `${strip(links)}\n${strip(addrs)}`;
}

t.test('two directors and a client on a bridge', async (t) => {
  const before = await hostNetState();
  const lab = await createLab(t, { nodes: ['dir1', 'dir2', 'client'] });
  t.equal(await hostNetState(), before, 'no interface or address added to the host namespace');
  t.ok(lab.namespaces.every((n) => n.startsWith(`${lab.id}-`) && n.length <= 15), `namespaces ${lab.namespaces.join(' ')}`);
  const sw = await lab.execOk('sw', ['ip', '-o', 'link', 'show', 'master', 'br0']);
  t.same((sw.match(/p-\w+/g) ?? []).sort(), ['p-client', 'p-dir1', 'p-dir2'], 'all node ports on br0 in the switch namespace');

  for (const to of ['dir1', 'dir2']) {
    const out = await lab.execOk('client', ['ping', '-c', '1', '-W', '2', lab.node(to).ipv4]);
    t.match(out, /1 received/, `client pings ${to} over IPv4`);
    const out6 = await lab.execOk('client', ['ping', '-6', '-c', '1', '-W', '2', lab.node(to).ipv6]);
    t.match(out6, /1 received/, `client pings ${to} over IPv6`);
  }

  const d1 = lab.node('dir1');
  await startNginx(lab, 'dir1', { listen: [`${d1.ipv4}:80`], body: 'hello from dir1', probeUrl: `http://${d1.ipv4}/` });
  const cap = await lab.capture('client', 'eth0', { filter: ['arp', 'or', 'tcp', 'port', '80'] });
  await lab.execOk('client', ['ip', 'neigh', 'flush', 'all']);
  const body = await lab.execOk('client', ['curl', '-sS', '--max-time', '3', `http://${d1.ipv4}/`]);
  t.equal(body, 'hello from dir1\n', 'client fetched the page nginx serves in dir1');
  const r = await lab.exec('dir2', ['curl', '-sS', '--max-time', '1', `http://${d1.ipv4}:81/`]);
  t.not(r.code, 0, 'a port nobody listens on is refused (the check can fail)');

  const packets = await cap.packets();
  const client = lab.node('client');
  const req = packets.find((p) => p.arp?.op === 1 && p.arp.spa === client.ipv4 && p.arp.tpa === d1.ipv4);
  const rep = packets.find((p) => p.arp?.op === 2 && p.arp.spa === d1.ipv4 && p.arp.tpa === client.ipv4);
  t.ok(req, 'ARP request who-has dir1 from the client captured');
  t.equal(req?.link?.src, client.mac, 'request sent from the client MAC');
  t.equal(rep?.arp?.sha, d1.mac, 'reply says dir1 is at its MAC');
  t.ok(req && rep && rep.tsMs >= req.tsMs && rep.tsMs - req.tsMs < 1000, 'reply follows request (wire timestamps)');
  const syn = packets.find((p) => p.tcp?.flags.syn && !p.tcp.flags.ack && p.tcp.dport === 80);
  t.ok(req && syn && syn.tsMs >= req.tsMs, 'TCP SYN to port 80 after address resolution');
  const http = packets.filter((p) => p.ip?.src === d1.ipv4 && p.tcp && p.tcp.payload.length > 0);
  t.match(Buffer.concat(http.map((p) => p.tcp?.payload ?? new Uint8Array())).toString(), /hello from dir1/, 'HTTP body seen on the wire');
});

t.test('teardown leaves no namespace, process or folder behind', async (t) => {
  const lab = await createLab(undefined, { nodes: ['a', 'b'] });
  t.teardown(() => lab.teardown()); // only matters if an assertion below throws; teardown is idempotent
  const d = lab.node('a');
  const nginx = await startNginx(lab, 'a', { listen: [`${d.ipv4}:80`], body: 'a', probeUrl: `http://${d.ipv4}/` });
  const sleeper = lab.spawn('b', ['sleep', '1000']);
  const cap = await lab.capture('sw', 'br0');
  // a process started behind the lab's back inside a namespace must go too
  await lab.execOk('b', ['sh', '-c', 'setsid sleep 1000 >/dev/null 2>&1 < /dev/null &']);
  const strays = await waitFor(
    () => {
      const s = netnsPids(lab.ns('b')).filter((p) => p !== sleeper.pid);
      return s.length > 0 ? s : undefined;
    },
    { desc: 'stray sleep in namespace b', timeoutMs: 2000 },
  );
  const pids = [nginx.pid, sleeper.pid, cap.proc.pid, ...strays];
  t.ok(pids.every(pidAlive), `processes alive before teardown: ${pids.join(' ')}`);
  t.same(namespacesWithPrefix(`${lab.id}-`).sort(), lab.namespaces.sort(), 'namespaces exist before teardown');
  await lab.teardown();
  t.same(namespacesWithPrefix(`${lab.id}-`), [], 'no namespace with the run prefix');
  await waitFor(() => !pids.some(pidAlive), { desc: 'all lab processes gone', timeoutMs: 2000 });
  t.pass('no process started by the lab is alive');
  t.notOk(existsSync(lab.dir), 'temp folder removed');
  await lab.teardown();
  t.pass('teardown is idempotent');
});

interface ChildLab {
  id: string;
  dir: string;
  namespaces: string[];
  pids: number[];
}

/** Runs the crash fixture in a child node (same TypeScript loader as tap), optionally signalling it once its lab is up. */
function runCrashChild(mode: string, signal: NodeJS.Signals | null, env: NodeJS.ProcessEnv = {}) {
  const fixture = fileURLToPath(new URL('../lab/fixtures/crash-lab.ts', import.meta.url));
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAP') && k !== 'NODE_OPTIONS'));
  const child = cpSpawn(process.execPath, [...loader, fixture, mode], {
    env: { ...cleanEnv, TS_NODE_TRANSPILE_ONLY: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  let lab: ChildLab | undefined;
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    const m = /^LAB (.*)$/m.exec(stderr);
    if (m?.[1] !== undefined && lab === undefined) {
      lab = JSON.parse(m[1]) as ChildLab;
      if (signal !== null) child.kill(signal);
    }
  });
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; lab: ChildLab | undefined; out: string }>((resolve) => {
    // generous: on a loaded machine the child's TypeScript loader alone can take most of 20 s
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, lab, out: stdout + stderr });
    });
  });
}

async function assertGone(t: Test, lab: ChildLab | undefined, out: string): Promise<void> {
  if (!t.ok(lab, 'child reported its lab') || lab === undefined) {
    t.comment(out);
    return;
  }
  t.same(namespacesWithPrefix(`${lab.id}-`), [], `no namespace ${lab.id}-* left`);
  await waitFor(() => !lab.pids.some(pidAlive), { desc: `processes ${lab.pids.join(' ')} gone`, timeoutMs: 3000 }).then(
    () => t.pass('no process of the child lab alive'),
    (e: Error) => t.fail(e.message),
  );
  t.notOk(existsSync(lab.dir), 'child lab folder removed');
}

t.test('cleanup when a test fails or is killed', { jobs: 4 }, async (t) => {
  const cases: { desc: string; mode: string; signal: NodeJS.Signals | null; env?: NodeJS.ProcessEnv }[] = [
    { desc: 'subtest throws mid-way', mode: 'throw', signal: null },
    { desc: 'SIGTERM while running', mode: 'hang', signal: 'SIGTERM' },
    { desc: 'SIGINT while running', mode: 'hang', signal: 'SIGINT' },
    { desc: 'tap timeout (SIGALRM path)', mode: 'hang', signal: null, env: { TAP_TIMEOUT: '3' } },
  ];
  for (const c of cases) {
    t.test(c.desc, async (t) => {
      const r = await runCrashChild(c.mode, c.signal, c.env);
      t.ok(r.code !== 0, `child failed (code ${r.code}, signal ${r.signal})`);
      await assertGone(t, r.lab, r.out);
    });
  }
});

t.test('SIGKILLed owner: the next lab sweeps its leftovers', async (t) => {
  const r = await runCrashChild('hang', 'SIGKILL');
  t.equal(r.signal, 'SIGKILL', 'child was SIGKILLed');
  const lab = r.lab;
  if (lab === undefined) return t.fail(`child reported no lab: ${r.out}`);
  const swept = sweepStaleLabs();
  t.ok(swept.includes(lab.id) || !existsSync(lab.dir), `sweep removed lab ${lab.id} (swept: ${swept.join(',')})`);
  await assertGone(t, lab, r.out);
});
