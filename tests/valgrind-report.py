#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sums up the memcheck logs of every pbmd that `meson test --setup
memcheck` ran: errors and definite leaks per process, and exits 1 when
there is any. A pbmd that a test SIGKILLed leaves no summary; the errors it
logged before count all the same.

Usage: valgrind-report.py BUILD_DIR
"""
import glob
import os
import re
import sys

ERROR_START = re.compile(r"^==\d+== (Invalid |Conditional jump|Use of uninitialised|Syscall param|"
                         r"Mismatched free|Source and destination overlap|Argument .* is fishy|"
                         r"Invalid free)")


def main():
    logs = sorted(glob.glob(os.path.join(sys.argv[1], "meson-logs", "pbmd-valgrind.*.log")))
    if not logs:
        print("no logs: run meson test --setup memcheck first")
        return 1
    runs = killed = bad = 0
    for path in logs:
        with open(path, errors="replace") as f:
            text = f.read()
        if "Command:" not in text or "/pbmd" not in text.split("Command:", 1)[1].split("\n")[0]:
            continue  # not a pbmd: a wrapper that is no process of ours
        runs += 1
        errors = [l for l in text.splitlines() if ERROR_START.match(l)]
        lost = [int(n.replace(",", "")) for n in re.findall(r"definitely lost: ([\d,]+) bytes", text)]
        if "ERROR SUMMARY" not in text:
            killed += 1
        if errors or any(lost):
            bad += 1
            print(f"{path}: {len(errors)} errors, {sum(lost)} bytes definitely lost")
            for line in errors[:5]:
                print("   ", line)
    print(f"{runs} pbmd processes under memcheck ({killed} killed before their summary): "
          f"{bad} with errors or definite leaks")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
