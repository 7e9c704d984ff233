#!/bin/sh
# The app's demo: pbm-therapy against pbmd --simulate on a private bus, with
# no root and no hardware. Run it with: meson compile -C build demo-app
# (it needs a desktop session: a display for the window).
# Usage: pbm-demo-app.sh PBMD PBM_THERAPY SOURCE_DIR [PBMD_OPTION...]
set -eu
pbmd=$1
app=$2
source_dir=$3
shift 3

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
	echo "demo-app: no display (DISPLAY or WAYLAND_DISPLAY): run it in a desktop session" >&2
	exit 1
fi

work=$(mktemp -d /tmp/pbmd-demo-app.XXXXXX)
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

# As in the pbmctl demo: the shipped profiles copied as a package installs
# them, and whoever runs the demo is in its control group.
mkdir -m 0755 "$work/profiles"
install -m 0644 "$source_dir"/data/profiles/*.conf "$work/profiles/"
cat > "$work/pbmd.conf" <<CONF
# demo-app: the shipped profiles, no USB, no rest between sessions
profile_dirs = [ "$work/profiles" ];
devices = [];
control_group = "$(id -gn)";
limits = { min_gap = 0; };
CONF

echo "== pbmd --simulate on a private bus ($address)"
STATE_DIRECTORY="$work/state" "$pbmd" --simulate "$@" --address "$address" \
	--config "$work/pbmd.conf" > "$work/pbmd.log" 2>&1 &
pbmd_pid=$!
echo "== pbm-therapy (close its window to end the demo; pbmd's log follows)"
"$app" --address "$address" || true
sed 's/^/   /' "$work/pbmd.log"
