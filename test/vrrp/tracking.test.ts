import t from 'tap';
import type { TrackFile, VrrpScript, VrrpSyncGroup } from '../../src/config/schema/vrrp-blocks.js';
import type { VrrpInstance } from '../../src/config/schema/vrrp.js';
import { effectivePriority, trackState } from '../../src/vrrp/tracking.js';
import { fileEffect } from '../../src/vrrp/track-file.js';

const vi = (o: Partial<VrrpInstance>): VrrpInstance => ({ name: 'VI', interface: 'eth0', priority: 100, trackInterface: [], trackScript: [], trackFile: [], ...o }) as unknown as VrrpInstance;
const script = (name: string, weight: number, weightReverse = false): VrrpScript => ({ name, weight, weightReverse }) as unknown as VrrpScript;
const file = (name: string, weight: number, weightReverse = false): TrackFile => ({ name, file: '/x', weight, weightReverse });
const readings = (links: Record<string, boolean>, scripts: Record<string, boolean> = {}, files: Record<string, number> = {}) => ({
  linkRunning: (n: string) => links[n] === true,
  scriptUp: (n: string) => scripts[n],
  fileValue: (n: string) => files[n],
});

const cases: { desc: string; vi: Partial<VrrpInstance>; group?: Partial<VrrpSyncGroup>; scripts?: VrrpScript[]; files?: TrackFile[]; r: ReturnType<typeof readings>; faults: string[]; prio: number }[] = [
  { desc: 'own interface up', vi: {}, r: readings({ eth0: true }), faults: [], prio: 100 },
  { desc: 'own interface down → FAULT', vi: {}, r: readings({ eth0: false }), faults: ['if:eth0'], prio: 100 },
  { desc: 'unweighted tracked interface down → FAULT', vi: { trackInterface: [{ name: 'eth1' }] }, r: readings({ eth0: true, eth1: false }), faults: ['if:eth1'], prio: 100 },
  { desc: 'weighted interface down subtracts', vi: { trackInterface: [{ name: 'eth1', weight: -30 }] }, r: readings({ eth0: true, eth1: false }), faults: [], prio: 70 },
  { desc: 'positive weight adds while up', vi: { trackInterface: [{ name: 'eth1', weight: 20 }] }, r: readings({ eth0: true, eth1: true }), faults: [], prio: 120 },
  { desc: 'script weight 0 down → FAULT', vi: { trackScript: [{ name: 's' }] }, scripts: [script('s', 0)], r: readings({ eth0: true }, { s: false }), faults: ['script:s'], prio: 100 },
  { desc: 'script entry weight overrides', vi: { trackScript: [{ name: 's', weight: 50 }] }, scripts: [script('s', -10)], r: readings({ eth0: true }, { s: true }), faults: [], prio: 150 },
  { desc: 'script reverse: up counts as down', vi: { trackScript: [{ name: 's' }] }, scripts: [script('s', 0, true)], r: readings({ eth0: true }, { s: true }), faults: ['script:s'], prio: 100 },
  { desc: 'script not running yet is ignored', vi: { trackScript: [{ name: 's' }] }, scripts: [script('s', 0)], r: readings({ eth0: true }), faults: [], prio: 100 },
  { desc: 'file value × weight', vi: { trackFile: [{ name: 'f' }] }, files: [file('f', 2)], r: readings({ eth0: true }, {}, { f: -20 }), faults: [], prio: 60 },
  { desc: 'file weight 0 non-zero → FAULT', vi: { trackFile: [{ name: 'f', weight: 0 }] }, files: [file('f', 1)], r: readings({ eth0: true }, {}, { f: 3 }), faults: ['file:f'], prio: 100 },
  { desc: 'file result below -253 → FAULT', vi: { trackFile: [{ name: 'f' }] }, files: [file('f', 254)], r: readings({ eth0: true }, {}, { f: -1 }), faults: ['file:f'], prio: 100 },
  { desc: 'sync group tracking applies to members', vi: {}, group: { trackInterface: [{ name: 'eth2' }] }, r: readings({ eth0: true, eth2: false }), faults: ['if:eth2'], prio: 100 },
  { desc: 'priority clamps to 1..254', vi: { trackInterface: [{ name: 'eth1', weight: 200 }] }, r: readings({ eth0: true, eth1: true }), faults: [], prio: 254 },
  { desc: 'owner priority never moves', vi: { priority: 255, trackInterface: [{ name: 'eth1', weight: -100 }] }, r: readings({ eth0: true, eth1: false }), faults: [], prio: 255 },
];
for (const c of cases)
  t.test(c.desc, async (t) => {
    const st = trackState(vi(c.vi), c.group as VrrpSyncGroup | undefined, new Map((c.scripts ?? []).map((s) => [s.name, s])), new Map((c.files ?? []).map((f) => [f.name, f])), c.r);
    t.same([...st.faults.keys()], c.faults);
    for (const reason of st.faults.values()) t.ok(reason.length > 5, `reason: ${reason}`);
    t.equal(effectivePriority(c.vi.priority ?? 100, st.weights), c.prio);
  });

t.test('fileEffect reverse', async (t) => {
  t.same(fileEffect('f', 10, 3, true), { fault: false, weight: -30 });
});
