#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# boot-untouched.sh: `make deps` (and `make demo`) on a fresh Debian 12 must
# leave the machine's boot configuration byte-identical (issue 21). Not part
# of `make check`: it needs root, Debian's archive and 10-30 minutes.
#
# In DIR/root (a chroot; DIR default /var/tmp/vsng-setup-test):
#   1. a fresh Debian 12 minbase (debootstrap, itself only extracted from its
#      package into DIR, not installed), or a copy of --base BASEDIR;
#   2. made to look like a host running its stock kernel: linux-image-amd64
#      (6.1) and grub-pc from bookworm, update-grub;
#   3. the committed HEAD of this checkout cloned into /root/vhost-scsi-ng;
#   4. boot configuration recorded: grub-editenv list, grub.cfg's default
#      entry and checksum, ls -l /boot /boot/grub, the /vmlinuz links;
#   5. scripts/deps.sh --yes (the first run, as .ci/run does where make is
#      missing), then `make deps` again, which must print one line;
#   6. with --demo: `make demo` (a guest booting the cached kernel);
#   7. boot configuration recorded again: must be identical;
#   8. with --distclean: `make distclean-deps YES=1`; the backports source,
#      the cache and the packages setup installed must be gone.
# Prints TAP; the records are DIR/boot-before.txt, DIR/boot-after.txt.
#
# Usage: scripts/tests/boot-untouched.sh [--dir DIR] [--base BASEDIR]
#            [--demo] [--distclean] [--keep]
# --keep leaves the chroot in place (it is deleted at the start of a run).
set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd -P)
DIR=/var/tmp/vsng-setup-test
BASE=
DEMO=0
DISTCLEAN=0
KEEP=0
while [ $# -gt 0 ]; do
	case "$1" in
	--dir) DIR=${2:?}; shift 2 ;;
	--base) BASE=${2:?}; shift 2 ;;
	--demo) DEMO=1; shift ;;
	--distclean) DISTCLEAN=1; shift ;;
	--keep) KEEP=1; shift ;;
	-h|--help) sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "boot-untouched: unknown option $1" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "boot-untouched: must run as root (debootstrap, chroot)" >&2; exit 2; }
case "$DIR" in /|/tmp|/tmp/*) echo "boot-untouched: pick another --dir than $DIR" >&2; exit 2 ;; esac
C=$DIR/root
MIRROR=${MIRROR:-http://deb.debian.org/debian}
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n $*"; }
say() { echo "# $*"; }

umount_all() {
	local m
	# deepest first; only what is under the chroot
	for m in $(awk -v c="$C" '$5 == c || index($5, c "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null
	done
}
cleanup() {
	umount_all
	[ "$KEEP" = 1 ] || rm -rf "$C"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_chroot() {
	chroot "$C" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root TERM=dumb LANG=C.UTF-8 "$@"
}

# The boot configuration, as the machine's boot loader sees it.
boot_record() {
	in_chroot sh -c '
		echo "## grub-editenv list"; grub-editenv list 2>&1
		echo "## grub.cfg: default, first entry"
		grep -m1 "^set default" /boot/grub/grub.cfg
		sed -n "/^menuentry /,/^}/p" /boot/grub/grub.cfg | sed "/^}/q"
		echo "## sha256"; sha256sum /boot/grub/grub.cfg /boot/grub/grubenv /etc/default/grub
		echo "## ls -l /boot /boot/grub"; ls -l --time-style=full-iso /boot /boot/grub
		echo "## kernel links in /"; ls -l --time-style=full-iso /vmlinuz* /initrd.img* 2>&1
	'
}

umount_all
rm -rf "$C"
mkdir -p "$DIR" || exit 2
t0=$SECONDS
if [ -n "$BASE" ]; then
	say "copying $BASE"
	cp -a "$BASE" "$C" || { notok "fresh Debian 12 in $C"; exit 1; }
else
	say "debootstrap bookworm (minbase) into $C"
	rm -rf "$DIR/debootstrap"
	mkdir -p "$DIR/debootstrap" && chown _apt "$DIR/debootstrap" 2>/dev/null
	(cd "$DIR/debootstrap" && apt-get download -qq debootstrap && dpkg-deb -x debootstrap_*.deb x) ||
		{ notok "fresh Debian 12: cannot get debootstrap"; exit 1; }
	DEBOOTSTRAP_DIR=$DIR/debootstrap/x/usr/share/debootstrap \
		"$DIR/debootstrap/x/usr/sbin/debootstrap" --variant=minbase bookworm "$C" "$MIRROR" >"$DIR/debootstrap.log" 2>&1 ||
		{ notok "fresh Debian 12: debootstrap failed, see $DIR/debootstrap.log"; exit 1; }
fi
ok "fresh Debian 12 minbase in $C ($((SECONDS - t0)) s)"

# grub-probe needs the chroot's root to be a mount point and /dev, /proc.
mount --bind "$C" "$C" && mount --make-private "$C" &&
	mount -t proc proc "$C/proc" && mount -t sysfs sysfs "$C/sys" &&
	mount --rbind /dev "$C/dev" && mount --make-rslave "$C/dev" ||
	{ notok "mounts in the chroot"; exit 1; }
cp /etc/resolv.conf "$C/etc/resolv.conf"

t0=$SECONDS
in_chroot sh -c '
	export DEBIAN_FRONTEND=noninteractive
	echo "grub-pc grub-pc/install_devices multiselect" | debconf-set-selections
	apt-get update -qq && apt-get install -y -qq --no-install-recommends linux-image-amd64 grub-pc >/dev/null &&
	update-grub' >"$DIR/host-kernel.log" 2>&1
if in_chroot sh -c 'ls /boot/vmlinuz-6.1.* && grep -q "^menuentry" /boot/grub/grub.cfg' >/dev/null 2>&1; then
	ok "host set up with its stock kernel and grub: $(in_chroot sh -c 'ls /boot/vmlinuz-*' | xargs -n1 basename | paste -sd' ') ($((SECONDS - t0)) s)"
else
	notok "host set up with its stock kernel and grub (see $DIR/host-kernel.log)"
	exit 1
fi

rm -rf "$C/root/vhost-scsi-ng"
git clone -q "$REPO" "$C/root/vhost-scsi-ng" || { notok "clone of $REPO"; exit 1; }
say "testing commit $(git -C "$C/root/vhost-scsi-ng" log --oneline -1)"
[ -z "$(git -C "$REPO" status --porcelain --untracked-files=no)" ] || say "note: $REPO has uncommitted changes; they are not tested"

boot_record >"$DIR/boot-before.txt"

t0=$SECONDS
in_chroot bash -c 'cd /root/vhost-scsi-ng && scripts/deps.sh --yes' >"$DIR/deps-1.log" 2>&1
rc=$?
sed 's/^/#   /' "$DIR/deps-1.log"
if [ $rc = 0 ]; then ok "setup, first run: scripts/deps.sh --yes ($((SECONDS - t0)) s)"; else notok "setup, first run (exit $rc)"; fi

in_chroot bash -c 'cd /root/vhost-scsi-ng && make -s deps' >"$DIR/deps-2.log" 2>&1
rc=$?
sed 's/^/#   /' "$DIR/deps-2.log"
lines=$(wc -l <"$DIR/deps-2.log")
if [ $rc = 0 ] && [ "$lines" = 1 ]; then ok "setup, second run: make deps prints one line"; else notok "setup, second run: exit $rc, $lines lines"; fi

if [ "$DEMO" = 1 ]; then
	t0=$SECONDS
	in_chroot bash -c 'cd /root/vhost-scsi-ng && make demo' >"$DIR/demo.log" 2>&1
	rc=$?
	tail -n 15 "$DIR/demo.log" | sed 's/^/#   /'
	if [ $rc = 0 ]; then ok "make demo in the chroot ($((SECONDS - t0)) s)"; else notok "make demo in the chroot (exit $rc, see $DIR/demo.log)"; fi
fi

boot_record >"$DIR/boot-after.txt"
if cmp -s "$DIR/boot-before.txt" "$DIR/boot-after.txt"; then
	ok "boot configuration byte-identical before and after ($(wc -l <"$DIR/boot-after.txt") lines: $DIR/boot-before.txt)"
else
	notok "boot configuration changed:"
	diff -u "$DIR/boot-before.txt" "$DIR/boot-after.txt" | sed 's/^/#   /'
fi
if in_chroot sh -c 'dpkg -l "linux-image-6.12*"' 2>/dev/null | grep -q '^ii'; then
	notok "no 6.12 kernel image package installed"
else
	ok "no 6.12 kernel image package installed"
fi
say "disk use: $(du -sh "$C/var/cache/vhost-scsi-ng/kernel" "$C/usr/src" 2>/dev/null | awk '{ print $2 " " $1 }' | sed "s|$C||" | paste -sd';' | sed 's/;/; /g')"

if [ "$DISTCLEAN" = 1 ]; then
	in_chroot bash -c 'cd /root/vhost-scsi-ng && make -s distclean-deps YES=1' >"$DIR/distclean.log" 2>&1
	rc=$?
	sed 's/^/#   /' "$DIR/distclean.log" | cut -c1-300
	left=$(in_chroot sh -c 'ls -d /etc/apt/sources.list.d/bookworm-backports.sources /var/cache/vhost-scsi-ng /var/lib/vhost-scsi-ng /usr/bin/qemu-system-x86_64 /usr/src/linux-source-6.12.tar.xz 2>/dev/null')
	if [ $rc = 0 ] && [ -z "$left" ]; then
		ok "make distclean-deps removed the backports source, the cache, QEMU, linux-source"
	else
		notok "make distclean-deps: exit $rc, left: $left"
	fi
	boot_record >"$DIR/boot-after-distclean.txt"
	if cmp -s "$DIR/boot-before.txt" "$DIR/boot-after-distclean.txt"; then
		ok "boot configuration byte-identical after distclean-deps"
	else
		notok "boot configuration changed by distclean-deps:"
		diff -u "$DIR/boot-before.txt" "$DIR/boot-after-distclean.txt" | sed 's/^/#   /'
	fi
fi
echo "1..$n"
[ $fails = 0 ]
