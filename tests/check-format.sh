#!/bin/sh
# Every C file follows .clang-format: prints the diff of the first offender.
set -eu
top=$1
fmt=$2
status=0
for f in $(cd "$top" && find include src tests -name '*.[ch]' | sort); do
	if ! "$fmt" --style=file "$top/$f" | cmp -s - "$top/$f"; then
		echo "# $f is not formatted; run: clang-format -i $f"
		"$fmt" --style=file "$top/$f" | diff -u "$top/$f" - | sed 's/^/# /' | head -40
		status=1
	fi
done
exit $status
