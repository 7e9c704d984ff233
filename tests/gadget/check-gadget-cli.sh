#!/bin/sh
# pbm-gadget's command line through the real binary, as a person and its
# unit use it: --check says whether a configuration is valid (exit 0, or
# 3 with FILE:LINE: KEY), --all-off (the unit's ExecStopPost=) darkens the
# outputs a killed pbm-gadget left lit, bad options exit 2, and without
# configfs it refuses to start with what to do, outputs dark.
# Prints TAP. Usage: check-gadget-cli.sh PBM_GADGET
set -u
gadget=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
n=0
failed=0

result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}

# expect DESC WANT_RC NEEDLE COMMAND...: exit code and a needle in the output.
expect() {
	desc=$1 want=$2 needle=$3
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && printf '%s' "$out" | grep -qF -- "$needle"; then
		result 0 "$desc"
	else
		result 1 "$desc"
		echo "# exit $rc (wanted $want), output: $out"
		echo "# wanted it to say: $needle"
	fi
}

conf=$dir/pbm-gadget.conf
cat >"$conf" <<EOC
panel = { serial = "CLI01"; model = "Command line test"; };
outputs = { backend = "none"; state_file = "$dir/outputs"; };
channels = (
  { band = "red"; wavelength_nm = 660;
    calibration = ( { distance_cm = 15.0; irradiance = 36.0; } ); }
);
EOC

expect "--check accepts a valid configuration" 0 "valid: panel CLI01, 1 channel, outputs none" \
	"$gadget" --check --config "$conf"
sed 's/wavelength_nm = 660;/wavelength_nm = 660; colour = "red";/' "$conf" >"$dir/bad.conf"
expect "--check refuses an unknown key with FILE:LINE: KEY (exit 3)" 3 "$dir/bad.conf:4: colour: unknown key" \
	"$gadget" --check --config "$dir/bad.conf"
expect "a missing configuration is named (exit 3)" 3 "$dir/none.conf" \
	"$gadget" --check --config "$dir/none.conf"

# What a killed pbm-gadget leaves: outputs lit. ExecStopPost= darkens them.
echo "lit=1 pulse_mhz=0 duty=1000 level=700" >"$dir/outputs"
expect "--all-off exits 0" 0 "all outputs off" "$gadget" --all-off --config "$conf"
grep -q '^lit=0' "$dir/outputs"
result $? "--all-off left the outputs dark ($(cat "$dir/outputs"))"

expect "an unknown option exits 2" 2 "Unknown option --colour" "$gadget" --colour
expect "a stray argument exits 2" 2 "unexpected argument \"start\"" "$gadget" start
expect "a bad --name exits 2" 2 "--name \"../x\"" "$gadget" --name ../x --check --config "$conf"
expect "--version names the protocol" 0 "(protocol 1." "$gadget" --version

# No configfs gadget support where it is asked for: a clear refusal (exit 5).
mkdir -p "$dir/configfs" "$dir/udc"
echo "lit=1 pulse_mhz=0 duty=1000 level=700" >"$dir/outputs"
expect "without configfs' usb_gadget it says to load libcomposite (exit 5)" 5 "modprobe libcomposite" \
	"$gadget" --config "$conf" --configfs "$dir/configfs" --udc-class "$dir/udc" \
	--functionfs "$dir/ffs"
grep -q '^lit=0' "$dir/outputs"
result $? "a refused start leaves the outputs dark ($(cat "$dir/outputs"))"

echo "1..$n"
exit $failed
