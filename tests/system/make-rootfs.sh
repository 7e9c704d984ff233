#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the root file system of the full-system suite's Debian 12 guest
# with mmdebstrap, from this machine's own apt sources, as a tarball:
#
#   make-rootfs.sh CACHE_DIR  ->  prints CACHE_DIR/rootfs-KEY.tar
#
# KEY hashes the package list and this script, so a change of either builds
# a new one and an unchanged one is reused (about 90 s to build). The
# tarball keeps owners and modes, so no step needs root: as root mmdebstrap
# runs directly, as a user it runs in a user namespace (subuids, uidmap).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=$1

packages=$(grep -v '^#' "$here/guest-packages" | tr '\n' ',' | sed 's/,$//')
key=$(cat "$here/guest-packages" "$0" | sha256sum | cut -c1-16)
out="$cache/rootfs-$key.tar"
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$cache"

# The machine's apt sources, whatever mirror they name.
sources=$(mktemp)
trap 'rm -f "$sources" "$out.part"' EXIT
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	cat /etc/apt/sources.list.d/debian.sources >"$sources"
fi
if [ -f /etc/apt/sources.list ]; then
	grep -v '^#' /etc/apt/sources.list >>"$sources" || true
fi

# A small initrd (only what mounts a virtio disk: 36 MB -> 6.5 MB) and no
# documentation, man pages or locales: the guest boots and installs faster.
# Bookworm's kernel ships its modules under /lib/modules in the package, so
# the exclusions name that path.
mmdebstrap --variant=minbase --format=tar --include="$packages" \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/gpu/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/net/wireless/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/media/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/infiniband/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/scsi/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/sound/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/net/wireless/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/net/bluetooth/*' \
	--dpkgopt='path-exclude=/lib/firmware/*' \
	--setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"' \
	--setup-hook='echo MODULES=list > "$1/etc/initramfs-tools/conf.d/pbmd-system-test"' \
	--setup-hook='printf "virtio_pci\nvirtio_blk\next4\n" > "$1/usr/share/initramfs-tools/modules.d/pbmd-system-test"' \
	--customize-hook='echo pbmd-guest > "$1/etc/hostname"' \
	bookworm "$out.part" - <"$sources" >&2
mv "$out.part" "$out"
echo "$out"
