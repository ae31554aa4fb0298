#!/usr/bin/env bash
# Configure (once) and build one build directory. Usage: build.sh DIR [meson options...]
set -euo pipefail
dir=$1
shift
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$@"
fi
meson compile -C "$dir"
