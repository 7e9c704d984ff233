"""Counts TAP test cases across a meson testlog.json: prints 'PASSED FAILED'.

meson reports one result per test binary; CI wants the number of cases.
A test that is not TAP counts as one case by its own result.
"""
import json
import sys

passed = failed = 0
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        entry = json.loads(line)
        tap = [l for l in entry.get("stdout", "").splitlines()
               if l.startswith("ok ") or l.startswith("not ok ")]
        if tap:
            passed += sum(1 for l in tap if l.startswith("ok "))
            failed += sum(1 for l in tap if l.startswith("not ok "))
            if entry.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL"):
                # a crash after the last case still fails the suite
                failed += 0 if any(l.startswith("not ok ") for l in tap) else 1
        elif entry.get("result") == "OK":
            passed += 1
        elif entry.get("result") != "SKIP":
            failed += 1
print(passed, failed)
