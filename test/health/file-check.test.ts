import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { compileText } from '../../src/config/compile.js';
import { fileChecker, fileEffect, strtol0 } from '../../src/health/file-check.js';
import { FILE_CHECK_TIMING, monitoredCheckers } from '../../src/health/probe.js';
import { fdCount, handleCount, tally } from '../helpers/net-fixtures.js';

/*
 * FILE_CHECK: keepalived's reading of a track file (strtol, first 127 bytes, missing = 0, out of
 * range ignored) and its verdict for a real server (weight 0: non-zero is a fault; else
 * value × weight is added to the weight and <= -2^31 is a fault), on real files, a FIFO and a
 * sparse 1 GB file.
 */

t.test('strtol(s, NULL, 0) as keepalived reads a track file', async (t) => {
  const cases: [string, number | undefined][] = [
    ['5', 5],
    [' \t-3\n', -3],
    ['+7 trailing', 7],
    ['0x10', 16],
    ['010', 8],
    ['09', 0],
    ['0x', 0],
    ['abc', 0],
    ['', 0],
    ['2147483648', 2147483648],
    ['2147483649', undefined],
    ['-2147483648', -2147483648],
    ['-2147483649', undefined],
    ['99999999999999999999999', undefined],
  ];
  for (const [s, want] of cases) t.equal(strtol0(s), want, JSON.stringify(s));
});

t.test('verdicts (track_file.c update_track_file_status)', async (t) => {
  const cases: { value: number; weight: number; reverse?: boolean; fault: boolean; delta?: number }[] = [
    { value: 0, weight: 0, fault: false },
    { value: 3, weight: 0, fault: true },
    { value: -1, weight: 0, fault: true },
    { value: 0, weight: 0, reverse: true, fault: true },
    { value: 3, weight: 0, reverse: true, fault: false },
    { value: 2, weight: 10, fault: false, delta: 20 },
    { value: 2, weight: 10, reverse: true, fault: false, delta: -20 },
    { value: 0, weight: 10, fault: false, delta: 0 },
    { value: -2147483648, weight: 1, fault: true },
    { value: -2147483648, weight: 2, fault: true },
    { value: 2147483648, weight: -1, fault: true },
    { value: 2147483648, weight: 1, fault: false, delta: 2147483647 },
    { value: -2147483647, weight: 1, fault: false, delta: -2147483647 },
  ];
  for (const c of cases) {
    const e = fileEffect(c.value, c.weight, c.reverse ?? false);
    t.equal(e.fault, c.fault, `${c.value} × ${c.weight}${c.reverse ? ' reverse' : ''}: ${e.detail}`);
    if (!e.fault) t.equal(e.weightDelta, c.delta, `${c.value} × ${c.weight}: delta`);
  }
});

t.test('FILE_CHECK from keepalived.conf on a real file', async (t) => {
  const dir = t.testdir();
  const f = path.join(dir, 'rs.state');
  const cfg = compileText(
    `track_file rsfile {
  file "${f}"
  weight 5
}
track_file gate {
  file "${dir}/gate"
  weight 0
}
virtual_server 10.0.0.100 80 {
  lvs_sched rr
  lvs_method TUN
  protocol TCP
  real_server 10.0.0.2 80 {
    FILE_CHECK { track_file rsfile }
    FILE_CHECK {
      track_file rsfile
      weight 2 reverse
    }
    FILE_CHECK { track_file gate }
  }
}
`,
    'k.conf',
    {},
  );
  if (!cfg.config) return t.fail(cfg.diagnostics.map((d) => d.message).join('\n'));
  const cks = cfg.config.virtualServers[0]!.realServers[0]!.checkers;
  const m = monitoredCheckers(cks, { trackFiles: cfg.config.trackFiles });
  t.same(m.map((x) => x.name), ['FILE_CHECK rsfile', 'FILE_CHECK rsfile', 'FILE_CHECK gate']);
  t.same(m[0]!.timing, FILE_CHECK_TIMING, 'a read every second, no retry, no warmup, not alpha');
  t.equal(monitoredCheckers(cks, { trackFiles: cfg.config.trackFiles, fileTiming: { delayLoopMs: 250 } })[0]!.timing.delayLoopMs, 250, 'timing can come from the caller');
  const [own, rev, gate] = m.map((x) => x.probe);

  let r = await own!();
  t.same([r.reason, r.weightDelta], ['ok', 0], `missing file reads as 0: ${r.detail}`);
  t.equal((await gate!()).reason, 'ok', 'weight 0, missing file: up');
  fs.writeFileSync(f, '3\n');
  r = await own!();
  t.same([r.reason, r.weightDelta], ['ok', 15], `3 × the track_file weight 5: ${r.detail}`);
  r = await rev!();
  t.same([r.reason, r.weightDelta], ['ok', -6], `3 × the checker weight 2 reverse: ${r.detail}`);
  fs.writeFileSync(f, '99999999999');
  r = await own!();
  t.same([r.reason, r.weightDelta], ['ok', 15], `an out-of-range number is ignored, the last value stays: ${r.detail}`);
  fs.writeFileSync(f, '-2147483648');
  r = await own!();
  t.equal(r.reason, 'file-fault', r.detail);
  fs.writeFileSync(`${dir}/gate`, '1');
  t.equal((await gate!()).reason, 'file-fault', 'weight 0: a non-zero value is a fault');
  fs.rmSync(`${dir}/gate`);
  t.equal((await gate!()).reason, 'ok', 'a deleted file reads as 0');

  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const sparse = path.join(dir, 'huge');
  const fd = fs.openSync(sparse, 'w');
  fs.writeSync(fd, '42');
  fs.ftruncateSync(fd, 1024 ** 3);
  fs.closeSync(fd);
  for (const [file, want] of [[fifo, 0], [sparse, 42 * 5], [dir, 0]] as const) {
    const p = fileChecker({ name: 'x', file, weight: 5, reverse: false });
    const t0 = performance.now();
    const x = await p();
    t.equal(x.weightDelta, want, `${path.basename(file)}: ${x.detail}`);
    t.ok(performance.now() - t0 < 200, `${path.basename(file)}: read in ${(performance.now() - t0).toFixed(1)} ms`);
  }
  const orphan = monitoredCheckers([{ type: 'FILE_CHECK', trackFile: 'nope', weightReverse: false, dynamic: false }], { trackFiles: [] });
  t.equal((await orphan[0]!.probe()).reason, 'bad-config', 'a track_file that does not exist');
});

t.test('no fd or handle leaks over 10,000 checks', async (t) => {
  const dir = t.testdir();
  fs.writeFileSync(path.join(dir, 'a'), '1');
  fs.writeFileSync(path.join(dir, 'b'), '-2147483648');
  execFileSync('mkfifo', [path.join(dir, 'c')]);
  const probes = ['a', 'b', 'c', 'missing'].map((n) => fileChecker({ name: n, file: path.join(dir, n), weight: 1, reverse: false }));
  const run = (i: number) => probes[i % probes.length]!();
  await tally(probes.length, probes.length, run);
  const fd0 = fdCount();
  const h0 = handleCount();
  const t0 = performance.now();
  const seen = await tally(10_000, 50, run);
  t.comment(`10000 file checks in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(Object.fromEntries(seen))}`);
  t.same(Object.fromEntries(seen), { ok: 7500, 'file-fault': 2500 });
  t.equal(fdCount(), fd0, `open fds: ${fdCount()} (before ${fd0})`);
  t.equal(handleCount(), h0, `active handles: ${handleCount()} (before ${h0})`);
});
