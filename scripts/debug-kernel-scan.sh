#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debug-kernel-scan.sh: find kernel error reports (KASAN, lockdep, sleeping
# in atomic, kmemleak, hung tasks, oopses, warnings) of a debug-kernel run.
#
# Usage:
#   scripts/debug-kernel-scan.sh logs LOGDIR...   (host) scan console.log,
#       dmesg.txt and kmemleak.txt of vm-run log dirs; prints each report's
#       first line as "# <dir>: <line>" and exits 1 if any were found, 0 if
#       the logs are clean, 2 if a LOGDIR has no console.log.
#   scripts/debug-kernel-scan.sh kmemleak-clear   (guest) stop automatic
#       scans, scan once and forget what leaked so far (boot noise); call
#       at the start of a test session.
#   scripts/debug-kernel-scan.sh kmemleak-scan    (guest) scan twice and write
#       what kmemleak reports to $VSNG_RESULTS/kmemleak.txt (and print it);
#       call at the end of a test session, after unloading the modules.
# The guest commands are no-ops on a kernel without kmemleak.

set -u

# One extended regex per line; any match is a failure.
PATTERNS='BUG: KASAN
BUG: KFENCE
WARNING: possible circular locking
possible recursive locking detected
WARNING: inconsistent lock state
WARNING: suspicious RCU usage
BUG: lock held when returning
WARNING: bad unlock balance
BUG: sleeping function called from invalid context
BUG: scheduling while atomic
BUG: workqueue leaked lock
unreferenced object 0x
INFO: task .* blocked for more than
BUG: soft lockup
rcu: INFO: rcu_.* detected stall
Oops
general protection fault
BUG: unable to handle
Kernel panic
kernel BUG at
WARNING: CPU: [0-9]+ PID: [0-9]+ at
WARNING: .* at .*\+0x
list_(add|del) corruption
refcount_t: '

KMEMLEAK=/sys/kernel/debug/kmemleak

usage() { sed -n '3,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

ensure_debugfs() {
	[ -d /sys/kernel/debug/tracing ] || [ -e $KMEMLEAK ] ||
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
}

case "${1:-}" in
logs)
	shift
	[ $# -gt 0 ] || usage
	found=0
	for d in "$@"; do
		if [ ! -f "$d/console.log" ]; then
			echo "# $d: no console.log" >&2
			found=2
			continue
		fi
		for f in console.log dmesg.txt kmemleak.txt; do
			[ -f "$d/$f" ] || continue
			hits=$(grep -a -E -f <(printf '%s\n' "$PATTERNS") "$d/$f" |
				sed 's/^\[ *[0-9.]*\] //' | sort -u)
			[ -n "$hits" ] || continue
			[ "$found" = 0 ] && found=1
			printf '%s\n' "$hits" | sed "s|^|# $d/$f: |"
		done
	done
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
