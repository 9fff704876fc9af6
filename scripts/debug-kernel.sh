#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debug-kernel.sh: build (once per machine) a small debug kernel for the test
# guest from Debian's linux-source-6.12 tarball, with KASAN, lockdep,
# kmemleak, hung-task detection, fault injection and KUnit
# (scripts/debug-kernel.config on top of x86_64_defconfig).
#
# Usage:
#   scripts/debug-kernel.sh [--cache DIR] [-j N] [--force]   build if needed,
#                      print the bzImage path as the last line of stdout
#   scripts/debug-kernel.sh --env      print shell assignments (no build):
#                      DEBUG_KERNEL_DIR, BZIMAGE, KDIR, KREL, MODDIR, BUILT=0|1
#   scripts/debug-kernel.sh --path     print the bzImage path if built, else exit 1
#   scripts/debug-kernel.sh --module [OUTDIR]   build vhost_scsi_ng.ko against
#                      the debug tree in a scratch copy of the sources (default
#                      OUTDIR <cache>/<hash>/module, so the repo's own .ko for
#                      Debian's kernel is left alone); prints the .ko path. Use
#                      it in the guest with VSNG_MODULE=<that path>.
#
# The tree is extracted OUTSIDE the repo, into
#   ${VSNG_DEBUG_KERNEL_CACHE:-/var/cache/vhost-scsi-ng/debug-kernel}/<hash>/
# where <hash> covers the config fragment, this script's RECIPE version and
# the tarball, so a change to any gives a new kernel and an unchanged setup is
# a no-op.
# The source is extracted once per tarball into <cache>/src-<hash2>/.
# Layout of <hash>/:
#   build/                the O= build dir (KDIR)
#   bzImage               the kernel                 kernel.release
#   lib/modules/<rel>/    modules_install output (vhost_scsi.ko, LIO, brd...)
#   config                the final .config           build.log, build-time
# Out-of-tree modules build against it with: make -C <hash>/build M=$PWD
# Boot it with: scripts/vm-run --kernel <hash>/bzImage -- CMD
#
# The build runs as `nice -n 19 make -jN` (default N=2) so that it only takes
# idle CPU. Environment: VSNG_DEBUG_KERNEL_CACHE, LINUX_SOURCE_TARBALL, JOBS.

set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/.." && pwd -P)
FRAG=$REPO/scripts/debug-kernel.config
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
BASE=${VSNG_DEBUG_KERNEL_CACHE:-/var/cache/vhost-scsi-ng/debug-kernel}
JOBS=${JOBS:-2}
FORCE=0
MODE=build
MODOUT=

die() { echo "debug-kernel: $*" >&2; exit 1; }
log() { echo "debug-kernel: $*" >&2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--cache) BASE=${2:?}; shift 2 ;;
	--cache=*) BASE=${1#*=}; shift ;;
	-j) JOBS=${2:?}; shift 2 ;;
	-j*) JOBS=${1#-j}; shift ;;
	--force) FORCE=1; shift ;;
	--env) MODE=env; shift ;;
	--path) MODE=path; shift ;;
	--module) MODE=module; shift
		if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then MODOUT=$1; shift; fi ;;
	-h|--help) sed -n '3,/^$/p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1'" ;;
	esac
done
[[ $JOBS =~ ^[0-9]+$ ]] || die "-j needs a number"
[ -r "$FRAG" ] || die "missing $FRAG"
[ -r "$TARBALL" ] || die "missing $TARBALL (package linux-source-6.12 from bookworm-backports)"

# Bump RECIPE when the build steps below change what gets built; edits that
# do not (comments, --env output...) then do not throw away a cached kernel.
RECIPE=1
HASH=$( { sha256sum <"$FRAG"; echo "recipe $RECIPE"; stat -c '%n %s %Y' "$TARBALL"; } |
	sha256sum | cut -c1-12)
DIR=$BASE/$HASH
# The source is shared by all builds of the same tarball (O= builds leave it
# untouched); the build tree and outputs are per hash.
SRC=$BASE/src-$( stat -c '%n %s %Y' "$TARBALL" | sha256sum | cut -c1-12)
OUT=$DIR/build
DONE=$DIR/.complete

print_env() {
	local built=0 krel=
	[ -f "$DONE" ] && built=1
	[ -f "$DIR/kernel.release" ] && krel=$(cat "$DIR/kernel.release")
	printf 'DEBUG_KERNEL_DIR=%q\n' "$DIR"
	printf 'BZIMAGE=%q\n' "$DIR/bzImage"
	printf 'KDIR=%q\n' "$OUT"
	printf 'KREL=%q\n' "$krel"
	printf 'MODDIR=%q\n' "$DIR/lib/modules/$krel"
	printf 'BUILT=%s\n' "$built"
}

# Build our out-of-tree module against the debug tree, outside the repo.
build_module() {
	local out=${MODOUT:-$DIR/module} f
	[ -f "$DONE" ] || die "the debug kernel is not built yet (run $0)"
	mkdir -p "$out" || die "cannot create $out"
	out=$(cd "$out" && pwd -P)
	[ "$out" != "$REPO" ] || die "OUTDIR must not be the repo itself"
	rm -rf "$out/drivers" "$out/include"
	mkdir -p "$out/drivers"
	cp -a "$REPO/Kbuild" "$out/"
	cp -a "$REPO/include" "$out/include"
	cp -a "$REPO/drivers/vhost-scsi-ng" "$out/drivers/"
	# drop objects built for another kernel
	find "$out" \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name '*.a' \) -delete
	rm -f "$out/drivers/vhost-scsi-ng/compat-autoconf.h"
	"$REPO/scripts/kprobe.sh" "$OUT" "$out/drivers/vhost-scsi-ng/compat-autoconf.h" >&2 ||
		die "kprobe.sh failed against $OUT"
	make -C "$OUT" M="$out" modules >&2 || die "module build against $OUT failed"
	f=$out/vhost_scsi_ng.ko
	[ -f "$f" ] || die "no $f after the build"
	echo "$f"
}

case $MODE in
env) print_env; exit 0 ;;
path) [ -f "$DONE" ] || exit 1; echo "$DIR/bzImage"; exit 0 ;;
module) build_module; exit 0 ;;
esac

mkdir -p "$BASE" || die "cannot create $BASE"
exec 9>"$BASE/$HASH.lock"
if ! flock -n 9; then
	log "another build of $HASH is running; waiting for it"
	flock 9
fi

if [ "$FORCE" = 1 ]; then
	rm -f "$DONE"
fi
if [ -f "$DONE" ]; then
	log "up to date: $(cat "$DIR/kernel.release"), built in $(cat "$DIR/build-time" 2>/dev/null || echo '?')"
	echo "$DIR/bzImage"
	exit 0
fi

T0=$SECONDS
mkdir -p "$DIR"

# ---- 1. extract -------------------------------------------------------------
exec 8>"$SRC.lock"	# the source is shared between hashes
flock 8
if [ ! -f "$SRC/.extracted" ]; then
	log "extracting $TARBALL into $SRC"
	rm -rf "$SRC"
	mkdir -p "$SRC"
	nice -n 19 tar -xJf "$TARBALL" -C "$SRC" --strip-components=1
	touch "$SRC/.extracted"
fi
flock -u 8
T_EXTRACT=$((SECONDS - T0))

# ---- 2. configure -----------------------------------------------------------
mkdir -p "$OUT"
KMAKE=(make -C "$SRC" O="$OUT" ARCH=x86_64)
if [ ! -f "$OUT/.config" ] || ! cmp -s "$FRAG" "$DIR/fragment"; then
	log "configuring: x86_64_defconfig + $(basename "$FRAG")"
	"${KMAKE[@]}" -s x86_64_defconfig >&2
	# merge_config.sh -m: merge only; olddefconfig resolves dependencies.
	(cd "$OUT" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" \
		"$OUT/.config" "$FRAG" >"$DIR/merge.log" 2>&1) ||
		{ cat "$DIR/merge.log" >&2; die "merge_config failed"; }
	"${KMAKE[@]}" -s olddefconfig >&2
	cp "$FRAG" "$DIR/fragment"
fi

# Every option of the fragment must have survived olddefconfig.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		opt=${line%%=*}
		got=$(grep -E "^$opt=|^# $opt is not set" "$OUT/.config" || true)
		if [ "$got" != "$line" ]; then
			log "config: wanted '$line', got '${got:-<absent>}'"
			bad=1
		fi ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		if grep -qE "^$opt=" "$OUT/.config"; then
			log "config: wanted '$line', got '$(grep -E "^$opt=" "$OUT/.config")'"
			bad=1
		fi ;;
	esac
done <"$FRAG"
[ "$bad" = 0 ] || die "the config fragment did not apply cleanly (see above); fix $FRAG"
cp "$OUT/.config" "$DIR/config"

# ---- 3. build -----------------------------------------------------------------
log "building with nice -n 19 make -j$JOBS (log: $DIR/build.log)"
T1=$SECONDS
if ! nice -n 19 "${KMAKE[@]}" -j"$JOBS" bzImage modules >"$DIR/build.log" 2>&1; then
	tail -n 40 "$DIR/build.log" >&2
	die "kernel build failed; full log in $DIR/build.log"
fi
T_MAKE=$((SECONDS - T1))
# Only valid once the build has run syncconfig (it carries CONFIG_LOCALVERSION).
KREL=$(cat "$OUT/include/config/kernel.release")
[ -n "$KREL" ] || die "no kernel release in $OUT/include/config/kernel.release"

# ---- 4. install into the cache ------------------------------------------------
rm -rf "$DIR/lib/modules/$KREL"
nice -n 19 "${KMAKE[@]}" -s INSTALL_MOD_PATH="$DIR" INSTALL_MOD_STRIP=1 \
	modules_install >>"$DIR/build.log" 2>&1 ||
	{ tail -n 20 "$DIR/build.log" >&2; die "modules_install failed"; }
ln -sfn "$OUT" "$DIR/lib/modules/$KREL/build"
cp "$OUT/arch/x86/boot/bzImage" "$DIR/bzImage"
echo "$KREL" >"$DIR/kernel.release"
T_ALL=$((SECONDS - T0))
fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
echo "$(fmt $T_ALL) total (extract $(fmt $T_EXTRACT), make $(fmt $T_MAKE)) with -j$JOBS on $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)" \
	>"$DIR/build-time"
touch "$DONE"
log "built $KREL in $(cat "$DIR/build-time")"
log "modules: $DIR/lib/modules/$KREL  build tree (KDIR): $OUT"
echo "$DIR/bzImage"
