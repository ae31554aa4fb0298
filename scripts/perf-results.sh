#!/usr/bin/env bash
# Regenerate bench/RESULTS.md (and bench/results.json, bench/results.png): run dpsan-perf with
# every mode on every layout (veth needs root; it is skipped otherwise), with the kernel
# baselines, and write the table, the machine, the date and the load average it saw.
#
# Usage: bash scripts/perf-results.sh [extra dpsan-perf options, e.g. --window 16]
#   BUILD=dir selects the build directory (default: build); DURATION=s the seconds per run
#   (default: 2). Takes 4 to 8 minutes at the default.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
perf=$build/bench/dpsan_perf/dpsan-perf
[ -x "$perf" ] || { echo "perf-results: $perf not built (bash scripts/build.sh $build)" >&2; exit 2; }
args=(--mode all --layout ethdev,uring,memif,veth --sweep --duration "${DURATION:-2}" --baseline kernel-tcp
      --json bench/results.json --plot bench/results.png "$@")
env_file=$(mktemp /tmp/dpsan-perf-results.XXXXXX)
trap 'rm -f "$env_file"' EXIT
{
  echo "command=./$perf ${args[*]}"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench/RESULTS.md' ':!bench/results.*' || echo ' (with uncommitted changes)')"
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "kernel=$(uname -r)"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$env_file"
status=0
"$perf" "${args[@]}" || status=$?
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$env_file"
# A run that failed is a FAILED row of the table: the results are still written.
[ -f bench/results.json ] || { echo "perf-results: dpsan-perf wrote no JSON (status $status)" >&2; exit 1; }
/usr/bin/python3 bench/dpsan_perf/results_md.py bench/results.json "$env_file" results.png bench/RESULTS.md
echo "perf-results: bench/RESULTS.md written (dpsan-perf status $status)"
