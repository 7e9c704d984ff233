#!/bin/sh
# README's first command ends in the demo: a real 30-second session on a
# simulated panel, on a private bus. It must work for whoever runs it, so as
# root this runs it as the user nobody, from a copy nobody can read (the
# tree may live in root's home).
# Usage: check-demo.sh DEMO_SCRIPT PBMD PBMCTL SOURCE_DIR
set -eu
demo=$1
pbmd=$2
pbmctl=$3
source_dir=$4

copy=$(mktemp -d /tmp/pbmd-check-demo.XXXXXX)
trap 'rm -rf "$copy"' EXIT
chmod 755 "$copy"
mkdir -p "$copy/src/data"
cp "$demo" "$pbmd" "$pbmctl" "$copy/"
cp -r "$source_dir/data/profiles" "$copy/src/data/"
chmod -R a+rX "$copy"

run="sh $copy/$(basename "$demo") $copy/$(basename "$pbmd") $copy/$(basename "$pbmctl") $copy/src"
if [ "$(id -u)" = 0 ]; then
	echo "# as root: the demo runs as the user nobody"
	# shellcheck disable=SC2086
	out=$(cd / && runuser -u nobody -- $run 2>&1) || status=$?
else
	# shellcheck disable=SC2086
	out=$(cd / && $run 2>&1) || status=$?
fi
printf '%s\n' "$out" | sed 's/^/# /'
if [ "${status:-0}" != 0 ]; then
	echo "the demo exited with status $status"
	exit 1
fi
for want in "demo: completed (all 3 steps done)" "session 1 finished: completed"; do
	if ! printf '%s\n' "$out" | grep -qF "$want"; then
		echo "the demo's output lacks: $want"
		exit 1
	fi
done
printf '%s\n' "$out" | grep -qE '^ +1 .* demo +completed ' || {
	echo "pbmctl history did not list the demo session as completed"
	exit 1
}
