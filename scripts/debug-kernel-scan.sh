#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debug-kernel-scan.sh: find kernel error reports (KASAN, lockdep, sleeping
# in atomic, kmemleak, hung tasks, oopses, warnings) of a debug-kernel run.
#
# Usage:
#   scripts/debug-kernel-scan.sh logs LOGDIR...   (host) scan console.log,
#       dmesg.txt and kmemleak.txt of vm-run log dirs with
#       scripts/kreport-scan.py; prints each report's first line with its
#       origin (the target or LIO, or kernel/platform) and a count by origin;
#       exits 1 if a report of the target or LIO was found, 0 if none was,
#       2 if a LOGDIR has no console.log.
#   scripts/debug-kernel-scan.sh kmemleak-clear   (guest) stop automatic
#       scans, scan once and forget what leaked so far (boot noise); call
#       at the start of a test session.
#   scripts/debug-kernel-scan.sh kmemleak-scan    (guest) scan twice and write
#       what kmemleak reports to $VSNG_RESULTS/kmemleak.txt (and print it);
#       call at the end of a test session, after unloading the modules.
# The guest commands are no-ops on a kernel without kmemleak.

set -u

# The report patterns live in scripts/kreport-scan.py.

KMEMLEAK=/sys/kernel/debug/kmemleak

usage() { sed -n '3,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

ensure_debugfs() {
	[ -d /sys/kernel/debug/tracing ] || [ -e $KMEMLEAK ] ||
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
}

case "${1:-}" in
logs)
	# Sorted by origin (scripts/kreport-scan.py): a report with a frame of
	# the target or LIO fails; a kernel/platform report (such as one from
	# before our module loaded) is printed on its own line and counted,
	# never dropped, but does not fail the run.
	shift
	[ $# -gt 0 ] || usage
	found=0
	files=()
	for d in "$@"; do
		if [ ! -f "$d/console.log" ]; then
			echo "# $d: no console.log" >&2
			found=2
			continue
		fi
		for f in console.log dmesg.txt kmemleak.txt; do
			[ -f "$d/$f" ] && files+=("$d/$f")
		done
	done
	if [ ${#files[@]} -gt 0 ]; then
		python3 "$(dirname "$0")/kreport-scan.py" "${files[@]}"
		rc=$?
		[ "$found" = 0 ] && found=$rc
	fi
	exit "$found"
	;;
kmemleak-clear)
	ensure_debugfs
	[ -w $KMEMLEAK ] || exit 0
	# No automatic scans from now on (a periodic scan would print boot-time
	# leaks into the kernel log in the middle of the tests); one scan now,
	# so that what leaked during boot is known, then forget all of it:
	# "clear" only greys objects a scan has already reported.
	echo scan=off >$KMEMLEAK
	echo scan >$KMEMLEAK
	echo clear >$KMEMLEAK
	;;
kmemleak-scan)
	ensure_debugfs
	[ -w $KMEMLEAK ] || exit 0
	# kmemleak reports only objects older than 5 s, and a first scan may
	# see a pointer only held in a register: scan, wait, scan again.
	echo scan >$KMEMLEAK
	sleep 6
	echo scan >$KMEMLEAK
	out=${VSNG_RESULTS:-/tmp}/kmemleak.txt
	cat $KMEMLEAK >"$out"
	if [ -s "$out" ]; then
		echo "kmemleak: $(grep -c 'unreferenced object' "$out") leak(s):" >&2
		cat "$out" >&2
		exit 1
	fi
	;;
*)
	usage
	;;
esac
exit 0
