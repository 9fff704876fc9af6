#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-src.sh (make dkms-src): stage the module's source tree as DKMS wants
# it, /usr/src/vhost-scsi-ng-<version>/ (under DESTDIR when given): Kbuild,
# the Makefile (and this script, which it asks for the version), drivers/,
# include/, the feature probes (scripts/kprobe.sh,
# scripts/kprobes.d/) and dkms.conf with its version filled in. The version
# is VSNG_VERSION in drivers/vhost-scsi-ng/vsng.h, the only place it is kept.
#
# Usage: scripts/dkms-src.sh [DESTDIR]      prints the staged directory
#        scripts/dkms-src.sh --version      prints the version only
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
NAME=vhost-scsi-ng

die() { echo "dkms-src: $*" >&2; exit 1; }

VERSION=$(sed -n 's/^#define[[:space:]]\+VSNG_VERSION[[:space:]]\+"\([^"]*\)".*/\1/p' \
	"$REPO/drivers/vhost-scsi-ng/vsng.h")
[ -n "$VERSION" ] || die "no VSNG_VERSION in drivers/vhost-scsi-ng/vsng.h"
if [ "${1:-}" = --version ]; then
	echo "$VERSION"
	exit 0
fi

DEST=${1:-}/usr/src/$NAME-$VERSION
FILES=(Kbuild Makefile drivers include scripts/kprobe.sh scripts/kprobes.d scripts/kernel-paths.sh
	scripts/dkms-src.sh)

rm -rf "$DEST"
mkdir -p "$DEST"
cd "$REPO"
# Tracked files only when this is a git checkout (no build products), else
# the sources by name.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && [ -n "$(git ls-files Kbuild)" ]; then
	git ls-files -z -- "${FILES[@]}"
else
	find "${FILES[@]}" -type f \( -name '*.[ch]' -o -name '*.sh' -o -name Kbuild -o -name Makefile \) \
		! -name compat-autoconf.h ! -name '*.mod.c' -print0 2>/dev/null
fi | tar --null -T - -cf - | tar -C "$DEST" -xf -
if [ ! -f "$DEST/Kbuild" ] || [ ! -f "$DEST/drivers/vhost-scsi-ng/main.c" ]; then
	die "staging $DEST failed"
fi
sed "s/#MODULE_VERSION#/$VERSION/" dkms.conf >"$DEST/dkms.conf"
echo "$DEST"
