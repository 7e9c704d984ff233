#!/bin/sh
# Every C file follows .clang-format: prints the diff of the first offender.
# The formatter is pinned (clang-format-14): a missing one is a failure.
set -eu
top=$1
fmt=$2
if ! command -v "$fmt" >/dev/null 2>&1; then
	echo "# $fmt is not installed: apt-get install clang-format-14, then meson setup --reconfigure"
	exit 1
fi
files=$(cd "$top" && find include src tests -name '*.[ch]' | sort)
# One run over every file (a second on an idle machine); only when it finds
# something, one run a file to say which and how.
# shellcheck disable=SC2086
(cd "$top" && "$fmt" --style=file --dry-run --Werror $files 2>/dev/null) && exit 0
status=0
for f in $files; do
	if ! "$fmt" --style=file "$top/$f" | cmp -s - "$top/$f"; then
		echo "# $f is not formatted; run: clang-format-14 -i $f"
		"$fmt" --style=file "$top/$f" | diff -u "$top/$f" - | sed 's/^/# /' | head -40
		status=1
	fi
done
exit $status
