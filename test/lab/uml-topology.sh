#!/bin/bash
# LVS-TUN topology inside the UML guest (documentation address ranges, never on the host):
#
#   client 192.0.2.10 ─┐                          ┌─ rs1 198.51.100.11 (VIP on tunl0, nginx "rs1")
#   dir1   192.0.2.11 ─┼─ brlan 192.0.2.1 [router] 198.51.100.1 brrs ─┼─ rs2 198.51.100.12 (… "rs2")
#   dir2   192.0.2.12 ─┘   (the guest's own namespace)               └─ rs3 198.51.100.13 (… "rs3")
#
# Scenarios source $LAB_ENV for the names below. The VIP is not configured on any director here.
#
# LAB_RS_SETUP=vigil (with VIGIL_REPO=<repository>): the real servers' tunnel side (tunl0, the VIP,
# arp/rp_filter sysctls) is made by `vigil realserver` instead of the commands below; LAB_IN
# names the folder for lab.env when this script runs from elsewhere.
set -eu
ts() { echo "topology: $(date +%s%N) $*"; }
IN=${LAB_IN:-$(dirname "$0")}
RS_SETUP=${LAB_RS_SETUP:-shell}
cat >"$IN/lab.env" <<'ENV'
LAB_VIP=192.0.2.100
LAB_VIP2=192.0.2.101
LAB_ROUTER_LAN=192.0.2.1
LAB_ROUTER_RS=198.51.100.1
LAB_CLIENT=192.0.2.10
LAB_DIR1=192.0.2.11
LAB_DIR2=192.0.2.12
LAB_RS1=198.51.100.11
LAB_RS2=198.51.100.12
LAB_RS3=198.51.100.13
LAB_RS="rs1 rs2 rs3"
ENV
. "$IN/lab.env"

# Process start is slow in UML (~0.1 s): build with one `ip -batch` per namespace.
echo 1 >/proc/sys/net/ipv4/ip_forward
# The router sees replies with the VIP (a LAN address) as source arriving from brrs.
echo 0 >/proc/sys/net/ipv4/conf/all/rp_filter
echo 0 >/proc/sys/net/ipv4/conf/default/rp_filter

# name bridge address/len gateway
NODES="client brlan $LAB_CLIENT/24 $LAB_ROUTER_LAN
dir1 brlan $LAB_DIR1/24 $LAB_ROUTER_LAN
dir2 brlan $LAB_DIR2/24 $LAB_ROUTER_LAN
rs1 brrs $LAB_RS1/24 $LAB_ROUTER_RS
rs2 brrs $LAB_RS2/24 $LAB_ROUTER_RS
rs3 brrs $LAB_RS3/24 $LAB_ROUTER_RS"

ts nodes
{
  for br in brlan brrs; do
    echo "link add name $br type bridge"
    echo "link set dev $br up"
  done
  echo "addr add $LAB_ROUTER_LAN/24 dev brlan"
  echo "addr add $LAB_ROUTER_RS/24 dev brrs"
  echo "$NODES" | while read -r name br _ _; do
    echo "netns add $name"
    echo "link add name v-$name type veth peer name eth0 netns $name"
    echo "link set dev v-$name master $br up"
  done
} | ip -batch -

echo "$NODES" | while read -r name _ addr gw; do
  {
    echo "link set dev lo up"
    echo "addr add $addr dev eth0"
    echo "link set dev eth0 up"
    echo "route add default via $gw"
    case $RS_SETUP:$name in shell:rs*)
      # tunl0 exists in every namespace once ipip is loaded; the VIP on it makes decapsulated packets local
      echo "link set dev tunl0 up"
      echo "addr add $LAB_VIP/32 dev tunl0"
      ;;
    esac
  } | ip -n "$name" -batch -
done

for rs in $LAB_RS; do
  p=/tmp/nginx-$rs
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
  server {
    listen 80;
    location / { default_type text/plain; return 200 "$rs\n"; }
  }
}
NGINX
  # real server: no reverse-path filter (requests arrive on tunl0, replies leave by eth0),
  # and never answer ARP for the VIP (arp_ignore=1, arp_announce=2)
  if [ "$RS_SETUP" = vigil ]; then
    ip netns exec "$rs" env -u NODE_OPTIONS node "$VIGIL_REPO/bin/vigil.js" realserver --vip "$LAB_VIP" --state-file "/run/vigil-realserver-$rs.json"
    ip netns exec "$rs" nginx -p "$p" -c "$p/nginx.conf" -e "$p/error.log"
  else
    ip netns exec "$rs" sh -ec "
      for i in all default eth0 tunl0; do echo 0 >/proc/sys/net/ipv4/conf/\$i/rp_filter; done
      echo 1 >/proc/sys/net/ipv4/conf/all/arp_ignore
      echo 2 >/proc/sys/net/ipv4/conf/all/arp_announce
      nginx -p $p -c $p/nginx.conf -e $p/error.log"
  fi
done
ts nginx started
# every real server answers on its own address before any scenario runs
for pair in "rs1 $LAB_RS1" "rs2 $LAB_RS2" "rs3 $LAB_RS3"; do
  set -- $pair
  body=
  for try in $(seq 50); do
    body=$(curl -s --max-time 1 "http://$2/" || true)
    [ "$body" = "$1" ] && break
    sleep 0.1
  done
  ts "$1 answered after $try tries"
  [ "$body" = "$1" ] || { echo "topology: $1 does not answer on $2 (got '$body')" >&2; exit 1; }
done
ts ready
