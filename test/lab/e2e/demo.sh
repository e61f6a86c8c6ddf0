#!/bin/bash
# The walk-through of `npm run demo` (bench/demo.ts), inside the UML guest on the LVS-TUN lab:
# two vigil directors, three nginx real servers in tunnel mode, a client sending steady traffic;
# then a real-server failure and a director failover, with `vigil status` screens and the client's
# success rate. Everything it says goes to $O/narration, which the host prints as it grows.
set -u
. "$REPO/test/lab/e2e/lib.sh"
trap stop_everything EXIT
say() { echo "$*" >>"$O/narration"; }
step() { say ""; say "━━ $*"; }
run_shown() { say "\$ $1"; shift; "$@" >>"$O/narration" 2>&1; }
# the client's success over the last N seconds (default 3), from its own records
rate() {
  local since=$(($(now_ms) - ${1:-3} * 1000))
  awk -v s="$since" '$1 >= s && $2 > 0 {n++; if ($3 == "ok") ok++} END {if (n == 0) print "client: no request finished in the last '"${1:-3}"' s"; else printf "client: %d of %d requests ok in the last '"${1:-3}"' s (%.1f %%)\n", ok, n, 100 * ok / n}' "$O/client.log"
}
in_table() { if no_dest dir1 "$LAB_RS2"; then echo "no"; else echo "yes"; fi; }
link_up() { ip -n "$1" link show eth0 | grep -q 'state UP'; }
# who holds the VIP on a working link (a dead dir1 keeps the address on its downed link)
holder() { local h="" d; for d in dir1 dir2; do has_vip "$d" && link_up "$d" && h="${h:+$h+}$d"; done; echo "${h:-nobody}"; }
# watch_for SECONDS T0: about one line a second until SECONDS after T0 (ms), with the time since
# T0, who holds the VIP, whether rs2 is in dir1's table and the client's success rate
watch_for() {
  local until=$(($2 + $1 * 1000)) now
  while now=$(now_ms) && [ "$now" -lt "$until" ]; do
    local t
    t=$(in_table)
    # the first time rs2 is seen out of the table (for the summary's detection time)
    [ "$t" = no ] && [ -z "${RS_OUT:-}" ] && RS_OUT=1 && mark demo:rs-removed
    say "  t+$(awk -v d=$((now - $2)) 'BEGIN {printf "%4.1f", d / 1000}')s  VIP on $(holder)   rs2 in dir1's table: $t   $(rate 1)"
    sleep 0.7
  done
}

lab_setup || exit 1
step "The lab (inside one user-mode Linux kernel, nothing touches this machine's network)"
say "  client 192.0.2.10 ── LAN ── dir1 192.0.2.11 (vigil, priority 150)"
say "                           └─ dir2 192.0.2.12 (vigil, priority 100)     VIP 192.0.2.100:80"
say "  real servers (nginx, ipip tunnel mode): rs1 198.51.100.11, rs2 .12, rs3 .13"
say "  configuration: etc/keepalived.conf, unchanged but for track_interface { eth1 }"

step "Starting both directors: vigil run -f etc/keepalived.conf -i dir1 (and -i dir2)"
mark demo:start
start_dir dir1
start_dir dir2
wait_for 120 nominal || { say "the pair never came up: see director-dir1.log"; exit 1; }
say "  dir1 holds the VIP, both directors have the three real servers in their IPVS tables"
start_client
sleep 4
step "The client sends ${E2E_RATE:-20} requests a second to http://192.0.2.100/, each on a new connection"
say "  $(rate 3)"
run_shown "vigil status          # on dir1" status_dir dir1

step "A real server fails: nginx on rs2 stops"
mark demo:rs-fail
t0=$(now_ms)
stop_nginx rs2
say "  vigil's HTTP_GET check (delay_loop 2, retry 2, delay_before_retry 1) notices, then takes it out:"
watch_for 7 "$t0"
wait_for 20 no_dest dir1 "$LAB_RS2" && [ -z "${RS_OUT:-}" ] && RS_OUT=1 && mark demo:rs-removed
run_shown "vigil status --service 192.0.2.100:80     # on dir1: rs2 down, and why" status_dir dir1 --service 192.0.2.100:80
say "  $(rate 3) (rs2 is out of the rotation)"

step "The real server recovers: nginx on rs2 starts again"
start_nginx rs2
wait_for 30 dest_weight_is dir1 "$LAB_RS2" 10 && mark demo:rs-restored
say "  rs2 is back at weight 10 in both tables; $(rate 3)"

step "The master director dies: every vigil process on dir1 killed with SIGKILL and its link cut"
sleep 2
mark demo:crash
t0=$(now_ms)
kill9_dir dir1
ip -n dir1 link set eth0 down
say "  dir2 stops hearing dir1's adverts (advert_int 1) and takes over after 3 of them plus skew:"
watch_for 8 "$t0"
run_shown "vigil status --instance VI_LB     # on dir2: MASTER now, and why" status_dir dir2 --instance VI_LB

step "dir1 comes back (link up, vigil run) and preempts after preempt_delay 10"
ip -n dir1 link set eth0 up
ip -n dir1 route replace default via "$LAB_ROUTER_LAN"
mark demo:return
start_dir dir1
wait_for 90 only_master dir1 dir2 && mark demo:preempted
say "  dir1 holds the VIP again; $(rate 3)"
wait_for 60 nominal
run_shown "vigil status          # on dir1" status_dir dir1
mark demo:end
stop_client
sleep 1
say ""
say "demo: done"
