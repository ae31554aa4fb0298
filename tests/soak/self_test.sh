#!/usr/bin/env bash
# dpsan-soak must be able to fail: with one received byte corrupted on purpose it must exit
# non-zero and name the damage. Usage: self_test.sh path/to/dpsan-soak
set -u
out=$("$1" --duration 60 --connections 2 --self-test-corrupt 200 --seed 5 2>&1)
rc=$?
echo "$out" | tail -5
if [ "$rc" -ne 1 ]; then echo "self-test: expected exit 1, got $rc"; exit 1; fi
if ! echo "$out" | grep -q "VIOLATION: .*damaged"; then echo "self-test: no 'damaged' violation named"; exit 1; fi
if ! echo "$out" | grep -q "result=violation"; then echo "self-test: no summary line"; exit 1; fi
echo "self-test: ok (the corrupted byte was caught)"
