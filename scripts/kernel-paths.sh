#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-paths.sh: where the test guest's kernel (Debian's 6.12 from
# bookworm-backports), its modules and headers, and the static busybox of the
# guests' initramfs images are on this machine. scripts/deps.sh extracts them
# from their packages into the project's cache, which the host never boots:
#   $C/kernel/<kver>/boot/vmlinuz-<kver>
#   $C/kernel/<kver>/lib/modules/<kver>/
#   $C/kernel/<kver>/usr/src/linux-headers-<kver>/   (a KDIR)
#   $C/busybox/bin/busybox
# ($C is $VSNG_DEPS_CACHE, default /var/cache/vhost-scsi-ng). What the cache
# lacks is taken from the installed packages (/boot, /lib/modules, /usr/src,
# /bin/busybox: a machine set up before issue 21, or by its admin). The cache
# comes first, so that the host and the test guest, which sees the host's
# root, get the same answers.
#
# Usage: kernel-paths.sh kver             the 6.12 release to use (test guest)
#        kernel-paths.sh kver61           the 6.1 release (newest installed
#                                         6.1 headers; empty if none): the
#                                         other LTS kernel (make check-61)
#        kernel-paths.sh build-kver       the release a plain "make module"
#                                         builds for: the running kernel when
#                                         its headers are installed, else kver
#        kernel-paths.sh kdir [KVER]      its headers (make -C KDIR M=...)
#        kernel-paths.sh image [KVER]     its bzImage
#        kernel-paths.sh moddir [KVER]    its modules
#        kernel-paths.sh busybox          a static busybox
# KVER defaults to $KVER, else the "kver" answer. For a piece that is nowhere
# the answer is the installed package's path, for error messages.
# Sourced (". kernel-paths.sh"), it only defines the kp_* functions.

KP_TOP=${VSNG_DEPS_CACHE:-/var/cache/vhost-scsi-ng}
KP_CACHE=$KP_TOP/kernel
KP_DEF_KVER=6.12.95+deb12-amd64

# Releases with headers, one a line.
kp_releases() {
	local d
	for d in "$KP_CACHE"/*/usr/src/linux-headers-6.12.*-amd64 /usr/src/linux-headers-6.12.*-amd64; do
		[ -f "$d/Makefile" ] && echo "${d##*/linux-headers-}"
	done
	return 0
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

kp_kver61() {
	local d
	for d in /usr/src/linux-headers-6.1.*-amd64; do
		[ -f "$d/Makefile" ] && echo "${d##*/linux-headers-}"
	done | sort -V | tail -n1
}

# (KP_RELEASE and KP_LIBMOD stand in for uname -r and /lib/modules in tests.)
kp_build_kver() {
	local r=${KP_RELEASE:-$(uname -r)}
	if [ -f "${KP_LIBMOD:-/lib/modules}/$r/build/Makefile" ]; then
		echo "$r"
	else
		kp_kver
	fi
}

# kp_pick CACHED INSTALLED: the cached path if it is there
kp_pick() { if [ -e "$1" ]; then echo "$1"; else echo "$2"; fi; }

kp_kdir() {
	local k=${1:-${KVER:-$(kp_kver)}}
	if [ ! -e "$KP_CACHE/$k/usr/src/linux-headers-$k" ] && [ ! -e "/usr/src/linux-headers-$k" ] &&
	   [ -f "${KP_LIBMOD:-/lib/modules}/$k/build/Makefile" ]; then
		echo "${KP_LIBMOD:-/lib/modules}/$k/build"	# headers not from a Debian package
	else
		kp_pick "$KP_CACHE/$k/usr/src/linux-headers-$k" "/usr/src/linux-headers-$k"
	fi
}

kp_image() {
	local k=${1:-${KVER:-$(kp_kver)}}
	kp_pick "$KP_CACHE/$k/boot/vmlinuz-$k" "/boot/vmlinuz-$k"
}

kp_moddir() {
	local k=${1:-${KVER:-$(kp_kver)}}
	kp_pick "$KP_CACHE/$k/lib/modules/$k" "/lib/modules/$k"
}

kp_busybox() { kp_pick "$KP_TOP/busybox/bin/busybox" /bin/busybox; }

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case "${1:-}" in
	kver|kver61|build-kver|busybox) "kp_${1/-/_}" ;;
	kdir|image|moddir) "kp_$1" "${2:-}" ;;
	*) echo "usage: kernel-paths.sh kver|kver61|build-kver|kdir|image|moddir|busybox [KVER]" >&2; exit 2 ;;
	esac
fi
