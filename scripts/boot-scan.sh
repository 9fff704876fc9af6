#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# boot-scan.sh: boot a kernel N times in the test guest (the command is
# `true`), scan every console with scripts/kreport-scan.py, and count the
# boots that printed a kernel report. For the debug kernel's boot-time KASAN
# report (Documentation/debug-kernel.md):
#
#   scripts/boot-scan.sh [--boots N] [--cpu MODEL] [--append ARGS] [--out DIR]
#                        [--kernel BZIMAGE]      (default: the debug kernel)
set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$REPO" || exit 2
N=20 CPU=max APPEND=() OUT= KERNEL=
while [ $# -gt 0 ]; do
	case "$1" in
	--boots) N=${2:?}; shift 2 ;;
	--cpu) CPU=${2:?}; shift 2 ;;
	--append) APPEND+=(--append "${2:?}"); shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--kernel) KERNEL=${2:?}; shift 2 ;;
	*) echo "boot-scan: unknown option $1" >&2; exit 2 ;;
	esac
done
KERNEL=${KERNEL:-$(scripts/debug-kernel.sh --path 2>/dev/null)} ||
	{ echo "boot-scan: no debug kernel built (scripts/debug-kernel.sh)" >&2; exit 2; }
OUT=${OUT:-$REPO/results/boot-scan/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
bad=0
for i in $(seq "$N"); do
	scripts/vm-run --kernel "$KERNEL" --cpu "$CPU" "${APPEND[@]}" --timeout 300 \
		--logdir "$OUT/boot-$i" -- true >/dev/null 2>&1
	rc=$?
	r=$(python3 scripts/kreport-scan.py "$OUT/boot-$i/console.log" | grep -v '^# reports by origin')
	if [ -n "$r" ] || [ $rc != 0 ]; then
		bad=$((bad + 1))
		echo "boot $i: exit $rc${r:+; }$(printf '%s' "$r" | head -n1 | sed 's/^# [^:]*: //')"
	else
		echo "boot $i: clean"
	fi
done | tee "$OUT/boots.txt"
bad=$(grep -vc ': clean$' "$OUT/boots.txt")
echo "boot-scan: $bad of $N boots with a kernel report or a failed boot (-cpu $CPU${APPEND[*]:+ ${APPEND[*]}}), logs in $OUT"
[ "$bad" = 0 ]
