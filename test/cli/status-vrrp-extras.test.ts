import t from 'tap';
import { type StatusResult, renderStatus, statusExitCode } from '../../src/cli/status.js';
import { renderFailover } from '../../src/cli/failover.js';

const base = (extra: Partial<StatusResult['vrrp'][number]>): StatusResult => ({
  version: '0.1.0',
  pid: 1,
  config: '/etc/keepalived/keepalived.conf',
  startedAt: '2026-12-07T00:00:00.000Z',
  vrrp: [{ name: 'VI_1', interface: 'eth0', vrid: 51, state: 'BACKUP', priority: 1, basePriority: 150, since: '2026-12-07T00:00:00.000Z', inStateMs: 5000, advertsSent: 3, advertsReceived: 9, drops: {}, ...extra }],
});

t.test('vigil status shows a failover hold and the sync daemon under the instance', async (t) => {
  const held = base({ override: { by: 'alice', reason: 'kernel upgrade', since: '2026-12-07T00:10:00.000Z', until: '2026-12-07T01:00:00.000Z' }, syncDaemon: { wanted: ['backup'], running: ['backup sync daemon eth0 id 51'] } });
  const text = renderStatus(held, false);
  t.match(text, /VI_1: HELD IN BACKUP by alice since 2026-12-07T00:10:00.000Z until 2026-12-07T01:00:00.000Z: kernel upgrade/);
  t.match(text, /VI_1: sync daemon backup sync daemon eth0 id 51\n/);
  t.match(text, /VI_1\s+BACKUP\s+1 \(150\)/, 'the held priority beside the configured one');
  t.equal(statusExitCode(held), 0, 'a held BACKUP is not degraded');
  t.match(renderStatus(base({ override: { by: 'bob', reason: 'r', since: 's' } }), false), /until released: r/);
  t.match(renderStatus(base({ syncDaemon: { wanted: ['master'], running: [], error: 'ipvs.startDaemon master sync daemon eth9 id 51: ENODEV' } }), false), /sync daemon none running \(wanted master: ipvs.startDaemon .*ENODEV\)/);
  t.notMatch(renderStatus(base({}), false), /HELD|sync daemon/, 'nothing extra without them');
});

t.test('vigil failover prints what it did', async (t) => {
  t.equal(
    renderFailover({ action: 'failover', instances: ['VI_1', 'VI_2'], holds: { VI_1: { by: 'alice', reason: 'x', since: 's' }, VI_2: { by: 'alice', reason: 'x', since: 's', until: 'u' } }, states: { VI_1: 'BACKUP' } }),
    'failover: VI_1, VI_2\n  VI_1: held in BACKUP until released (by alice: x); now BACKUP\n  VI_2: held in BACKUP until u (by alice: x)\n',
  );
  t.equal(renderFailover({ action: 'release', instances: ['VI_1'], holds: {}, note: 'nothing to change' }), 'released: VI_1\n  VI_1: not held; it preempts by its own priority\n  note: nothing to change\n');
});
