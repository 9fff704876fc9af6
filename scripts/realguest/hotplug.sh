#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# hotplug: while the inner guest runs I/O on LUN 0, link a new LUN 1 in
# configfs; the guest must see the new disk with no rescan command (the
# target sends a VIRTIO_SCSI_T_TRANSPORT_RESET/RESCAN event), use it, then see
# it go away when the LUN is unlinked (RESET/REMOVED), while the I/O on LUN 0
# goes on without an error. The outer side acts when the inner guest prints
# VSNG-READY-ADD / VSNG-READY-REMOVE on its console.
#
# QEMU's vhost-scsi-pci (10.0) has no "hotplug" property; the event path
# needs VIRTIO_SCSI_F_HOTPLUG negotiated, which the inner guest checks first.
. "$(dirname "$0")/lib.sh"
rg_begin hotplug
W=$(rg_wwpn 3)
rg_rd hp0 32 && rg_rd hp1 24 && rg_tpg "$W" 1 && rg_lun "$W" 1 0 "$CFS/core/rd_mcp_0/hp0" ||
	{ rg_notok "hotplug: configure LIO" "configfs"; rg_end 1; }

T=$RG_WORK/hotplug.test.sh
cat >"$T" <<'INNER'
wait_disk 1 0 20; d0=$(disk 1 0)
check "LUN 0 present, LUN 1 absent at start" [ -n "$d0" -a "$(ndisks)" = 1 ]
hp=0
for v in /sys/bus/virtio/devices/*; do
	[ "$(cat $v/device)" = 0x0008 ] || continue
	f=$(cat $v/features)
	[ "$(echo "$f" | cut -c2)" = 1 ] && hp=1
done
if [ $hp = 0 ]; then
	res_skip "hot-plug" "VIRTIO_SCSI_F_HOTPLUG not negotiated (QEMU vhost-scsi-pci did not offer it)"
	echo "VSNG-NO-HOTPLUG"
else
	# background I/O on LUN 0 for the whole add/remove sequence
	( n=0; bad=0
	  while [ ! -f /tmp/stop ]; do dd_compare $d0 1 || bad=$((bad + 1)); n=$((n + 1)); done
	  echo "$n $bad" >/tmp/bg ) &
	echo "VSNG-READY-ADD"
	check "new LUN 1 appears without a rescan" wait_disk 1 1 30
	d1=$(disk 1 1)
	[ -n "$d1" ] && check "new LUN 1 has 24 MiB and takes I/O" [ "$(cat /sys/block/$d1/size)" = 49152 ] && check "new LUN 1: 2 MiB O_DIRECT compare" dd_compare $d1 2
	echo "VSNG-READY-REMOVE"
	check "LUN 1 goes away when unlinked" wait_gone 1 1 30
	check "only LUN 0 left ($(ndisks) disks)" [ "$(ndisks)" = 1 ]
	touch /tmp/stop; wait
	read n bad </tmp/bg
	echo "background I/O on LUN 0: $n rounds, $bad bad"
	check "I/O on LUN 0 went on during add/remove ($n rounds, $bad bad)" [ "$n" -gt 0 -a "$bad" = 0 ]
	check "LUN 0 still good after: fio verify" fio_verify hp $d0 --size=8M
fi
INNER
rg_qemu_start hotplug "$T" -- -device "vhost-scsi-pci,wwpn=$W"
rc=0
rg_wait_console 'VSNG-READY-ADD|VSNG-NO-HOTPLUG|VSNG-VERDICT' 90 || rc=3
if [ $rc = 0 ] && grep -aq VSNG-READY-ADD "$RG_CONSOLE"; then
	rg_log "hotplug: inner guest ready, linking LUN 1"
	rg_lun "$W" 1 1 "$CFS/core/rd_mcp_0/hp1" || rg_notok "hotplug: link LUN 1 while the guest runs" "configfs"
	if rg_wait_console 'VSNG-READY-REMOVE|VSNG-VERDICT' 60; then
		rg_log "hotplug: unlinking LUN 1"
		rg_unlun "$W" 1 1 || rg_notok "hotplug: unlink LUN 1 while the guest runs" "configfs"
	else
		rc=3
	fi
fi
if [ $rc = 0 ]; then
	rg_wait_console 'VSNG-VERDICT: DONE' 90 || rc=3
fi
rg_qemu_stop 10
if [ $rc = 0 ]; then
	rg_collect "hotplug: "
	rc=$?
elif grep -aq 'VSNG-RESULT: not ok' "$RG_CONSOLE"; then
	rg_collect "hotplug: "
	rg_notok "hotplug: inner guest finished" "no verdict after a failed check"
	rc=1
fi
rg_target_clear || rg_notok "hotplug: LIO configuration removable after QEMU exit" "rmdir failed"
rg_end $rc
