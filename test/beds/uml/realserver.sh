#!/bin/bash
# Scenario (inside UML, no shared topology, booted WITHOUT ipip): `vigil realserver` sets up a
# real server itself, and an IPVS tunnel service on a director reaches it.
#
#   client 10.0.0.10 ─┐
#   dir    10.0.0.11 ─┼─ br0 (the guest's own namespace)      VIP 10.0.0.100: on dir's eth0,
#   rs     10.0.0.21 ─┘                                       on rs's tunl0 (by vigil)
#   rs6    (alone: IPv6 VIP 2001:db8::100 on ip6tnl0)
#
# One segment on purpose: the client ARPs for the VIP, so arp_ignore/arp_announce on rs matter.
# rs starts like a distribution's kernel (rp_filter 1 in conf.all and conf.default: tunl0 is
# born with 1), so vigil has sysctls to change and --undo has values to restore.
# Writes to $SCENARIO_OUT: <step>.{out,err,rc} per vigil run, and snapshots (see below).
set -u
O=$SCENARIO_OUT
REPO=${VG_REPO:?VG_REPO not set}
cd "$REPO"
# vigil NAME NS ARGS...: runs `vigil realserver ARGS` in namespace NS, keeps output and exit code
vigil() {
  local name=$1 ns=$2
  shift 2
  local t0
  t0=$(date +%s%N)
  ip netns exec "$ns" node "$REPO/bin/vigil.js" realserver "$@" >"$O/$name.out" 2>"$O/$name.err"
  echo $? >"$O/$name.rc"
  echo "$name: rc $(cat "$O/$name.rc"), $((($(date +%s%N) - t0) / 1000000)) ms"
}
sysctls() { # NS FILE: the IPv4 conf sysctls of all, default, tunl0 ('-' when absent)
  ip netns exec "$1" sh -c 'for d in all default tunl0; do for c in arp_ignore arp_announce rp_filter; do
    echo "net.ipv4.conf.$d.$c=$(cat /proc/sys/net/ipv4/conf/$d/$c 2>/dev/null || echo -)"; done; done' >"$2"
}
mac() { ip -n "$1" -o link show dev eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }

# --- the segment
{
  echo "link add name br0 type bridge"
  echo "link set dev br0 up"
  for n in client dir rs; do
    echo "netns add $n"
    echo "link add name v-$n type veth peer name eth0 netns $n"
    echo "link set dev v-$n master br0 up"
  done
  echo "netns add rs6"
} | ip -batch - || exit 1
for pair in client:10.0.0.10 dir:10.0.0.11 rs:10.0.0.21; do
  n=${pair%%:*}
  printf 'link set dev lo up\naddr add %s/24 dev eth0\nlink set dev eth0 up\n' "${pair#*:}" | ip -n "$n" -batch - || exit 1
done
ip -n rs6 link set dev lo up
ip netns exec rs sh -ec 'echo 1 >/proc/sys/net/ipv4/conf/all/rp_filter; echo 1 >/proc/sys/net/ipv4/conf/default/rp_filter'
[ -e /sys/module/ipip ] && echo loaded >"$O/ipip-before.txt" || echo absent >"$O/ipip-before.txt"
[ -e /sys/module/ip6_tunnel ] && echo loaded >"$O/ip6_tunnel-before.txt" || echo absent >"$O/ip6_tunnel-before.txt"

# nginx on rs answering "rs" on every address (the VIP included, once it is on tunl0)
p=/tmp/nginx-rs
mkdir -p "$p"
cat >"$p/nginx.conf" <<NGINX
worker_processes 1;
pid $p/nginx.pid;
error_log $p/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $p/body;
  proxy_temp_path $p/proxy;
  fastcgi_temp_path $p/fastcgi;
  uwsgi_temp_path $p/uwsgi;
  scgi_temp_path $p/scgi;
  server { listen 80; location / { default_type text/plain; return 200 "rs\n"; } }
}
NGINX
ip netns exec rs nginx -p "$p" -c "$p/nginx.conf" -e "$p/error.log" || exit 1
for _ in $(seq 50); do
  [ "$(ip netns exec client curl -s --max-time 1 http://10.0.0.21/)" = rs ] && break
  sleep 0.1
done
ip netns exec client curl -s --max-time 2 http://10.0.0.21/ >"$O/direct.txt"

# --- setup by vigil, twice, then a clean check
sysctls rs "$O/sysctls-before.txt"
vigil setup1 rs --vip 10.0.0.100
ip -n rs -j addr show dev tunl0 >"$O/tunl0-after-setup.json"
ip -n rs -j link show dev tunl0 >"$O/tunl0-link-after-setup.json"
sysctls rs "$O/sysctls-after-setup.txt"
cp /run/vigil/realserver.json "$O/state.json" 2>/dev/null
[ -e /sys/module/ipip ] && echo loaded >"$O/ipip-after.txt" || echo absent >"$O/ipip-after.txt"
vigil setup2 rs --vip 10.0.0.100
vigil check-ok rs --vip 10.0.0.100 --check

# --- the director: VIP on eth0, IPVS tunnel service to rs; a client request through the VIP
ip -n dir addr add 10.0.0.100/32 dev eth0
ip netns exec dir ipvsadm -A -t 10.0.0.100:80 -s rr
ip netns exec dir ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.21:80 -i -w 1
ip netns exec dir ipvsadm -Ln >"$O/ipvs.txt"
echo "dir=$(mac dir) rs=$(mac rs)" >"$O/macs.txt"
for _ in 1 2 3; do ip netns exec client curl -sS --max-time 5 -H 'Connection: close' http://10.0.0.100/ >>"$O/through-vip.txt" 2>>"$O/through-vip.err"; done
ip -n client neigh show 10.0.0.100 >"$O/client-neigh.txt"
sleep 2.5 # IPVS counters are updated by the 2 s estimator
ip netns exec dir ipvsadm -Ln --stats >"$O/ipvs-stats.txt"

# --- break it: VIP off tunl0, arp_ignore back to 0, tunl0 down
ip -n rs addr del 10.0.0.100/32 dev tunl0
ip netns exec rs sh -c 'echo 0 >/proc/sys/net/ipv4/conf/all/arp_ignore'
ip -n rs link set dev tunl0 down
ip netns exec client curl -s --max-time 2 http://10.0.0.100/ >"$O/broken-curl.txt" 2>&1
echo $? >"$O/broken-curl.rc"
vigil check-broken rs --vip 10.0.0.100 --check
vigil check-broken-json rs --vip 10.0.0.100 --check --json

# --- undo: the saved sysctls come back, the VIP is gone, the state file too
ip -n rs link set dev tunl0 up
ip -n rs addr add 10.0.0.100/32 dev tunl0 # back on, so undo has a VIP to remove
vigil undo rs --undo --vip 10.0.0.100
sysctls rs "$O/sysctls-after-undo.txt"
ip -n rs -j addr show dev tunl0 >"$O/tunl0-after-undo.json"
ip -n rs -j link show dev tunl0 >"$O/tunl0-link-after-undo.json"
[ -e /run/vigil/realserver.json ] && echo present >"$O/state-after-undo.txt" || echo absent >"$O/state-after-undo.txt"
[ -e /sys/module/ipip ] && echo loaded >"$O/ipip-after-undo.txt" || echo absent >"$O/ipip-after-undo.txt"

# --- IPv6: ip6_tunnel loaded by vigil, the VIP on ip6tnl0 as /128
vigil v6-setup1 rs6 --vip 2001:db8::100 --state-file /tmp/rs6.json
ip -n rs6 -j addr show dev ip6tnl0 >"$O/ip6tnl0-after-setup.json"
[ -e /sys/module/ip6_tunnel ] && echo loaded >"$O/ip6_tunnel-after.txt" || echo absent >"$O/ip6_tunnel-after.txt"
vigil v6-setup2 rs6 --vip 2001:db8::100 --state-file /tmp/rs6.json
vigil v6-check rs6 --vip 2001:db8::100 --state-file /tmp/rs6.json --check
vigil v6-undo rs6 --undo --state-file /tmp/rs6.json
ip -n rs6 -j addr show dev ip6tnl0 >"$O/ip6tnl0-after-undo.json"

kill "$(cat "$p/nginx.pid")" 2>/dev/null
echo "scenario realserver: done"
