#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-61.sh: the pieces of "make check-61" (phase k61 of scripts/check.sh,
# run by make check-full and make check-61): the selftests on Debian's other
# LTS kernel, 6.1, against ours built for it and against in-tree 6.1
# vhost_scsi. scripts/deps.sh --kernel-61 (make deps-61) extracts the 6.1
# image that matches the installed 6.1 headers into the project's cache.
#
# Usage: scripts/check-61.sh kver          the 6.1 release (none: exit 1)
#        scripts/check-61.sh image         its bzImage (for vm-run --kernel)
#        scripts/check-61.sh build OUTDIR  build vhost_scsi_ng.ko for it in
#                                          OUTDIR (a scratch copy of the
#                                          sources; the tree's own build is
#                                          left alone); prints one TAP line
set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$REPO" || exit 2

k61=$(scripts/kernel-paths.sh kver61)

case "${1:-}" in
kver)
	[ -n "$k61" ] && echo "$k61"
	;;
image)
	[ -n "$k61" ] && scripts/kernel-paths.sh image "$k61"
	;;
build)
	out=${2:?usage: check-61.sh build OUTDIR}
	if [ -z "$k61" ]; then
		echo "not ok 1 build: module for 6.1: no 6.1 headers (make deps installs them)"
		exit 1
	fi
	rm -rf "$out"
	mkdir -p "$out" || exit 1
	git ls-files -z Kbuild Makefile drivers include scripts/kprobe.sh scripts/kernel-paths.sh |
		tar --null -T - -cf - | tar -C "$out" -xf - || exit 1
	# KDIR too: a KDIR in the environment (make check's) would win over KVER.
	make -s -j"$(nproc)" -C "$out" module KVER="$k61" KDIR="$(scripts/kernel-paths.sh kdir "$k61")" \
		>"$out/build.log" 2>&1
	rc=$?
	vm=$(modinfo -F vermagic "$out/vhost_scsi_ng.ko" 2>/dev/null | cut -d' ' -f1)
	if [ $rc = 0 ] && [ "$vm" = "$k61" ]; then
		echo "ok 1 build: module for $k61 in ${out#"$REPO"/}"
	else
		echo "not ok 1 build: module for $k61 (vermagic '$vm'; see ${out#"$REPO"/}/build.log)"
		tail -n 20 "$out/build.log" | sed 's/^/# /'
		exit 1
	fi
	;;
*)
	sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
	;;
esac
