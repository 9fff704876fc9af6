# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# platform-death.sh: sourced by scripts/check.sh and scripts/bench.sh.
# Tells a death of the outer test guest that is the platform's (nested KVM
# under TCG, see Documentation/realguest-tests.md, "Platform failures") from
# one that may be ours. Ours and the in-tree target are judged alike.
#
#   platform_death CONSOLE_LOG VM_RUN_OUTPUT
#	prints the reason and returns 0 when the guest died of the platform;
#	returns 1 (and prints why not, on stderr) otherwise.
#
# The platform signatures:
#   - the panic "corrupted stack end detected inside scheduler" in a QEMU
#     thread (kvm_vcpu_reset <- shutdown_interception: the inner guest had
#     triple-faulted);
#   - "BUG: ENTRY_TRAMPOLINE stack guard page was hit": a page fault taken
#     on entry from user mode recursed on the entry trampoline's stack (the
#     per-CPU base was wrong on entry), then "Fatal exception in
#     interrupt"; seen right after an inner QEMU started. The entry path
#     runs none of the code under test, and the check for its frames
#     comes first;
#   - vm-run's stall stop: a halted outer vCPU its timer no longer wakes;
#   - vm-run's soft-lockup stop: a task that is not a vhost worker spun
#     for minutes (khugepaged, waiting on another CPU) while QEMU showed a
#     vCPU halted (vcpu-state.txt next to the console log), with no kernel
#     report before the first soft lockup and no frame of the target in
#     any CPU's trace (vm-run boots with every CPU's backtrace shown);
#   - a silent reset: QEMU exited 0 (-no-reboot) with no exit code and
#     nothing on the console.
# Never the platform, whatever else the log says:
#   - any frame of a storage target or LIO on the console (vhost_scsi_ng,
#     vhost_scsi, target_core_*): a report from the code under test;
#   - an oops, BUG, KASAN, lockdep or WARNING report before the platform
#     panic: the panic may be its consequence.
# scripts/tests/platform-death-test.sh feeds canned logs to this.

# A line of the console that points at the code under test.
PD_OURS_RE='\[(vhost_scsi_ng|vhost_scsi|target_core_[a-z_]+)\]|(^|[^a-z0-9_])(vhost_scsi|vsng|target_core|transport_|core_tmr)[a-z0-9_]*\+0x'
# A kernel report that is not the platform panic itself.
PD_REPORT_RE='BUG:|Oops|general protection fault|kernel BUG at|WARNING:|INFO: task .* blocked|possible (circular|recursive) locking|inconsistent lock state|list_(add|del) corruption|refcount_t:'
PD_PANIC='Kernel panic - not syncing: corrupted stack end detected inside scheduler'
PD_TRAMP='BUG: ENTRY_TRAMPOLINE stack guard page was hit'

platform_death() {
	local con=$1 out=$2 pre sig
	if [ -s "$con" ] && grep -aqE "$PD_OURS_RE" "$con"; then
		echo "not platform: the console shows a frame of the target or LIO: $(grep -aE -m1 "$PD_OURS_RE" "$con")" >&2
		return 1
	fi
	for sig in "$PD_PANIC" "$PD_TRAMP"; do
		grep -aqF "$sig" "$con" 2>/dev/null || continue
		# Only what came before it: its own dump follows it.
		pre=$(sed -n "/$sig/q;p" "$con")
		if printf '%s\n' "$pre" | grep -aqE "$PD_REPORT_RE"; then
			echo "not platform: a kernel report precedes the platform signature: $(printf '%s\n' "$pre" | grep -aE -m1 "$PD_REPORT_RE")" >&2
			return 1
		fi
		echo "outer guest died of a platform signature (\"${sig#*: }\")"
		return 0
	done
	if grep -qF 'guest ended without an exit code (vCPU timer stall)' "$out" 2>/dev/null; then
		echo "an outer vCPU stopped taking timer interrupts (RCU timer stall)"
		return 0
	fi
	if grep -qF 'guest ended without an exit code (soft lockup of' "$out" 2>/dev/null; then
		pre=$(sed -n '/BUG: soft lockup/q;p' "$con" 2>/dev/null)
		if printf '%s\n' "$pre" | grep -aqE "$PD_REPORT_RE"; then
			echo "not platform: a kernel report precedes the soft lockup: $(printf '%s\n' "$pre" | grep -aE -m1 "$PD_REPORT_RE")" >&2
			return 1
		fi
		if ! grep -aqF 'BUG: soft lockup' "$con" 2>/dev/null ||
		   ! grep -qF 'HLT=1' "$(dirname "$con")/vcpu-state.txt" 2>/dev/null; then
			echo "not platform: no soft lockup on the console or no halted vCPU in vcpu-state.txt" >&2
			return 1
		fi
		echo "an outer CPU spun in a soft lockup while a vCPU stayed halted ($(grep -aoE -m1 'stuck for [0-9]+s! \[[^]]+\]' "$con"))"
		return 0
	fi
	if grep -qF 'guest ended without an exit code (QEMU status 0)' "$out" 2>/dev/null &&
	   [ -s "$con" ] &&
	   ! grep -aqE "Kernel panic|Call Trace|double fault|$PD_REPORT_RE" "$con"; then
		echo "outer guest reset silently (no panic, oops or warning on its console)"
		return 0
	fi
	echo "not platform: no platform signature in $con" >&2
	return 1
}
