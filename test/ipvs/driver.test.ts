// The driver on the host, whose kernel has no IPVS: opening fails typed and names the family.
// Everything that needs IPVS itself runs in user-mode Linux (test/beds/uml-ipvs-driver.test.ts).
import t from 'tap';
import { IpvsDriver } from '../../src/ipvs/driver.js';
import { IpvsError } from '../../src/ipvs/ipvs.js';
import { poller } from '../../src/net/poller.js';
import { NETLINK_GENERIC, resolveFamily } from '../../src/netlink/genl.js';
import { NetlinkSocket } from '../../src/netlink/socket.js';

t.teardown(() => poller().stop());

t.test('resolveFamily finds the controller itself and refuses an unknown family', async (t) => {
  const sock = new NetlinkSocket(NETLINK_GENERIC);
  t.teardown(() => sock.close());
  t.match(await resolveFamily(sock, 'nlctrl'), { id: 0x10, name: 'nlctrl' }, 'nlctrl has the fixed id GENL_ID_CTRL');
  await t.rejects(resolveFamily(sock, 'vigil-nosuch'), { name: 'NetlinkError', code: 'ENOENT' }, 'unknown family: ENOENT');
});

t.test('IpvsDriver.open without ip_vs in the kernel', async (t) => {
  const err = await IpvsDriver.open().then(
    (d) => (d.close(), undefined),
    (e: unknown) => e,
  );
  if (err === undefined) return t.pass('this kernel has IPVS: nothing to refuse');
  t.ok(err instanceof IpvsError, 'an IpvsError');
  t.match(err, { op: 'ipvs.open', object: 'family IPVS', code: 'ENOENT', message: 'ipvs.open family IPVS: ENOENT' });
  t.match((err as Error).cause, { name: 'NetlinkError', code: 'ENOENT' }, 'the NetlinkError is the cause');
});
