#!/bin/bash
# Scenario (inside UML, LVS-TUN topology with real servers made by `vigil realserver`): two vigil
# directors run etc/keepalived.conf (dir1 master, dir2 backup), both check rs1..rs3 and program
# their own IPVS table; a client sends requests to the VIP the whole time. Phases, each stamped
# in $O/phases (name, ns):
#   steady     every real server answers through the VIP, replies bypass the director
#   rs2-stop   nginx on rs2 stops: rs2 leaves both tables after its retries; no client error after
#   rs2-start  nginx on rs2 starts: back at weight 10
#   kill9      every vigil process of dir1 killed with SIGKILL and started again: its checker
#              adopts the kernel's table (writes counted by vigil status)
#   hand       ipvsadm changes a weight and deletes a dest on dir1: vigil puts both right
#   reload     rs3's weight 10 -> 5 in the file, `vigil reload`: applied without a VRRP transition
#   badreload  a broken file: `vigil reload` fails with file:line:col, nothing changes
# $REPO is set by the wrapper (test/ipvs/fixtures/scenario.ts). Writes to $SCENARIO_OUT.
set -u
. "$LAB_ENV"
O=$SCENARIO_OUT
VIGIL="env -u NODE_OPTIONS VIGIL_IPVS_RESYNC_MS=2000 node $REPO/bin/vigil.js"
VIP=$LAB_VIP
. "$REPO/test/lab/scenario-lib.sh"
dests() { ip netns exec "$1" ipvsadm -Ln -t "$VIP:80" 2>/dev/null | awk '$1=="->" && $2!="RemoteAddress:Port" {print $2, $4}' | sort; }
dest_count_is() { [ "$(dests "$1" | wc -l)" = "$2" ]; }
dest_weight_is() { dests "$1" | grep -q "^$2:80 $3\$"; }
no_dest() { ! dests "$1" | grep -q "^$2:80 "; }
status_json() { ip netns exec "$1" $VIGIL status --socket "/run/vigil-$1.sock" --json >"$O/$2.json" 2>"$O/$2.err"; }

start_vigil() {
  ip netns exec "$1" $VIGIL run -f /tmp/vigil.conf -i "$1" --socket "/run/vigil-$1.sock" --log-format json --log-level info >>"$O/vigil-$1.log" 2>&1 &
  echo $! >"/run/vigil-$1.pid"
}
stop_all() {
  [ -f /run/client.pid ] && kill "$(cat /run/client.pid)" 2>/dev/null
  for d in dir1 dir2; do [ -f "/run/vigil-$d.pid" ] && kill -TERM "$(cat "/run/vigil-$d.pid")" 2>/dev/null; done
  sleep 3
  for d in dir1 dir2; do ip netns exec "$d" ipvsadm -Sn >"$O/ipvs-$d-final.txt" 2>&1; done
}
trap stop_all EXIT

cp "$REPO/etc/keepalived.conf" /tmp/vigil.conf
for rs in rs1 rs2 rs3; do
  ip netns exec "$rs" env -u NODE_OPTIONS node "$REPO/bin/vigil.js" realserver --check --vip "$VIP" >"$O/realserver-check-$rs.txt" 2>&1
  echo $? >"$O/realserver-check-$rs.status"
done

start_vigil dir1
start_vigil dir2
wait_for 60 has_vip dir1 || { echo "dir1 never took the VIP" >&2; exit 1; }
wait_for 60 dest_count_is dir1 3 || { echo "dir1: table never complete" >&2; exit 1; }
wait_for 60 dest_count_is dir2 3 || { echo "dir2: table never complete" >&2; exit 1; }
dests dir1 >"$O/dests-start-dir1.txt"
dests dir2 >"$O/dests-start-dir2.txt"
ip netns exec dir1 ipvsadm -Ln --stats >"$O/stats-before.txt"

# the client: one new connection per request, the whole time; a line per request
ip netns exec client bash -c "while :; do r=\$(curl -s --max-time 2 http://$VIP/ 2>/dev/null); rc=\$?; echo \"\$(date +%s%N) \$rc \${r:-ERR}\"; done" >"$O/client.log" 2>/dev/null &
echo $! >/run/client.pid
mark steady
sleep 6
ip netns exec dir1 ipvsadm -Ln --stats >"$O/stats-steady.txt"

# a real server fails and recovers
mark rs2-stop
kill "$(cat /tmp/nginx-rs2/nginx.pid)"
wait_for 30 no_dest dir1 "$LAB_RS2" && mark rs2-out-dir1
wait_for 30 no_dest dir2 "$LAB_RS2" && mark rs2-out-dir2
sleep 4
mark rs2-start
ip netns exec rs2 nginx -p /tmp/nginx-rs2 -c /tmp/nginx-rs2/nginx.conf -e /tmp/nginx-rs2/error.log
wait_for 30 dest_weight_is dir1 "$LAB_RS2" 10 && mark rs2-in-dir1
wait_for 30 dest_weight_is dir2 "$LAB_RS2" 10 && mark rs2-in-dir2
sleep 2

# kill -9 every vigil process of dir1 under traffic, and start it again
ip netns exec dir1 ipvsadm -Sn >"$O/ipvs-before-kill.txt"
mark kill9
pids=$(cat /run/vigil-dir1.pid; pgrep -P "$(cat /run/vigil-dir1.pid)")
kill -KILL $pids
sleep 1
start_vigil dir1
wait_for 60 status_json dir1 status-after-restart && mark restarted
# its checker has read the kernel and reconciled once its first verdicts are in
sleep 4
status_json dir1 status-after-restart
ip netns exec dir1 ipvsadm -Sn >"$O/ipvs-after-restart.txt"
# dir1 preempts again after preempt_delay (10 s)
wait_for 40 has_vip dir1 && mark dir1-master-again
sleep 2

# changes made by hand are put right (re-read every 2 s here)
mark hand
ip netns exec dir1 ipvsadm -e -t "$VIP:80" -r "$LAB_RS1:80" -i -w 1
ip netns exec dir1 ipvsadm -d -t "$VIP:80" -r "$LAB_RS3:80"
dests dir1 >"$O/dests-hand-changed.txt"
wait_for 20 dest_weight_is dir1 "$LAB_RS1" 10 && wait_for 20 dest_weight_is dir1 "$LAB_RS3" 10 && mark hand-fixed
dests dir1 >"$O/dests-hand-fixed.txt"

# the checker child dies: the VIP stays where it is, IPVS is untouched, the supervisor restarts it
mark checker-kill
sup=$(cat /run/vigil-dir1.pid)
ck=$(for p in $(pgrep -P "$sup"); do tr '\0' ' ' <"/proc/$p/cmdline" | grep -q ' checker $' && echo "$p"; done)
echo "$ck" >"$O/checker-pid-before"
ip netns exec dir1 ipvsadm -Sn >"$O/ipvs-before-checker-kill.txt"
kill -KILL $ck
vip_kept=yes
for i in $(seq 20); do has_vip dir1 || vip_kept=no; sleep 0.2; done
echo $vip_kept >"$O/vip-kept-during-checker-restart"
wait_for 60 status_json dir1 status-after-checker-kill
sleep 3
status_json dir1 status-after-checker-kill
ip netns exec dir1 ipvsadm -Sn >"$O/ipvs-after-checker-kill.txt"
mark checker-back

# reload under traffic: rs3 weight 10 -> 5
status_json dir1 status-before-reload
awk 'BEGIN{n=0} /real_server 198.51.100.13/ {n=1} n==1 && /weight 10/ {sub(/weight 10/, "weight 5"); n=0} {print}' /tmp/vigil.conf >/tmp/vigil.conf.new && cat /tmp/vigil.conf.new >/tmp/vigil.conf
mark reload
ip netns exec dir1 $VIGIL reload --socket /run/vigil-dir1.sock >"$O/reload.out" 2>&1
echo $? >"$O/reload.status"
wait_for 10 dest_weight_is dir1 "$LAB_RS3" 5 && mark reload-applied
status_json dir1 status-after-reload
sleep 2

# a broken file is refused and changes nothing
cp /tmp/vigil.conf /tmp/vigil.conf.good
printf 'virtual_server 192.0.2.100 80 {\n  lvs_sched nosuch\n' >>/tmp/vigil.conf
mark badreload
ip netns exec dir1 $VIGIL reload --socket /run/vigil-dir1.sock >"$O/badreload.out" 2>&1
echo $? >"$O/badreload.status"
dests dir1 >"$O/dests-after-badreload.txt"
cp /tmp/vigil.conf.good /tmp/vigil.conf
sleep 2
mark end
status_json dir1 status-end
status_json dir2 status-end-dir2
ip netns exec dir1 ipvsadm -Ln --stats >"$O/stats-end.txt"
echo "scenario daemon-e2e: done"
