// writeFileAtomic, shared by the state files (failover holds, overrides, the managed IPVS set):
// the whole file or the old one, mode 0600 in a 0700 folder it makes, and a clean error (nothing
// left behind, no second error from the clean-up) when the folder path is a file.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { writeFileAtomic } from '../../src/util/atomic-file.js';

t.test('writes whole, replaces, makes its folder, and fails cleanly where the folder is a file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-atomic-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state', 'x.json');
  writeFileAtomic(file, 'one\n');
  t.equal(readFileSync(file, 'utf8'), 'one\n');
  t.equal(statSync(file).mode & 0o777, 0o600, 'file mode 0600');
  t.equal(statSync(join(dir, 'state')).mode & 0o777, 0o700, 'folder made 0700');
  writeFileAtomic(file, 'two\n');
  t.equal(readFileSync(file, 'utf8'), 'two\n', 'replaced');
  t.same(readdirSync(join(dir, 'state')), ['x.json'], 'no temporary file left');
  const notADir = join(dir, 'file');
  writeFileSync(notADir, 'x');
  t.throws(() => writeFileAtomic(join(notADir, 'y.json'), 'z'), { code: /^(EEXIST|ENOTDIR)$/ }, 'the write error itself, not one from the clean-up');
  t.equal(readFileSync(notADir, 'utf8'), 'x', 'the file in the way is untouched');
});
