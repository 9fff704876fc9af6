#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkdeb.sh (make deb): build vhost-scsi-ng-dkms_<version>_all.deb with
# Debian's own tools (dpkg-buildpackage, debhelper, dh-dkms) from a scratch
# copy of the tree: the source DKMS needs (scripts/dkms-src.sh), debian/ and
# the modprobe.d drop-in. The version is VSNG_VERSION in
# drivers/vhost-scsi-ng/vsng.h; debian/changelog is written here from it.
#
# Usage: scripts/mkdeb.sh [OUTDIR]    default OUTDIR: results/deb
# Prints the path of the .deb as its last line. Needs debhelper, dh-dkms and
# dpkg-dev (make deps); no root, no kernel headers.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
OUT=${1:-$REPO/results/deb}
PKG=vhost-scsi-ng-dkms

die() { echo "mkdeb: $*" >&2; exit 1; }

for t in dpkg-buildpackage dh dh_dkms; do
	command -v "$t" >/dev/null || die "$t missing: run make deps (debhelper, dh-dkms, dpkg-dev)"
done
VERSION=$("$REPO/scripts/dkms-src.sh" --version)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)

tmp=$(mktemp -d /tmp/vsng-mkdeb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/vhost-scsi-ng-$VERSION
mkdir -p "$src"
# The package's inputs, as tracked by git when this is a checkout.
(
	cd "$REPO"
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && [ -n "$(git ls-files debian/control)" ]; then
		git ls-files -z -- debian dkms.conf modprobe.d scripts/dkms-src.sh \
			Kbuild Makefile drivers include scripts/kprobe.sh scripts/kprobes.d scripts/kernel-paths.sh
	else
		dirs=(debian dkms.conf modprobe.d scripts/dkms-src.sh Kbuild Makefile drivers include
		      scripts/kprobe.sh scripts/kernel-paths.sh)
		[ -d scripts/kprobes.d ] && dirs+=(scripts/kprobes.d)
		find "${dirs[@]}" -type f ! -name '*.o' ! -name '*.cmd' ! -name '*.ko' ! -name '*.mod*' \
			! -name compat-autoconf.h -print0
	fi
) | tar -C "$REPO" --null -T - -cf - | tar -C "$src" -xf -
# dkms-src.sh stages from a git checkout: make this copy one too.
git -C "$src" init -q && git -C "$src" add -A >/dev/null

cat >"$src/debian/changelog" <<EOC
vhost-scsi-ng ($VERSION) unstable; urgency=medium

  * vhost-scsi-ng $VERSION (built by scripts/mkdeb.sh from
    $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo 'a tree without git')).

 -- vhost-scsi-ng developers <vhost-scsi-ng@localhost>  $(date -R)
EOC

(cd "$src" && dpkg-buildpackage -b -uc -us -tc) >"$tmp/build.log" 2>&1 || {
	tail -n 40 "$tmp/build.log" >&2
	die "dpkg-buildpackage failed"
}
deb=${PKG}_${VERSION}_all.deb
[ -f "$tmp/$deb" ] || die "dpkg-buildpackage made no $deb"
mv "$tmp/$deb" "$OUT/$deb"
cp "$tmp/build.log" "$OUT/${PKG}_${VERSION}.build.log"
echo "$OUT/$deb"
