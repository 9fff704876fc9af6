#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-paths.sh: where the pieces of the test kernel (Debian's 6.12 from
# bookworm-backports) are on this machine. Either installed as packages
# (/boot, /lib/modules, /usr/src: a machine set up before issue 21, or by
# its admin), or extracted by scripts/deps.sh into the project's cache, one
# root per kernel release, which the host never boots:
#   $VSNG_KERNEL_CACHE/<kver>/boot/vmlinuz-<kver>
#   $VSNG_KERNEL_CACHE/<kver>/lib/modules/<kver>/
#   $VSNG_KERNEL_CACHE/<kver>/usr/src/linux-headers-<kver>/   (a KDIR)
# (VSNG_KERNEL_CACHE defaults to /var/cache/vhost-scsi-ng/kernel.)
#
# Usage: kernel-paths.sh kver            the 6.12 release to use
#        kernel-paths.sh kdir [KVER]     its headers (make -C KDIR M=...)
#        kernel-paths.sh image [KVER]    its bzImage
# KVER defaults to $KVER, else the "kver" answer. The answer for a kernel
# that is nowhere is the /boot or /usr/src path, for error messages.
# Sourced (". kernel-paths.sh"), it only defines the kp_* functions.

KP_CACHE=${VSNG_KERNEL_CACHE:-/var/cache/vhost-scsi-ng/kernel}
KP_DEF_KVER=6.12.95+deb12-amd64

# Releases with headers, host's first, then the cache's, one a line.
kp_releases() {
	local d
	for d in /usr/src/linux-headers-6.12.*-amd64 "$KP_CACHE"/*/usr/src/linux-headers-6.12.*-amd64; do
		[ -f "$d/Makefile" ] && echo "${d##*/linux-headers-}"
	done
}

kp_kver() {
	local all
	all=$(kp_releases)
	if grep -qxF "$KP_DEF_KVER" <<<"$all"; then
		echo "$KP_DEF_KVER"
	elif [ -n "$all" ]; then
		sort -V <<<"$all" | tail -n1
	else
		echo "$KP_DEF_KVER"
	fi
}

kp_kdir() {
	local k=${1:-${KVER:-$(kp_kver)}}
	if [ ! -d "/usr/src/linux-headers-$k" ] && [ -d "$KP_CACHE/$k/usr/src/linux-headers-$k" ]; then
		echo "$KP_CACHE/$k/usr/src/linux-headers-$k"
	else
		echo "/usr/src/linux-headers-$k"
	fi
}

kp_image() {
	local k=${1:-${KVER:-$(kp_kver)}}
	if [ ! -r "/boot/vmlinuz-$k" ] && [ -r "$KP_CACHE/$k/boot/vmlinuz-$k" ]; then
		echo "$KP_CACHE/$k/boot/vmlinuz-$k"
	else
		echo "/boot/vmlinuz-$k"
	fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case "${1:-}" in
	kver) kp_kver ;;
	kdir|image) "kp_$1" "${2:-}" ;;
	*) echo "usage: kernel-paths.sh kver|kdir|image [KVER]" >&2; exit 2 ;;
	esac
fi
