#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rg-resume-test.sh: after the outer guest dies of the platform in the
# middle of a real-guest phase, scripts/check.sh reruns only the scenarios
# that had not ended and counts the others' results once
# (scripts/rg-resume.py). Checked on the host in a few seconds: first
# rg-resume.py on canned logs, then check.sh's realguest phase end to end
# with a stub vm-run that plays back boots which die or pass (each phase
# that boots adds one "kernel log scan" result). TAP output.
set -u
HERE=$(cd "$(dirname "$0")/../.." && pwd)
T=${RGT_DIR:-$(mktemp -d)}
[ -n "${RGT_DIR:-}" ] || trap 'rm -rf "$T"' EXIT
N=0 FAILED=0
ok() {	# ok COND-STATUS NAME [DETAIL]
	N=$((N + 1))
	if [ "$1" = 0 ]; then echo "ok $N - $2"; else
		echo "not ok $N - $2${3:+: $3}"
		FAILED=$((FAILED + 1))
	fi
}

# ---- rg-resume.py on canned logs ----
# resume NAME LOG WANT-LEFT WANT-KEPT-COUNT [WANT-STATUS]
resume() {
	local left st kept
	printf '%s\n' "$2" >"$T/dead.log"
	left=$(python3 "$HERE/scripts/rg-resume.py" "$T/dead.log" "$T/kept")
	st=$?
	kept=$(grep -cE '^(not )?ok [0-9]+' "$T/kept")
	[ "$left" = "$3" ] && [ "$kept" = "$4" ] && [ "$st" = "${5:-0}" ]
	ok $? "rg-resume: $1" "left '$left' kept $kept status $st, want '$3' $4 ${5:-0}"
}
SKIPS='ok 1 - kill (in-tree) # SKIP CI=true reduced mode
ok 2 - reset (in-tree) # SKIP CI=true reduced mode'
resume "no markers: run everything again" '# [1s] real-guest tests
ok 1 - basic: disk found' "" 0 1
resume "nothing ended: only the SKIP lines are kept" "$SKIPS
# rg-scenarios: basic multiqueue
ok 3 - basic: disk found" "basic multiqueue" 2
resume "two of four ended" "$SKIPS
# rg-scenarios: basic multiqueue kill vhostfd
ok 3 - basic: disk found
ok 4 - basic: data read back
# rg-done: basic
ok 5 - multiqueue: 2 queues
# rg-done: multiqueue
ok 6 - kill: partial" "kill vhostfd" 5
resume "kill ends vhostfd too (RG_VHOSTFD)" '# rg-scenarios: kill vhostfd reset
ok 1 - kill: owner killed
# rg-done: kill vhostfd' "reset" 1
resume "persist did not end: multilun runs again" '# rg-scenarios: basic multilun persist reset
ok 1 - basic: disk found
# rg-done: basic
ok 2 - multilun: 4 LUNs
# rg-done: multilun
ok 3 - persist: partial' "multilun persist reset" 1
resume "every scenario ended" '# rg-scenarios: basic multiqueue
ok 1 - basic: disk found
# rg-done: basic
ok 2 - multiqueue: 2 queues
# rg-done: multiqueue' "" 2

# ---- check.sh end to end, with a stub vm-run ----
# A copy of the harness files check.sh needs; scripts/vm-run plays boot
# number K from $STUB/boot-K (output, console, status) and records the
# scenarios it was asked for in $STUB/asked.
mkrepo() {
	R=$T/repo-$1
	mkdir -p "$R/scripts/realguest" "$R/stub"
	cp "$HERE/scripts/check.sh" "$HERE/scripts/platform-death.sh" \
		"$HERE/scripts/kreport-scan.py" "$HERE/scripts/rg-resume.py" "$R/scripts/"
	: >"$R/scripts/realguest/run.sh"
	cat >"$R/scripts/vm-run" <<'EOF'
#!/bin/bash
STUB=$(cd "$(dirname "$0")/../stub" && pwd)
k=$(( $(cat "$STUB/n" 2>/dev/null || echo 0) + 1 ))
echo $k >"$STUB/n"
sc= res=0
while [ $# -gt 0 ]; do
	case $1 in
	--logdir) dir=$2; shift 2 ;;
	--env) case $2 in RG_SCENARIOS=*) sc=${2#*=} ;; RG_RESUMED=*) res=${2#*=} ;; esac; shift 2 ;;
	--) break ;;
	*) shift ;;
	esac
done
echo "boot $k: scenarios '$sc' resumed $res" >>"$STUB/asked"
mkdir -p "$dir"
cp "$STUB/boot-$k.console" "$dir/console.log" 2>/dev/null || : >"$dir/console.log"
cat "$STUB/boot-$k.out"
exit "$(cat "$STUB/boot-$k.rc")"
EOF
	chmod +x "$R/scripts/vm-run"
}
boot() {	# boot K RC OUTPUT [panic]
	printf '%s\n' "$3" >"$R/stub/boot-$1.out"
	echo "$2" >"$R/stub/boot-$1.rc"
	if [ "${4:-}" = panic ]; then
		printf '%s\n' '[  107.5] Kernel panic - not syncing: corrupted stack end detected inside scheduler' >"$R/stub/boot-$1.console"
		echo "vm-run: guest ended without an exit code (QEMU status 1)" >>"$R/stub/boot-$1.out"
	fi
}
runcheck() {
	(cd "$R" && env -i PATH="$PATH" HOME="$T" KVER=test CI=true VSNG_CHECK_PHASES=realguest \
		VSNG_CHECK_TARGETS=ours VSNG_RESULTS_DIR="$R/res" VSNG_CHECK_BUDGET="${BUDGET:-2700}" bash scripts/check.sh >"$R/check.out" 2>&1)
}

mkrepo one
boot 1 125 '# rg-scenarios: basic multilun persist reset
ok 1 - basic: disk found
ok 2 - basic: data read back
# rg-done: basic
ok 3 - multilun: 4 LUNs
# rg-done: multilun' panic
boot 2 0 '# rg-scenarios: multilun persist reset
ok 1 - multilun: 4 LUNs
# rg-done: multilun
ok 2 - persist: LUNs back
# rg-done: persist
ok 3 - reset: done
# rg-done: reset
1..3'
runcheck
grep -q "boot 2: scenarios 'multilun persist reset' resumed 1" "$R/stub/asked"
ok $? "check.sh: the rerun after a platform death asks only for what had not ended" "$(cat "$R/stub/asked")"
tail -n1 "$R/check.out" | grep -q '^6 passed, 0 failed'
ok $? "check.sh: the ended scenario's results count once (5 + the kernel log scan)" "$(tail -n1 "$R/check.out")"
grep -q 'platform retries (outer guest panicked or reset, phase run again): 1' "$R/res/summary.txt"
ok $? "check.sh: one platform retry reported"

mkrepo two
boot 1 125 '# rg-scenarios: basic multiqueue
ok 1 - basic: disk found
# rg-done: basic' panic
boot 2 125 '# rg-scenarios: multiqueue' panic
boot 3 0 '# rg-scenarios: multiqueue
ok 1 - multiqueue: 2 queues
# rg-done: multiqueue
1..1'
runcheck
[ "$(cat "$R/stub/n")" = 3 ] && tail -n1 "$R/check.out" | grep -q '^3 passed, 0 failed'
ok $? "check.sh: two platform deaths, a third boot when the budget allows (2 + scan)" "$(cat "$R/stub/asked"; tail -n1 "$R/check.out")"
[ -d "$R/res/realguest-ours.platform-panic" ] && [ -d "$R/res/realguest-ours.platform-panic-2" ]
ok $? "check.sh: both dead boots' logs are kept"

mkrepo twob
boot 1 125 '# rg-scenarios: basic multiqueue
ok 1 - basic: disk found
# rg-done: basic' panic
boot 2 125 '# rg-scenarios: multiqueue' panic
BUDGET=60 runcheck
[ "$(cat "$R/stub/n")" = 2 ] && tail -n1 "$R/check.out" | grep -q '^1 passed, 1 failed' &&
	grep -q 'died of the platform twice, no room' "$R/res/realguest-ours.log"
ok $? "check.sh: no third boot when its timeout does not fit in the budget: a failure" "$(tail -n1 "$R/check.out")"

mkrepo three
boot 1 125 '# rg-scenarios: basic
ok 1 - basic: disk found
# rg-done: basic' panic
runcheck
[ "$(cat "$R/stub/n")" = 1 ] && tail -n1 "$R/check.out" | grep -q '^1 passed, 0 failed'
ok $? "check.sh: no rerun when every scenario had ended" "$(tail -n1 "$R/check.out")"

mkrepo four
boot 1 125 '# rg-scenarios: basic
not ok 1 - basic: data differ' panic
runcheck
[ "$(cat "$R/stub/n")" = 1 ] && tail -n1 "$R/check.out" | grep -q '^1 passed, 1 failed'
ok $? "check.sh: a death after a failing test is a failure, not rerun" "$(tail -n1 "$R/check.out")"

echo "1..$N"
[ $FAILED = 0 ]
