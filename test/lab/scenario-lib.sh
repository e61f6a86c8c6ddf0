#!/bin/bash
# Helpers shared by the shell scenarios that run inside the UML guest (test/beds/uml/*.sh,
# test/lab/e2e/lib.sh). Source it after setting O (the scenario's output folder) and, for
# has_vip, VIP. Marks go to $MARKS (default $O/phases): one "name ns" line each, read back by
# test/lab/uml-results.ts (phaseTimes) and test/lab/e2e/engine.ts.

# mark NAME: stamps NAME with the guest's wall clock in ns
mark() { echo "$1 $(date +%s%N)" >>"${MARKS:-$O/phases}"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_for SECONDS CMD...: runs CMD every 0.2 s until it succeeds (0) or SECONDS pass (1)
wait_for() {
  local end=$(($(now_ms) + $1 * 1000))
  shift
  while [ "$(now_ms)" -lt "$end" ]; do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}
# has_vip NODE: NODE's eth0 holds $VIP
has_vip() { ip -n "$1" -o -4 addr show dev eth0 2>/dev/null | grep -q " $VIP/"; }
