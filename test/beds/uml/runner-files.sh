#!/bin/bash
# Runner self-test (inside UML): output, nested files, and that the guest cannot write to the host's /.
set -u
echo "to stdout"
echo "to stderr" >&2
mkdir -p "$SCENARIO_OUT/sub"
echo "hello" >"$SCENARIO_OUT/a.txt"
printf '\x00\x01\x02' >"$SCENARIO_OUT/sub/b.bin"
if touch /usr/vigil-uml-write-test 2>/dev/null; then echo "root=writable"; else echo "root=read-only"; fi >>"$SCENARIO_OUT/fs.txt"
for d in /tmp /var/log /var/lib/nginx /run; do echo "$d=$(stat -f -c %T "$d")"; done >>"$SCENARIO_OUT/fs.txt"
echo "kernel=$(uname -r)" >>"$SCENARIO_OUT/fs.txt"
