// The two RTM_NEWLINK messages realserver adds to src/net/rtnl.ts, byte by byte
// (struct nlmsghdr + struct ifinfomsg, linux/rtnetlink.h; IFLA_IFNAME 3, IFLA_LINKINFO 18 nested,
// IFLA_INFO_KIND 1). The kernel's answers to them are exercised in test/beds/uml-realserver.test.ts.
import t from 'tap';
import { linkUpMessage, newLinkMessage } from '../../src/net/rtnl.js';

const hex = (s: string): string => s.replace(/\s+/g, '');

t.test('linkUpMessage: RTM_NEWLINK, REQUEST|ACK, ifi_flags and ifi_change IFF_UP only', async (t) => {
  t.equal(
    linkUpMessage(7, 3, true).toString('hex'),
    hex(`20000000 1000 0500 07000000 00000000
         00 00 0000 03000000 01000000 01000000`),
  );
  t.equal(linkUpMessage(7, 3, false).toString('hex').slice(48, 56), '00000000', 'down: flags 0, change still IFF_UP');
});

t.test('newLinkMessage: RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, name and nested kind', async (t) => {
  t.equal(
    newLinkMessage(9, 'tunl0', 'ipip').toString('hex'),
    hex(`3c000000 1000 0506 09000000 00000000
         00 00 0000 00000000 00000000 00000000
         0a00 0300 74756e6c 30000000
         1000 1280 0900 0100 69706970 00000000`),
  );
});
