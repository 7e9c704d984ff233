#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Makes the guest's disk image of the full-system suite, without mounting
# anything and without root:
#
#   make-image.sh ROOTFS_TAR DEBS_DIR GUEST_DIR WORK_DIR
#
# ROOTFS_TAR is make-rootfs.sh's Debian 12; DEBS_DIR holds the packages
# contrib/build-debs built, of which pbmd and pbm-gadget go to the guest's
# /var/lib/pbmd-system-test/debs/ for its script to install with apt (the
# guest has no GTK, so pbm-therapy stays out); GUEST_DIR the test's own
# files (a tree laid out as in the guest). Writes WORK_DIR/disk.ext4,
# WORK_DIR/vmlinuz and WORK_DIR/initrd.img (the guest's own kernel and
# initrd, for QEMU's -kernel and -initrd). Run under fakeroot: the files
# keep the owners the tarball gives and the test's own belong to root.
set -eu
rootfs_tar=$1
debs=$2
guest_dir=$3
work=$4

root="$work/root"
rm -rf "$root"
mkdir -p "$root"
tar -xpf "$rootfs_tar" -C "$root"

mkdir -p "$root/var/lib/pbmd-system-test/debs"
cp "$debs"/pbmd_*.deb "$debs"/pbm-gadget_*.deb "$root/var/lib/pbmd-system-test/debs/"
# Through the merged-/usr links (lib -> usr/lib), which a plain copy would
# replace.
tar -C "$guest_dir" -cf - . | tar -C "$root" -x --no-same-owner --keep-directory-symlink

# The test runs from its own unit; the consoles' gettys would hang up the
# serial console it logs to, and tty1 belongs to the test's desktop user.
units="$root/etc/systemd/system"
ln -sf /dev/null "$units/serial-getty@ttyS0.service"
ln -sf /dev/null "$units/getty@tty1.service"
mkdir -p "$units/multi-user.target.wants"
ln -sf ../pbmd-system-test.service "$units/multi-user.target.wants/pbmd-system-test.service"
# A persistent journal: the host reads every boot's journal from the image.
mkdir -p "$root/var/log/journal"

cp "$root"/boot/vmlinuz-* "$work/vmlinuz"
cp "$root"/boot/initrd.img-* "$work/initrd.img"
rm -f "$work/disk.ext4"
mkfs.ext4 -q -F -L pbmd-guest -d "$root" "$work/disk.ext4" 1500M
rm -rf "$root"
