#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# multiqueue: num_queues=4 and a 2-vCPU inner guest, once with one worker
# per device and once with worker_per_virtqueue=on. fio runs 4 jobs split
# over both vCPUs with verify=crc32c. Checks:
#  - the guest's disk has as many blk-mq queues as request virtqueues it
#    set up (Linux virtio_scsi uses min(num_queues, nr_cpu_ids) = 2 here);
#  - fio verified;
#  - with worker_per_virtqueue=on QEMU's process holds more than one vhost
#    worker thread;
#  - ours: the per-queue debugfs counters show requests on every request
#    virtqueue the guest set up (in-tree has no per-queue counters: SKIP).
. "$(dirname "$0")/lib.sh"
rg_begin multiqueue
W=$(rg_wwpn 7)
rg_rd mq 64 && rg_tpg "$W" 1 && rg_lun "$W" 1 0 "$CFS/core/rd_mcp_0/mq" ||
	{ rg_notok "multiqueue: configure LIO" "configfs"; rg_end 1; }
T=$RG_WORK/multiqueue.test.sh
cat >"$T" <<'INNER'
wait_disk 1 0 20; d=$(disk 1 0)
nq=$(ls -d /sys/block/$d/mq/* | wc -l)
echo "VSNG-NQ $nq"
check "disk has one blk-mq queue per vCPU ($nq)" [ "$nq" = 2 ]
check "fio 4 jobs over 2 vCPUs, verify=crc32c" fio_verify mq $d --size=8M --numjobs=4 \
	--offset_increment=8M --iodepth=8 --cpus_allowed=0-1 --cpus_allowed_policy=split
echo "VSNG-IO-DONE"
sleep 3
INNER
rc=0
for wpv in off on; do
	rg_qemu_start "mq-wpv-$wpv" "$T" --smp 2 -- \
		-device "vhost-scsi-pci,wwpn=$W,num_queues=4,worker_per_virtqueue=$wpv"
	p="multiqueue (worker_per_virtqueue=$wpv): "
	if ! rg_wait_console 'VSNG-IO-DONE' "$RG_BOOT_TIMEOUT"; then
		rg_qemu_stop 0
		if grep -aq 'VSNG-RESULT: not ok' "$RG_CONSOLE"; then
			rg_collect "$p"; rg_notok "${p}inner guest finished" "no verdict after a failed check"
			continue
		fi
		rc=3; break
	fi
	# Read the counters while the device is still there.
	nw=$(cat /proc/"$RG_QPID"/task/*/comm 2>/dev/null | grep -c '^vhost-' || true)
	stats=$(rg_vq_requests "$RG_QPID")
	nq=$(grep -ao 'VSNG-NQ [0-9]*' "$RG_CONSOLE" | head -n1 | cut -d' ' -f2)
	rg_wait_console 'VSNG-VERDICT: DONE' 30 || rc=3
	rg_qemu_stop 10
	[ $rc = 0 ] || break
	rg_collect "$p"
	rg_log "${p}vhost worker threads: $nw; per-queue requests: $(echo $stats)"
	if [ "$wpv" = on ]; then
		rg_check "${p}QEMU has more than one vhost worker thread ($nw)" [ "$nw" -gt 1 ]
	fi
	if [ "$TARGET" = ours ]; then
		# vq0 control, vq1 event, vq2.. requests; the guest uses the first $nq.
		busy=0 want=0
		for ((q = 2; q < 2 + ${nq:-0}; q++)); do
			want=$((want + 1))
			r=$(echo "$stats" | awk -v q="vq$q" '$1 == q {print $2}')
			[ "${r:-0}" -gt 0 ] && busy=$((busy + 1))
		done
		rg_check "${p}every request virtqueue the guest uses carried I/O ($busy of $want; $(echo $stats))" \
			[ "$want" -gt 0 -a "$busy" = "$want" ]
	else
		rg_skip "${p}per-queue request counters" "in-tree vhost_scsi has no per-queue statistics"
	fi
done
rg_target_clear || rg_notok "multiqueue: LIO configuration removable after QEMU exit" "rmdir failed"
rg_end $rc
