#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-paths-test.sh: scripts/kernel-paths.sh on a fake cache (issue 21):
# what make deps extracted into the cache wins over installed packages, the
# project's default 6.12 release wins over a newer one, the Makefile
# builds against the cache's headers, and a plain build picks the running
# kernel when its headers are installed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
KP=$REPO/scripts/kernel-paths.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
N=0 FAILED=0
export VSNG_DEPS_CACHE=$T/cache
unset KVER KDIR

check() {	# NAME WANT GOT
	N=$((N + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $N - $1"
	else
		echo "not ok $N - $1: got '$3', want '$2'"
		FAILED=$((FAILED + 1))
	fi
}
fake_kernel() {	# KVER: the tree deps.sh extracts
	local r=$VSNG_DEPS_CACHE/kernel/$1
	mkdir -p "$r/boot" "$r/lib/modules/$1/kernel" "$r/usr/src/linux-headers-$1"
	touch "$r/boot/vmlinuz-$1"
	echo "include $r/usr/src/linux-headers-$1-common/Makefile" >"$r/usr/src/linux-headers-$1/Makefile"
}

K=6.12.95+deb12-amd64
check "empty cache: installed headers" "/usr/src/linux-headers-$K" "$("$KP" kdir "$K")"
check "empty cache: installed image" "/boot/vmlinuz-$K" "$("$KP" image "$K")"
check "empty cache: installed modules" "/lib/modules/$K" "$("$KP" moddir "$K")"
check "empty cache: installed busybox" /bin/busybox "$("$KP" busybox)"

fake_kernel "$K"
mkdir -p "$VSNG_DEPS_CACHE/busybox/bin" && touch "$VSNG_DEPS_CACHE/busybox/bin/busybox"
C=$VSNG_DEPS_CACHE
check "cached headers first" "$C/kernel/$K/usr/src/linux-headers-$K" "$("$KP" kdir "$K")"
check "cached image first" "$C/kernel/$K/boot/vmlinuz-$K" "$("$KP" image "$K")"
check "cached modules first" "$C/kernel/$K/lib/modules/$K" "$("$KP" moddir "$K")"
check "cached busybox first" "$C/busybox/bin/busybox" "$("$KP" busybox)"
check "KVER from the environment" "$C/kernel/$K/boot/vmlinuz-$K" "$(KVER=$K "$KP" image)"

fake_kernel 6.12.999+deb12-amd64
check "the default release wins over a newer one" "$K" "$("$KP" kver)"
# shellcheck disable=SC1090,SC2034
check "else the newest" 6.12.999+deb12-amd64 "$(. "$KP"; KP_DEF_KVER=6.12.1-none; kp_kver)"

got=$(cd "$REPO" && make -s --no-print-directory -f - KVER=6.12.999+deb12-amd64 <<<'include Makefile
print-kdir: ; @echo $(KDIR)' print-kdir 2>&1)
check "the Makefile builds against the cache's headers" "$C/kernel/6.12.999+deb12-amd64/usr/src/linux-headers-6.12.999+deb12-amd64" "$got"

# What a plain "make module" builds for (issue 17): the running kernel when
# its headers are installed, else the test guest's.
L=$T/libmod
mkdir -p "$L/6.1.0-99-amd64/build" "$L/6.18.0-nohdr/kernel"
echo all: >"$L/6.1.0-99-amd64/build/Makefile"
check "build-kver: the running kernel, its headers installed" 6.1.0-99-amd64 \
	"$(KP_LIBMOD=$L KP_RELEASE=6.1.0-99-amd64 "$KP" build-kver)"
check "build-kver: the test kernel when the running one has no headers" "$K" \
	"$(KP_LIBMOD=$L KP_RELEASE=6.18.0-nohdr "$KP" build-kver)"
check "kdir: /lib/modules/<kver>/build when no package has the headers" "$L/6.1.0-99-amd64/build" \
	"$(KP_LIBMOD=$L "$KP" kdir 6.1.0-99-amd64)"
got=$(cd "$REPO" && KP_LIBMOD=$L KP_RELEASE=6.1.0-99-amd64 make -s --no-print-directory -f - <<<'include Makefile
print-kver: ; @echo $(KVER) $(KDIR)' print-kver 2>&1)
check "the Makefile: plain goals build for the running kernel" "6.1.0-99-amd64 $L/6.1.0-99-amd64/build" "$got"
got=$(cd "$REPO" && KP_LIBMOD=$L KP_RELEASE=6.1.0-99-amd64 make -n -s --no-print-directory -f - print-kver check-full <<<'include Makefile
print-kver: ; @echo $(KVER)' 2>&1 | sed -n 's/^echo //p')
check "the Makefile: test-guest goals (check-full) build for the guest's kernel" "$K" "$got"

echo "1..$N"
[ $FAILED = 0 ]
