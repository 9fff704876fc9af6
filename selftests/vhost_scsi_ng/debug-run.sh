#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole test session of `make check KERNEL=debug`, INSIDE a guest booted
# on the debug kernel (scripts/debug-kernel.sh), one boot for everything:
#   1. forget kmemleak's boot-time objects
#   2. KUnit tests (kunit.sh; ours only)
#   3. the selftest suite (run.sh) against $TARGET
#   4. kmemleak scan after the modules are unloaded: any leak is "not ok"
# The TAP of the parts is printed as one stream with one numbering.
# The host then scans the console log (scripts/debug-kernel-scan.sh logs).
#
#   TARGET=ours|intree VSNG_MODULE=<debug-built .ko> debug-run.sh

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
TARGET=${TARGET:-ours}
export TARGET
n=0
rc=0

# Renumber the TAP of one part into the common stream (as it comes).
part() {
	local l
	while IFS= read -r l; do
		case "$l" in
		__part_rc=0) ;;
		__part_rc=*) rc=1 ;;
		"ok "[0-9]*|"not ok "[0-9]*)
			n=$((n + 1))
			echo "$l" | sed -E "s/^(not )?ok [0-9]+/\\1ok $n/" ;;
		"TAP version"*|1..[0-9]*) echo "# $l" ;;
		*) echo "$l" ;;
		esac
	done < <("$@" 2>&1; echo "__part_rc=$?")
}

echo "TAP version 13"
echo "# debug kernel $(uname -r), target $TARGET"
"$TOP/scripts/debug-kernel-scan.sh" kmemleak-clear
if [ "$TARGET" = ours ] && [ -z "${VSNG_NO_KUNIT:-}" ]; then
	part bash "$HERE/kunit.sh"
fi
part bash "$HERE/run.sh"
n=$((n + 1))
if "$TOP/scripts/debug-kernel-scan.sh" kmemleak-scan >/tmp/kmemleak.out 2>&1; then
	echo "ok $n kmemleak_clean"
else
	echo "not ok $n kmemleak_clean"
	sed 's/^/# /' /tmp/kmemleak.out | head -60
	rc=1
fi
echo "1..$n"
exit $rc
