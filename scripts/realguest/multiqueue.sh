#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# multiqueue: num_queues=4 and a 2-vCPU inner guest, once with one worker
# per device and once with worker_per_virtqueue=on. fio runs 4 jobs split
# over both vCPUs with verify=crc32c. How many request queues the guest
# uses is the guest's choice (Linux virtio_scsi: min(num_queues,
# nr_cpu_ids) = 2 here; printed, not checked). What the target decides, and
# is checked:
#  - fio verified;
#  - with worker_per_virtqueue=on QEMU's process holds more than one vhost
#    worker thread; on a kernel without vhost_task (6.1, no
#    VHOST_NEW_WORKER) the worker is a kernel thread vhost-<QEMU's pid>
#    and QEMU holds none;
#  - completions came back on more than one request queue, and on every
#    queue the guest uses:
#    both targets: more than one request queue's MSI-X vector, and every
#    one, raised interrupts in the guest during fio (/proc/interrupts
#    before/after; the target signals each queue's call eventfd);
#    ours also: our per-queue counters (debugfs, the same numbers as
#    VHOST_SCSI_NG_GET_VQ_STATS) over all num_queues request virtqueues:
#    more than one of them completed requests during fio, every queue the
#    guest uses took requests, and completions = requests.
# Figures printed (RG-FIGURE lines, also in figures.txt): guest interrupts
# per I/O (both targets); ours: used-index writes, interrupts (call eventfd
# signals) and kicks per request, from our counters over the fio run.
#
# The outer side snapshots the counters between fio and the rest: the inner
# guest prints VSNG-FIO-START / VSNG-IO-DONE and waits for "go" on its
# control port (rg_send).
# RG_PACKED=1 (scenario multiqueue-packed): the same over packed virtqueues
# (packed=on), the negotiated ring format checked before fio; in-tree must
# refuse it (rg_packed_refused in lib.sh, one boot).
. "$(dirname "$0")/lib.sh"
rg_begin "$(rg_scn multiqueue)"
W=$(rg_wwpn 7)
rg_rd mq 64 && rg_tpg "$W" 1 && rg_lun "$W" 1 0 "$CFS/core/rd_mcp_0/mq" ||
	{ rg_notok "$RG_NAME: configure LIO" "configfs"; rg_end 1; }
MQ_JOB_MB=${MQ_JOB_MB:-4}
MQ_NQ=4			# num_queues: request virtqueues vq2..vq$((1 + MQ_NQ))
T=$RG_WORK/multiqueue.test.sh
{ rg_packed_inner; cat; } >"$T" <<INNER
wait_disk 1 0 20; d=\$(disk 1 0)
nq=\$(ls -d /sys/block/\$d/mq/* | wc -l)
echo "VSNG-NQ \$nq"
irq_requests >/tmp/irq0; io0=\$(blk_ios \$d)
echo "VSNG-FIO-START"
ctl_wait go1 60
check "fio 4 jobs over 2 vCPUs, verify=crc32c" fio_verify mq \$d --size=${MQ_JOB_MB}M --numjobs=4 \\
	--offset_increment=${MQ_JOB_MB}M --iodepth=8 --cpus_allowed=0-1 --cpus_allowed_policy=split
irq_requests >/tmp/irq1; io1=\$(blk_ios \$d)
echo "VSNG-IO-DONE"
echo "VSNG-IOS \$((io1 - io0))"
busy=0 n=0 all=0 list=
while read -r irq c1; do
	c0=\$(awk -v i=\$irq '\$1 == i { print \$2 }' /tmp/irq0)
	dl=\$((c1 - \${c0:-0})); n=\$((n + 1)); all=\$((all + dl)); list="\$list \$dl"
	[ \$dl -gt 0 ] && busy=\$((busy + 1))
done </tmp/irq1
echo "VSNG-IRQS \$all"
check "completions on more than one request queue: vectors that raised interrupts during fio (\$busy of \$n:\$list)" [ \$busy -ge 2 -a \$busy = \$n ]
ctl_wait go2 60
INNER

# num: a decimal quotient with 2 digits.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
FIG=$RG_SDIR/figures.txt
: >"$FIG"
fig() { echo "RG-FIGURE TARGET=$TARGET $*" | tee -a "$FIG"; }

rc=0
WPVS="off on"
if [ "$RG_PACKED" = 1 ] && [ "$TARGET" = intree ]; then
	rg_packed_refused "mq-packed" "$T" "$RG_NAME: " --smp 2 --fio -- \
		-device "vhost-scsi-pci,wwpn=$W,num_queues=$MQ_NQ$(rg_vs_opts)"
	rc=$?
	WPVS=
fi
for wpv in $WPVS; do
	rg_qemu_start "mq-wpv-$wpv" "$T" --smp 2 --fio -- \
		-device "vhost-scsi-pci,wwpn=$W,num_queues=$MQ_NQ,worker_per_virtqueue=$wpv$(rg_vs_opts)"
	p="$RG_NAME (worker_per_virtqueue=$wpv): "
	if ! rg_wait_console 'VSNG-FIO-START' "$RG_BOOT_TIMEOUT"; then
		rg_qemu_stop 0
		rg_qemu_failed "$p" "mq-wpv-$wpv" && continue
		if grep -aq 'VSNG-RESULT: not ok' "$RG_CONSOLE"; then
			rg_collect "$p"; rg_notok "${p}inner guest finished" "no verdict after a failed check"
			continue
		fi
		rc=3; break
	fi
	nq=$(grep -ao 'VSNG-NQ [0-9]*' "$RG_CONSOLE" | head -n1 | cut -d' ' -f2)
	nq=${nq:-0}
	last=$((1 + nq))	# vq0 control, vq1 event, vq2.. requests
	s0=
	[ "$TARGET" = ours ] && s0=$(rg_vq_stats "$RG_QPID" 2 $((1 + MQ_NQ)))
	rg_send go1
	if ! rg_wait_console 'VSNG-IO-DONE' 120; then
		rg_qemu_stop 0
		rg_qemu_failed "$p" "mq-wpv-$wpv" && continue
		if grep -aq 'VSNG-RESULT: not ok' "$RG_CONSOLE"; then
			rg_collect "$p"; rg_notok "${p}inner guest finished" "no verdict after a failed check"
			continue
		fi
		rc=3; break
	fi
	# Read the counters while the device is still there.
	s1=
	[ "$TARGET" = ours ] && s1=$(rg_vq_stats "$RG_QPID" 2 $((1 + MQ_NQ)))
	nw=$(cat /proc/"$RG_QPID"/task/*/comm 2>/dev/null | grep -c '^vhost-' || true)
	# Without vhost_task (6.1) the workers are kthreads named after QEMU.
	qpid=$RG_QPID
	nk=$(cat /proc/[0-9]*/comm 2>/dev/null | grep -cx "vhost-$qpid" || true)
	rg_send go2
	rg_wait_console 'VSNG-VERDICT: DONE' 60 || rc=3
	rg_qemu_stop 10
	[ $rc = 0 ] || break
	rg_collect "$p"
	ios=$(grep -ao 'VSNG-IOS [0-9]*' "$RG_CONSOLE" | head -n1 | cut -d' ' -f2)
	irqs=$(grep -ao 'VSNG-IRQS [0-9]*' "$RG_CONSOLE" | head -n1 | cut -d' ' -f2)
	rg_log "${p}vhost worker threads: $nw; guest: $ios I/Os, $irqs request-queue interrupts"
	fig "wpv=$wpv guest_ios=$ios guest_irqs=$irqs guest_irqs_per_io=$(ratio "$irqs" "$ios")"
	if [ "$wpv" = on ] && grep -qw vhost_task_create /proc/kallsyms; then
		rg_check "${p}QEMU has more than one vhost worker thread ($nw)" [ "$nw" -gt 1 ]
	elif [ "$wpv" = on ]; then
		# 6.1: no vhost_task, so no VHOST_NEW_WORKER: QEMU cannot add workers
		kt=0
		[ "$nk" -ge 1 ] && [ "$nw" = 0 ] && kt=1
		rg_check "${p}no vhost_task in this kernel (6.1): the worker is a kernel thread vhost-$qpid, none in QEMU ($nk kernel threads, $nw in QEMU)" \
			[ "$kt" = 1 ]
	fi
	if [ "$TARGET" = ours ]; then
		busy=0 want=0 done=0 tr=0 tc=0 tu=0 ti=0 tk=0 per=
		for ((q = 2; q <= 1 + MQ_NQ; q++)); do
			d() { echo $(($(rg_stat_get "$s1" "vq$q" "$1") + 0 - $(rg_stat_get "$s0" "vq$q" "$1") - 0)); }
			r=$(d requests) c=$(d completions) u=$(d used_idx_writes) i=$(d interrupts) k=$(d kicks)
			[ "$c" -gt 0 ] && done=$((done + 1))
			[ $q -le "$last" ] || { [ "$r" = 0 ] || per+=" vq$q:req=$r(unused by the guest)"; continue; }
			want=$((want + 1))
			[ "$r" -gt 0 ] && busy=$((busy + 1))
			tr=$((tr + r)) tc=$((tc + c)) tu=$((tu + u)) ti=$((ti + i)) tk=$((tk + k))
			per+=" vq$q:req=$r,used_idx_writes=$u,irq=$i,kicks=$k"
		done
		rg_log "${p}per-queue counters during fio:$per"
		rg_check "${p}our counters: more than one of the $MQ_NQ request virtqueues completed requests during fio ($done)" \
			[ "$done" -ge 2 ]
		rg_check "${p}every request virtqueue the guest uses carried I/O: our counters ($busy of $want;$per)" \
			[ "$want" -gt 0 -a "$busy" = "$want" ]
		rg_check "${p}our counters: completions = requests during fio ($tc of $tr)" [ "$tc" = "$tr" -a "$tr" -gt 0 ]
		fig "wpv=$wpv requests=$tr completions=$tc used_idx_writes=$tu interrupts=$ti kicks=$tk" \
			"used_idx_writes_per_io=$(ratio "$tu" "$tc") interrupts_per_io=$(ratio "$ti" "$tc")" \
			"kicks_per_io=$(ratio "$tk" "$tr")"
	else
		rg_skip "${p}per-queue counters of the target (requests, used-index writes, interrupts)" \
			"in-tree vhost_scsi has no per-queue statistics (checked with the guest's interrupt counts instead)"
	fi
done
rg_target_clear || rg_notok "$RG_NAME: LIO configuration removable after QEMU exit" "rmdir failed"
rg_end $rc
