#!/usr/bin/env bash
# Set up a Debian 12 machine for dpsan: packages (when missing) and hugepages (when we can).
# Safe to run again; it changes nothing that is already in place.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config meson ninja-build python3-pyelftools
  dpdk-dev libdpdk-dev liburing-dev
  libgtest-dev googletest libbenchmark-dev
  libtoml11-dev libcli11-dev
  clang libclang-rt-14-dev
  iproute2 ethtool            # network namespaces and veth pairs of the tests
  python3-matplotlib          # dpsan-perf --plot (bench/dpsan_perf/plot_perf.py)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
fi

# Hugepages: dpsan uses them when there are enough free 2 MiB pages and a hugetlbfs mount,
# and runs with --no-huge otherwise. Reserving them needs root.
want=${DPSAN_HUGEPAGES:-512}
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [ "$(id -u)" -eq 0 ] && [ -w "$nr" ]; then
  if [ "$(cat "$nr")" -lt "$want" ]; then
    echo "$want" > "$nr" 2>/dev/null || true
  fi
  if ! grep -q hugetlbfs /proc/mounts; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
  fi
fi
free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
if [ "$free" -ge 128 ] && grep -q hugetlbfs /proc/mounts; then
  echo "setup: $free free 2 MiB hugepages"
else
  echo "setup: no usable hugepages ($free free); dpsan will run with --no-huge"
fi
