#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lint.sh (make lint): our kernel C sources must be clean under
#   1. checkpatch.pl --strict --no-tree -f, for every .c/.h under drivers/ and
#      include/ (errors, warnings and checks all count);
#   2. a W=1 build of the module (any compiler warning fails);
#   3. sparse through Kbuild's C=2 (any sparse warning fails).
# checkpatch.pl and its data files (spelling.txt, const_structs.checkpatch)
# are not in the repo: they are extracted once from Debian's
# /usr/src/linux-source-6.12.tar.xz into the cache dir (VSNG_CACHE_DIR,
# default /var/cache/vhost-scsi-ng or ~/.cache/vhost-scsi-ng).
# Prints TAP lines (one per file for checkpatch, one for W=1, one for
# sparse) and exits non-zero when anything is not clean. Logs go to
# $LINT_LOGDIR (default results/lint).

set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$REPO" || exit 2
KVER=${KVER:-$(scripts/kernel-paths.sh kver)}
KDIR=${KDIR:-$(scripts/kernel-paths.sh kdir "$KVER")}
TARBALL=${KSRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
LOGDIR=${LINT_LOGDIR:-$REPO/results/lint}
mkdir -p "$LOGDIR"

if [ -n "${VSNG_CACHE_DIR:-}" ]; then
	CACHE=$VSNG_CACHE_DIR
elif mkdir -p /var/cache/vhost-scsi-ng 2>/dev/null && [ -w /var/cache/vhost-scsi-ng ]; then
	CACHE=/var/cache/vhost-scsi-ng
else
	CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/vhost-scsi-ng
fi
CPDIR=$CACHE/checkpatch-6.12
CHECKPATCH=$CPDIR/scripts/checkpatch.pl

n=0 failed=0
tap_ok() { n=$((n + 1)); echo "ok $n $1"; }
tap_notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $1"; }

# ---- checkpatch ------------------------------------------------------------
if [ ! -f "$CHECKPATCH" ] || [ ! -f "$CPDIR/scripts/spelling.txt" ] ||
   [ ! -f "$CPDIR/scripts/const_structs.checkpatch" ]; then
	[ -f "$TARBALL" ] || { echo "lint: $TARBALL missing (run make deps)" >&2; exit 2; }
	echo "# lint: extracting checkpatch.pl from $TARBALL into $CPDIR" >&2
	tmp=$(mktemp -d "$CACHE/.cp.XXXXXX") || exit 2
	tar -xJf "$TARBALL" -C "$tmp" --strip-components=1 \
		linux-source-6.12/scripts/checkpatch.pl \
		linux-source-6.12/scripts/spelling.txt \
		linux-source-6.12/scripts/const_structs.checkpatch || { rm -rf "$tmp"; exit 2; }
	rm -rf "$CPDIR"
	mv "$tmp" "$CPDIR"
fi

if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
	mapfile -t FILES < <(git -C "$REPO" ls-files -co --exclude-standard -- \
		'drivers/*.c' 'drivers/*.h' 'include/*.c' 'include/*.h' | sort -u)
else
	mapfile -t FILES < <(find drivers include -name '*.[ch]' | sort)
fi
# generated files are not ours to style
FILES=("${FILES[@]/drivers\/vhost-scsi-ng\/compat-autoconf.h/}")
: >"$LOGDIR/checkpatch.log"
# checkpatch.pl is slow (seconds per file): run it on all files in parallel
# (one job per CPU), then report in file order.
JOBS=$(nproc 2>/dev/null || echo 2)
CPOUT=$(mktemp -d)
trap 'rm -rf "$CPOUT"' EXIT
i=0
for f in "${FILES[@]}"; do
	[ -n "$f" ] && [ -f "$f" ] || continue
	printf '%s\0%s\0' "$i" "$f"
	i=$((i + 1))
done | xargs -0 -n 2 -P "$JOBS" sh -c '
	perl "$0" --strict --no-tree --no-summary --show-types --terse -f "$3" >"$1/$2.out" 2>&1
	echo $? >"$1/$2.rc"' "$CHECKPATCH" "$CPOUT"
i=0
for f in "${FILES[@]}"; do
	[ -n "$f" ] && [ -f "$f" ] || continue
	out=$(cat "$CPOUT/$i.out" 2>/dev/null)
	rc=$(cat "$CPOUT/$i.rc" 2>/dev/null || echo 1)
	i=$((i + 1))
	if [ "$rc" = 0 ] && [ -z "$out" ]; then
		tap_ok "checkpatch --strict $f"
	else
		tap_notok "checkpatch --strict $f"
		echo "$out" | sed 's/^/# /'
		echo "$out" >>"$LOGDIR/checkpatch.log"
	fi
done

# ---- W=1 and sparse (C=2) --------------------------------------------------
scripts/kprobe.sh "$KDIR" drivers/vhost-scsi-ng/compat-autoconf.h >/dev/null 2>&1
warnings() {	# LOG: compiler/sparse diagnostics, minus make's own chatter
	grep -E '(warning|error):' "$1" | grep -vE '^make(\[[0-9]+\])?: ' || true
}

# One build does both: W=1 makes the compiler strict, C=2 runs sparse on
# every file (whether or not it is rebuilt). The resulting .ko is an
# ordinary build (W=1 only adds warnings), so no rebuild follows.
if command -v sparse >/dev/null; then
	SPARSE=(C=2)
else
	SPARSE=()
fi
make -j"$JOBS" -C "$KDIR" M="$REPO" W=1 "${SPARSE[@]}" modules >"$LOGDIR/w1-sparse.log" 2>&1
rc=$?
# gcc and sparse both print "file:line:col: warning: ..."; gcc's end with
# the option that enabled them ([-W...]), which tells the two apart.
w=$(warnings "$LOGDIR/w1-sparse.log")
wcc=$(echo "$w" | grep -E '\[-W[^]]*\]$|error:' || true)
wsp=$(echo "$w" | grep -vE '\[-W[^]]*\]$|error:' || true)
if [ $rc = 0 ] && [ -z "$wcc" ]; then
	tap_ok "W=1 build"
else
	tap_notok "W=1 build (exit $rc)"
	{ [ -n "$wcc" ] && echo "$wcc" || tail -n 20 "$LOGDIR/w1-sparse.log"; } | sed 's/^/# /'
fi
if [ ${#SPARSE[@]} = 0 ]; then
	tap_notok "sparse C=2 # sparse not installed (make deps)"
elif [ $rc = 0 ] && [ -z "$wsp" ]; then
	tap_ok "sparse C=2"
else
	tap_notok "sparse C=2"
	{ [ -n "$wsp" ] && echo "$wsp" || echo "build failed, see W=1"; } | sed 's/^/# /'
fi

echo "1..$n"
echo "# lint: $((n - failed)) clean, $failed not clean (logs in $LOGDIR)"
[ $failed = 0 ]
