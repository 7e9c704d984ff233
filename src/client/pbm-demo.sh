#!/bin/sh
# The demo: a real session on a simulated panel, on a private bus, with no
# root and no hardware. Run it with: meson compile -C build demo
# Usage: pbm-demo.sh PBMD PBMCTL SOURCE_DIR
set -eu
pbmd=$1
pbmctl=$2
source_dir=$3

work=$(mktemp -d /tmp/pbmd-demo.XXXXXX)
bus_pid=""
pbmd_pid=""
cleanup() {
	# pbmd first: it switches the panel off and records the session
	[ -n "$pbmd_pid" ] && kill -TERM "$pbmd_pid" 2>/dev/null && wait "$pbmd_pid" 2>/dev/null
	[ -n "$bus_pid" ] && kill -TERM "$bus_pid" 2>/dev/null && wait "$bus_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dbus-daemon --session --nofork --print-address=1 --address="unix:path=$work/bus" \
	> "$work/address" 2> "$work/bus.log" &
bus_pid=$!
for _ in $(seq 50); do [ -s "$work/address" ] && break; sleep 0.1; done
address=$(head -n 1 "$work/address")

# Whoever runs the demo controls its pbmd: their own group is its control
# group (there is no polkit agent on a private bus).
# pbmd believes only profiles that no one but their owner can change: the
# shipped ones are copied as a package installs them, whatever the umask
# of the checkout.
mkdir -m 0755 "$work/profiles"
install -m 0644 "$source_dir"/data/profiles/*.conf "$work/profiles/"
cat > "$work/pbmd.conf" <<CONF
# demo: the shipped profiles, no USB, no rest between sessions
profile_dirs = [ "$work/profiles" ];
devices = [];
control_group = "$(id -gn)";
limits = { min_gap = 0; };
CONF

echo "== pbmd --simulate on a private bus"
STATE_DIRECTORY="$work/state" "$pbmd" --simulate --address "$address" --config "$work/pbmd.conf" \
	> "$work/pbmd.log" 2>&1 &
pbmd_pid=$!
for _ in $(seq 50); do
	"$pbmctl" --address "$address" status > /dev/null 2>&1 && break
	sleep 0.1
done
"$pbmctl" --address "$address" status
"$pbmctl" --address "$address" panels

echo "== pbmctl start demo --wait"
"$pbmctl" --address "$address" start demo --wait

echo "== pbmctl history"
"$pbmctl" --address "$address" history

echo "== what pbmd logged"
sed 's/^/   /' "$work/pbmd.log"
