#!/usr/bin/env bash
# Two hosts over a veth pair (README): creates network namespaces dpsan-a and dpsan-b joined by
# a veth pair (veth-a, veth-b), runs dpsan_peer with net_af_packet in each (configs
# scripts/config/veth-{a,b}.toml: 198.18.1.1 listens, 198.18.1.2 connects), prints both
# summary lines and removes the namespaces again, also on failure or Ctrl-C. Needs root.
#
# Usage: bash scripts/veth-demo.sh [dpsan_peer options...]
#   default options: --conns 4 --messages 1000 --max-size 65536 --timeout-s 60
#   BUILD=dir selects the build directory (default: build).
# Exit status: 0 when both peers report result=ok.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
peer=$(realpath "$build/tests/integration/dpsan_peer")
[ -x "$peer" ] || { echo "veth-demo: $peer not built (bash scripts/build.sh $build)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "veth-demo: needs root (network namespaces)" >&2; exit 2; }
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--conns 4 --messages 1000 --max-size 65536 --timeout-s 60)

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns delete dpsan-a 2>/dev/null || true
  ip netns delete dpsan-b 2>/dev/null || true
}
trap cleanup EXIT INT TERM

cleanup  # a previous run that was killed may have left them behind
ip netns add dpsan-a
ip netns add dpsan-b
ip link add veth-a netns dpsan-a type veth peer name veth-b netns dpsan-b
for side in a b; do
  ip netns exec dpsan-$side sysctl -qw net.ipv6.conf.veth-$side.disable_ipv6=1 || true
  ip netns exec dpsan-$side ethtool -K veth-$side gro off gso off tso off tx off rx off >/dev/null 2>&1 || true
  ip -n dpsan-$side link set veth-$side up
  ip -n dpsan-$side link set lo up
done

out=$(mktemp -d /tmp/dpsan-veth-demo.XXXXXX)
DPSAN_CONFIG=scripts/config/veth-a.toml ip netns exec dpsan-a "$peer" --listen 198.18.1.1:5000 "${args[@]}" \
  >"$out/a" 2>"$out/a.err" &
pids+=($!)
DPSAN_CONFIG=scripts/config/veth-b.toml ip netns exec dpsan-b "$peer" --connect 198.18.1.1:5000 "${args[@]}" \
  >"$out/b" 2>"$out/b.err" &
pids+=($!)
status=0
wait "${pids[0]}" || status=1
wait "${pids[1]}" || status=1
pids=()
cat "$out/a" "$out/b"
if [ "$status" != 0 ]; then cat "$out/a.err" "$out/b.err" >&2; fi
rm -rf "$out"
if [ "$status" = 0 ]; then echo "veth-demo: ok"; else echo "veth-demo: FAILED"; fi
exit "$status"
