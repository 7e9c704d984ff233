#!/bin/sh
# Every man page is clean under mandoc -Tlint (not even a style message)
# and renders through man-db without a groff warning.
set -eu
status=0
for page in "$@"; do
	lint=$(mandoc -Tlint -W style "$page" 2>&1 || true)
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null || echo "man failed on $page")
	if [ -n "$lint" ] || [ -n "$warnings" ]; then
		echo "# $page:"
		printf '%s\n%s\n' "$lint" "$warnings" | sed '/^$/d; s/^/#   /'
		status=1
	elif [ "$(MANWIDTH=80 man -l "$page" 2>/dev/null | wc -l)" -lt 20 ]; then
		echo "# $page renders to almost nothing"
		status=1
	fi
done
exit $status
