#!/bin/bash
# Scenario (inside UML, LVS-TUN topology): vigil's tunnel_check from dir1, on dist/
# (test/beds/uml/tunnel-check.mjs). $REPO is set by the wrapper (test/ipvs/fixtures/scenario.ts).
# Writes result.json and log.jsonl to $SCENARIO_OUT, and the probes' packets on brrs as seen by
# tcpdump (capture.txt): ipip (ip6ip6) from dir1 to each real server, carrying the VIP inside.
# The topology is IPv4 only: for the IPv6 case this adds addresses to the router, dir1 and rs1,
# the IPv6 VIP on rs1's ip6tnl0, and a TCP listener on rs1 port 8080 (nginx there is IPv4 only).
set -eu
O=$SCENARIO_OUT
. "$LAB_ENV"
echo 1 >/proc/sys/net/ipv6/conf/all/forwarding
ip addr add 2001:db8:1::1/64 dev brlan nodad
ip addr add 2001:db8:2::1/64 dev brrs nodad
ip -n dir1 addr add 2001:db8:1::11/64 dev eth0 nodad
ip -n dir1 route add default via 2001:db8:1::1
ip -n rs1 addr add 2001:db8:2::11/64 dev eth0 nodad
ip -n rs1 route add default via 2001:db8:2::1
/run/modprobe ip6_tunnel
ip -n rs1 link set dev ip6tnl0 up
ip -n rs1 addr add 2001:db8:1::100/128 dev ip6tnl0 nodad
ip netns exec rs1 node -e "require('net').createServer((s) => { s.on('error', () => {}); s.end(); }).listen(8080, '::')" &
listener=$!
tcpdump -i brrs -nn -l 'ip proto 4 or ip6 proto 41' >"$O/capture.txt" 2>"$O/tcpdump.err" &
dump=$!
for i in $(seq 100); do
  [ -n "$(ip netns exec rs1 ss -ltnH 'sport = :8080')" ] && break
  sleep 0.1
done
ip netns exec dir1 ipvsadm -Sn >"$O/save-empty.txt"
rc=0
ip netns exec dir1 node "$REPO/test/beds/uml/tunnel-check.mjs" "$O" || rc=$?
sleep 0.5
kill "$dump" "$listener" 2>/dev/null || true
wait "$dump" "$listener" 2>/dev/null || true
echo "scenario tunnel-check: done ($rc)"
exit "$rc"
