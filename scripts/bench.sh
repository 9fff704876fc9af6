#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh: side-by-side benchmark of vhost-scsi-ng against the in-tree
# vhost_scsi and QEMU's own virtio-scsi / virtio-blk (issue 6). Runs on the
# host; every measurement runs inside vm-run's TCG test guest, with
# tools/tcg-insn-plugin.so loaded into that QEMU so that guest instructions
# per I/O are counted between markers.
#
#   scripts/bench.sh [--quick] [--rounds N] [--runtime S] [--out DIR]
#                    [--levels "mem target realguest"]
#   make bench          (full: 3 rounds, 5 workloads, all paths)
#   make bench-quick    (1 round, 2 workloads, nullb only: a few minutes)
#   make bench-mem      (the memory level alone: about 1.5 minutes)
#
# Output: DIR (default results/bench/<UTC date-time>, git-ignored) holds
#   results.md      the Markdown tables (also printed at the end)
#   summary.json    medians, min-max, goal checks
#   *.png, *.dat    gnuplot charts: IOPS and instructions/IO per path
#   vm-mem/, vm-target/, vm-realguest/   raw JSON / logs / consoles of each level
# results/bench/latest points to the newest run.
#
# BENCH_PROFILE=0: no instruction profile by function at the target level
# (default on: scripts/insn-profile.py, a table per workload in results.md).
#
# Levels: "mem" (tools/vsng-mem: kernel memory of one device after
# SET_ENDPOINT, ours and in-tree in the same boot, for 1x128, 4x256 and
# 16x1024 request queues x ring entries; BENCH_MEM_CONFIGS, BENCH_MEM_REPS,
# guest RAM BENCH_MEM_MIB, default 4096: in-tree needs 2.6 GB at 16x1024),
# "target" (tools/vsng-load straight on /dev/vhost-scsi: ours with
# per-queue workers, the same on packed rings (ours-packed, issue 18) and
# with one shared worker, in-tree with its single
# worker and with VHOST_NEW_WORKER per queue; null_blk memory_backed=0 and
# brd) and "realguest" (fio in a nested-KVM inner guest: ours, in-tree,
# in-tree worker_per_virtqueue=on, QEMU virtio-scsi-pci + iothread,
# QEMU virtio-blk-pci + iothread, each QEMU path with aio=native and with
# aio=io_uring; every path on its own brd disk).
# The paths alternate A B C D A B C D ... within the rounds.

set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$REPO" || exit 2
# Build for the test guest's kernel (a plain "make module" may pick the running one).
export KVER=${KVER:-$(scripts/kernel-paths.sh kver)}
QUICK=0 ROUNDS= RUNTIME= OUT= LEVELS="mem target realguest"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1; shift ;;
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--runtime) RUNTIME=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--levels) LEVELS=${2:?}; shift 2 ;;
	-h|--help) sed -n '3,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

if [ $QUICK = 1 ]; then
	: "${ROUNDS:=1}" "${RUNTIME:=2}"
	export BENCH_WORKLOADS=${BENCH_WORKLOADS:-"rr4k-qd32-2q rr4k-qd1"}
	export BENCH_BACKENDS=${BENCH_BACKENDS:-nullb}
	export BENCH_MEM_REPS=${BENCH_MEM_REPS:-3}
else
	: "${ROUNDS:=3}" "${RUNTIME:=3}"
fi

STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=${OUT:-$REPO/results/bench/$STAMP}
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd -P)
ln -sfn "$OUT" "$REPO/results/bench/latest" 2>/dev/null

echo "bench: building the module, the selftest library and tools"
[ -f vhost_scsi_ng.ko ] || make module >"$OUT/build.log" 2>&1 ||
	echo "bench: make module failed (see $OUT/build.log); our paths will fail"
make -C tools >>"$OUT/build.log" 2>&1 || { echo "bench: make -C tools failed"; tail "$OUT/build.log"; exit 1; }
case " $LEVELS " in
*" realguest "*)
	scripts/inner-guest.sh --build-initrd >>"$OUT/build.log" 2>&1 ||
		echo "bench: inner initramfs build failed" ;;
esac

{
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "commit=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- drivers 2>/dev/null || echo +dirty)"
	echo "rounds=$ROUNDS"
	echo "runtime_s=$RUNTIME"
	echo "workloads=${BENCH_WORKLOADS:-all}"
	echo "host_load=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "qemu=$(qemu-system-x86_64 --version | head -n1 | awk '{print $4}')"
} >"$OUT/meta.txt"

# vm-run passes only VSNG_* through: hand the BENCH_* settings to env(1).
BENV=(BENCH_ROUNDS="$ROUNDS" BENCH_RUNTIME="$RUNTIME")
for v in BENCH_WORKLOADS BENCH_BACKENDS BENCH_PATHS BENCH_BRD_WORKLOADS BENCH_OURS_ATTRS BENCH_DEV_ATTRS \
	 BENCH_MEM_CONFIGS BENCH_MEM_REPS; do
	[ -n "${!v:-}" ] && BENV+=("$v=${!v}")
done

rc=0
for level in $LEVELS; do
	L=$OUT/vm-$level
	popt=
	mkdir -p "$L"
	nwl=$(echo ${BENCH_WORKLOADS:-a b c d e} | wc -w)
	case $level in
	mem)
		echo "bench: level mem (timeout 1500s, ${BENCH_MEM_MIB:-4096} MiB), logs in $L"
		t0=$SECONDS
		scripts/vm-run --timeout 1500 --logdir "$L" --mem "${BENCH_MEM_MIB:-4096}" \
			-- env BENCH_OUT="$L/bench" "${BENV[@]}" scripts/bench-guest.sh mem
		lrc=$?
		echo "bench: level mem exit $lrc in $((SECONDS - t0))s"
		[ $lrc = 0 ] || rc=1
		continue ;;
	target) to=$((600 + ROUNDS * nwl * 150))
		# the instruction profile by function (issue 19): BENCH_PROFILE=0 turns it off
		if [ "${BENCH_PROFILE:-1}" != 0 ]; then
			mkdir -p "$L/prof"
			popt=",prof=$L/prof"
		fi ;;
	*) to=$((600 + ROUNDS * nwl * 300)) ;;
	esac
	echo "bench: level $level (timeout ${to}s), logs in $L"
	t0=$SECONDS
	scripts/vm-run --timeout "$to" --logdir "$L" --mem 4096 \
		--qemu-arg -plugin --qemu-arg "$REPO/tools/tcg-insn-plugin.so,out=$L/insn.log$popt" \
		-- env VSNG_INSN_LOG="$L/insn.log" ${popt:+VSNG_PROF_DIR="$L/prof"} \
		BENCH_OUT="$L/bench" "${BENV[@]}" scripts/bench-guest.sh "$level"
	lrc=$?
	# The known platform panic of the outer guest, or its vCPU timer stall
	# (nested KVM under TCG, see Documentation/realguest-tests.md,
	# vm-run stops the guest on it): boot the real-guest level
	# again, at most twice, keeping what was measured before it.
	tries=0
	while [ "$level" = realguest ] && [ $lrc = 125 ] && [ $tries -lt 2 ] &&
	      grep -qE "corrupted stack end detected inside scheduler|kthread timer wakeup didn't happen" "$L/console.log" 2>/dev/null; do
		tries=$((tries + 1))
		mv "$L/console.log" "$L/console.panic-$tries.log"
		mv "$L/insn.log" "$L/insn.panic-$tries.log" 2>/dev/null
		echo "bench: level $level: outer guest panicked or its vCPU stalled (platform failure, console.panic-$tries.log); booting it again, measured results kept"
		echo "$tries" >"$OUT/outer-panics-$level"
		scripts/vm-run --timeout "$to" --logdir "$L" --mem 4096 \
			--qemu-arg -plugin --qemu-arg "$REPO/tools/tcg-insn-plugin.so,out=$L/insn.log" \
			-- env VSNG_INSN_LOG="$L/insn.log" BENCH_OUT="$L/bench" BENCH_RESUME=1 "${BENV[@]}" \
			scripts/bench-guest.sh "$level"
		lrc=$?
	done
	echo "bench: level $level exit $lrc in $((SECONDS - t0))s"
	[ $lrc = 0 ] || rc=1
done

python3 scripts/bench-report.py "$OUT" || rc=1
echo "bench: results in $OUT (results.md, summary.json, *.png)"
exit $rc
