#!/bin/sh
# pbm-therapy's own options, before any window: a bad --address is refused
# with exit 2 and a message naming the option; --version prints the version.
# Usage: check-app-arguments.sh PBM_THERAPY
set -u
app=$1
status=0

out=$("$app" --address=nonsense 2>&1 >/dev/null)
rc=$?
if [ "$rc" -ne 2 ] || ! printf '%s' "$out" | grep -q -- '--address needs a D-Bus address'; then
	echo "# --address=nonsense: exit $rc, stderr: $out"
	status=1
fi
out=$("$app" --address= 2>&1 >/dev/null)
rc=$?
if [ "$rc" -ne 2 ]; then
	echo "# --address= (empty): exit $rc, stderr: $out"
	status=1
fi
out=$("$app" --version 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || ! printf '%s' "$out" | grep -q '^pbm-therapy [0-9]'; then
	echo "# --version: exit $rc, output: $out"
	status=1
fi
exit $status
