#!/bin/bash
# Scenario (inside UML, no topology): the director layer against the real kernel
# (test/director/fixtures/director-scenario.mjs on dist/). The first two phases run under strace
# so that the netlink messages sent to the IPVS family are counted outside vigil too.
# $REPO is set by the wrapper (test/ipvs/fixtures/scenario.ts). Writes to $SCENARIO_OUT.
set -eu
O=$SCENARIO_OUT
S=$REPO/test/director/fixtures/director-scenario.mjs
# the sync daemons need a multicast-capable interface (another scenario of the boot may have made it)
ip link show sync0 >/dev/null 2>&1 || ip link add sync0 type veth peer name sync1
ip link set sync0 up
ip link set sync1 up
ipvsadm -Sn >"$O/save-empty.txt"
strace -f -o "$O/program.strace" -e trace=sendto,sendmsg -e signal=none node "$S" program "$O"
# a new process on the same table, as after kill -9
strace -f -o "$O/restart.strace" -e trace=sendto,sendmsg -e signal=none node "$S" restart "$O"
node "$S" live "$O"
ipvsadm -Sn >"$O/save-final.txt"
echo "scenario director: done"
