#!/bin/bash
# PID 1 of the user-mode Linux guest booted by test/lab/uml.ts (root = host / over hostfs, read-only).
# Kernel KEY=VALUE arguments arrive as environment variables:
#   VG_WORK       host path of the run folder (mounted read-write at /run/lab)
#   VG_MODULES    comma-separated modules to load (modprobe -d <work>/modroot)
#   VG_SCENARIOS  comma-separated scenario names; each runs /run/lab/in/<name>.sh
#   VG_TIMEOUT    per-scenario timeout in seconds
# Writes under /run/lab/out: init.log, topology.{log,status}, <name>/{stdout,stderr,status,start_ns,end_ns,...}, done.
# The guest writes nowhere else on the host: everything writable is tmpfs.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C

power_off() {
  sync
  echo o >/proc/sysrq-trigger
  sleep 30
}
# If init exits the kernel panics: always power off instead.
trap power_off EXIT

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# the kernel mounts devtmpfs on /dev itself (CONFIG_DEVTMPFS_MOUNT); mount it only if it did not
[ -c /dev/null ] || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/lab
mount -t hostfs -o "$VG_WORK" hostfs /run/lab || { echo "init: cannot mount hostfs $VG_WORK" >&2; exit 1; }
LAB=/run/lab
OUT=$LAB/out
exec >>"$OUT/init.log" 2>&1
echo "init: start $(date +%s%N)"
date +%s%N >"$OUT/boot_ns"

# tmpfs over every place a guest program might write (the root is the host's /, read-only)
for d in /tmp /var/tmp /var/log /var/lib/nginx /var/cache /var/lib/misc /root /dev/shm; do
  [ -d "$d" ] && mount -t tmpfs -o mode=1777 tmpfs "$d"
done
# Re-expose the repository (read-only) when one of those tmpfs mounts hid it.
if [ -n "${VG_REPO:-}" ] && [ ! -e "$VG_REPO/package.json" ]; then
  mkdir -p "$VG_REPO" && mount -r -t hostfs -o "$VG_REPO" hostfs "$VG_REPO" || echo "init: cannot expose $VG_REPO" >&2
fi
mkdir -p /run/netns /var/log/nginx /var/lib/nginx/body

# module auto-loading (e.g. ipvsadm asking for ip_vs) goes through a wrapper with our modroot
printf '#!/bin/sh\nexec /usr/sbin/modprobe -d %s/modroot "$@"\n' "$LAB" >/run/modprobe
chmod +x /run/modprobe
echo /run/modprobe >/proc/sys/kernel/modprobe
for m in ${VG_MODULES//,/ }; do
  /run/modprobe "$m" || echo "init: modprobe $m failed"
done
hostname uml-lab
ip link set lo up
echo "init: modules loaded $(date +%s%N)"

if [ -f "$LAB/in/topology.sh" ]; then
  bash "$LAB/in/topology.sh" >"$OUT/topology.log" 2>&1
  echo $? >"$OUT/topology.status"
  echo "init: topology done $(date +%s%N)"
else
  echo 0 >"$OUT/topology.status"
fi

if [ "$(cat "$OUT/topology.status")" = 0 ]; then
  for s in ${VG_SCENARIOS//,/ }; do
    dir=$OUT/$s
    mkdir -p "$dir"
    date +%s%N >"$dir/start_ns"
    SCENARIO_OUT=$dir LAB_ENV=$LAB/in/lab.env timeout -k 2 "${VG_TIMEOUT:-60}" \
      bash "$LAB/in/$s.sh" >"$dir/stdout" 2>"$dir/stderr" </dev/null
    echo $? >"$dir/status"
    date +%s%N >"$dir/end_ns"
    echo "init: scenario $s exited $(cat "$dir/status")"
  done
fi
echo "init: done $(date +%s%N)"
echo ok >"$OUT/done"
