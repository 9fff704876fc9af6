#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make fuzz: build, then run the hostile-guest fuzzer (selftests/vhost_scsi_ng/
# vsng_fuzz, Documentation/fuzzing.md) in a test guest, one guest per target,
# and print a summary.  Inside the guest, run.sh runs fuzz_tap.sh (corpus
# replays, oracle self-checks, the fuzzing itself), then checks that no LIO
# object is left, that the target module unloads and that the kernel log is
# clean; on the host, every console log is scanned by scripts/kreport-scan.py
# (and by scripts/debug-kernel-scan.sh on the debug kernel).
#
# Environment:
#   FUZZ_RUNS      runs (default 1000)       FUZZ_SEED  seed (default 1)
#   FUZZ_TIME      stop after this many seconds of fuzzing (default: none)
#   FUZZ_TARGETS   targets, in order (default "ours"; "ours intree" adds
#                  the in-tree reference with the same seed and runs)
#   FUZZ_TIMEOUT_MS  answer timeout per batch (default 10000; 30000 on debug)
#   FUZZ_VM_TIMEOUT  vm-run's timeout (default: from runs and time)
#   FUZZ_ARGS      more vsng_fuzz options (--no-t10pi: never negotiate
#                  T10_PI, to fuzz in-tree past its T10-PI oops)
#   KERNEL=debug   boot the debug kernel (KASAN, lockdep, kmemleak, KCOV):
#                  coverage guided, coverage reported
#   VSNG_RESULTS_DIR  where the logs go (default results/fuzz-<date>)
# Exit status: 0 when every target's guest passed.

set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$REPO" || exit 2
RUNS=${FUZZ_RUNS:-1000}
SEED=${FUZZ_SEED:-1}
FTIME=${FUZZ_TIME:-0}
TARGETS=${FUZZ_TARGETS:-ours}
RES=${VSNG_RESULTS_DIR:-$REPO/results/fuzz-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$RES"
VMARGS=()
GUEST=(bash selftests/vhost_scsi_ng/run.sh)
TMO=${FUZZ_TIMEOUT_MS:-10000}
if [ "${KERNEL:-}" = debug ]; then
	bz=$(scripts/debug-kernel.sh --path 2>/dev/null)
	if [ -z "$bz" ]; then
		echo "fuzz: building the debug kernel (scripts/debug-kernel.sh)"
		scripts/debug-kernel.sh >"$RES/debug-kernel-build.log" 2>&1 || {
			echo "fuzz: debug kernel build failed (see $RES/debug-kernel-build.log)"
			exit 2
		}
		bz=$(scripts/debug-kernel.sh --path)
	fi
	# our own output directory: a .ko that another run's guest may be
	# using is never rebuilt under it
	ko=$(scripts/debug-kernel.sh --module "$RES/debug-module" 2>"$RES/debug-module-build.log") || {
		echo "fuzz: module build against the debug tree failed"
		exit 2
	}
	VMARGS=(--kernel "$bz" --cpu "${VSNG_DEBUG_CPU:-max,la57=off}" --env VSNG_MODULE="$ko"
		--env VSNG_NO_KUNIT=1)
	GUEST=(bash selftests/vhost_scsi_ng/debug-run.sh)
	TMO=${FUZZ_TIMEOUT_MS:-30000}
fi
# guest time: about 0.3 s a run on the stock kernel, 4 times that on debug
per=1
[ "${KERNEL:-}" = debug ] && per=3
VMTO=${FUZZ_VM_TIMEOUT:-$(( (FTIME > 0 ? FTIME : RUNS * per) + 600 ))}

rc=0
lines=()
for t in $TARGETS; do
	t0=$SECONDS
	echo "fuzz: === $t: $RUNS runs, seed $SEED${KERNEL:+, kernel $KERNEL} ==="
	scripts/vm-run --logdir "$RES/$t" --timeout "$VMTO" "${VMARGS[@]}" \
		--env TARGET="$t" --env VSNG_TESTS=fuzz_tap.sh --env VSNG_NO_MODULE_TEST=1 \
		--env FUZZ_RUNS="$RUNS" --env FUZZ_SEED="$SEED" --env FUZZ_TIME="$FTIME" \
		--env FUZZ_TIMEOUT_MS="$TMO" --env FUZZ_INJECT="${FUZZ_INJECT:-1}" \
		--env FUZZ_ARGS="${FUZZ_ARGS:-}" \
		-- "${GUEST[@]}" 2>&1 | tee "$RES/$t.log"
	r=${PIPESTATUS[0]}
	python3 scripts/kreport-scan.py --tap "fuzz-$t: kernel log scan" \
		"$RES/$t/console.log" $(ls "$RES/$t/dmesg.txt" 2>/dev/null) | tee -a "$RES/$t.log"
	if grep -q '^not ok' "$RES/$t.log" && [ "$r" = 0 ]; then
		r=1
	fi
	if [ "${KERNEL:-}" = debug ]; then
		scripts/debug-kernel-scan.sh logs "$RES/$t" >>"$RES/$t.log" 2>&1 || r=1
	fi
	[ "$r" = 0 ] || rc=1
	sum=$(grep -h 'fuzz summary' "$RES/$t.log" | tail -n 1 | sed 's/^[# ]*//')
	lines+=("$t: $( [ "$r" = 0 ] && echo PASS || echo "FAIL (exit $r)" ), guest wall time $((SECONDS - t0)) s")
	lines+=("  $sum")
	grep -h 'FINDING\|replay:' "$RES/$t.log" | sed 's/^[# ]*/  /' >>"$RES/findings.txt"
done
echo
echo "=============================== make fuzz summary ==============================="
printf '%s\n' "${lines[@]}"
[ -s "$RES/findings.txt" ] && { echo "findings:"; sort -u "$RES/findings.txt"; }
echo "logs: ${RES#"$REPO"/}/"
exit $rc
