import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { resolveRunAs } from '../../src/util/users.js';

t.test('resolveRunAs reads passwd and group', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-users-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = { passwd: path.join(dir, 'passwd'), group: path.join(dir, 'group') };
  fs.writeFileSync(files.passwd, 'root:x:0:0::/root:/bin/sh\nkeepalived_script:x:998:997::/:/usr/sbin/nologin\n');
  fs.writeFileSync(files.group, 'root:x:0:\nnogroup:x:65534:\n');
  t.same(resolveRunAs('keepalived_script', undefined, files), { uid: 998, gid: 997 }, 'primary group by default');
  t.same(resolveRunAs('keepalived_script', 'nogroup', files), { uid: 998, gid: 65534 });
  t.same(resolveRunAs('1234', '55', files), { uid: 1234, gid: 55 }, 'numeric ids');
  t.equal(resolveRunAs('nobody-here', undefined, files), undefined);
  t.equal(resolveRunAs('root', 'nogroup-here', files), undefined);
});
