#!/bin/bash
# Scenario (inside UML, no topology): `vigil run` (no --vrrp/--check) against the real kernel.
#   reload     a reload that adds the first virtual_server starts the checker child (and stops
#              the VRRP child, which ran only as the daemon's body); one that removes the last
#              removes its service, stops the checker and starts the VRRP child again
#   restart    vigil stops with 203.0.113.1 and .2 programmed (and 203.0.113.9 made by hand); .2 is
#              dropped from the file meanwhile: the next start removes it, keeps .1 and .9; then
#              every virtual_server is dropped: a checker starts for the leftover alone and removes
#              .1, and .9 (never vigil's) stays
# $REPO is set by the wrapper (test/ipvs/fixtures/scenario.ts). Writes to $SCENARIO_OUT.
set -u
O=$SCENARIO_OUT
VIGIL="env -u NODE_OPTIONS node $REPO/bin/vigil.js"
C=/tmp/lifecycle.conf
S=/tmp/lifecycle-state
SOCK=/run/vigil-lifecycle.sock
. "$REPO/test/lab/scenario-lib.sh"
conf() {
  printf 'global_defs {\n  router_id lifecycle\n}\n' >$C
  for n in "$@"; do printf 'virtual_server 203.0.113.%s 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 198.51.100.11 80 {\n    weight 1\n  }\n}\n' "$n" >>$C; done
}
services() { ipvsadm -Sn | awk '$1=="-A" && $3 ~ /^203\.0\.113\./ {print $3}' | sort | tr '\n' ' ' | sed 's/ $//'; }
services_are() { [ "$(services)" = "$1" ]; }
children() { $VIGIL status --socket $SOCK --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).children.map(c=>c.kind+":"+c.state).join(" "))}catch{console.log("none")}})'; }
children_are() { [ "$(children)" = "$1" ]; }
start() {
  $VIGIL run -f $C --socket $SOCK --state-dir $S --log-format json --log-level info >>"$O/vigil.log" 2>&1 &
  echo $! >/tmp/lifecycle.pid
  wait_for 30 children_are "$1" || echo "start: children are '$(children)', want '$1'" >>"$O/errors"
}
stop() {
  local pid
  pid=$(cat /tmp/lifecycle.pid)
  kill -TERM "$pid"
  wait "$pid"
  echo "$?" >>"$O/stop-codes"
}
step() { # NAME: records the children and the IPVS services
  echo "$1 children=[$(children)] services=[$(services)]" >>"$O/steps"
}

conf
start "vrrp:running"
step empty
conf 1
$VIGIL reload --socket $SOCK >"$O/reload-add.out" 2>&1
echo "$?" >"$O/reload-add.status"
wait_for 20 children_are "checker:running" || true
wait_for 10 services_are "203.0.113.1:80" || true
step added
conf
$VIGIL reload --socket $SOCK >"$O/reload-drop.out" 2>&1
echo "$?" >"$O/reload-drop.status"
wait_for 20 children_are "vrrp:running" || true
step dropped

# restart
conf 1 2
$VIGIL reload --socket $SOCK >"$O/reload-two.out" 2>&1
wait_for 20 services_are "203.0.113.1:80 203.0.113.2:80" || true
ipvsadm -A -t 203.0.113.9:80 -s wlc
step two
stop
step stopped
cp $S/ipvs-managed.json "$O/managed-before.json"
conf 1
start "checker:running"
wait_for 10 services_are "203.0.113.1:80 203.0.113.9:80" || true
step restart-one
cp $S/ipvs-managed.json "$O/managed-one.json"
stop
conf
start "vrrp:running checker:running"
wait_for 10 services_are "203.0.113.9:80" || true
step restart-none
cp $S/ipvs-managed.json "$O/managed-none.json"
stop
ipvsadm -D -t 203.0.113.9:80
echo "scenario daemon-lifecycle: done"
