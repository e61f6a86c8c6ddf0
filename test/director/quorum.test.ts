// keepalived's quorum rule with hysteresis (check/ipwrapper.c update_quorum_state), as a table.
import t from 'tap';
import { startQuorum, stepQuorum, stopQuorum } from '../../src/director/quorum.js';

const P = { quorum: 10, hysteresis: 2 };

t.test('start: up at ≥ quorum + hysteresis; an event only when down with a sorry server', async (t) => {
  const cases: { desc: string; sum: number; sorry: boolean; up: boolean; event?: string }[] = [
    { desc: 'exactly quorum + hysteresis', sum: 12, sorry: true, up: true },
    { desc: 'above quorum but below quorum + hysteresis', sum: 11, sorry: false, up: false },
    { desc: 'the same with a sorry server: "starting with quorum down"', sum: 11, sorry: true, up: false, event: 'quorum_down init starting with quorum down: live weight 11 < 10+2=12' },
  ];
  for (const c of cases) {
    const s = startQuorum('vs', P, c.sum, c.sorry);
    t.equal(s.state.up, c.up, c.desc);
    t.equal(s.event ? `${s.event.kind}${s.event.init ? ' init' : ''} ${s.event.reason}` : undefined, c.event, `${c.desc}: event`);
  }
});

t.test('steps: lost at 0 or < quorum − hysteresis, gained at ≥ quorum + hysteresis', async (t) => {
  const cases: { up: boolean; sum: number; want: boolean; event?: string }[] = [
    { up: true, sum: 12, want: true },
    { up: true, sum: 8, want: true },
    { up: true, sum: 7, want: false, event: 'quorum_down lost quorum: live weight 7 < 10-2=8' },
    { up: true, sum: 0, want: false, event: 'quorum_down lost quorum: live weight 0 < 10-2=8' },
    { up: false, sum: 11, want: false },
    { up: false, sum: 12, want: true, event: 'quorum_up gained quorum: live weight 12 ≥ 10+2=12' },
    { up: false, sum: 0, want: false },
  ];
  for (const c of cases) {
    const s = stepQuorum('vs', P, { up: c.up }, c.sum);
    const desc = `${c.up ? 'up' : 'down'}, live weight ${c.sum}`;
    t.equal(s.state.up, c.want, desc);
    t.equal(s.event ? `${s.event.kind} ${s.event.reason}` : undefined, c.event, `${desc}: event`);
  }
  t.same(stepQuorum('vs', { quorum: 1, hysteresis: 0 }, { up: true }, 0).state, { up: false }, 'quorum 1 with no weight left');
  t.same(stepQuorum('vs', { quorum: 1, hysteresis: 0 }, { up: false }, 1).state, { up: true });
});

t.test('stop: quorum_down only with omega', async (t) => {
  t.equal(stopQuorum('vs', { ...P, omega: false }, 12), undefined);
  t.match(stopQuorum('vs', { ...P, omega: true }, 12), { kind: 'quorum_down', stopping: true, reason: 'shutting down (omega)' });
});
