#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The fuzzer as a TAP test, run INSIDE the test guest by run.sh
# (VSNG_TESTS=fuzz_tap.sh; make fuzz and make check's fuzz phase do that),
# so that run.sh's own checks follow it: no LIO object left behind, the
# target module unloads, a clean kernel log.
#
#   1. --replay of every input of the seed corpus (fuzz-corpus/*.bin): a
#      regression test, each must end without a finding; the inputs of
#      fuzz-corpus/findings/ are known findings and must still reproduce
#      (FINDING-<what>.bin: the text that the finding must contain)
#   2. the oracles fire: the canned --inject runs must each report
#   3. the fuzzer itself: FUZZ_RUNS runs from FUZZ_SEED (FUZZ_TIME seconds
#      at most), the seed corpus first; with KCOV (debug kernel), coverage
#      guided and the coverage of our module reported
#
# Env: FUZZ_RUNS (default 200), FUZZ_SEED (default 1), FUZZ_TIME (seconds,
# default 0: no limit), FUZZ_INJECT=0 skips part 2, FUZZ_REPLAY=0 part 1,
# FUZZ_TIMEOUT_MS (answer timeout, default 10000), FUZZ_ARGS (more options
# of vsng_fuzz, e.g. --no-t10pi), VSNG_RESULTS (where
# findings and the grown corpus go).

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
FZ=$HERE/vsng_fuzz
OUT=${VSNG_RESULTS:-/tmp}/fuzz-${TARGET:-ours}
mkdir -p "$OUT"
n=0
rc=0
TMO=${FUZZ_TIMEOUT_MS:-10000}

tap() {	# tap OK DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; rc=1; fi
}

echo "TAP version 13"
# --- coverage: KCOV and the module's .text --------------------------------
COV=()
KO=${VSNG_MODULE:-$TOP/vhost_scsi_ng.ko}
if [ "${TARGET:-ours}" = ours ] && [ -e /sys/kernel/debug/kcov ] && [ -f "$KO" ]; then
	size=$(objdump -h "$KO" | awk '$2 == ".text" { print $3 }')
	sites=$(objdump -dr -j .text "$KO" | grep -c 'R_X86_64_PLT32[[:space:]]*__sanitizer_cov_trace_pc')
	if [ -n "$size" ] && [ "$sites" -gt 0 ]; then
		COV=(--cov "$size:$sites")
	fi
	echo "# KCOV: .text 0x${size:-?} bytes, $sites __sanitizer_cov_trace_pc call sites"
else
	echo "# KCOV: not available here (stock kernel or in-tree target): coverage unavailable"
fi

# --- 1. the corpus replays --------------------------------------------------
# The corpus is ours' regression suite (it holds an input that oopses
# in-tree): against in-tree only the known findings marked for it run, and
# the fuzzing starts from the seed alone.
CORPUS=(--corpus "$HERE/fuzz-corpus")
[ "${TARGET:-ours}" = intree ] && CORPUS=()
if [ "${FUZZ_REPLAY:-1}" != 0 ]; then
	files=$(ls "$HERE"/fuzz-corpus/*.bin 2>/dev/null)
	[ "${TARGET:-ours}" = intree ] && files=""

	if [ -n "$files" ]; then
		"$FZ" --timeout-ms "$TMO" --out "$OUT/replay" --replay $files >"$OUT/replay.log" 2>&1
		r=$?
		grep -E '^not ok|fuzz summary' "$OUT/replay.log" | sed 's/^/# /'
		tap $r "fuzz: $(echo "$files" | wc -w) corpus inputs replay without a finding"
	fi
	for fnd in "$HERE"/fuzz-corpus/findings/*.bin; do
		[ -f "$fnd" ] || continue
		want=$(cat "${fnd%.bin}.expect" 2>/dev/null)
		tgt=$(cat "${fnd%.bin}.target" 2>/dev/null || echo both)
		if [ "$tgt" != both ] && [ "$tgt" != "${TARGET:-ours}" ]; then
			continue
		fi
		args=$(cat "${fnd%.bin}.args" 2>/dev/null)
		# shellcheck disable=SC2086
		out=$("$FZ" --timeout-ms "$TMO" --out "$OUT/replay" $args --replay "$fnd" --expect-finding "$want" 2>&1)
		r=$?
		echo "$out" | grep -E '^(not )?ok' | sed 's/^/# /'
		tap $r "fuzz: known finding $(basename "$fnd") still reproduces ($want)"
	done
fi

# --- 2. every oracle fires on a deliberately broken check ----------------------
# With packed rings (--ring packed in FUZZ_ARGS) the oracles are checked
# on packed rings as well.
RINGS=split
case " ${FUZZ_ARGS:-} " in *" --ring packed "*|*" --ring mixed "*) RINGS="split packed" ;; esac
if [ "${FUZZ_INJECT:-1}" != 0 ]; then
	canned=$HERE/fuzz-corpus/valid-rw.bin
	for ring in $RINGS; do
	[ "$ring" = packed ] && [ "${TARGET:-ours}" = intree ] && continue
	sfx=
	[ "$ring" = packed ] && sfx=" (packed ring)"
	for kind in arena:"outside every device-writable" guard:"guard zone" \
		    hang:"unanswered" usedid:"not a head in flight" \
		    usedlen:"device-writable bytes" valid:"other data than written"; do
		k=${kind%%:*}
		want=${kind#*:}
		out=$("$FZ" --timeout-ms 2000 --out "$OUT/inject" --ring "$ring" --inject "$k" --replay "$canned" --expect-finding "$want" 2>&1)
		r=$?
		tap $r "fuzz: oracle '$k' fires when its check is broken on purpose$sfx"
		[ $r = 0 ] || echo "$out" | sed 's/^/# /' | head -5
	done
	done
fi

# --- 3. fuzz ------------------------------------------------------------------
t0=$(date +%s)
# The fuzzer runs in the background under a watchdog: a kernel oops, BUG,
# KASAN report or hung task leaves the fuzzer stuck in the kernel for
# good, so the kernel log is watched and the input of the run that was
# going on (last-input.bin, written before every run) is kept.
mark=$(dmesg | wc -l)
"$FZ" --seed "${FUZZ_SEED:-1}" --runs "${FUZZ_RUNS:-200}" --time "${FUZZ_TIME:-0}" \
	--timeout-ms "$TMO" "${CORPUS[@]}" --out "$OUT" "${COV[@]}" \
	${FUZZ_ARGS:-} >"$OUT/fuzz.log" 2>&1 &
pid=$!
crash=
while kill -0 $pid 2>/dev/null; do
	crash=$(dmesg | tail -n +"$((mark + 1))" |
		grep -m1 -E 'Oops|BUG:|KASAN:|UBSAN:|general protection|INFO: task .* blocked|watchdog: BUG|RCU stall')
	[ -n "$crash" ] && break
	sleep 2
done
if [ -n "$crash" ]; then
	sleep 10	# the fuzzer may still end on its own
	cp "$OUT/last-input.bin" "$OUT/finding-kernel.bin" 2>/dev/null
	echo "# FINDING kernel: $crash"
	echo "#   replay: vsng_fuzz --replay $OUT/finding-kernel.bin (the input of the run the kernel died in)"
	dmesg | tail -n +"$((mark + 1))" | grep -A30 -m1 -E 'Oops|BUG:|KASAN:|UBSAN:|general protection|INFO: task .* blocked' |
		sed 's/^/#   /' | head -40
	r=1
	kill -0 $pid 2>/dev/null || { wait $pid; }
else
	wait $pid
	r=$?
fi
grep -E 'FINDING|replay:|coverage:' "$OUT/fuzz.log" | sed 's/^/# /'
sum=$(grep 'fuzz summary' "$OUT/fuzz.log" | tail -n 1)
echo "# ${sum#\# }"
echo "# wall time $(( $(date +%s) - t0 )) s; log, findings and new corpus inputs in $OUT"
# The runs done, from the summary ("runs N,"): a time limit may end it early.
done_runs=$(echo "$sum" | sed -n 's/.*runs \([0-9]*\),.*/\1/p')
tap $r "fuzz: seed ${FUZZ_SEED:-1}, ${done_runs:-?} runs (of at most ${FUZZ_RUNS:-200}, ${FUZZ_TIME:-0} s limit): no finding"
echo "1..$n"
exit $rc
