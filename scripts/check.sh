#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh (make check): every test of the project, one phase after another,
# each in its own guest where it needs one:
#   setup      scripts/deps.sh (quick when everything is there)
#   lint       scripts/lint.sh: checkpatch --strict, W=1, sparse C=2
#   build      make (module, selftests, tools), inner-guest initramfs, and
#              the module for Debian's 6.1 kernel too (scratch copy)
#   harness    scripts/tests/*-test.sh and scripts/realguest/selftest-classify.sh
#              on the host: the harness's own logic (how a guest's death, a
#              kernel report, a silent inner guest are classified) on canned
#              logs, and where the test kernel is taken from (a fake cache)
#   runner     vm-run smoke test: boots, exit code, shares, timeout kill
#   fuzz       fuzz smoke: the hostile-guest fuzzer (Documentation/fuzzing.md)
#              on the stock kernel against ours: corpus replays, each oracle
#              fires on a broken check, then $VSNG_CHECK_FUZZ_TIME s (default
#              90) of fuzzing from seed $VSNG_CHECK_FUZZ_SEED (default 1),
#              then run.sh's leftovers, unload and kernel-log checks
#   selftests  selftests/vhost_scsi_ng/run.sh in the guest, TARGET=ours and
#              TARGET=intree (selftests, demo and realguest run target by
#              target: all of ours first, then the in-tree reference)
#   demo       the make demo flow as a test (targetcli LUN, nested inner guest,
#              O_DIRECT read-back, fio), TARGET=intree and TARGET=ours
#   realguest  scripts/realguest/run.sh in the guest, ours and intree (when
#              it exists)
#   migrate    scripts/realguest/run.sh migrate in a guest of its own, ours
#              and intree: 3 live migrations of an inner guest under I/O
#              (RG_MIGRATIONS), its own timeout (VSNG_TO_MIGRATE, 900 s)
#   persist    make check-full only (VSNG_CHECK_FULL=1): selftests/vhost_scsi_ng/
#              persist_test.sh per target, targetcli saveconfig, a reboot-style
#              teardown and targetctl restore (about 50 s of guest each)
#   libvirt    make check-full only: scripts/realguest/run.sh libvirt per target
#              (libvirtd in the test guest, virsh start/destroy and live
#              detach/attach of a scsi_host hostdev; about 3 minutes each)
#   packed     make check-full only: scripts/realguest/run.sh multiqueue-packed
#              per target (num_queues=4 over packed virtqueues, two inner
#              boots for ours; in-tree: its refusal of the packed ring), and
#              the whole selftest suite on packed rings for ours
#              (VSNG_RING=packed run.sh, phase selftests-packed-ours; about
#              7 minutes of guest)
#   dkms       make check-full only (VSNG_CHECK_FULL=1): scripts/check-dkms.sh,
#              the Debian package installed in a guest, DKMS building our
#              module under TCG (25-35 minutes measured), stock names, removal
#   stat       make check-full only: tools/vsng-stat-test.sh in a guest
#              (vsng-stat against a running device, ours; about 70 s)
#   k61quick   a short pass on Debian's 6.1 kernel for ours: run.sh
#              $VSNG_K61Q_TESTS (default vsng_cgroup vsng_abi vsng_data) in a
#              6.1 guest with the build phase's 6.1 module; it starts only
#              when its estimate (VSNG_EST_k61quick) fits in what is left of
#              the budget, else one SKIP line (setup then also extracts the
#              6.1 image, scripts/deps.sh --kernel-61: once per machine).
#              Not run when k61 (the whole pass) is a phase too.
#   k61        make check-full and make check-61 only: the selftests on
#              Debian's 6.1 kernel (scripts/check-61.sh; setup then also
#              extracts its image, scripts/deps.sh --kernel-61): our module
#              built for 6.1, then per target run.sh and the real-guest
#              scenarios $VSNG_K61_RG (default "basic multiqueue") in a
#              6.1 guest
# Every phase prints TAP; this script counts all "ok"/"not ok" lines
# ("# SKIP" = skipped), adds a failure for a phase that exits non-zero
# without a failing TAP line or prints none, keeps all logs under
# results/<date>/ and ends with exactly one line
#   N passed, N failed, N skipped
# Exit status: 0 when nothing failed.
#
# Environment:
#   VSNG_CHECK_PHASES    phases to run (default: all of the above)
#   VSNG_CHECK_TARGETS   targets for selftests/demo/realguest (default "ours intree")
#   VSNG_SKIP_DEPS=1     do not run scripts/deps.sh
#   VSNG_RESULTS_DIR     log directory (default results/<date>; results/latest
#                        points to the newest)
#   VSNG_CHECK_BUDGET    seconds the whole run should take (default: none;
#                        2700 under CI=true: 45 minutes, half of CI's hard
#                        limit of 90, sized for a machine twice as slow as
#                        the one the README's times come from). The budget
#                        never cuts a guest short: every phase of ours gets
#                        its full --timeout, and so does the rerun of a phase
#                        after a platform failure. What the budget decides
#                        is whether a comparison phase (the in-tree
#                        reference's selftests, demo and real-guest tests)
#                        starts at all: one whose estimate (VSNG_EST_<phase>
#                        seconds, below) does not fit in what is left is
#                        reported as a SKIP with the reason, never run half.
#   CI=true              CI mode, to stay under 45 minutes on a slow 2-core
#                        machine: budget as above; no demo phase (its flow, a nested
#                        guest doing O_DIRECT read-back and fio through
#                        vhost-scsi-pci, is the real-guest "basic" scenario,
#                        and make demo is proven separately); the real-guest
#                        tests run every scenario against ours and only
#                        $VSNG_CI_RG_INTREE (default "basic multiqueue basic-packed")
#                        against in-tree, the reference implementation.
#   VSNG_CHECK_DEMO_TARGETS  targets of the demo phase (default "intree ours";
#                        empty under CI=true)
#   VSNG_CHECK_RG_SCENARIOS_<target>  real-guest scenarios per target
#                        (default: all, except in-tree under CI=true)

set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$REPO" || exit 2
# The test guest's kernel (a plain "make module" may pick the running one).
export KVER=${KVER:-$(scripts/kernel-paths.sh kver)}
PHASES=${VSNG_CHECK_PHASES:-setup lint build harness runner fuzz selftests demo realguest migrate k61quick}
# make check-full: the long phases too.
if [ "${VSNG_CHECK_FULL:-0}" = 1 ] && [ -z "${VSNG_CHECK_PHASES:-}" ]; then
	PHASES="$PHASES persist libvirt packed dkms stat k61"
fi
# ---- KERNEL=debug, part 1 of 2 (owned by the selftest helper) ----------------
# make check KERNEL=debug: by default only setup, build and the "debug" phase
# (see part 2 below); VSNG_CHECK_PHASES still overrides.
if [ "${KERNEL:-}" = debug ]; then
	PHASES=${VSNG_CHECK_PHASES:-setup build debug}
fi
# ---- end of KERNEL=debug, part 1 ----------------------------------------------
TARGETS=${VSNG_CHECK_TARGETS:-ours intree}
IS_CI=0
case "${CI:-}" in true|1|yes) IS_CI=1 ;; esac
if [ $IS_CI = 1 ]; then
	BUDGET=${VSNG_CHECK_BUDGET:-2700}
	DEMO_TARGETS=${VSNG_CHECK_DEMO_TARGETS-}
	VSNG_CHECK_RG_SCENARIOS_intree=${VSNG_CHECK_RG_SCENARIOS_intree-${VSNG_CI_RG_INTREE:-basic multiqueue basic-packed}}
else
	BUDGET=${VSNG_CHECK_BUDGET:-0}
	DEMO_TARGETS=${VSNG_CHECK_DEMO_TARGETS:-intree ours}
fi
RES=${VSNG_RESULTS_DIR:-$REPO/results/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$RES"
if [ -z "${VSNG_RESULTS_DIR:-}" ]; then
	ln -sfn "$(basename "$RES")" "$REPO/results/latest"
fi
SUMMARY=$RES/summary.txt
: >"$SUMMARY"

PASS=0 FAIL=0 SKIP=0
TIMES=()
T_ALL=$SECONDS

has_phase() { [[ " $PHASES " == *" $1 "* ]]; }
say() { echo "check: $*"; }

# count_tap NAME LOG RC: add LOG's TAP results to the totals.
count_tap() {
	local name=$1 log=$2 rc=$3 p f s
	p=$(grep -cE '^ok [0-9]+' "$log" 2>/dev/null)
	s=$(grep -E '^ok [0-9]+' "$log" 2>/dev/null | grep -ciE '# *SKIP')
	f=$(grep -cE '^not ok [0-9]+' "$log" 2>/dev/null)
	p=$((p - s))
	if [ "$rc" = 124 ]; then
		# vm-run's timeout: say so even when a failing test was printed.
		echo "not ok - $name: timed out (QEMU killed by vm-run; the rest did not run)" | tee -a "$log"
		f=$((f + 1))
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name: exited with status $rc without a failing test" | tee -a "$log"
		f=1
	fi
	# A phase with one TAP plan (selftests, real-guest tests) must have
	# printed as many results before it as it announces: a runner that
	# died half-way and still exited 0 is a failure.
	local plans want got
	plans=$(grep -cE '^1\.\.[0-9]+$' "$log" 2>/dev/null)
	if [ "$plans" = 1 ]; then
		want=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log")
		got=$(sed -n '/^1\.\.[0-9]*$/q;p' "$log" | grep -cE '^(not )?ok [0-9]+')
		if [ "$want" != "$got" ]; then
			echo "not ok - $name: its plan says 1..$want, it printed $got results" | tee -a "$log"
			f=$((f + 1))
		fi
	fi
	if [ $((p + f + s)) = 0 ]; then
		echo "not ok - $name: printed no TAP results" | tee -a "$log"
		f=1
	fi
	PASS=$((PASS + p)) FAIL=$((FAIL + f)) SKIP=$((SKIP + s))
	printf '%-22s %4d passed %4d failed %4d skipped  (%s)\n' "$name" "$p" "$f" "$s" \
		"${log#"$REPO"/}" >>"$SUMMARY"
	grep -E '^not ok|^ok [0-9]+.*# *SKIP' "$log" | sed "s/^/  [$name] /" >>"$SUMMARY"
}

# Phase timeouts (seconds): fixed, never cut by the budget. About twice
# what the slowest machine measured (Documentation/README.md).
TO_SELFTESTS=${VSNG_TO_SELFTESTS:-900}
TO_DEMO=${VSNG_TO_DEMO:-900}
# Real-guest tests: 300 s of setup plus 180 s per scenario, at most 1500.
rg_timeout() { local n=$(( $(echo $1 | wc -w) )); [ "$n" = 0 ] && n=8; n=$((300 + 180 * n)); echo $((n > 1500 ? 1500 : n)); }
# Estimates of the comparison phases on a slow machine (twice as slow as the
# README's), used only to decide whether one still fits in the budget.
EST_selftests=${VSNG_EST_selftests:-420}
EST_demo=${VSNG_EST_demo:-420}
EST_realguest=${VSNG_EST_realguest:-480}
EST_migrate=${VSNG_EST_migrate:-500}
EST_k61quick=${VSNG_EST_k61quick:-180}
TO_K61Q=${VSNG_TO_K61Q:-600}
TO_MIGRATE=${VSNG_TO_MIGRATE:-900}

# budget_left: seconds left of the budget (a large number without one).
budget_left() {
	if [ "$BUDGET" -le 0 ]; then echo 999999; else echo $((BUDGET - (SECONDS - T_ALL))); fi
}

# budget_fits NAME KIND [WHAT]: check that KIND's estimate (EST_KIND) fits
# in what is left of the budget; if not, record NAME as one SKIP ("WHAT not
# run: ...", WHAT empty by default) and return 1.
budget_fits() {
	local name=$1 kind=$2 what=${3:+$3 } est left log=$RES/$1.log
	est=EST_$kind
	est=${!est}
	left=$(budget_left)
	[ "$left" -ge "$est" ] && return 0
	say "=== $name: not run, ${left}s of the ${BUDGET}s budget left, it needs about ${est}s ==="
	echo "ok 1 $name # SKIP ${what}not run: ${left}s of the ${BUDGET}s budget left, it needs about ${est}s" >"$log"
	TIMES+=("$name 0s")
	count_tap "$name" "$log" 0
	return 1
}

# comparison_fits NAME KIND TARGET: budget_fits for the in-tree reference
# (the comparison). Phases of ours always run.
comparison_fits() {
	[ "$3" = ours ] && return 0
	budget_fits "$1" "$2" "comparison phase"
}

# A death of the outer guest that is the platform's, not a test result
# (scripts/platform-death.sh, tested by scripts/tests/platform-death-test.sh).
. "$REPO/scripts/platform-death.sh"
PLATFORM_RETRIES=0

# phase NAME CMD...: run CMD, show and keep its output, count its TAP.
# With PHASE_MAY_RETRY=1, a guest phase whose guest (log dir $RES/NAME) died
# of the platform (platform_death) before any failing test is not counted:
# its logs move to $RES/NAME.platform-panic (-2, -3 for later ones; the
# directory in PANIC_DIR) and PHASE_RETRY=1 tells the caller to run it
# again.
phase() {
	local name=$1 log=$RES/$1.log t0=$SECONDS rc keep why n
	shift
	PHASE_RETRY=0
	say "=== $name: $* ==="
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	if [ "${PHASE_MAY_RETRY:-0}" = 1 ] && [ "$rc" = 125 ] &&
	   why=$(platform_death "$RES/$name/console.log" "$log" 2>>"$log") &&
	   ! grep -qE '^not ok [0-9]+' "$log"; then
		keep=$RES/$name.platform-panic n=1
		while [ -e "$keep" ]; do
			n=$((n + 1))
			keep=$RES/$name.platform-panic-$n
		done
		PANIC_DIR=$keep
		mkdir -p "$keep"
		mv "$RES/$name" "$log" "$keep/"
		PLATFORM_RETRIES=$((PLATFORM_RETRIES + 1))
		TIMES+=("$name(panicked) $((SECONDS - t0))s")
		echo "# $name: $why, a platform failure; logs in ${keep#"$REPO"/}/; run again" >>"$SUMMARY"
		say "=== $name: $why after $((SECONDS - t0))s: platform failure (${keep#"$REPO"/}/); running the phase again ==="
		PHASE_RETRY=1
		return
	fi
	TIMES+=("$name $((SECONDS - t0))s")
	# Every guest's kernel log, on the stock kernel too: a WARN, BUG,
	# lockdep, KASAN or RCU-stall report with a frame of the target or LIO
	# fails the phase; other kernel reports are listed and counted.
	if [ -f "$RES/$name/console.log" ]; then
		python3 scripts/kreport-scan.py --tap "$name: kernel log scan" \
			"$RES/$name/console.log" $(ls "$RES/$name/dmesg.txt" 2>/dev/null) | tee -a "$log"
	fi
	count_tap "$name" "$log" "$rc"
	say "=== $name: done in $((SECONDS - t0))s (exit $rc) ==="
}

# ---- setup -----------------------------------------------------------------
if has_phase setup && [ "${VSNG_SKIP_DEPS:-0}" != 1 ]; then
	t0=$SECONDS
	say "=== setup: scripts/deps.sh ==="
	d61=0
	has_phase k61 && d61=1
	has_phase k61quick && d61=1
	if VSNG_DEPS_61=$d61 scripts/deps.sh 2>&1 | tee "$RES/setup.log"; [ "${PIPESTATUS[0]}" = 0 ]; then
		echo "ok 1 setup: dependencies installed" >>"$RES/setup.log"
	else
		echo "not ok 1 setup: scripts/deps.sh failed" | tee -a "$RES/setup.log"
	fi
	TIMES+=("setup $((SECONDS - t0))s")
	count_tap setup "$RES/setup.log" 0
	# On a fresh machine the headers only exist now (in the cache, see
	# scripts/kernel-paths.sh): pick their version and place again.
	if [ ! -f "${KDIR:-/usr/src/linux-headers-$KVER}/Makefile" ]; then
		KVER=$(scripts/kernel-paths.sh kver)
		KDIR=$(scripts/kernel-paths.sh kdir "$KVER")
		export KVER KDIR
		say "kernel headers: $KVER in $KDIR"
	fi
fi

# ---- lint --------------------------------------------------------------------
if has_phase lint; then
	phase lint env LINT_LOGDIR="$RES/lint" scripts/lint.sh
fi

# ---- build -------------------------------------------------------------------
# build_61: the module must also build for Debian's other kernel (6.1), in a
# scratch copy so that the tree's own 6.12 build is left alone; the copy
# ($RES/k61-module) is kept, phase k61quick loads its module.
build_61() {
	local k61 tmp=$RES/k61-module rc vm
	k61=$(ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -n1)
	k61=${k61#/usr/src/linux-headers-}
	if [ -z "$k61" ]; then
		echo "ok 6 build: module for 6.1 # SKIP no 6.1 headers installed"
		return 0
	fi
	rm -rf "$tmp"
	mkdir -p "$tmp" || return 1
	{
		git ls-files -z Kbuild Makefile drivers include scripts/kprobe.sh scripts/kprobes.d scripts/kernel-paths.sh 2>/dev/null ||
			find Kbuild Makefile drivers include scripts/kprobe.sh scripts/kernel-paths.sh -type f -name '*' ! -name '*.o' ! -name '*.cmd' -print0
	} | tar -C "$REPO" --null -T - -cf - | tar -C "$tmp" -xf -
	# KDIR too: make check exported the 6.12 one, which would win over KVER.
	make -s -j"$JOBS" -C "$tmp" module KVER="$k61" KDIR="/usr/src/linux-headers-$k61" >"$RES/build-module-6.1.log" 2>&1
	rc=$?
	vm=$(modinfo -F vermagic "$tmp/vhost_scsi_ng.ko" 2>/dev/null | cut -d' ' -f1)
	if [ $rc = 0 ] && [ "$vm" = "$k61" ]; then
		echo "ok 6 build: module for $k61 ($vm)"
	elif [ $rc = 0 ]; then
		echo "not ok 6 build: module for $k61 was built for '$vm' (wrong KDIR)"
	else
		echo "not ok 6 build: module for $k61 (see build-module-6.1.log)"
		tail -n 30 "$RES/build-module-6.1.log" | sed 's/^/# /'
	fi
	return $rc
}

JOBS=$(nproc 2>/dev/null || echo 2)
build_all() {
	local n=0 rc=0
	make -s -j"$JOBS" module >"$RES/build-module.log" 2>&1 && echo "ok 1 build: module vhost_scsi_ng.ko" ||
		{ echo "not ok 1 build: module (see build-module.log)"; tail -n 30 "$RES/build-module.log" | sed 's/^/# /'; rc=1; }
	make -s -j"$JOBS" selftests >"$RES/build-selftests.log" 2>&1 && echo "ok 2 build: selftests" ||
		{ echo "not ok 2 build: selftests (see build-selftests.log)"; tail -n 30 "$RES/build-selftests.log" | sed 's/^/# /'; rc=1; }
	make -s -j"$JOBS" tools >"$RES/build-tools.log" 2>&1 && echo "ok 3 build: tools" ||
		{ echo "not ok 3 build: tools (see build-tools.log)"; tail -n 30 "$RES/build-tools.log" | sed 's/^/# /'; rc=1; }
	scripts/inner-guest.sh --build-initrd >"$RES/build-initrd.log" 2>&1 && echo "ok 4 build: inner-guest initramfs" ||
		{ echo "not ok 4 build: inner-guest initramfs"; rc=1; }
	if [ -x scripts/realguest/run.sh ]; then
		scripts/realguest/run.sh --build-initrd >>"$RES/build-initrd.log" 2>&1 &&
			echo "ok 5 build: real-guest inner initramfs" ||
			{ echo "not ok 5 build: real-guest inner initramfs"; rc=1; }
	fi
	build_61 || rc=1
	# The Debian package (make deb, a few seconds): CI proves it builds;
	# make check-full installs it in a guest (phase dkms).
	local deb
	if deb=$(scripts/mkdeb.sh "$RES/deb" 2>"$RES/build-deb.log" | tail -n 1) && [ -f "$deb" ]; then
		echo "ok 7 build: Debian package ${deb##*/}"
	else
		echo "not ok 7 build: Debian package (see build-deb.log)"
		tail -n 30 "$RES/build-deb.log" | sed 's/^/# /'
		rc=1
	fi
	return $rc
}
if has_phase build; then
	phase build build_all
fi

# ---- harness: tests of the test harness itself, on the host ----------------------
harness_tests() {
	local f rc=0
	for f in scripts/tests/*-test.sh scripts/realguest/selftest-classify.sh; do
		[ -f "$f" ] || continue
		echo "# $f"
		bash "$f" || rc=1
	done
	return $rc
}
if has_phase harness; then
	phase harness harness_tests
fi

# ---- runner smoke test ---------------------------------------------------------
runner_smoke() {
	local d=$RES/runner rc out
	mkdir -p "$d"
	# One boot checks the guest's environment from the inside...
	out=$(scripts/vm-run --logdir "$d/env" --timeout 180 -- bash -c '
		n=0
		t() { n=$((n + 1)); if eval "$2" >/dev/null 2>&1; then echo "ok $n runner: $1"; else echo "not ok $n runner: $1"; fi; }
		t "guest runs kernel $KVER" "[ \"\$(uname -r)\" = \"$KVER\" ]"
		t "runs as root" "[ \"\$(id -u)\" = 0 ]"
		t "cwd is the repo ($VSNG_REPO)" "[ \"\$(pwd -P)\" = \"$VSNG_REPO\" ]"
		t "the checkout is visible (Makefile, scripts/vm-run)" "[ -f Makefile ] && [ -x scripts/vm-run ]"
		t "host root is read-only" "! touch /usr/.vsng-ro-test"
		t "/tmp and /run are writable" "touch /tmp/x /run/x"
		t "/etc /var /root overlays are writable" "touch /etc/x /var/x /root/x"
		t "results share is writable" "echo hello >\"$VSNG_RESULTS/marker\""
		t "/sbin/modprobe loads .ko.xz (configfs)" "/sbin/modprobe configfs"
		t "nested KVM available (kvm_amd or kvm_intel)" "/sbin/modprobe kvm_amd || /sbin/modprobe kvm_intel; [ -c /dev/kvm ]"
		exit 42')
	rc=$?
	echo "$out"
	[ "$rc" = 42 ] && echo "ok 11 runner: command's exit code (42) passed back" ||
		echo "not ok 11 runner: command's exit code passed back (got $rc, want 42)"
	[ "$(cat "$d/env/marker" 2>/dev/null)" = hello ] && echo "ok 12 runner: file written in the guest seen on the host" ||
		echo "not ok 12 runner: file written in the guest seen on the host"
	[ -s "$d/env/console.log" ] && echo "ok 13 runner: console log kept" ||
		echo "not ok 13 runner: console log kept"
	# Missing prerequisites are refused clearly (exit 3), before any boot.
	out=$(QEMU=/nonexistent/qemu scripts/vm-run --logdir "$d/refuse" -- true 2>&1)
	rc=$?
	if [ "$rc" = 3 ] && [[ $out == *"missing prerequisite"* ]]; then
		echo "ok 15 runner: refuses clearly without QEMU (exit 3)"
	else
		echo "not ok 15 runner: refuses clearly without QEMU (got $rc: $out)"
	fi
	out=$(scripts/vm-run --kernel /nonexistent/bzImage --logdir "$d/refuse" -- true 2>&1)
	rc=$?
	if [ "$rc" = 3 ] && [[ $out == *"missing prerequisite: kernel"* ]]; then
		echo "ok 16 runner: refuses clearly without the kernel image (exit 3)"
	else
		echo "not ok 16 runner: refuses clearly without the kernel image (got $rc: $out)"
	fi
	# ...and one checks that a timeout kills QEMU.
	local t0=$SECONDS
	scripts/vm-run --logdir "$d/timeout" --timeout 15 -- sleep 600 >/dev/null 2>&1
	rc=$?
	if [ "$rc" = 124 ] && [ $((SECONDS - t0)) -lt 50 ] &&
	   ! kill -0 "$(cat "$d/timeout/.vm/qemu.pid" 2>/dev/null || echo 0)" 2>/dev/null; then
		echo "ok 14 runner: --timeout kills QEMU and exits 124 ($((SECONDS - t0))s)"
	else
		echo "not ok 14 runner: --timeout kills QEMU and exits 124 (got $rc after $((SECONDS - t0))s)"
	fi
	return 0
}
if has_phase runner; then
	phase runner runner_smoke
fi

# ---- fuzz smoke (ours, stock kernel) -------------------------------------------
# A bounded slice of make fuzz: about 90 s of fuzzing plus boot, LIO, the
# corpus replays and the oracle self-checks: 2-3 minutes of guest time
# here, at most twice that on CI's slower machine (the fuzzing part is
# bounded by time, not by runs).  Its timeout, 480 s, counts in the
# worst case of Documentation/README.md.
if has_phase fuzz; then
	phase fuzz scripts/vm-run --logdir "$RES/fuzz" --timeout 480 \
		--env TARGET=ours --env VSNG_TESTS=fuzz_tap.sh --env VSNG_NO_MODULE_TEST=1 \
		--env FUZZ_RUNS="${VSNG_CHECK_FUZZ_RUNS:-100000}" \
		--env FUZZ_TIME="${VSNG_CHECK_FUZZ_TIME:-90}" \
		--env FUZZ_SEED="${VSNG_CHECK_FUZZ_SEED:-1}" \
		-- bash selftests/vhost_scsi_ng/run.sh
fi

# ---- selftests, demo, real-guest tests: per target ---------------------------
# All phases of one target run before the next target's, ours first: when
# the budget runs out, it is the in-tree reference run that is cut.
run_selftests() {
	local t=$1
	if [ -f selftests/vhost_scsi_ng/run.sh ]; then
		comparison_fits "selftests-$t" selftests "$t" || return
		phase "selftests-$t" scripts/vm-run --logdir "$RES/selftests-$t" \
			--timeout "$TO_SELFTESTS" \
			--env TARGET="$t" -- bash selftests/vhost_scsi_ng/run.sh
	else
		say "selftests: selftests/vhost_scsi_ng/run.sh not there yet, skipped"
		echo "ok 1 selftests # SKIP selftests/vhost_scsi_ng/run.sh does not exist yet" >"$RES/selftests-$t.log"
		count_tap "selftests-$t" "$RES/selftests-$t.log" 0
	fi
}
run_demo() {
	local t=$1
	[[ " $DEMO_TARGETS " == *" $t "* ]] || return
	comparison_fits "demo-$t" demo "$t" || return
	phase "demo-$t" env TARGET="$t" VSNG_DEMO_TIMEOUT="$TO_DEMO" \
		scripts/demo.sh --no-build --logdir "$RES/demo-$t"
}
# rg_boot KEPT CMD...: run CMD, then print KEPT (the results a boot that
# died of the platform had printed, see rg_resume) after its output, where
# the plan check of count_tap does not count them. CMD's status.
rg_boot() {
	local kept=$1 rc
	shift
	"$@"
	rc=$?
	if [ -s "$kept" ]; then
		echo "# results of the scenarios that ended before the outer guest died (rg-resume.py):"
		cat "$kept"
	fi
	return $rc
}
# rg_resume T KEPT: after a platform death of realguest-T, set sc to the
# scenarios still to run and add the ended ones' results to KEPT. When
# none is left, count the kept results as the phase's and return 1 (no
# rerun). A log without rg-resume.py's markers: rerun everything.
rg_resume() {
	local t=$1 kept=$2 left dead=$PANIC_DIR/realguest-$1.log
	left=$(python3 scripts/rg-resume.py "$dead" "$kept.new") || { rm -f "$kept.new"; return 0; }
	cat "$kept.new" >>"$kept"
	rm -f "$kept.new"
	if [ -z "$left" ]; then
		{ echo "# every scenario ended before the outer guest died; their results:"; cat "$kept"; } >"$RES/realguest-$t.log"
		count_tap "realguest-$t" "$RES/realguest-$t.log" 0
		return 1
	fi
	say "realguest-$t: scenarios left after the platform death: $left"
	sc=$left
	return 0
}
run_realguest() {
	local t=$1 sc try
	if [ -f scripts/realguest/run.sh ]; then
		sc=VSNG_CHECK_RG_SCENARIOS_$t
		sc=${!sc:-}
		[ -n "$sc" ] && say "realguest-$t: scenarios $sc"
		comparison_fits "realguest-$t" realguest "$t" || return
		# After a platform death of the outer guest, the next boot runs
		# only the scenarios that had not ended (rg_resume) and counts the
		# results of the others once. The first rerun gets its full
		# timeout whatever is left of the budget; a second one only when
		# its timeout fits in what is left.
		local kept=$RES/realguest-$t.kept resumed=0
		rm -f "$kept"
		for try in 1 2 3; do
			PHASE_MAY_RETRY=$((try < 3)) phase "realguest-$t" \
				rg_boot "$kept" scripts/vm-run --logdir "$RES/realguest-$t" \
				--timeout "$(rg_timeout "$sc")" --env RG_RESUMED="$resumed" \
				--env TARGET="$t" --env RG_SCENARIOS="$sc" -- bash scripts/realguest/run.sh
			[ "$PHASE_RETRY" = 1 ] || break
			rg_resume "$t" "$kept" || break
			resumed=1
			if [ "$try" = 2 ] && [ "$(budget_left)" -lt "$(rg_timeout "$sc")" ]; then
				{ cat "$kept"; echo "not ok 1 - realguest-$t: the outer guest died of the platform twice, no room in the budget for a third boot (left: $sc)"; } >"$RES/realguest-$t.log"
				count_tap "realguest-$t" "$RES/realguest-$t.log" 0
				break
			fi
		done
	else
		say "realguest: scripts/realguest/run.sh not there yet, skipped"
		echo "ok 1 realguest # SKIP scripts/realguest/run.sh does not exist yet" >"$RES/realguest-$t.log"
		count_tap "realguest-$t" "$RES/realguest-$t.log" 0
	fi
}
# migrate-<t>: the live-migration scenario in a guest of its own (its own
# timeout; the whole real-guest set already uses most of realguest's).
# Ours too starts only when its slow-machine estimate fits in what is left
# of the budget: the worst case of the README stays inside 90 minutes.
run_migrate() {
	local t=$1 try
	[ -f scripts/realguest/migrate.sh ] || return
	if [ "$t" = ours ]; then
		budget_fits "migrate-$t" migrate || return
	else
		comparison_fits "migrate-$t" migrate "$t" || return
	fi
	for try in 1 2; do
		PHASE_MAY_RETRY=$((try == 1)) phase "migrate-$t" \
			scripts/vm-run --logdir "$RES/migrate-$t" --timeout "$TO_MIGRATE" \
			--env TARGET="$t" -- bash scripts/realguest/run.sh migrate
		[ "$PHASE_RETRY" = 1 ] || break
		# a rerun only when it fits: the 90-minute limit (README)
		if [ "$(budget_left)" -lt "$TO_MIGRATE" ]; then
			echo "ok 1 migrate-$t # SKIP the outer guest died of the platform and the budget has no room for a rerun" >"$RES/migrate-$t.log"
			count_tap "migrate-$t" "$RES/migrate-$t.log" 0
			break
		fi
	done
}
for t in $TARGETS; do
	has_phase selftests && run_selftests "$t"
	has_phase demo && run_demo "$t"
	has_phase realguest && run_realguest "$t"
	has_phase migrate && run_migrate "$t"
done

# ---- persist (make check-full): targetcli saveconfig, targetctl restore -----
if has_phase persist; then
	for t in $TARGETS; do
		phase "persist-$t" scripts/vm-run --logdir "$RES/persist-$t" --timeout 600 \
			--env TARGET="$t" -- bash selftests/vhost_scsi_ng/persist_test.sh
	done
fi

# ---- libvirt (make check-full): the libvirt real-guest scenario -------------------
if has_phase libvirt; then
	for t in $TARGETS; do
		phase "libvirt-$t" scripts/vm-run --logdir "$RES/libvirt-$t" --timeout 900 \
			--env TARGET="$t" -- bash scripts/realguest/run.sh libvirt
	done
fi

# ---- packed (make check-full): multiqueue over packed virtqueues ---------------
if has_phase packed; then
	for t in $TARGETS; do
		phase "packed-$t" scripts/vm-run --logdir "$RES/packed-$t" --timeout 900 \
			--env TARGET="$t" -- bash scripts/realguest/run.sh multiqueue-packed
	done
	phase selftests-packed-ours scripts/vm-run --logdir "$RES/selftests-packed-ours" \
		--timeout 1500 --env TARGET=ours --env VSNG_RING=packed -- \
		bash selftests/vhost_scsi_ng/run.sh
fi

# ---- dkms (make check-full): the package in a guest -------------------------------
if has_phase dkms; then
	phase dkms env VSNG_RESULTS_DIR="$RES/dkms-package" VSNG_DKMS_GUEST_LOGDIR="$RES/dkms" \
		scripts/check-dkms.sh
fi

# ---- stat (make check-full): vsng-stat against a running device -----------------
if has_phase stat; then
	phase stat scripts/vm-run --logdir "$RES/stat" --timeout 600 -- tools/vsng-stat-test.sh
fi

# ---- k61 (make check-full, make check-61): the selftests on Debian's 6.1 ----------
if has_phase k61; then
	k61img=$(scripts/check-61.sh image)
	if [ -z "$k61img" ] || [ ! -r "$k61img" ]; then
		echo "not ok 1 k61: no 6.1 kernel image '$k61img' (make deps-61 extracts it)" >"$RES/k61.log"
		count_tap k61 "$RES/k61.log" 1
	else
		phase k61-build scripts/check-61.sh build "$RES/k61-module"
		k61rg=${VSNG_K61_RG-basic multiqueue}
		for t in $TARGETS; do
			[ "$t" = ours ] && [ ! -f "$RES/k61-module/vhost_scsi_ng.ko" ] && continue
			phase "k61-$t" scripts/vm-run --kernel "$k61img" --logdir "$RES/k61-$t" \
				--timeout "$TO_SELFTESTS" --env TARGET="$t" \
				--env VSNG_MODULE="$RES/k61-module/vhost_scsi_ng.ko" \
				-- selftests/vhost_scsi_ng/run.sh
			# The real-guest scenarios on a 6.1 outer kernel (the inner
			# guest keeps its 6.12 kernel); a platform death runs again.
			[ -n "$k61rg" ] || continue
			for try in 1 2; do
				PHASE_MAY_RETRY=$((try == 1)) phase "k61-realguest-$t" \
					scripts/vm-run --kernel "$k61img" --logdir "$RES/k61-realguest-$t" \
					--timeout "$(rg_timeout "$k61rg")" --env TARGET="$t" \
					--env VSNG_MODULE="$RES/k61-module/vhost_scsi_ng.ko" \
					--env RG_SCENARIOS="$k61rg" -- bash scripts/realguest/run.sh
				[ "$PHASE_RETRY" = 1 ] || break
			done
		done
	fi
fi

# ---- k61quick (make check): a short pass on Debian's 6.1 kernel, ours ----------
# Our module built for 6.1 (build phase) under a few selftests in a 6.1 guest:
# the cgroup placement of 6.1's kthread workers, the ABI and the data path.
# Last of make check's guest phases, and only when its slow-machine estimate
# fits in what is left of the budget (else one SKIP line).
K61Q_TESTS=${VSNG_K61Q_TESTS:-vsng_cgroup vsng_abi vsng_data}
if has_phase k61quick && ! has_phase k61; then
	k61img=$(scripts/check-61.sh image)
	k61ko=$RES/k61-module/vhost_scsi_ng.ko
	if ! budget_fits k61quick-ours k61quick; then
		: # recorded as one SKIP
	elif [ -z "$k61img" ] || [ ! -r "$k61img" ]; then
		echo "not ok 1 k61quick-ours: no 6.1 kernel image '$k61img' (setup extracts it: scripts/deps.sh --kernel-61)" >"$RES/k61quick-ours.log"
		count_tap k61quick-ours "$RES/k61quick-ours.log" 1
	else
		[ -f "$k61ko" ] || phase k61quick-build scripts/check-61.sh build "$RES/k61-module"
		# shellcheck disable=SC2086
		[ -f "$k61ko" ] && phase k61quick-ours scripts/vm-run --kernel "$k61img" \
			--logdir "$RES/k61quick-ours" --timeout "$TO_K61Q" --env TARGET=ours \
			--env VSNG_MODULE="$k61ko" -- selftests/vhost_scsi_ng/run.sh $K61Q_TESTS
	fi
fi

# ---- KERNEL=debug, part 2 of 2 (owned by the selftest helper) ----------------
# Phase "debug" (make check KERNEL=debug): build the debug kernel once per
# machine (scripts/debug-kernel.sh; cached outside the tree), build our
# module and the KUnit module against its tree (debug-kernel.sh --module),
# then per target in VSNG_CHECK_DEBUG_TARGETS (default "ours") one guest on
# the debug kernel runs selftests/vhost_scsi_ng/debug-run.sh (KUnit for
# ours, the whole suite, a kmemleak scan), and the console log of that
# guest is scanned by scripts/debug-kernel-scan.sh: any KASAN, lockdep,
# sleeping-in-atomic, kmemleak, hung-task, oops or WARNING report fails.
debug_build() {
	local out ko
	if out=$(scripts/debug-kernel.sh 2>&1 | tee "$RES/debug-kernel-build.log" | tail -n 1) && [ -f "$out" ]; then
		echo "ok 1 debug kernel: $out ($(cat "$(dirname "$out")/build-time" 2>/dev/null || echo 'build time unknown'))"
	else
		echo "not ok 1 debug kernel build (see debug-kernel-build.log)"
		tail -n 20 "$RES/debug-kernel-build.log" | sed 's/^/# /'
		return 1
	fi
	if ko=$(scripts/debug-kernel.sh --module 2>"$RES/debug-module-build.log") && [ -f "$ko" ]; then
		echo "ok 2 module built against the debug tree: $ko"
		echo "$ko" >"$RES/debug-module-path"
	else
		echo "not ok 2 module build against the debug tree (see debug-module-build.log)"
		tail -n 20 "$RES/debug-module-build.log" | sed 's/^/# /'
		return 1
	fi
	if [ -f "$(dirname "$ko")/vhost_scsi_ng_kunit.ko" ]; then
		echo "ok 3 KUnit module built: $(dirname "$ko")/vhost_scsi_ng_kunit.ko"
	else
		echo "not ok 3 KUnit module vhost_scsi_ng_kunit.ko not built (CONFIG_KUNIT missing?)"
	fi
}
debug_scan() {
	local hits rc
	local by
	hits=$(scripts/debug-kernel-scan.sh logs "$1" 2>&1)
	rc=$?
	printf '%s\n' "$hits" | grep -v '^# reports by origin' | head -n 40
	by=$(printf '%s\n' "$hits" | sed -n 's/^# reports by origin: //p')
	if [ $rc = 0 ]; then
		echo "ok 1 debug console: no KASAN/lockdep/kmemleak/hung-task/oops/WARNING report from the target or LIO (reports by origin: ${by:-none})"
	else
		echo "not ok 1 debug console: reports from the target or LIO (reports by origin: ${by:-unknown})"
	fi
}
if has_phase debug; then
	phase debug-build debug_build
	BZIMAGE_DEBUG=$(scripts/debug-kernel.sh --path 2>/dev/null)
	KO_DEBUG=$(cat "$RES/debug-module-path" 2>/dev/null)
	if [ -n "$BZIMAGE_DEBUG" ] && [ -n "$KO_DEBUG" ]; then
		for t in ${VSNG_CHECK_DEBUG_TARGETS:-ours}; do
			# 4-level paging: with LA57 the 6.12 debug kernel can report
			# itself at boot (KASAN wild-memory-access in an interrupt
			# during identify_cpu; Documentation/debug-kernel.md).
			phase "debug-selftests-$t" scripts/vm-run --kernel "$BZIMAGE_DEBUG" \
				--cpu "${VSNG_DEBUG_CPU:-max,la57=off}" \
				--logdir "$RES/debug-$t" --timeout 3000 \
				--env TARGET="$t" --env VSNG_MODULE="$KO_DEBUG" \
				-- bash selftests/vhost_scsi_ng/debug-run.sh
			phase "debug-console-$t" debug_scan "$RES/debug-$t"
		done
	fi
fi
# ---- end of KERNEL=debug, part 2 ----------------------------------------------

# ---- summary -------------------------------------------------------------------
TIMES+=("total $((SECONDS - T_ALL))s")
# Guest boot times: every vm-run console log says when the guest was up.
BOOTS=$(find "$RES" -name console.log -exec sed -n 's/.*vm-run: guest up in \([0-9.]*\)s.*/\1/p' {} + 2>/dev/null |
	awk '{ n++; s += $1; if ($1 > m) m = $1 } END { if (n) printf "%d boots, mean %.1fs, max %.1fs, sum %.0fs", n, s / n, m, s }')
{
	echo "wall times: ${TIMES[*]}"
	echo "guest boot (kernel to command): ${BOOTS:-none}"
	echo "platform retries (outer guest panicked or reset, phase run again): $PLATFORM_RETRIES"
	echo "kernel reports by origin (every guest's console and dmesg): $(cat "$RES"/*.log 2>/dev/null |
		sed -n 's/.*reports by origin: \([0-9]*\) from the target or LIO, \([0-9]*\) kernel\/platform\(, \([0-9]*\) known in-tree\)\{0,1\}.*/\1 \2 \4/p' |
		awk '{ t += $1; k += $2; i += $3 } END { printf "%d from the target or LIO, %d kernel/platform, %d known in-tree defect", t, k, i }')"
	echo "logs: ${RES#"$REPO"/}/"
} >>"$SUMMARY"
echo
echo "================================ make check summary ================================"
cat "$SUMMARY"
echo "$PASS passed, $FAIL failed, $SKIP skipped" | tee -a "$SUMMARY" >/dev/null
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
