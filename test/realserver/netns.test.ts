// `vigil realserver` against the host kernel, in network namespaces the test creates. This
// kernel has no ipip (nor ip6_tunnel): setup must fail cleanly, naming the module, with nothing
// half-done, and --check must name it. A VIP already on eth0 is refused before anything else.
// On a kernel that has ipip, the same file runs setup / check / undo for real instead.
import { existsSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createLab, type Lab } from '../lab/netns.js';
import { repoRoot } from '../helpers/paths.js';

const BIN = join(repoRoot, 'bin/vigil.js');
if (!existsSync(join(repoRoot, 'dist/cli/realserver.js'))) {
  t.fail('dist/ is not built or is stale: run `npm run build` first');
  process.exit(1);
}

/** Whether this kernel can give a namespace a tunl0: it has one already, or an ipip module file. */
function kernelHasIpip(tunl0Now: boolean): boolean {
  if (tunl0Now) return true;
  const dir = join('/lib/modules', release(), 'kernel/net/ipv4');
  try {
    return readdirSync(dir).some((f) => f.startsWith('ipip.ko'));
  } catch {
    return false;
  }
}

const CONF = ['arp_ignore', 'arp_announce', 'rp_filter'];

async function snapshot(lab: Lab): Promise<string> {
  const links = await lab.execOk('rs', ['ip', '-o', 'link', 'show']);
  const addrs = await lab.execOk('rs', ['ip', '-o', 'addr', 'show']);
  const sysctls = await lab.execOk('rs', ['sh', '-c', `for d in all default eth0; do for c in ${CONF.join(' ')}; do echo $d.$c=$(cat /proc/sys/net/ipv4/conf/$d/$c); done; done`]);
  return `${links.replace(/ qlen \d+/g, '')}\n${addrs.replace(/valid_lft.*$/gm, '')}\n${sysctls}`;
}

const lab = await createLab(t, { nodes: ['rs'] });
const stateFile = lab.path('state/realserver.json');
const vigil = (...args: string[]) => lab.exec('rs', [process.execPath, BIN, 'realserver', ...args, '--state-file', stateFile], { timeoutMs: 20_000 });
const tunl0Now = (await lab.exec('rs', ['ip', 'link', 'show', 'tunl0'])).code === 0;
const hasIpip = kernelHasIpip(tunl0Now);
t.comment(`host kernel ${release()}: ipip ${hasIpip ? 'available' : 'missing'}`);

t.test('a VIP already on eth0 is refused before anything changes', async (t) => {
  await lab.execOk('rs', ['ip', 'addr', 'add', '192.168.77.100/24', 'dev', 'eth0']);
  t.teardown(() => lab.exec('rs', ['ip', 'addr', 'del', '192.168.77.100/24', 'dev', 'eth0']));
  const before = await snapshot(lab);
  const r = await vigil('--vip', '192.168.77.100');
  t.equal(r.code, 1, 'exit 1');
  t.match(r.stderr, /vigil realserver: VIP 192\.168\.77\.100: is on eth0, not tunl0: this server would answer ARP for it.* — fix: ip addr del 192\.168\.77\.100\/24 dev eth0 \(by hand\)\n/);
  t.match(r.stderr, /changed nothing/);
  t.equal(await snapshot(lab), before, 'links, addresses and sysctls unchanged');
  t.notOk(existsSync(stateFile), 'no state file');
  const c = await vigil('--vip', '192.168.77.100', '--check');
  t.equal(c.code, 1);
  t.match(c.stdout, /problem: VIP 192\.168\.77\.100: is on eth0/);
});

if (!hasIpip) {
  t.test('no ipip in this kernel: setup fails cleanly, naming the module, nothing half-done', async (t) => {
    const before = await snapshot(lab);
    const r = await vigil('--vip', '10.0.0.100');
    t.equal(r.code, 1, 'exit 1 (not a crash: 70)');
    t.equal(r.stdout, '');
    t.match(r.stderr, /^vigil realserver: module ipip: the kernel has no ipip module \(it cannot create tunl0: EOPNOTSUPP, unknown link type ipip\), so tunnel mode cannot work here; load it with `modprobe ipip`.*; nothing was changed\n$/);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
    t.equal(await snapshot(lab), before, 'links, addresses and sysctls unchanged');
    t.notOk(existsSync(stateFile), 'no state file');

    const j = await vigil('--vip', '10.0.0.100', '--json');
    t.equal(j.code, 1);
    t.match(JSON.parse(j.stdout), { command: 'setup', ok: false, error: { code: 'ENOMODULE', op: 'module ipip' } });

    const six = await vigil('--vip', '2001:db8::100');
    t.equal(six.code, 1);
    t.match(six.stderr, /module ip6_tunnel: the kernel has no ip6_tunnel module \(it cannot create ip6tnl0/);
    t.equal(await snapshot(lab), before, 'still unchanged');
  });

  t.test('--check names the missing module and every other problem, changing nothing', async (t) => {
    const before = await snapshot(lab);
    const r = await vigil('--vip', '10.0.0.100', '--check');
    t.equal(r.code, 1);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('problem: '));
    t.match(lines[0], /^problem: module ipip: not loaded: there is no tunl0 .* — fix: modprobe ipip$/);
    t.match(lines[1], /^problem: VIP 10\.0\.0\.100: not on tunl0: .* — fix: ip addr add 10\.0\.0\.100\/32 dev tunl0$/);
    t.match(lines.slice(2).join('\n'), /net\.ipv4\.conf\.all\.arp_ignore: is 0[^]*net\.ipv4\.conf\.all\.arp_announce: is 0/);
    t.equal(await snapshot(lab), before, 'unchanged');
    const j = await vigil('--vip', '10.0.0.100', '--check', '--json');
    t.match(JSON.parse(j.stdout), { command: 'check', ok: false, problems: [{ item: 'module ipip', fix: 'modprobe ipip' }] });
    const u = await vigil('--undo', '--vip', '10.0.0.100');
    t.equal(u.code, 0, '--undo with nothing to undo is fine');
    t.match(u.stdout, /kept: VIP 10\.0\.0\.100: not on tunl0, nothing to remove/);
  });
} else {
  t.test('ipip in this kernel: setup, check, undo in the namespace', async (t) => {
    const r = await vigil('--vip', '10.0.0.100');
    t.equal(r.code, 0, r.stderr);
    t.match(await lab.execOk('rs', ['ip', '-o', 'addr', 'show', 'dev', 'tunl0']), /inet 10\.0\.0\.100\/32/);
    t.equal((await vigil('--vip', '10.0.0.100')).stdout, 'vigil realserver: nothing changed: already set up for 10.0.0.100\n');
    t.equal((await vigil('--vip', '10.0.0.100', '--check')).code, 0);
    t.equal((await vigil('--undo')).code, 0);
    t.notMatch(await lab.execOk('rs', ['ip', '-o', 'addr', 'show', 'dev', 'tunl0']), /10\.0\.0\.100/);
  });
}
