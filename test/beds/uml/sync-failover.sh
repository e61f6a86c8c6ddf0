#!/bin/bash
# Scenario (inside UML, LVS-TUN topology): established connections survive a director failover
# because the IPVS sync daemon follows VRRP (lvs_sync_daemon eth0 VI_LB). Two vigil directors,
# an echo service on VIP:9000 served by rs1..rs3 (test/beds/uml/sync-conn.mjs), one client
# connection sending a line every 50 ms for the whole run. Phases, each stamped in $O/phases:
#   synced     dir1 MASTER runs the master daemon, dir2 the backup one; dir2 holds the entry
#   failover   dir1's vigil stopped (SIGTERM): dir2 takes the VIP, its daemon becomes master,
#              the same connection carries on through dir2 to the same real server
#   failback   dir1 started again: backup daemon first, then it preempts and they swap back
#   nosync     control: lvs_sync_daemon removed by `vigil reload` on both (daemons stop); a new
#              connection, dir1 stopped again: dir2 has no entry and the connection breaks
# $REPO is set by the wrapper (test/ipvs/fixtures/scenario.ts). Writes to $SCENARIO_OUT.
set -u
. "$LAB_ENV"
O=$SCENARIO_OUT
VIGIL="env -u NODE_OPTIONS node $REPO/bin/vigil.js"
NODE="env -u NODE_OPTIONS node"
CONN=$REPO/test/beds/uml/sync-conn.mjs
VIP=$LAB_VIP
. "$REPO/test/lab/scenario-lib.sh"
dest_count_is() { [ "$(ip netns exec "$1" ipvsadm -Ln -t "$VIP:9000" 2>/dev/null | grep -c -- '->.*Tunnel')" = "$2" ]; }
daemons() { ip netns exec "$1" ipvsadm -L --daemon 2>&1 | sed 's/^ *//' | sort; }
daemon_is() { [ "$(daemons "$1" | awk '{print $1}' | tr '\n' ' ')" = "$2 " ]; }
no_daemon() { [ -z "$(daemons "$1")" ]; }
conns() { ip netns exec "$1" ipvsadm -Lnc 2>&1; }
status_json() { ip netns exec "$1" $VIGIL status --socket "/run/vigil-$1.sock" --json >"$O/$2.json" 2>"$O/$2.err"; }
start_vigil() {
  ip netns exec "$1" $VIGIL run -f /tmp/sync.conf -i "$1" --socket "/run/vigil-$1.sock" --log-format json --log-level info >>"$O/vigil-$1.log" 2>&1 &
  echo $! >"/run/vigil-$1.pid"
}
stop_vigil() {
  local p
  p=$(cat "/run/vigil-$1.pid")
  kill -TERM "$p" 2>/dev/null
  for i in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}
cleanup() {
  for c in client1 client2; do [ -f "/run/$c.pid" ] && kill "$(cat "/run/$c.pid")" 2>/dev/null; done
  for d in dir1 dir2; do [ -f "/run/vigil-$d.pid" ] && kill -TERM "$(cat "/run/vigil-$d.pid")" 2>/dev/null; done
  sleep 2
}
trap cleanup EXIT

write_conf() { # $1: the lvs_sync_daemon line (or nothing)
  cat >/tmp/sync.conf <<CONF
global_defs {
@dir1  router_id dir1
@dir2  router_id dir2
   vrrp_version 3
   $1
}
vrrp_instance VI_LB {
   state BACKUP
   interface eth0
   virtual_router_id 51
@dir1  priority 150
@dir2  priority 100
   advert_int 1
   preempt_delay 3
   virtual_ipaddress {
      $VIP/24 dev eth0
   }
}
virtual_server $VIP 9000 {
   delay_loop 2
   lvs_sched rr
   lvs_method TUN
   protocol TCP
   real_server $LAB_RS1 9000 {
      TCP_CHECK { connect_timeout 2 }
   }
   real_server $LAB_RS2 9000 {
      TCP_CHECK { connect_timeout 2 }
   }
   real_server $LAB_RS3 9000 {
      TCP_CHECK { connect_timeout 2 }
   }
}
CONF
}

for rs in $LAB_RS; do
  ip netns exec "$rs" $NODE "$CONN" server "$rs" 9000 >/dev/null 2>&1 &
done
write_conf "lvs_sync_daemon eth0 VI_LB"
start_vigil dir1
start_vigil dir2
wait_for 60 has_vip dir1 || { echo "dir1 never took the VIP" >&2; exit 1; }
wait_for 60 dest_count_is dir1 3 || { echo "dir1: table never complete" >&2; exit 1; }
wait_for 60 dest_count_is dir2 3 || { echo "dir2: table never complete" >&2; exit 1; }
wait_for 30 daemon_is dir1 master && wait_for 30 daemon_is dir2 backup || echo "daemons not as expected at start" >&2
daemons dir1 >"$O/daemons-start-dir1.txt"
daemons dir2 >"$O/daemons-start-dir2.txt"

ip netns exec client $NODE "$CONN" client "$VIP" 9000 >"$O/client1.log" 2>&1 &
echo $! >/run/client1.pid
sleep 4
mark synced
conns dir1 >"$O/conns-synced-dir1.txt"
conns dir2 >"$O/conns-synced-dir2.txt"
status_json dir1 status-synced-dir1

mark failover
stop_vigil dir1 || echo "dir1 did not stop" >&2
wait_for 20 has_vip dir2 && mark dir2-master
wait_for 20 daemon_is dir2 master && mark dir2-daemon-master
daemons dir1 >"$O/daemons-failover-dir1.txt"
daemons dir2 >"$O/daemons-failover-dir2.txt"
sleep 4
conns dir2 >"$O/conns-failover-dir2.txt"
status_json dir2 status-failover-dir2

mark failback
start_vigil dir1
wait_for 30 daemon_is dir1 backup && mark dir1-daemon-backup
daemons dir1 >"$O/daemons-restart-dir1.txt"
wait_for 40 has_vip dir1 && mark dir1-master-again
wait_for 20 daemon_is dir1 master && wait_for 20 daemon_is dir2 backup && mark swapped-back
daemons dir1 >"$O/daemons-failback-dir1.txt"
daemons dir2 >"$O/daemons-failback-dir2.txt"
sleep 4
mark failback-done
kill "$(cat /run/client1.pid)"
rm -f /run/client1.pid

# control: without the sync daemon the same failover breaks the connection
write_conf ""
ip netns exec dir1 $VIGIL reload --socket /run/vigil-dir1.sock >"$O/reload-nosync-dir1.out" 2>&1
ip netns exec dir2 $VIGIL reload --socket /run/vigil-dir2.sock >"$O/reload-nosync-dir2.out" 2>&1
wait_for 10 no_daemon dir1 && wait_for 10 no_daemon dir2 && mark nosync-daemons-stopped
daemons dir1 >"$O/daemons-nosync-dir1.txt"
daemons dir2 >"$O/daemons-nosync-dir2.txt"
ip netns exec client $NODE "$CONN" client "$VIP" 9000 >"$O/client2.log" 2>&1 &
echo $! >/run/client2.pid
sleep 4
conns dir2 >"$O/conns-nosync-dir2.txt"
mark nosync-failover
stop_vigil dir1 || echo "dir1 did not stop" >&2
wait_for 20 has_vip dir2 && mark nosync-dir2-master
sleep 5
mark end
kill "$(cat /run/client2.pid)" 2>/dev/null # it may have ended with its connection
rm -f /run/client2.pid
echo "scenario sync-failover: done"
