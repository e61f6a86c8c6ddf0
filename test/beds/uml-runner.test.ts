// The UML runner itself: per-scenario results and files, guest timeouts, host timeout, loud failures.
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { LabError } from '../lab/errors.js';
import { pidsByCmdline } from '../lab/state.js';
import { runUml } from '../lab/uml.js';

const script = (name: string): string => fileURLToPath(new URL(`./uml/${name}.sh`, import.meta.url));

t.test('a kernel that is not there fails loudly with the reason', async (t) => {
  const err = await runUml({ binary: '/nonexistent/linux.uml', scenarios: [] }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof LabError, 'rejects with a LabError');
  t.match(err, { code: 'EUML', message: /\/nonexistent\/linux\.uml is missing or not executable/ }, (err as Error)?.message);
});

t.test('several scenarios per boot: statuses, output, files, guest timeout', async (t) => {
  const res = await runUml({
    topology: null,
    modules: [],
    scenarioTimeoutS: 3,
    scenarios: [
      { name: 'files', script: script('runner-files') },
      { name: 'fail', script: script('runner-fail') },
      { name: 'hang', script: script('runner-hang') },
      { name: 'after', script: script('runner-files') },
    ],
  });
  t.teardown(() => rmSync(res.workDir, { recursive: true, force: true }));
  t.comment(`boot ${res.bootMs} ms, run ${res.totalMs} ms`);
  t.equal(res.exitCode, 0, 'powered off cleanly');
  t.same(res.scenarios.map((s) => [s.name, s.status]), [['files', 0], ['fail', 3], ['hang', 124], ['after', 0]], 'statuses in order; timeout = 124');
  t.notOk(res.ok, 'a failing scenario makes the run not ok');
  t.equal(res.keptDir, res.workDir, 'run folder kept on failure');
  t.ok(existsSync(`${res.workDir}/out/fail/stderr`), 'logs are in the kept folder');
  const files = res.scenarios[0];
  t.equal(files?.stdout, 'to stdout\n', 'stdout captured');
  t.equal(files?.stderr, 'to stderr\n', 'stderr captured');
  t.equal(files?.files.get('a.txt')?.toString(), 'hello\n', 'file written by the scenario');
  t.same([...(files?.files.get('sub/b.bin') ?? [])], [0, 1, 2], 'nested binary file');
  const fs = files?.files.get('fs.txt')?.toString() ?? '';
  t.match(fs, /^root=read-only$/m, "the guest cannot write to the host's /");
  for (const d of ['/tmp', '/var/log', '/var/lib/nginx', '/run']) t.match(fs, new RegExp(`^${d}=tmpfs$`, 'm'), `${d} is tmpfs in the guest`);
  t.notOk(existsSync('/usr/vigil-uml-write-test'), 'nothing appeared on the host');
  t.match(res.scenarios[1]?.stderr ?? '', /failing on purpose/, 'stderr of the failing scenario');
  t.ok((res.scenarios[2]?.durationMs ?? 0) >= 2500, `hang stopped after ${res.scenarios[2]?.durationMs} ms`);
  t.same(pidsByCmdline(`umid=${res.umid}`), [], 'no guest process left');
});

t.test('host-side timeout kills the whole process group and cleans up', async (t) => {
  const res = await runUml({
    topology: null,
    modules: [],
    scenarioTimeoutS: 600,
    timeoutMs: 6000,
    keep: 'never',
    scenarios: [{ name: 'hang', script: script('runner-hang') }],
  });
  t.ok(res.timedOut, `timed out (exit ${res.exitCode}, signal ${res.signal}) after ${res.totalMs} ms`);
  t.ok(res.totalMs < 6000 + 6000, 'stopped within timeout + grace');
  t.notOk(res.ok, 'not ok');
  t.equal(res.scenarios[0]?.status, null, 'the scenario never finished');
  t.same(pidsByCmdline(`umid=${res.umid}`), [], 'no guest process left');
  t.notOk(existsSync(res.workDir), 'run folder removed (keep: never)');
});
