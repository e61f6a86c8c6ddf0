import t from 'tap';
import { loadSettings } from '../../src/settings.js';

t.test('defaults', async (t) => {
  t.same(loadSettings([], {}), {
    config: '/etc/keepalived/keepalived.conf',
    configId: '',
    socket: '/run/vigil/vigil.sock',
    logLevel: 'info',
    logFormat: 'auto',
    metricsListen: '',
    stateDir: '/var/lib/vigil',
    ipvsResyncMs: 30000,
  });
});

const cases: { desc: string; args: string[]; env: Record<string, string>; want: Record<string, string | number> }[] = [
  { desc: 'env sets', args: [], env: { VIGIL_LOG_LEVEL: 'debug', VIGIL_STATE_DIR: '/srv/v' }, want: { logLevel: 'debug', stateDir: '/srv/v' } },
  { desc: 'flag wins over env', args: ['--log-level', 'warn'], env: { VIGIL_LOG_LEVEL: 'debug' }, want: { logLevel: 'warn' } },
  { desc: 'metrics on v4', args: ['--metrics-listen', '127.0.0.1:9650'], env: {}, want: { metricsListen: '127.0.0.1:9650' } },
  { desc: 'metrics on v6', args: [], env: { VIGIL_METRICS_LISTEN: '[::1]:9650' }, want: { metricsListen: '[::1]:9650' } },
  { desc: 'socket and format', args: ['--socket', '/tmp/s.sock', '--log-format', 'json'], env: {}, want: { socket: '/tmp/s.sock', logFormat: 'json' } },
  { desc: 'IPVS re-read from env', args: [], env: { VIGIL_IPVS_RESYNC_MS: '2000' }, want: { ipvsResyncMs: 2000 } },
  { desc: 'IPVS re-read flag wins', args: ['--ipvs-resync-ms', '100'], env: { VIGIL_IPVS_RESYNC_MS: '2000' }, want: { ipvsResyncMs: 100 } },
  { desc: 'IPVS re-read at its maximum', args: ['--ipvs-resync-ms', '3600000'], env: {}, want: { ipvsResyncMs: 3_600_000 } },
  { desc: 'IPVS re-read empty: the default', args: [], env: { VIGIL_IPVS_RESYNC_MS: '' }, want: { ipvsResyncMs: 30_000 } },
];
for (const c of cases) t.test(c.desc, async (t) => t.match(loadSettings(c.args, c.env), c.want));

const bad: { desc: string; args: string[]; env: Record<string, string>; msg: RegExp }[] = [
  { desc: 'level', args: ['--log-level', 'loud'], env: {}, msg: /--log-level \/ VIGIL_LOG_LEVEL: must be one of/ },
  { desc: 'format', args: [], env: { VIGIL_LOG_FORMAT: 'xml' }, msg: /--log-format \/ VIGIL_LOG_FORMAT/ },
  { desc: 'metrics syntax', args: ['--metrics-listen', '9650'], env: {}, msg: /--metrics-listen .*HOST:PORT/ },
  { desc: 'metrics host', args: ['--metrics-listen', 'example:9650'], env: {}, msg: /'example' is not an IP address/ },
  { desc: 'metrics port', args: ['--metrics-listen', '127.0.0.1:70000'], env: {}, msg: /port 70000 is out of range/ },
  { desc: 'relative socket', args: ['--socket', 'vigil.sock'], env: {}, msg: /--socket \/ VIGIL_SOCKET: must be an absolute path/ },
  { desc: 'relative state dir', args: [], env: { VIGIL_STATE_DIR: 'state' }, msg: /--state-dir \/ VIGIL_STATE_DIR/ },
  ...['2s', '50', '3600001', '1.5', '-5'].map((v) => ({ desc: `IPVS re-read '${v}'`, args: [], env: { VIGIL_IPVS_RESYNC_MS: v }, msg: /--ipvs-resync-ms \/ VIGIL_IPVS_RESYNC_MS: must be an integer from 100 to 3600000 \(ms\)/ })),
  { desc: 'IPVS re-read flag', args: ['--ipvs-resync-ms', '99'], env: {}, msg: /--ipvs-resync-ms \/ VIGIL_IPVS_RESYNC_MS: must be an integer from 100 to 3600000 \(ms\); got '99'/ },
];
for (const c of bad)
  t.test(`rejects bad ${c.desc}`, async (t) => {
    t.throws(() => loadSettings(c.args, c.env), { code: 'VIGIL_SETTINGS' });
    try {
      loadSettings(c.args, c.env);
    } catch (e) {
      t.match((e as Error).message, c.msg);
    }
  });
