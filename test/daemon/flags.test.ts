// keepalived's command line (keepalived 2.2.7 --help) as `vigil run` / `vigil [options]` reads it.
import t from 'tap';
import { KEEPALIVED_DATA_FILE, KEEPALIVED_STATS_FILE, parseRunFlags } from '../../src/daemon/flags.js';

const cases: { desc: string; args: string[]; want: Record<string, unknown> }[] = [
  { desc: 'nothing', args: [], want: { respawn: true, childPidFiles: {}, settingsArgs: [], notes: [], dataFile: KEEPALIVED_DATA_FILE, statsFile: KEEPALIVED_STATS_FILE, singleProcess: false } },
  { desc: '--single-process', args: ['--single-process'], want: { singleProcess: true } },
  { desc: '-f FILE', args: ['-f', '/etc/k.conf'], want: { file: '/etc/k.conf' } },
  { desc: '--use-file=FILE', args: ['--use-file=/etc/k.conf'], want: { file: '/etc/k.conf' } },
  { desc: '--use-file FILE', args: ['--use-file', '/etc/k.conf'], want: { file: '/etc/k.conf' } },
  { desc: '-fFILE (glued)', args: ['-f/etc/k.conf'], want: { file: '/etc/k.conf' } },
  { desc: '-P', args: ['-P'], want: { kinds: ['vrrp'] } },
  { desc: '--vrrp', args: ['--vrrp'], want: { kinds: ['vrrp'] } },
  { desc: '-C', args: ['-C'], want: { kinds: ['checker'] } },
  { desc: '--check', args: ['--check'], want: { kinds: ['checker'] } },
  { desc: '-P -C', args: ['-P', '-C'], want: { kinds: ['vrrp', 'checker'] } },
  { desc: '-D: debug', args: ['-D'], want: { settingsArgs: ['--log-level', 'debug'] } },
  { desc: '--log-detail', args: ['--log-detail'], want: { settingsArgs: ['--log-level', 'debug'] } },
  { desc: '-D with --log-level: the explicit level wins', args: ['-D', '--log-level', 'warn'], want: { settingsArgs: ['--log-level', 'warn'] } },
  { desc: '-l', args: ['-l'], want: { notes: [/-l\/--log-console: vigil always logs to stderr/] } },
  { desc: '--log-console', args: ['--log-console'], want: { notes: [/log-console/] } },
  { desc: '-n', args: ['-n'], want: { notes: [/never forks/] } },
  { desc: '--dont-fork', args: ['--dont-fork'], want: { notes: [/never forks/] } },
  { desc: '-S 3', args: ['-S', '3'], want: { notes: [/-S 3: ignored/] } },
  { desc: '--log-facility=local7', args: ['--log-facility=local7'], want: { notes: [/-S local7: ignored/] } },
  { desc: '-G', args: ['-G'], want: { notes: [/syslog/] } },
  { desc: '-B and --all', args: ['-B', '--all'], want: { notes: [/BFD/, /every child/] } },
  { desc: '-i ID', args: ['-i', 'dir1'], want: { configId: 'dir1', settingsArgs: ['--config-id', 'dir1'] } },
  { desc: '--config-id ID', args: ['--config-id', 'dir1'], want: { configId: 'dir1', settingsArgs: ['--config-id', 'dir1'] } },
  { desc: '-p FILE', args: ['-p', '/run/keepalived.pid'], want: { pidFile: '/run/keepalived.pid' } },
  { desc: '--pid=FILE', args: ['--pid=/run/k.pid'], want: { pidFile: '/run/k.pid' } },
  { desc: '-r FILE', args: ['-r', '/run/v.pid'], want: { childPidFiles: { vrrp: '/run/v.pid' } } },
  { desc: '--vrrp_pid=FILE', args: ['--vrrp_pid=/run/v.pid'], want: { childPidFiles: { vrrp: '/run/v.pid' } } },
  { desc: '-c FILE', args: ['-c', '/run/c.pid'], want: { childPidFiles: { checker: '/run/c.pid' } } },
  { desc: '--checkers_pid FILE', args: ['--checkers_pid', '/run/c.pid'], want: { childPidFiles: { checker: '/run/c.pid' } } },
  { desc: '-b FILE (no BFD)', args: ['-b', '/run/b.pid'], want: { notes: [/BFD/] } },
  { desc: '-R', args: ['-R'], want: { respawn: false } },
  { desc: '--dont-respawn', args: ['--dont-respawn'], want: { respawn: false } },
  { desc: '-u 0177 (octal)', args: ['-u', '0177'], want: { umask: 0o177 } },
  { desc: '--umask=0x3f (hex)', args: ['--umask=0x3f'], want: { umask: 0o77 } },
  { desc: '--signum=RELOAD', args: ['--signum=RELOAD'], want: { signum: 'RELOAD' } },
  { desc: 'vigil settings pass through', args: ['--socket', '/run/x.sock', '--metrics-listen', '127.0.0.1:9650'], want: { settingsArgs: ['--socket', '/run/x.sock', '--metrics-listen', '127.0.0.1:9650'] } },
  { desc: 'dump paths', args: ['--data-file', '/var/tmp/d', '--stats-file', '/var/tmp/s'], want: { dataFile: '/var/tmp/d', statsFile: '/var/tmp/s' } },
  {
    desc: "a Debian unit's ExecStart",
    args: ['--dont-fork', '-D', '-l', '-f', '/etc/keepalived/keepalived.conf', '-p', '/run/keepalived.pid'],
    want: { file: '/etc/keepalived/keepalived.conf', pidFile: '/run/keepalived.pid', settingsArgs: ['--log-level', 'debug'], notes: [/never forks/, /log-console/] },
  },
];
// Exact where it matters: arrays by length and element, objects as a whole (t.match alone is loose).
for (const c of cases)
  t.test(c.desc, async (t) => {
    const got = parseRunFlags(c.args, {}) as unknown as Record<string, unknown>;
    const base = parseRunFlags([], {}) as unknown as Record<string, unknown>;
    for (const k of new Set([...Object.keys(got), ...Object.keys(c.want)])) {
      const want = k in c.want ? c.want[k] : base[k];
      if (Array.isArray(want)) {
        t.equal((got[k] as unknown[] | undefined)?.length, want.length, `${k}: ${JSON.stringify(got[k])}`);
        t.match(got[k], want, k);
      } else t.same(got[k], want, k);
    }
  });

t.test('VIGIL_SINGLE_PROCESS', async (t) => {
  const table: { env: string; want: boolean | RegExp }[] = [
    { env: '1', want: true },
    { env: 'true', want: true },
    { env: 'YES', want: true },
    { env: '0', want: false },
    { env: 'no', want: false },
    { env: '', want: false },
    { env: 'maybe', want: /VIGIL_SINGLE_PROCESS: 'maybe' is not 1\/true\/yes or 0\/false\/no/ },
  ];
  for (const c of table) {
    if (c.want instanceof RegExp) t.throws(() => parseRunFlags([], { VIGIL_SINGLE_PROCESS: c.env }), c.want, `'${c.env}'`);
    else t.equal(parseRunFlags([], { VIGIL_SINGLE_PROCESS: c.env }).singleProcess, c.want, `'${c.env}'`);
  }
  t.equal(parseRunFlags(['--single-process'], { VIGIL_SINGLE_PROCESS: '0' }).singleProcess, true, 'the flag wins over 0');
});

t.test('dump paths from the environment', async (t) => {
  t.match(parseRunFlags([], { VIGIL_DATA_FILE: '/x/d', VIGIL_STATS_FILE: '/x/s' }), { dataFile: '/x/d', statsFile: '/x/s' });
});

const bad: { desc: string; args: string[]; msg: RegExp }[] = [
  { desc: '-X', args: ['-X'], msg: /keepalived's --release-vips \(-X\) is not supported/ },
  { desc: '-V', args: ['-D', '-V'], msg: /--dont-release-vrrp \(-V\)/ },
  { desc: '-I', args: ['-I'], msg: /--dont-release-ipvs/ },
  { desc: '--dump-conf', args: ['--dump-conf'], msg: /vigil check-config --dump/ },
  { desc: '-s NS', args: ['-s', 'blue'], msg: /ip netns exec/ },
  { desc: '-x', args: ['-x'], msg: /Prometheus/ },
  { desc: '-T', args: ['-T'], msg: /vigil genhash/ },
  { desc: '-e', args: ['-e'], msg: /--all-config/ },
  { desc: '-m', args: ['-m'], msg: /--core-dump/ },
  { desc: 'bad facility', args: ['-S', 'mail'], msg: /not 0-7, local0-local7, user or daemon/ },
  { desc: 'bad umask', args: ['-u', 'rw'], msg: /not a file mode mask/ },
  { desc: 'bad signum', args: ['--signum=JSON'], msg: /real-time signals/ },
  { desc: 'a positional', args: ['start'], msg: /unexpected argument 'start'/ },
  { desc: 'two config files', args: ['-f', 'a', '--config', 'b'], msg: /give the configuration file once/ },
];
for (const c of bad)
  t.test(`rejects ${c.desc}`, async (t) => {
    t.throws(() => parseRunFlags(c.args, {}), { code: 'VIGIL_USAGE', message: c.msg });
  });

t.test('unknown options are parse errors', async (t) => {
  t.throws(() => parseRunFlags(['--frobnicate'], {}), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
});
