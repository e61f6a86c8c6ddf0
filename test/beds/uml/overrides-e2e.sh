#!/bin/bash
# Scenario (inside UML, LVS-TUN topology with real servers made by `vigil realserver`): one vigil
# director (dir1) runs etc/keepalived.conf with a state directory; a client sends requests to the
# VIP the whole time, and six long-lived connections (two per real server) are open when rs2 is
# drained. Phases, each stamped in $O/phases (name, ns):
#   drain        vigil drain rs2: weight 0, no new connection reaches it, the long-lived ones finish,
#                vigil drain reports the active count falling to zero and exits 0
#   kill9        every vigil process killed with SIGKILL and started again: rs2 stays at weight 0
#   reload       vigil reload: rs2 stays at weight 0
#   enable       vigil enable rs2: back at weight 10
#   disable      vigil disable rs3 --until 12s: removed, back at weight 10 when it expires
#   bad          unknown VS, unknown RS, bad and past times, a non-root caller: exit 1, nothing changes
#   window       a vigil_maintenance_window 30 s ahead (UTC, with seconds) is added by a reload:
#                it drains rs1 on its second and releases it 20 s later
# Every real server's weight is sampled every 0.1 s ($O/weights.log: ns rs1 rs2 rs3, '-' when
# absent), so the times are the kernel's, not the (slow, in UML) CLI's.
# $REPO is set by the wrapper (test/ipvs/fixtures/scenario.ts). Writes to $SCENARIO_OUT.
set -u
. "$LAB_ENV"
O=$SCENARIO_OUT
SOCK=/run/vigil-dir1.sock
STATE=/tmp/vigil-state
VIGIL="env -u NODE_OPTIONS VIGIL_IPVS_RESYNC_MS=2000 node $REPO/bin/vigil.js"
CTL="ip netns exec dir1 $VIGIL"
VIP=$LAB_VIP
. "$REPO/test/lab/scenario-lib.sh"
dests() { ip netns exec dir1 ipvsadm -Ln -t "$VIP:80" 2>/dev/null | awk '$1=="->" && $2!="RemoteAddress:Port" {print $2, $4}' | sort; }
dest_count_is() { [ "$(dests | wc -l)" = "$1" ]; }
dest_weight_is() { dests | grep -q "^$1:80 $2\$"; }
no_dest() { ! dests | grep -q "^$1:80 "; }
status_json() { $CTL status --socket $SOCK --json >"$O/$1.json" 2>"$O/$1.err"; }
start_vigil() {
  ip netns exec dir1 $VIGIL run -f /tmp/vigil.conf -i dir1 --socket $SOCK --state-dir $STATE --metrics-listen 127.0.0.1:9650 --log-format json --log-level info >>"$O/vigil-dir1.log" 2>&1 &
  echo $! >/run/vigil-dir1.pid
}
stop_all() {
  [ -f /run/client.pid ] && kill "$(cat /run/client.pid)" 2>/dev/null
  [ -f /run/sampler.pid ] && kill "$(cat /run/sampler.pid)" 2>/dev/null
  [ -f /run/vigil-dir1.pid ] && kill -TERM "$(cat /run/vigil-dir1.pid)" 2>/dev/null
  sleep 3
}
trap stop_all EXIT

cp "$REPO/etc/keepalived.conf" /tmp/vigil.conf
start_vigil
wait_for 60 has_vip dir1 || { echo "dir1 never took the VIP" >&2; exit 1; }
wait_for 60 dest_count_is 3 || { echo "dir1: table never complete" >&2; exit 1; }
dests >"$O/dests-start.txt"

# six long-lived connections, opened one after the other before any other traffic: wrr with equal
# weights puts two on each real server
ip netns exec client env -u NODE_OPTIONS node "$REPO/test/beds/uml/slow-client.mjs" "$VIP" 6 40000 >"$O/slow.log" 2>&1 &
slow=$!
wait_for 20 grep -q opened "$O/slow.log" || { echo "slow connections never opened" >&2; exit 1; }
ip netns exec dir1 ipvsadm -Ln >"$O/ipvs-slow-open.txt"
# the client: one new connection per request, the whole time
ip netns exec client bash -c "while :; do r=\$(curl -s --max-time 2 http://$VIP/ 2>/dev/null); rc=\$?; echo \"\$(date +%s%N) \$rc \${r:-ERR}\"; done" >"$O/client.log" 2>/dev/null &
echo $! >/run/client.pid
# every real server's weight every 0.1 s
weights() { dests | awk -v a="$LAB_RS1:80" -v b="$LAB_RS2:80" -v c="$LAB_RS3:80" 'BEGIN{w[a]="-";w[b]="-";w[c]="-"} {w[$1]=$2} END{print w[a], w[b], w[c]}'; }
# stamped after the read: a sample's time is never before what it shows
(while :; do w=$(weights); echo "$(date +%s%N) $w"; sleep 0.1; done) >"$O/weights.log" &
echo $! >/run/sampler.pid
sleep 1

mark drain
$CTL drain "$VIP:80" "$LAB_RS2:80" --reason "deploy 42" --interval 0.5 --timeout 60 --socket $SOCK >"$O/drain.out" 2>"$O/drain.err" &
drainpid=$!
wait_for 10 dest_weight_is "$LAB_RS2" 0 && mark drain-applied
status_json status-drained
wait $drainpid
echo $? >"$O/drain.status"
mark drain-done
wait $slow
ip netns exec dir1 ipvsadm -Ln >"$O/ipvs-drained.txt"
sleep 2

mark kill9
pids=$(cat /run/vigil-dir1.pid; pgrep -P "$(cat /run/vigil-dir1.pid)")
kill -KILL $pids
sleep 1
start_vigil
wait_for 60 status_json status-after-restart && mark restarted
sleep 4
status_json status-after-restart
dests >"$O/dests-after-restart.txt"

mark reload
$CTL reload --socket $SOCK >"$O/reload.out" 2>&1
echo $? >"$O/reload.status"
sleep 2
dests >"$O/dests-after-reload.txt"

mark enable
$CTL enable "$VIP:80" "$LAB_RS2:80" --reason "deployed" --socket $SOCK >"$O/enable.out" 2>&1
echo $? >"$O/enable.status"
wait_for 30 dest_weight_is "$LAB_RS2" 10 && mark enable-applied
sleep 5

mark disable
$CTL disable "$VIP:80" "$LAB_RS3" --until 12s --reason "disk check" --socket $SOCK >"$O/disable.out" 2>&1
echo $? >"$O/disable.status"
wait_for 30 no_dest "$LAB_RS3" && mark disable-applied
status_json status-disabled
wait_for 20 dest_weight_is "$LAB_RS3" 10 && mark disable-expired
sleep 1

mark bad
dests >"$O/dests-before-bad.txt"
cp $STATE/overrides.json "$O/state-before-bad.json" 2>/dev/null
i=0
for args in "192.0.2.99:80 $LAB_RS2:80" "$VIP:80 198.51.100.99:80" "$VIP:80 $LAB_RS2:80 --until yesterday" "$VIP:80 $LAB_RS2:80 --until 2001-01-01T00:00:00Z"; do
  $CTL disable $args --socket $SOCK >"$O/bad-$i.out" 2>&1
  echo $? >"$O/bad-$i.status"
  i=$((i + 1))
done
ip netns exec dir1 setpriv --reuid=65534 --regid=65534 --clear-groups env -u NODE_OPTIONS node "$REPO/bin/vigil.js" drain "$VIP:80" "$LAB_RS2:80" --socket $SOCK >"$O/bad-nonroot.out" 2>&1
echo $? >"$O/bad-nonroot.status"
dests >"$O/dests-after-bad.txt"
cp $STATE/overrides.json "$O/state-after-bad.json" 2>/dev/null

# a maintenance window 30 s ahead, by the real clock, in UTC with seconds, added by a reload
start=$(($(date +%s) + 30))
echo "$start" >"$O/window-start-s"
cat >>/tmp/vigil.conf <<WINDOW
vigil_maintenance_window soon {
  schedule "$(date -u -d "@$start" '+%-S %-M %-H') * * *"
  timezone UTC
  duration 20
  target $VIP:80 $LAB_RS1:80
  reason "lab window"
}
WINDOW
mark window
$CTL reload --socket $SOCK >"$O/window-reload.out" 2>&1
echo $? >"$O/window-reload.status"
status_json status-window-before
wait_for 60 dest_weight_is "$LAB_RS1" 0 && mark window-start
status_json status-window-active
wait_for 60 dest_weight_is "$LAB_RS1" 10 && mark window-end
status_json status-window-after

mark end
status_json status-end
ip netns exec dir1 curl -s http://127.0.0.1:9650/metrics >"$O/metrics.txt"
ip netns exec dir1 ipvsadm -Ln --stats >"$O/stats-end.txt"
echo "scenario overrides-e2e: done"
