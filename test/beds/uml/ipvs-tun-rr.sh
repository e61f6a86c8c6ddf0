#!/bin/bash
# Scenario (inside UML): IPVS tunnel mode on dir1, round robin over rs1..rs3.
# 30 requests with all up, 30 with rs2 at weight 0, 30 with rs2 restored; tcpdump on dir1 and the client.
# Writes to $SCENARIO_OUT: phase{1,2,3}.txt (one body per request), ipvs-*.txt, macs.env, dir1.pcap, client.pcap.
set -eu
. "$LAB_ENV"
O=$SCENARIO_OUT
d1() { ip netns exec dir1 "$@"; }

ip -n dir1 addr add "$LAB_VIP/32" dev eth0
d1 ipvsadm -A -t "$LAB_VIP:80" -s rr
for rs in "$LAB_RS1" "$LAB_RS2" "$LAB_RS3"; do
  d1 ipvsadm -a -t "$LAB_VIP:80" -r "$rs:80" -i -w 1
done
d1 ipvsadm -Ln >"$O/ipvs-before.txt"

{
  echo "dir1=$(ip -n dir1 -o link show dev eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)"
  echo "client=$(ip -n client -o link show dev eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)"
  echo "router=$(ip -o link show dev brlan | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)"
} >"$O/macs.env"

# Captures go to the guest's tmpfs (a write per packet to hostfs is slow enough to drop packets)
# and are copied out at the end; immediate mode so that SIGINT loses no buffered block,
# and a large buffer so that the kernel drops nothing.
pids=""
for ns in dir1 client; do
  ip netns exec "$ns" tcpdump -i eth0 -n -s 0 -B 16384 --immediate-mode -Z root -w "/tmp/$ns.pcap" 2>"$O/tcpdump-$ns.log" &
  pids="$pids $!"
done
for ns in dir1 client; do
  for _ in $(seq 100); do grep -q 'listening on' "$O/tcpdump-$ns.log" && break; sleep 0.1; done
  grep -q 'listening on' "$O/tcpdump-$ns.log" || { echo "tcpdump in $ns did not start" >&2; exit 1; }
done

# one curl, 30 URLs, a new connection for each (Connection: close): IPVS schedules per connection
requests() {
  local urls=""
  for _ in $(seq 30); do urls="$urls http://$LAB_VIP/"; done
  # shellcheck disable=SC2086
  ip netns exec client curl -sS --max-time 10 -H 'Connection: close' $urls >"$O/$1.txt"
}
requests phase1
d1 ipvsadm -e -t "$LAB_VIP:80" -r "$LAB_RS2:80" -i -w 0
d1 ipvsadm -Ln >"$O/ipvs-weight0.txt"
requests phase2
d1 ipvsadm -e -t "$LAB_VIP:80" -r "$LAB_RS2:80" -i -w 1
requests phase3
d1 ipvsadm -Ln >"$O/ipvs-after.txt"

sleep 0.5
# shellcheck disable=SC2086
kill -INT $pids
wait
cp /tmp/dir1.pcap /tmp/client.pcap "$O/"
echo "scenario ipvs-tun-rr: done"
