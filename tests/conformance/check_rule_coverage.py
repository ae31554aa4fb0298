#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Check that every rule applicable to this milestone has a conformance test.

A rule Rn is covered when some .cpp file in this folder defines TEST(Conformance, Rn_...).
Also checks that every r*.cpp test file is listed in meson.build (so it is really built).
Usage: check_rule_coverage.py [DIR]   (default: the folder of this script). Exit 1 on a gap.
"""
import os
import re
import sys

# Applicable now: every rule, R1-R66 (R66 checked as the documented WSAEOPNOTSUPP deviation).
APPLICABLE = list(range(1, 67))

def main() -> int:
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    test_re = re.compile(r"\bTEST(?:_F)?\s*\(\s*Conformance\s*,\s*R(\d+)_\w+\s*\)")
    covered = {}
    for name in sorted(os.listdir(d)):
        if not name.endswith(".cpp"):
            continue
        with open(os.path.join(d, name), encoding="utf-8") as f:
            for m in test_re.finditer(f.read()):
                covered.setdefault(int(m.group(1)), []).append(name)
    missing = [n for n in APPLICABLE if n not in covered]
    ok = True
    if missing:
        ok = False
        print("rules without a TEST(Conformance, R<n>_...): " +
              ", ".join(f"R{n}" for n in missing))
    meson = open(os.path.join(d, "meson.build"), encoding="utf-8").read()
    unbuilt = [n for n in sorted(os.listdir(d))
               if re.fullmatch(r"r\d+.*\.cpp", n) and f"'{n}'" not in meson]
    if unbuilt:
        ok = False
        print("test files not listed in meson.build: " + ", ".join(unbuilt))
    if ok:
        print(f"all {len(APPLICABLE)} applicable rules covered: " +
              ", ".join(f"R{n}" for n in APPLICABLE))
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
