#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# reset: the inner guest's SCSI error handler resets the disk while fio
# writes and verifies through it. LUN 0 is iblock on a memory-backed
# null_blk whose every I/O takes RST_DELAY_MS, so fio's 16 requests are in
# the backend when each reset comes. The guest sends each reset as its
# error handler does: the SG_SCSI_RESET ioctl (tools/vsng-scsi-reset,
# what "sg_reset -d" does) makes the midlayer call virtio_scsi's device
# reset, a LOGICAL UNIT RESET on the control queue. (A timeout cannot
# start it: virtio_scsi's eh_timed_out only resets the timer.) The guest
# must get every reset done, every cancelled request retried (answered
# VIRTIO_SCSI_S_RESET: Linux retries DID_RESET and fails DID_ABORT with
# EIO), fio must end without an I/O error or a verify mismatch, and the
# disk must work after. Ours answered them ABORTED until 2026-12-05:
# fio then failed with EIO after the first reset. In-tree answers them with
# the status they had; here all had reached the backend, which LIO lets
# finish, so its GOOD answers hold real data and it passes (on 2026-12-05);
# a failing fio on in-tree would be reported as "in-tree: affected".
. "$(dirname "$0")/lib.sh"
rg_begin reset

W=$(rg_wwpn 10)
NB=vsngrst
NBD=/sys/kernel/config/nullb/$NB
BS=$CFS/core/iblock_0/reset
RST_DELAY_MS=${RST_DELAY_MS:-20}
N=${RST_COUNT:-3}

rg_cleanup_hook() {
	rg_target_clear
	[ -d "$NBD" ] && { echo 0 >"$NBD/power"; rmdir "$NBD"; }
}
rst_backstore() {
	{ [ -d /sys/kernel/config/nullb ] || rg_modprobe null_blk nr_devices=0; } &&
		mkdir -p "$NBD" && echo 64 >"$NBD/size" && echo 1 >"$NBD/memory_backed" &&
		echo 2 >"$NBD/irqmode" &&
		echo $((RST_DELAY_MS * 1000000)) >"$NBD/completion_nsec" &&
		echo 1 >"$NBD/power" || return 1
	for _ in $(seq 50); do [ -b /dev/$NB ] && break; sleep 0.1; done
	mkdir -p "$BS" && echo "udev_path=/dev/$NB" >"$BS/control" && echo 1 >"$BS/enable"
}
rst_backstore && rg_tpg "$W" 1 && rg_lun "$W" 1 0 "$BS" ||
	{ rg_notok "reset: configure LIO (iblock on null_blk)" "configfs"; rg_end 1; }

T=$RG_WORK/reset.test.sh
rg_write_test "$T" <<INNER
wait_disk 1 0 20; d=\$(disk 1 0)
check "sees the disk at target 1 LUN 0 (\$d)" [ -n "\$d" ]
check "has the device-reset tool" [ -x /bin/vsng-scsi-reset ]
fio --name=rst --filename=/dev/\$d --thread --direct=1 --ioengine=libaio \
	--iodepth=16 --bs=4k --rw=randwrite --size=8M --verify=crc32c \
	--do_verify=1 --verify_fatal=1 --output=/tmp/fio.rst.out >/dev/null 2>&1 &
pid=\$!
sleep 1
sent=0 done=0
while [ \$sent -lt $N ] && kill -0 \$pid 2>/dev/null; do
	vsng-scsi-reset /dev/\$d && done=\$((done + 1))
	sent=\$((sent + 1))
	sleep 1
done
wait \$pid
rc=\$?
echo "resets: \$sent sent, \$done succeeded; fio exit \$rc"
tail -n 25 /tmp/fio.rst.out
check "$N device resets sent while fio ran, each succeeded (\$done of \$sent)" [ \$sent = $N -a \$done = $N ]
dmesg | grep -i 'reset' | tail -n 8
if [ \$rc = 0 ]; then
	res_ok "fio randwrite 8 MiB verify=crc32c through $N resets: no I/O error, no mismatch"
elif [ "$TARGET" = intree ]; then
	res_ok "fio randwrite 8 MiB verify=crc32c through $N resets # in-tree: affected: fio exit \$rc (cancelled I/O answered GOOD)"
else
	res_notok "fio randwrite 8 MiB verify=crc32c through $N resets: no I/O error, no mismatch" "fio exit \$rc"
fi
check "4 MiB O_DIRECT write, read back, compare after the resets" dd_compare \$d 4 16
INNER
rg_boot reset "$T" "reset: " --fio -- -device "vhost-scsi-pci,wwpn=$W"
rc=$?
rg_cleanup_hook || rg_notok "reset: LIO configuration removable after QEMU exit" "rmdir failed"
rg_end $rc
