#!/bin/sh
# Every man page renders without a groff or man warning.
set -eu
status=0
for page in "$@"; do
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null || echo "man failed on $page")
	if [ -n "$warnings" ]; then
		echo "# $page:"
		echo "$warnings" | sed 's/^/#   /'
		status=1
	elif [ "$(MANWIDTH=80 man -l "$page" 2>/dev/null | wc -l)" -lt 20 ]; then
		echo "# $page renders to almost nothing"
		status=1
	fi
done
exit $status
