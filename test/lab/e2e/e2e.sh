#!/bin/bash
# End-to-end scenarios in the UML guest (see lib.sh): two directors of implementation $IMPL
# (vigil | keepalived) on the LVS-TUN lab, a client sending E2E_RATE requests a second to the VIP
# the whole time, and the scenarios named in $E2E_SCENARIOS, one after the other:
#   steady   10 s of nominal traffic: the directors' CPU and memory
#   rs       (a) nginx on rs2 stops, then starts again
#   crash    (b) dir1 crashes: kill -9 of every process and its eth0 down (a dead machine answers
#            no ARP); dir2 takes over; dir1 comes back and preempts (preempt_delay 10)
#   stop     (c) graceful stop of dir1 (SIGTERM), then start again
#   link     (d) dir1's tracked uplink (eth1) goes down, then up
#   split    (e) the directors stop hearing each other (bridge ports isolated) while the client and
#            the router still reach both; then healed: one master, the client's ARP entry on it
#   reload   (f) rs3's weight 10 -> 5 in the file and a reload of both directors; then back
#   restart  (g) kill -9 of every process on dir1 and an immediate restart
# Every scenario stamps "<name>:start" and "<name>:end" and its own events in $O/marks; it starts
# and must end with the pair nominal (dir1 alone holds the VIP, full tables). $REPO, $IMPL,
# $E2E_SCENARIOS are set by the wrapper (test/lab/e2e/engine.ts).
set -u
. "$REPO/test/lab/e2e/lib.sh"
trap stop_everything EXIT
fail() { echo "e2e: $*" >&2; echo "$*" >>"$O/errors"; }

lab_setup || exit 1
start_addr_monitor
mark boot:start
start_dir dir1
start_dir dir2
wait_for 90 nominal || { fail "the pair never became nominal"; exit 1; }
mark boot:end
start_client
sleep 3

sc_steady() {
  local c1 c2
  c1=$(cpu_ticks dir1) c2=$(cpu_ticks dir2)
  sleep 10
  echo "dir1 $(($(cpu_ticks dir1) - c1)) $(rss_kb dir1)" >>"$O/resources"
  echo "dir2 $(($(cpu_ticks dir2) - c2)) $(rss_kb dir2)" >>"$O/resources"
  echo "clk_tck $(getconf CLK_TCK) seconds 10" >>"$O/resources"
}

sc_rs() {
  mark rs:fail
  stop_nginx rs2
  wait_for 30 no_dest dir1 "$LAB_RS2" && mark rs:removed || fail "rs: rs2 never left dir1's table"
  wait_for 30 no_dest dir2 "$LAB_RS2" && mark rs:removed-dir2
  sleep 3
  # the master's IPVS connection entries while rs2 is out (those to rs2 outlive its removal)
  ip netns exec dir1 ipvsadm -Lnc >"$O/rs-conns" 2>&1
  mark rs:recover
  start_nginx rs2
  wait_for 30 dest_weight_is dir1 "$LAB_RS2" 10 && mark rs:restored || fail "rs: rs2 never came back"
}

# dir1 back after a failover: wait for it to hold the VIP alone again (preempt_delay 10 s)
preempt() {
  wait_for 90 only_master dir1 dir2 && mark "$1:preempted" || fail "$1: dir1 never took the VIP back"
}

sc_crash() {
  mark crash:fail
  kill9_dir dir1
  ip -n dir1 link set eth0 down
  wait_for 30 has_vip dir2 && mark crash:backup-master || fail "crash: dir2 never took over"
  sleep 3
  mark crash:recover
  ip -n dir1 link set eth0 up
  ip -n dir1 route replace default via "$LAB_ROUTER_LAN"
  start_dir dir1
  preempt crash
}

sc_stop() {
  mark stop:fail
  stop_dir dir1
  mark stop:stopped
  wait_for 30 has_vip dir2 && mark stop:backup-master || fail "stop: dir2 never took over"
  sleep 3
  mark stop:recover
  start_dir dir1
  preempt stop
}

sc_link() {
  mark link:fail
  ip -n dir1 link set eth1 down
  wait_for 30 only_master dir2 dir1 && mark link:backup-master || fail "link: the VIP did not move to dir2"
  sleep 3
  mark link:recover
  ip -n dir1 link set eth1 up
  preempt link
}

client_mac_for_vip() { ip -n client neigh show "$VIP" dev eth0 | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'; }
mac_of() { ip -n "$1" link show eth0 | awk '/link\/ether/ {print $2}'; }
sc_split() {
  mark split:fail
  bridge link set dev v-dir1 isolated on
  bridge link set dev v-dir2 isolated on
  wait_for 30 has_vip dir2 && mark split:both-masters || fail "split: dir2 never became master"
  sleep 6
  echo "during $(client_mac_for_vip) dir1=$(mac_of dir1) dir2=$(mac_of dir2)" >>"$O/split-arp"
  # what the client hears around the healing: adverts and ARP, with epoch timestamps
  ip netns exec client tcpdump -l -n -e -tt -i eth0 'arp or vrrp' >"$O/split-wire" 2>/dev/null &
  local wire=$!
  sleep 0.5
  mark split:recover
  bridge link set dev v-dir1 isolated off
  bridge link set dev v-dir2 isolated off
  wait_for 30 only_master dir1 dir2 && mark split:one-master || fail "split: still two masters"
  # the client (on the same LAN as the VIP) must be sent back to dir1 by gratuitous ARPs: polled
  # for 15 s (keepalived's second burst, vrrp_garp_lower_prio_delay, comes 5 s after)
  local m1
  m1=$(mac_of dir1)
  wait_for 15 eval '[ "$(client_mac_for_vip)" = "$m1" ]' && mark split:arp-on-dir1
  echo "after $(client_mac_for_vip) dir1=$m1 dir2=$(mac_of dir2)" >>"$O/split-arp"
  kill "$wire" 2>/dev/null
  wait "$wire" 2>/dev/null
}

set_weight_rs3() { awk -v w="$1" '/real_server 198.51.100.13/ {n=1} n==1 && /weight [0-9]+/ {sub(/weight [0-9]+/, "weight " w); n=0} {print}' "$CONF" >"$CONF.new" && cat "$CONF.new" >"$CONF"; }
sc_reload() {
  set_weight_rs3 5
  mark reload:fail
  reload_dir dir1
  wait_for 30 dest_weight_is dir1 "$LAB_RS3" 5 && mark reload:applied || fail "reload: weight 5 never reached dir1's table"
  reload_dir dir2
  wait_for 30 dest_weight_is dir2 "$LAB_RS3" 5 && mark reload:applied-dir2
  sleep 3
  set_weight_rs3 10
  mark reload:recover
  reload_dir dir1
  reload_dir dir2
  wait_for 30 dest_weight_is dir1 "$LAB_RS3" 10 && mark reload:restored || fail "reload: weight 10 never came back"
}

sc_restart() {
  mark restart:fail
  kill9_dir dir1
  start_dir dir1
  mark restart:restarted
  sleep 2
  preempt restart
  # dir2 may take over only once the killed dir1 has been silent for 3 adverts: wait until the
  # pair has been nominal for 6 checks in a row (about 6 s)
  local ok=0
  while [ $ok -lt 6 ]; do
    wait_for 90 nominal || { fail "restart: never nominal again"; return; }
    ok=0
    while [ $ok -lt 6 ] && nominal; do ok=$((ok + 1)); sleep 0.5; done
  done
  mark restart:settled
}

for s in $E2E_SCENARIOS; do
  wait_for 90 nominal || fail "$s: the pair was not nominal before it"
  sleep 2
  mark "$s:start"
  "sc_$s"
  wait_for 90 nominal || fail "$s: the pair did not return to nominal"
  sleep 2
  mark "$s:end"
done
case $IMPL in vigil) status_dir dir1 --json >"$O/status-end-dir1.json" 2>&1; status_dir dir2 --json >"$O/status-end-dir2.json" 2>&1 ;; esac
stop_client
sleep 1
for d in dir1 dir2; do ip netns exec "$d" ipvsadm -Ln >"$O/ipvs-$d-final.txt" 2>&1; done
echo "e2e $IMPL: done"
