#!/usr/bin/env bash
# Installs the Debian packages vigil's lab, demo and tests use, when missing (Debian 12, as root):
# keepalived (the reference beside vigil), the user-mode Linux kernel with IPVS (the lab runs in
# it when this host's kernel has none), ipvsadm/nginx/curl inside it, and the namespace lab's
# tools. Used by the README's quick start (npm run demo) and by .ci/run. Exit 1 on failure.
set -uo pipefail

APT_PACKAGES=(keepalived ipvsadm nginx user-mode-linux iproute2 tcpdump iputils-arping iputils-ping kmod curl procps psmisc nftables)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  printf '\n== apt-get install %s\n' "${missing[*]}"
  if ((EUID != 0)); then
    echo "install-deps: run as root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || { echo "install-deps: apt-get update failed" >&2; exit 1; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/vigil-apt.log 2>&1 \
    || { tail -30 /tmp/vigil-apt.log; echo "install-deps: apt-get install failed" >&2; exit 1; }
  # Debian starts services on install; vigil's lab starts its own nginx and keepalived.
  for svc in nginx keepalived; do systemctl stop "$svc" >/dev/null 2>&1 || true; done
fi
exit 0
