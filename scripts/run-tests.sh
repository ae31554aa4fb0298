#!/usr/bin/env bash
# The whole test suite: set up, build, run every test; then the unit and conformance tests
# again in an ASan+UBSan build. Exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
status=0

bash scripts/build.sh build
meson test -C build --print-errorlogs --num-processes 1 || status=1

if [ "${DPSAN_SKIP_SANITIZERS:-0}" != 1 ]; then
  bash scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false
  # DPDK is not built with ASan: its hugepage allocator is invisible to it, and the EAL lives
  # for the whole process by design (it cannot be re-initialised), so leak reports at exit
  # would only name DPDK's own process-lifetime state.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C build-asan --suite unit --suite conformance --print-errorlogs --num-processes 1 \
    || status=1
fi

# --- fuzz (tests/fuzz/README.md) ------------------------------------------------------------
# libFuzzer needs clang, and meson one compiler per build directory: a clang build of its own.
# Bounded runs (30 s per target); a crash fails the suite and its input is kept under
# build-fuzz/tests/fuzz/artifacts/.
if command -v clang++ >/dev/null 2>&1; then
  if [ ! -f build-fuzz/build.ninja ]; then
    CXX=clang++ CC=clang meson setup build-fuzz -Dfuzz=true || status=1
  fi
  if [ -f build-fuzz/build.ninja ]; then
    meson test -C build-fuzz --suite fuzz --print-errorlogs || status=1
  fi
else
  echo "dpsan tests: clang++ not found, fuzz targets skipped"
fi
# --- end fuzz -------------------------------------------------------------------------------

if [ "$status" -eq 0 ]; then echo "dpsan tests: all passed"; else echo "dpsan tests: FAILURES"; fi
exit "$status"
