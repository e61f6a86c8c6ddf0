#!/bin/bash
# Scenario (inside UML): a second, independent service on dir2 (VIP2, weighted round robin 3:2:1)
# in the same boot; lists the table and reads the statistics after the 2 s estimator tick.
# Writes to $SCENARIO_OUT: list.txt, bodies.txt, stats.txt.
set -eu
. "$LAB_ENV"
O=$SCENARIO_OUT
d2() { ip netns exec dir2 "$@"; }

ip -n dir2 addr add "$LAB_VIP2/32" dev eth0
for rs in $LAB_RS; do ip -n "$rs" addr add "$LAB_VIP2/32" dev tunl0; done
d2 ipvsadm -A -t "$LAB_VIP2:80" -s wrr
d2 ipvsadm -a -t "$LAB_VIP2:80" -r "$LAB_RS1:80" -i -w 3
d2 ipvsadm -a -t "$LAB_VIP2:80" -r "$LAB_RS2:80" -i -w 2
d2 ipvsadm -a -t "$LAB_VIP2:80" -r "$LAB_RS3:80" -i -w 1
d2 ipvsadm -Ln >"$O/list.txt"

urls=""
for _ in $(seq 12); do urls="$urls http://$LAB_VIP2/"; done
# shellcheck disable=SC2086
ip netns exec client curl -sS --max-time 10 -H 'Connection: close' $urls >"$O/bodies.txt"

sleep 2.5 # IPVS statistics are refreshed by a 2 s estimator timer
d2 ipvsadm -Ln --stats --exact >"$O/stats.txt"
echo "scenario ipvs-stats: done"
