#!/usr/bin/env bash
# Bounded libFuzzer run for `meson test --suite fuzz` (README.md here).
#
# Usage: run_fuzz.sh FUZZER CORPUS ARTIFACT_DIR [libFuzzer flags...]
#
# libFuzzer adds new inputs to its first corpus directory, so the run starts from a scratch copy
# of CORPUS (deleted afterwards) and reads CORPUS itself only as a second directory: the checked-in
# corpus is never written. Crashes, leaks, timeouts and OOMs are written under ARTIFACT_DIR (in
# the build directory) and named at the end, with the command that replays them.
set -uo pipefail

fuzzer=$(realpath "$1") corpus=$(realpath "$2") artifacts=$3
shift 3
name=$(basename "$fuzzer")
[ -d "$corpus" ] || { echo "run_fuzz: no corpus directory $corpus" >&2; exit 2; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/dpsan-$name.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cp -r "$corpus"/. "$scratch"/
mkdir -p "$artifacts"
marker="$scratch/.started"
touch "$marker"

# UBSan is compiled with -fno-sanitize-recover, so any report is fatal; these only add context.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0}

echo "run_fuzz: $fuzzer $* -artifact_prefix=$artifacts/ $scratch $corpus"
"$fuzzer" "$@" -artifact_prefix="$artifacts/" "$scratch" "$corpus"
rc=$?

found=$(find "$artifacts" -maxdepth 1 -type f -newer "$marker" \
  \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
  echo
  echo "run_fuzz: $name FAILED (exit $rc)."
  if [ -n "$found" ]; then
    echo "run_fuzz: failing input(s) kept in the build directory:"
    for f in $found; do echo "  $f"; done
    echo "run_fuzz: replay with: $fuzzer <file>"
    echo "run_fuzz: once fixed, copy the file into $corpus/ so every later run replays it."
  else
    echo "run_fuzz: no input was saved (see the log above)."
  fi
  # libFuzzer exits 77 on a crash, which meson would count as a skip.
  exit 1
fi
echo "run_fuzz: $name passed"
