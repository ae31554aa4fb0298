#!/usr/bin/env bash
# dpsan-soak must be able to fail. With one received byte corrupted on purpose it must exit 1
# and name the damage; with a socket left open it must exit 1 and name the count; with one
# completion delivered twice (R35) or with a wrong status (R25, R29), it must name that; and the
# memif mode's RDMA links (their own completion path beside the message engine's) too.
# Usage: self_test.sh path/to/dpsan-soak
set -u
expect_violation() {  # NAME PATTERN ARGS...
  local name=$1 pattern=$2
  shift 2
  local out rc
  out=$("$soak" "$@" 2>&1)
  rc=$?
  echo "$out" | grep -E "VIOLATION|result=" | cut -c1-300
  if [ "$rc" -ne 1 ]; then echo "self-test $name: expected exit 1, got $rc"; exit 1; fi
  if ! echo "$out" | grep -qE "VIOLATION: .*$pattern"; then echo "self-test $name: no violation matching '$pattern'"; exit 1; fi
  if ! echo "$out" | grep -q "result=violation"; then echo "self-test $name: no summary line"; exit 1; fi
  echo "self-test $name: ok"
}
soak=$1
expect_violation corrupt "damaged" --duration 60 --connections 2 --self-test-corrupt 200 --seed 5
expect_violation leak "sockets_open" --duration 60 --connections 2 --cycle-min 2 --cycle-max 2 --self-test-leak --seed 5
expect_violation double "completed 2 times" --duration 60 --connections 2 --self-test-double 300 --seed 5
expect_violation status "completed with status 10054, expected success" --duration 60 --connections 2 --self-test-status 40 --seed 5
expect_violation memif-double "completed 2 times" --mode memif --duration 60 --connections 1 --rounds-per-cycle 1 --max-size 4096 --self-test-double 30 --seed 5
expect_violation memif-status "completed with status 10054, expected success" --mode memif --duration 60 --connections 1 --rounds-per-cycle 1 --max-size 4096 --self-test-status 30 --seed 5
