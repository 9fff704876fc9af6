#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# platform-death-test.sh: the classification of an outer guest's death
# (scripts/platform-death.sh) on canned console logs, on the host, in well
# under a second. TAP output. A log with an oops of the target under test
# must never be called a platform failure, for ours and in-tree alike.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../platform-death.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
N=0 FAILED=0

# check NAME WANT(platform|ours) CONSOLE-TEXT [VM-RUN-OUTPUT]
check() {
	local name=$1 want=$2 got
	N=$((N + 1))
	printf '%s\n' "$3" >"$T/console.log"
	printf '%s\n' "${4:-vm-run: guest ended without an exit code (QEMU status 1)}" >"$T/out.log"
	if platform_death "$T/console.log" "$T/out.log" >/dev/null 2>&1; then got=platform; else got=ours; fi
	if [ "$got" = "$want" ]; then
		echo "ok $N - $name: $got"
	else
		echo "not ok $N - $name: classified $got, want $want"
		FAILED=$((FAILED + 1))
	fi
}

PANIC='[  812.1] Kernel panic - not syncing: corrupted stack end detected inside scheduler
[  812.1] CPU: 1 UID: 0 PID: 4242 Comm: qemu-system-x86 Not tainted 6.12.95+deb12-amd64 #1
[  812.1] Call Trace:
[  812.1]  <TASK>
[  812.1]  dump_stack_lvl+0x5d/0x80
[  812.1]  panic+0x118/0x2f0
[  812.1]  kvm_vcpu_reset+0x3a1/0x4f0 [kvm]
[  812.1]  shutdown_interception+0x5b/0x80 [kvm_amd]
[  812.1]  vcpu_run+0x1f0/0x15a0 [kvm]
[  812.1] Modules linked in: vhost_scsi_ng(OE) vhost vhost_iotlb target_core_iblock target_core_mod brd kvm_amd kvm'
BOOT='[    0.000000] Linux version 6.12.95+deb12-amd64
[    7.1] vm-run: guest up in 7.1s'
OOPS_OURS='[  300.2] BUG: kernel NULL pointer dereference, address: 0000000000000008
[  300.2] Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI
[  300.2] RIP: 0010:vsng_cmd_release+0x2c/0x90 [vhost_scsi_ng]
[  300.2] Call Trace:
[  300.2]  vsng_complete_batch+0x91/0x1c0 [vhost_scsi_ng]
[  300.2]  process_one_work+0x17b/0x330'
OOPS_INTREE='[  300.2] BUG: unable to handle page fault for address: ffffc90000c03000
[  300.2] RIP: 0010:vhost_scsi_handle_vq+0x4a1/0xc10 [vhost_scsi]
[  300.2] Call Trace:
[  300.2]  vhost_run_work_list+0x3d/0x60 [vhost]'
WARN_LIO='[  200.0] WARNING: CPU: 0 PID: 77 at drivers/target/target_core_transport.c:3178 transport_generic_free_cmd+0x1a0/0x1c0 [target_core_mod]'
WARN_OTHER='[  200.0] WARNING: CPU: 0 PID: 77 at mm/page_alloc.c:4500 __alloc_pages_noprof+0x3a0/0x400
[  200.0] Call Trace:
[  200.0]  kmalloc_large+0x20/0x90'

check "the known platform panic, our module loaded" platform "$BOOT
$PANIC"
check "the known panic after an oops of ours" ours "$BOOT
$OOPS_OURS
$PANIC"
check "the known panic after an in-tree vhost_scsi oops" ours "$BOOT
$OOPS_INTREE
$PANIC"
check "the known panic after a LIO WARNING" ours "$BOOT
$WARN_LIO
$PANIC"
check "the known panic after an unrelated kernel WARNING" ours "$BOOT
$WARN_OTHER
$PANIC"
check "an oops of ours, then a silent QEMU exit 0" ours "$BOOT
$OOPS_OURS" "vm-run: guest ended without an exit code (QEMU status 0)"
check "a silent reset with a clean console" platform "$BOOT" \
	"vm-run: guest ended without an exit code (QEMU status 0)"
check "a silent reset after a warning on the console" ours "$BOOT
$WARN_OTHER" "vm-run: guest ended without an exit code (QEMU status 0)"
check "vm-run's vCPU timer stall stop" platform "$BOOT
[  500.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks: kthread timer wakeup didn't happen" \
	"vm-run: guest ended without an exit code (vCPU timer stall)"
check "vm-run's stall stop with an in-tree frame on the console" ours "$BOOT
$OOPS_INTREE" "vm-run: guest ended without an exit code (vCPU timer stall)"
check "a death with no signature (QEMU status 1, empty console)" ours "" \
	"vm-run: guest ended without an exit code (QEMU status 1)"
check "a frame of another module named like ours is not ours" platform "$BOOT
[  100.0]  virtio_transport_recv_pkt+0x10/0x20 [vmw_vsock_virtio_transport_common]
$PANIC"

# Seen in a fresh-clone CI run (2026-12-04 17:51, realguest-ours, right after
# an inner QEMU started): a user task's page fault recursed on the entry
# trampoline's stack into its guard page (the per-CPU base was wrong on
# entry), then "Fatal exception in interrupt".
TRAMP='[  213.171764] kvm: kvm [2123]: vcpu0, guest rIP: 0xffffffff8489d458 Unhandled WRMSR(0xc0010007) = 0xffff
[  213.351867] BUG: ENTRY_TRAMPOLINE stack guard page was hit at 00000000df780cc2 (stack is 0000000078c5b58d..0000000064172726)
[  213.353960] Oops: stack guard page: 0000 [#1] PREEMPT SMP NOPTI
[  213.354553] CPU: 0 UID: 0 PID: 2150 Comm: bash Tainted: G           OE      6.12.95+deb12-amd64 #1
[  213.359074] RIP: 0010:error_entry+0x10/0x140
[  213.361439]  <ENTRY_TRAMPOLINE>
[  213.361489] RIP: 0010:exc_page_fault+0x19/0x190
[  213.362067]  asm_exc_page_fault+0x26/0x30
[  213.367779] Modules linked in: iscsi_target_mod target_core_user uio target_core_pscsi scsi_mod kvm_amd ccp kvm irqbypass vhost_scsi_ng(OE) target_core_file target_core_iblock target_core_mod scsi_common configfs overlay 9p 9pnet_virtio 9pnet netfs
[  213.368644] Kernel panic - not syncing: Fatal exception in interrupt'
check "the entry-trampoline stack-guard oops (nested KVM), our module loaded" platform "$BOOT
$TRAMP" "vm-run: guest ended without an exit code (QEMU status 0)"
check "the entry-trampoline oops after a WARNING of LIO" ours "$BOOT
$WARN_LIO
$TRAMP"
check "the entry-trampoline oops after an unrelated kernel WARNING" ours "$BOOT
$WARN_OTHER
$TRAMP"
check "the entry-trampoline oops with a frame of ours in its trace" ours "$BOOT
${TRAMP%%\[  213.367779]*}[  213.3677]  vsng_vq_pop+0x10/0x200 [vhost_scsi_ng]
[  213.368644] Kernel panic - not syncing: Fatal exception in interrupt"

# Seen in a fresh-clone CI run (2026-12-05 11:49, realguest-ours): khugepaged
# spun on CPU 1 for over 1000 s and the phase ran into its timeout. vm-run
# now stops such a guest (a soft lockup of VSNG_SOFTLOCKUP_STOP s while a
# vCPU is halted, vcpu-state.txt) with this line on its output.
SL_OUT='vm-run: guest ended without an exit code (soft lockup of 182s in khugepaged, a vCPU halted)'
SL='[  700.1] watchdog: BUG: soft lockup - CPU#1 stuck for 182s! [khugepaged:41]
[  700.1] Modules linked in: vhost_scsi_ng(OE) vhost vhost_iotlb target_core_mod kvm_amd kvm
[  700.1] RIP: 0010:smp_call_function_many_cond+0x12e/0x560
[  700.1] Call Trace:
[  700.1]  on_each_cpu_cond_mask+0x24/0x40
[  700.1]  flush_tlb_mm_range+0x1a4/0x1f0
[  700.1]  collapse_huge_page+0x5b2/0xa40
[  700.1]  khugepaged+0x4d7/0xa40
[  700.1] Sending NMI from CPU 1 to CPUs 0:'
HALTED='CPU#0
EIP=ffffffff81e4a8ff EFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1
CPU#1
EIP=ffffffff8119c0ae EFL=00000202 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0'
printf '%s\n' "$HALTED" >"$T/vcpu-state.txt"
check "vm-run's soft-lockup stop, khugepaged, a vCPU halted" platform "$BOOT
$SL" "$SL_OUT"
check "vm-run's soft-lockup stop with a frame of ours on the other CPU" ours "$BOOT
$SL
[  700.2] NMI backtrace for cpu 0
[  700.2]  vsng_vq_pop+0x10/0x200 [vhost_scsi_ng]" "$SL_OUT"
check "vm-run's soft-lockup stop after a WARNING of LIO" ours "$BOOT
$WARN_LIO
$SL" "$SL_OUT"
check "vm-run's soft-lockup stop after an unrelated kernel WARNING" ours "$BOOT
$WARN_OTHER
$SL" "$SL_OUT"
printf '%s\n' "${HALTED//HLT=1/HLT=0}" >"$T/vcpu-state.txt"
check "vm-run's soft-lockup stop with no vCPU halted" ours "$BOOT
$SL" "$SL_OUT"
rm -f "$T/vcpu-state.txt"
check "vm-run's soft-lockup stop with no vCPU state kept" ours "$BOOT
$SL" "$SL_OUT"

echo "1..$N"
[ $FAILED = 0 ]
