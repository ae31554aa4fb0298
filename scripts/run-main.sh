#!/usr/bin/env bash
# The main job: set up, build, and run dpsan-perf on the embedded default (no NIC, no config).
# Extra arguments go to dpsan-perf (see dpsan-perf --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build
exec ./build/bench/dpsan_perf/dpsan-perf "$@"
