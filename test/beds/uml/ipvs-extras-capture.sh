#!/bin/bash
# Scenario (inside UML, no topology): starts both connection-sync daemons and sets the timeouts
# with ipvsadm, recording ipvsadm's requests (strace -e write=3), then records the kernel's
# GET_DAEMON and GET_CONFIG replies as hex (test/ipvs/fixtures/extras-capture.mjs on dist/).
# $REPO is set by the wrapper (test/ipvs/fixtures/scenario.ts). Writes to $SCENARIO_OUT:
# ipvsadm-*.strace, get-daemon-dump.hex, get-config.hex, daemon.txt, timeout.txt.
set -eu
O=$SCENARIO_OUT
# the sync daemons need a multicast-capable interface: one end of a veth pair
ip link add sync0 type veth peer name sync1
ip link set sync0 up
ip link set sync1 up
strace -o "$O/ipvsadm-start-daemon-master.strace" -e trace=sendmsg -e write=3 \
  ipvsadm --start-daemon master --mcast-interface sync0 --syncid 5
strace -o "$O/ipvsadm-start-daemon-backup.strace" -e trace=sendmsg -e write=3 \
  ipvsadm --start-daemon backup --mcast-interface sync0 --syncid 6 --sync-maxlen 1000 \
    --mcast-group 239.1.2.3 --mcast-port 8850 --mcast-ttl 3
strace -o "$O/ipvsadm-set-timeout.strace" -e trace=sendmsg -e write=3 \
  ipvsadm --set 7200 60 120
node "$REPO/test/ipvs/fixtures/extras-capture.mjs" "$O"
ipvsadm -L --daemon >"$O/daemon.txt"
ipvsadm -L --timeout >"$O/timeout.txt"
strace -o "$O/ipvsadm-stop-daemon.strace" -e trace=sendmsg -e write=3 \
  ipvsadm --stop-daemon backup
ipvsadm --stop-daemon master
ipvsadm --set 900 120 300 # the kernel's defaults again, for the scenarios after this one
echo "scenario ipvs-extras-capture: done"
