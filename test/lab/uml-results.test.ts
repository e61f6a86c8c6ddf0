// What a bed reads of a UML run whose guest wrote nothing (an empty out folder, as when the kernel
// does not boot or times out): a result with the runner's reason, a file reader that gives '' so
// the bed can load and fail its first test with that reason, and the strict reader that throws.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { collectResult, describeUmlFailure, scenarioResult, phaseTimes, scenarioText, scenarioTextOrEmpty } from './uml-results.js';

t.test('a guest that wrote nothing: not ok, the reason, and empty files instead of a crash', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'vigil-uml-results-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  mkdirSync(join(work, 'out'));
  const res = collectResult(work, ['daemon-e2e'], 'u1', { code: null, signal: 'SIGKILL', timedOut: true, startedAt: 0, totalMs: 480_000 });
  t.notOk(res.ok);
  t.match(describeUmlFailure(res), /time/i, 'the reason says the run timed out');
  const s = scenarioResult(res, 'daemon-e2e');
  t.equal(scenarioTextOrEmpty(s, 'phases'), '');
  t.throws(() => scenarioText(s, 'phases'), /wrote no phases/);
  // and a file it did write is read as it is
  mkdirSync(join(work, 'out', 'daemon-e2e'));
  writeFileSync(join(work, 'out', 'daemon-e2e', 'phases'), 'end 1\n');
  const s2 = scenarioResult(collectResult(work, ['daemon-e2e'], 'u1', { code: 0, signal: null, timedOut: false, startedAt: 0, totalMs: 1 }), 'daemon-e2e');
  t.equal(scenarioTextOrEmpty(s2, 'phases'), 'end 1\n');
});

t.test('phaseTimes: milliseconds by phase, in order, blank lines ignored', async (t) => {
  const phases = phaseTimes('start 1000000000\ndrain 2500000000\n\n');
  t.same([...phases], [['start', 1000], ['drain', 2500]]);
  t.notOk(phases.has('never'));
});
