#!/usr/bin/env bash
# The whole test suite: set up, build, run every test; then the whole suite again in an
# ASan+UBSan build, the concurrency-heavy tests in a TSan build, and the fuzz targets.
# Exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
status=0

bash scripts/build.sh build
meson test -C build --print-errorlogs --num-processes 1 || status=1

# --- sanitizers (README "Builds") -----------------------------------------------------------
# The whole suite again under ASan+UBSan, then the concurrency-heavy tests under TSan. The
# environments (options, suppressions) are meson test setups in tests/meson.build.
# -O1 -g1, as the sanitizers' manuals advise: half the compile time of -O2 -g, and stack traces
# still have functions and lines.
san_opts=(-Db_lundef=false -Doptimization=1 -Ddebug=false -Dcpp_args=-g1 -Dc_args=-g1)
if [ "${DPSAN_SKIP_SANITIZERS:-0}" != 1 ]; then
  bash scripts/build.sh build-asan -Db_sanitize=address,undefined "${san_opts[@]}"
  # Instrumented code is slower: twice the time limits. Every suite; dpsan-soak skips its
  # flat-resident-memory check under ASan, whose quarantine keeps freed memory by design.
  meson test -C build-asan --setup asan --print-errorlogs --num-processes 1 -t 2 || status=1

  # TSan: Debian's DPDK is not instrumented, so tests/tsan.supp and fastpath/tsan.h cover what
  # it hands over unseen. The tests with the most threads sharing state: the completion, ring
  # and table unit tests, the stress, fault and two-poll-core tests, and the conformance rules
  # of the final cleanup racing live operations (conformance-cleanup: R12-R21, R31). Only
  # their executables are built. About 10 minutes on 2 cores.
  tsan_tests=(unit_completion unit_ring unit_mr_table unit_socket_table stress ports-two-cores
              conformance-cleanup)
  [ -f build-tsan/build.ninja ] || meson setup build-tsan -Db_sanitize=thread "${san_opts[@]}"
  meson compile -C build-tsan unit_completion unit_ring unit_mr_table unit_socket_table stress \
    fault ports conformance_cleanup || status=1
  meson test -C build-tsan --no-rebuild --setup tsan --print-errorlogs --num-processes 1 -t 4 \
    "${tsan_tests[@]}" || status=1
  # fault: the loopback scenario only; the 100-connection net_ring one runs for many minutes
  # instrumented, and exercises the same code.
  GTEST_FILTER='Fault.R40_EveryMessageOnceIntactInOrderUnderLossDupReorderCorruption' \
    meson test -C build-tsan --no-rebuild --setup tsan --print-errorlogs -t 4 fault || status=1
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
    # Only the fuzz targets: the rest of the tree in clang would add minutes and no test.
    meson compile -C build-fuzz fuzz_wire_decode fuzz_wire_body fuzz_rdma_decode fuzz_arp \
      fuzz_uring_frame fuzz_spi_decode fuzz_config gen_wire_seeds || status=1
    meson test -C build-fuzz --no-rebuild --suite fuzz --print-errorlogs || status=1
  fi
else
  echo "dpsan tests: clang++ not found, fuzz targets skipped"
fi
# --- end fuzz -------------------------------------------------------------------------------

if [ "$status" -eq 0 ]; then echo "dpsan tests: all passed"; else echo "dpsan tests: FAILURES"; fi
exit "$status"
