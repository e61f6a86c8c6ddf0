#!/bin/bash
# Scenario (inside UML, no topology): vigil's IpvsDriver against the real kernel
# (test/ipvs/fixtures/driver-scenario.mjs, compiled dist/). $REPO is set by the wrapper that
# test/beds/uml-ipvs-driver.test.ts writes. Writes to $SCENARIO_OUT: result.json, ipvsadm-*.txt.
set -eu
O=$SCENARIO_OUT
node "$REPO/test/ipvs/fixtures/driver-scenario.mjs" "$O" >"$O/result.json"
ipvsadm -Ln >"$O/ipvsadm-after.txt"
echo "scenario ipvs-driver: done"
