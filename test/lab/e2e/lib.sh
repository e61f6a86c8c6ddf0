#!/bin/bash
# Shared by the end-to-end scenarios (e2e.sh) and the demo (demo.sh), inside the UML guest on the
# LVS-TUN lab (test/lab/uml-topology.sh). Needs: LAB_ENV, SCENARIO_OUT, REPO, IMPL=vigil|keepalived.
# Directors dir1 (priority 150) and dir2 (100) run etc/keepalived.conf with `track_interface { eth1 }`
# added (eth1: a veth inside each director standing for its uplink); the client runs loadgen.mjs.
. "$LAB_ENV"
O=$SCENARIO_OUT
VIP=$LAB_VIP
CONF=/tmp/e2e.conf
VIGIL="env -u NODE_OPTIONS node $REPO/bin/vigil.js"

. "$REPO/test/lab/scenario-lib.sh"
MARKS=$O/marks
dests() { ip netns exec "$1" ipvsadm -Ln -t "$VIP:80" 2>/dev/null | awk '$1=="->" && $2!="RemoteAddress:Port" {print $2, $4}' | sort; }
dest_count_is() { [ "$(dests "$1" | wc -l)" = "$2" ]; }
dest_weight_is() { dests "$1" | grep -q "^$2:80 $3\$"; }
no_dest() { ! dests "$1" | grep -q "^$2:80 "; }
only_master() { has_vip "$1" && ! has_vip "$2"; }
full_table() { [ "$(dests "$1" | grep -c ' 10$')" = 3 ]; }
# the pair as configured: dir1 holds the VIP alone, both tables complete at weight 10
nominal() { only_master dir1 dir2 && full_table dir1 && full_table dir2; }

# --- the lab additions: each director's tracked uplink, the configuration ---------------------
lab_setup() {
  for d in dir1 dir2; do
    ip -n "$d" link show eth1 >/dev/null 2>&1 || ip -n "$d" link add eth1 type veth peer name eth1p
    ip -n "$d" link set eth1p up
    ip -n "$d" link set eth1 up
    # a clean director, also after another implementation ran in this boot
    ip netns exec "$d" ipvsadm -C
    ip -n "$d" addr del "$VIP/24" dev eth0 2>/dev/null
  done
  ip neigh flush dev brlan
  # etc/keepalived.conf as shipped, plus track_interface: a failed uplink puts the instance in FAULT
  sed 's/^\(   interface eth0\)$/\1\n   track_interface {\n      eth1\n   }/' "$REPO/etc/keepalived.conf" >"$CONF"
  grep -q 'track_interface' "$CONF" || { echo "lab_setup: could not add track_interface" >&2; return 1; }
  mkdir -p /run/e2e
}

# --- the directors, whichever implementation ----------------------------------------------------
# Each director in a session of its own (setsid does not fork here: a background job is no group
# leader, so $! stays the director's pid): stopping it with SIGSTOP must not make this script's
# process group an orphaned one with stopped members, which the kernel answers with SIGHUP.
start_dir() {
  local d=$1
  case $IMPL in
    vigil)
      mkdir -p "/run/e2e/state-$d"
      setsid ip netns exec "$d" env VIGIL_STATE_DIR="/run/e2e/state-$d" $VIGIL run -f "$CONF" -i "$d" --socket "/run/e2e/vigil-$d.sock" \
        --log-format json --log-level info >>"$O/director-$d.log" 2>&1 &
      ;;
    keepalived)
      setsid ip netns exec "$d" keepalived -n -l -D -f "$CONF" -i "$d" -p "/run/e2e/ka-$d.pid" -r "/run/e2e/ka-$d-vrrp.pid" \
        -c "/run/e2e/ka-$d-check.pid" >>"$O/director-$d.log" 2>&1 &
      ;;
    *) echo "unknown IMPL $IMPL" >&2; return 1 ;;
  esac
  echo $! >"/run/e2e/dir-$d.pid"
}
leader() { cat "/run/e2e/dir-$1.pid" 2>/dev/null; }
# the leader and its children (vigil: supervisor, VRRP and checker; keepalived: parent, VRRP, checker)
procs_of() {
  local p
  p=$(leader "$1") || return 0
  [ -n "$p" ] && [ -d "/proc/$p" ] || return 0
  echo "$p"
  pgrep -P "$p"
}
# A crash: every process stopped first (SIGSTOP cannot be caught), then killed, so that no child
# can react to its parent's death (keepalived's children get SIGTERM from PR_SET_PDEATHSIG and
# would otherwise stop gracefully, priority-0 advert and all)
kill9_dir() {
  local ps
  ps=$(procs_of "$1")
  [ -n "$ps" ] && kill -STOP $ps && kill -KILL $ps
  rm -f "/run/e2e/dir-$1.pid"
}
stop_dir() {
  local p
  p=$(leader "$1")
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null
  wait_for 20 eval "[ ! -d /proc/$p ]" || kill9_dir "$1"
  rm -f "/run/e2e/dir-$1.pid"
}
# SIGHUP for both implementations, so that the figures compare the daemons, not a CLI's start-up
# (`vigil reload` is the same request with an exit status; test/beds/uml-daemon.test.ts covers it)
reload_dir() { kill -HUP "$(leader "$1")"; }
status_dir() { [ "$IMPL" = vigil ] && ip netns exec "$1" $VIGIL status --socket "/run/e2e/vigil-$1.sock" "${@:2}"; }
# utime+stime (clock ticks) and summed VmRSS (kB) of a director's processes
cpu_ticks() { local t=0 p; for p in $(procs_of "$1"); do t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done; echo $t; }
rss_kb() { local r=0 p; for p in $(procs_of "$1"); do r=$((r + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status"))); done; echo $r; }

# --- the client ---------------------------------------------------------------------------------
start_client() {
  ip netns exec client env -u NODE_OPTIONS node "$REPO/test/lab/e2e/loadgen.mjs" "http://$VIP/" "${E2E_RATE:-20}" "$O/client.log" 2000 2>>"$O/client.err" &
  echo $! >/run/e2e/client.pid
}
stop_client() { [ -f /run/e2e/client.pid ] && kill -TERM "$(cat /run/e2e/client.pid)" 2>/dev/null; rm -f /run/e2e/client.pid; }

# --- the real servers ---------------------------------------------------------------------------
stop_nginx() { kill "$(cat "/tmp/nginx-$1/nginx.pid")"; }
start_nginx() { ip netns exec "$1" nginx -p "/tmp/nginx-$1" -c "/tmp/nginx-$1/nginx.conf" -e "/tmp/nginx-$1/error.log"; }

# VIP additions and removals on both directors, timestamped by the kernel's netlink events
start_addr_monitor() {
  for d in dir1 dir2; do
    ip -n "$d" -ts monitor address dev eth0 >>"$O/addr-$d.log" 2>&1 &
    echo $! >>/run/e2e/monitors.pid
  done
}
stop_everything() {
  stop_client
  for d in dir1 dir2; do stop_dir "$d"; done
  [ -f /run/e2e/monitors.pid ] && kill $(cat /run/e2e/monitors.pid) 2>/dev/null
  rm -f /run/e2e/monitors.pid
}
