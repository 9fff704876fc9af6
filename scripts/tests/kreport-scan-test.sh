#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kreport-scan-test.sh: scripts/kreport-scan.py on canned guest logs: a
# report with a frame of the target or LIO fails the scan, a kernel or
# platform report is kept and counted but does not, a clean log passes.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SCAN=$HERE/../kreport-scan.py
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
N=0 FAILED=0

# check NAME WANT-EXIT WANT-SUMMARY LOG-TEXT
check() {
	local out rc
	N=$((N + 1))
	printf '%s\n' "$4" >"$T/console.log"
	out=$(python3 "$SCAN" "$T/console.log")
	rc=$?
	if [ "$rc" = "$2" ] && [[ $out == *"$3"* ]]; then
		echo "ok $N - $1"
	else
		echo "not ok $N - $1: exit $rc (want $2), output:"
		printf '%s\n' "$out" | sed 's/^/#   /'
		FAILED=$((FAILED + 1))
	fi
}

BOOT_KASAN='[    4.656847] ==================================================================
[    4.656847] BUG: KASAN: wild-memory-access in do_raw_spin_lock+0x122/0x270
[    4.656847] Write of size 4 at addr ff1100010006a8a8 by task swapper/0/0
[    4.656847] CPU: 0 UID: 0 PID: 0 Comm: swapper/0 Not tainted 6.12.95 #1
[    4.656847] Call Trace:
[    4.656847]  <IRQ>
[    4.656847]  handle_edge_irq+0x31/0xbb0
[    4.656847]  __common_interrupt+0x80/0x1a0
[    4.656847]  common_interrupt+0x7c/0x90
[    4.656847]  </IRQ>
[    4.656847] RIP: 0010:intel_unlock_cpuid_leafs+0x10/0x80
[    4.656847]  identify_cpu+0x3a1/0x1200
[    4.656847]  arch_cpu_finalize_init+0x20/0x110
[    4.656847]  start_kernel+0x5a0/0x700
[    4.656847] ==================================================================
'
OURS_UAF='[  120.1] BUG: KASAN: slab-use-after-free in vsng_complete_batch+0x91/0x1c0 [vhost_scsi_ng]
[  120.1] Read of size 8 at addr ffff888012345678 by task kworker/0:1/33
[  120.1] CPU: 0 UID: 0 PID: 33 Comm: kworker/0:1 Tainted: G           OE      6.12.95 #1
[  120.1] Call Trace:
[  120.1]  <TASK>
[  120.1]  kasan_report+0xa0/0xd0
[  120.1]  process_one_work+0x17b/0x330
[  120.1]  </TASK>'
LEAK='unreferenced object 0xffff888003a1c000 (size 512):
  comm "vsng_badinput", pid 812, jiffies 4294901234
  backtrace (crc 0):
    __kmalloc_noprof+0x1f0/0x3a0
    vsng_scsi_cmd_alloc+0x5a/0x120 [vhost_scsi_ng]
'
LIO_WARN='[  200.0] WARNING: CPU: 0 PID: 77 at drivers/target/target_core_transport.c:3178 transport_generic_free_cmd+0x1a0/0x1c0 [target_core_mod]
[  200.0] Call Trace:
[  200.0]  <TASK>
[  200.0]  </TASK>
[  200.0] ---[ end trace 0000000000000000 ]---'
INTREE_HUNG='[  600.0] INFO: task vhost-812:830 blocked for more than 120 seconds.
[  600.0] Call Trace:
[  600.0]  <TASK>
[  600.0]  __schedule+0x3ff/0xe40
[  600.0]  vhost_scsi_flush+0x9c/0x120 [vhost_scsi]
[  600.0]  </TASK>'

check "a clean boot passes" 0 "0 from the target or LIO, 0 kernel/platform" \
	'[    0.000000] Linux version 6.12.95
[    7.1] vm-run: guest up in 7.1s'
check "the debug kernel's boot-time KASAN report is kernel/platform, counted" 0 \
	"0 from the target or LIO, 1 kernel/platform" "$BOOT_KASAN"
check "a use-after-free in our module fails" 1 "1 from the target or LIO, 0 kernel/platform" "$OURS_UAF"
check "a kmemleak object allocated by our module fails" 1 "1 from the target or LIO" "$LEAK"
check "a LIO WARNING fails" 1 "1 from the target or LIO" "$LIO_WARN"
check "an in-tree vhost_scsi hung task fails (in-tree judged alike)" 1 "1 from the target or LIO" "$INTREE_HUNG"
check "both kinds in one log: both counted, the run fails" 1 \
	"1 from the target or LIO, 1 kernel/platform" "$BOOT_KASAN
$OURS_UAF"
INTREE_MISALIGNED='[   32.681999] ------------[ cut here ]------------
[   32.682079] vhost-scsi detected misaligned IO. Performance may be degraded.
[   32.682585] WARNING: CPU: 0 PID: 291 at drivers/vhost/scsi.c:709 vhost_scsi_map_iov_to_sgl.constprop.0+0x31d/0x340 [vhost_scsi]
[   32.683062] Modules linked in: vhost_scsi vhost vhost_iotlb target_core_mod
[   32.683698] RIP: 0010:vhost_scsi_map_iov_to_sgl.constprop.0+0x31d/0x340 [vhost_scsi]
[   32.684000] ---[ end trace 0000000000000000 ]---'
check "in-tree's known misaligned-I/O WARNING is in-tree: affected, not a failure" 0 \
	"0 from the target or LIO, 0 kernel/platform, 1 known in-tree defect" "$INTREE_MISALIGNED"
check "the same WARNING with a frame of ours fails" 1 "1 from the target or LIO" \
	"${INTREE_MISALIGNED/\[vhost_scsi\]/[vhost_scsi_ng]}"
N=$((N + 1))
printf '%s\n' "$BOOT_KASAN" >"$T/console.log"
if python3 "$SCAN" "$T/console.log" | grep -q 'kernel/platform report, not from our module, before load: BUG: KASAN: wild-memory-access'; then
	echo "ok $N - the kernel/platform report is printed on its own line, marked before load"
else
	echo "not ok $N - the kernel/platform report is printed on its own line, marked before load"
	FAILED=$((FAILED + 1))
fi
echo "1..$N"
[ $FAILED = 0 ]
