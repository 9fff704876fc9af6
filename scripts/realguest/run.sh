#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: the real-guest tests. Runs INSIDE the test guest (scripts/vm-run):
#   scripts/vm-run --timeout 1500 --env TARGET=intree -- bash scripts/realguest/run.sh
#   scripts/vm-run -- bash scripts/realguest/run.sh basic kill   # some scenarios
#   scripts/vm-run --timeout 900 -- bash scripts/realguest/run.sh libvirt
# TARGET=ours (default: ./vhost_scsi_ng.ko) | intree (Debian's vhost_scsi).
# CI=true: in-tree runs a subset (see below). On the host, before vm-run:
#   scripts/realguest/run.sh --build-initrd   (fills the initramfs cache)
#
# Each scenario (scripts/realguest/<name>.sh) boots a nested-KVM inner guest
# whose virtio_scsi driver talks to LIO through QEMU's vhost-scsi-pci and the
# target under test. Output is TAP. A scenario whose inner guest died without
# a verdict (a platform failure: nested KVM on TCG is flaky) is run again, at
# most twice; after that it is reported "not ok ... platform failure". A
# scenario with a verdict is never retried. Logs: $VSNG_RESULTS/realguest/.
#
# Documentation/realguest-tests.md describes every scenario.

set -u
RG_DIR=$(cd "$(dirname "$0")" && pwd -P)
. "$RG_DIR/lib.sh"

# On the host, before vm-run: fill the cache with the inner initramfs.
if [ "${1:-}" = --build-initrd ]; then
	rg_build_base_initrd --cache || exit 1
	echo "realguest: inner initramfs $RG_BASE_INITRD"
	exit 0
fi

# Scenarios named on the command line may also be those left out of ALL on
# purpose, each run by make check's phase of its own: migrate (migrate-<t>)
# and libvirt (make check-full's libvirt-<t>; libvirtd in the test guest),
# multiqueue-packed (make check-full's packed-<t>).
ALL="basic multiqueue multilun persist hotplug reboot kill vhostfd reset faults basic-packed"
SCENARIOS=${*:-${RG_SCENARIOS:-$ALL}}
# CI reduced mode: under CI=true the in-tree target (the reference) runs
# only a subset, to fit the CI budget (about 12 minutes for the real-guest
# part, both targets): RG_SCENARIOS when scripts/check.sh passes one, else
# VSNG_CI_RG_INTREE (default "basic multiqueue basic-packed", the same default as
# check.sh). Every scenario left out is reported as a SKIP line. Ours always
# runs everything. VSNG_RG_FULL=1, or scenarios named on the command line,
# switch this off.
CI_SKIPPED=
if [ "${CI:-}" = true ] && [ "$TARGET" = intree ] && [ $# = 0 ] &&
	[ "${VSNG_RG_FULL:-0}" != 1 ]; then
	[ -n "${RG_SCENARIOS:-}" ] || SCENARIOS=${VSNG_CI_RG_INTREE:-basic multiqueue basic-packed}
	for s in $ALL; do
		[[ " $SCENARIOS " == *" $s "* ]] || CI_SKIPPED+=" $s"
	done
fi
# Fewer inner boots when both halves of a pair run: multilun leaves its LUNs
# and data for persist (saves persist's own write boot), and kill starts its
# second QEMU with vhostfd= (covers vhostfd, which is then not run alone).
has() { [[ " $SCENARIOS " == *" $1 "* ]]; }
if has multilun && has persist; then export RG_KEEP=1; fi
ORDER=$SCENARIOS
if has kill && has vhostfd; then
	export RG_VHOSTFD=1
	SCENARIOS=$(echo " $SCENARIOS " | sed 's/ vhostfd / /')
fi
MAX_RETRIES=2

N=0 PASS=0 FAIL=0 SKIP=0 RETRIES=0
START=$SECONDS
tap() {	# tap ok|not ok|skip NAME WHY
	N=$((N + 1))
	case "$1" in
	ok) PASS=$((PASS + 1)); echo "ok $N - $2" ;;
	skip) SKIP=$((SKIP + 1)); echo "ok $N - $2 # SKIP $3" ;;
	*) FAIL=$((FAIL + 1)); echo "not ok $N - $2${3:+ ($3)}" ;;
	esac
}

rg_log "real-guest tests, TARGET=$TARGET, scenarios: $SCENARIOS"
# RG_RESUMED=1: scripts/check.sh reruns what a boot that died of the
# platform left (scripts/rg-resume.py); it kept that boot's SKIP lines.
[ "${RG_RESUMED:-0}" = 1 ] && CI_SKIPPED=
for s in $CI_SKIPPED; do
	tap skip "$s (in-tree)" "CI=true reduced mode: in-tree runs only$(printf ' %s' $SCENARIOS) (VSNG_RG_FULL=1 or no CI: all)"
done
# For scripts/rg-resume.py: the scenarios in order, and (below) each one
# whose results are printed.
echo "# rg-scenarios:$(printf ' %s' $ORDER)"
if ! rg_setup_host >"$RG_RESULTS/setup.log" 2>&1; then
	cat "$RG_RESULTS/setup.log" | sed 's/^/# /'
	for s in $SCENARIOS; do tap "not ok" "$s: set up" "LIO/$TARGET/KVM could not be set up"; done
	echo "1..$N"
	exit 1
fi
t0=$SECONDS
rg_build_base_initrd || { tap "not ok" "build inner initramfs" ""; echo "1..$N"; exit 1; }
rg_log "inner initramfs $RG_BASE_INITRD ready in $((SECONDS - t0))s ($(du -m "$RG_BASE_INITRD" | cut -f1) MiB)"
export RG_BASE_INITRD RG_SMALL_INITRD

# Hang watchdog: a scenario takes 30-90 s here.  If one runs for more than
# RG_HANG_SECS, keep what every task waits for (process list with wchan,
# kernel stacks of every QEMU thread, sysrq w, dmesg) in
# $RG_RESULTS/hang-<scenario>-<n>.txt, every RG_HANG_SECS after that.
rg_hang_watch() {	# SCENARIO
	local n=0
	while sleep "${RG_HANG_SECS:-240}"; do
		n=$((n + 1))
		{
			echo "== $(date -u +%T) scenario $1 still running"
			ps -eo pid,ppid,stat,wchan:32,etime,comm,args
			for t in /proc/[0-9]*/task/*; do
				case "$(cat "$t/comm" 2>/dev/null)" in
				qemu*|vhost*|kworker*|khugepaged|bash|sh|fio) ;;
				*) continue ;;
				esac
				grep -q '^State:.*[DSR]' "$t/status" 2>/dev/null || continue
				echo "-- $t $(cat "$t/comm") $(grep '^State' "$t/status")"
				cat "$t/stack" 2>/dev/null
			done
			rg_blocked 300
		} >"$RG_RESULTS/hang-$1-$n.txt" 2>&1
		echo "# watchdog: scenario $1 runs for more than $((n * ${RG_HANG_SECS:-240}))s; stacks in hang-$1-$n.txt"
	done
}

for s in $SCENARIOS; do
	script=$RG_DIR/$s.sh
	if [ ! -x "$script" ]; then
		tap "not ok" "$s" "no such scenario"
		continue
	fi
	attempt=0
	while :; do
		ts=$SECONDS
		tapfile=$RG_WORK/$s.results
		: >"$tapfile"
		after_ml=0
		[ "$s" = persist ] && [ $attempt = 0 ] && [ "${RG_KEEP:-0}" = 1 ] && after_ml=1
		rg_hang_watch "$s" &
		wdpid=$!
		RG_TAPFILE=$tapfile RG_ATTEMPT=$attempt RG_AFTER_MULTILUN=$after_ml bash "$script" 2>&1 | sed -u 's/^/# /' | grep -v '^# $'
		rc=${PIPESTATUS[0]}
		kill "$wdpid" 2>/dev/null
		wait "$wdpid" 2>/dev/null
		rg_log "$s: attempt $attempt exit $rc in $((SECONDS - ts))s"
		if [ "$rc" = 3 ] && [ $attempt -lt $MAX_RETRIES ]; then
			attempt=$((attempt + 1))
			RETRIES=$((RETRIES + 1))
			rg_log "$s: inner guest died without a verdict (platform); retry $attempt of $MAX_RETRIES"
			mkdir -p "$RG_RESULTS/$s/platform-$attempt"
			mv "$RG_RESULTS/$s"/*.log "$RG_RESULTS/$s"/*.txt "$RG_RESULTS/$s/platform-$attempt/" 2>/dev/null
			continue
		fi
		break
	done
	if [ "$rc" = 3 ]; then
		tap "not ok" "$s: platform failure, inner guest died without a verdict after $MAX_RETRIES retries" ""
		continue
	fi
	got=0
	while IFS=$'\t' read -r st name why; do
		[ -n "$st" ] || continue
		got=$((got + 1))
		tap "$st" "$name" "$why"
	done <"$tapfile"
	# A scenario ends through rg_end, which exits 0 (3: platform, handled
	# above). Any other exit status means it died on the way: that is a
	# failure of its own, whatever "ok" lines it wrote before.
	if [ $got = 0 ]; then
		tap "not ok" "$s" "scenario exited $rc without results"
	elif [ "$rc" != 0 ]; then
		tap "not ok" "$s: scenario script ran to its end" "it exited $rc after $got result(s); later checks never ran"
	fi
	if [ "$s" = kill ] && [ "${RG_VHOSTFD:-0}" = 1 ]; then
		echo "# rg-done: kill vhostfd"
	else
		echo "# rg-done: $s"
	fi
done

echo "1..$N"
echo "# realguest TARGET=$TARGET: $PASS passed, $FAIL failed, $SKIP skipped;" \
	"platform retries: $RETRIES; wall time $((SECONDS - START))s"
[ $FAIL = 0 ]
