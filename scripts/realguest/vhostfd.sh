#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vhostfd: the libvirt way. The test script opens /dev/vhost-scsi itself
# (exec {fd}<>/dev/vhost-scsi), starts QEMU with vhost-scsi-pci,vhostfd=<fd>
# and closes its own copy. QEMU must hold exactly that fd (and no other on
# /dev/vhost-scsi), and the inner guest must see the disk and compare data.
# (run.sh's default set covers this inside kill.sh: the QEMU started right
# after the kill is started this way.)
. "$(dirname "$0")/lib.sh"
rg_begin vhostfd
W=$(rg_wwpn 6)
rg_rd vfd 32 && rg_tpg "$W" 1 && rg_lun "$W" 1 0 "$CFS/core/rd_mcp_0/vfd" ||
	{ rg_notok "vhostfd: configure LIO" "configfs"; rg_end 1; }
T=$RG_WORK/vhostfd.test.sh
cat >"$T" <<'INNER'
wait_disk 1 0 20; d=$(disk 1 0)
check "disk at target 1 LUN 0 through the passed fd" [ -n "$d" ]
[ -n "$d" ] && check "4 MiB O_DIRECT compare" dd_compare $d 4
INNER
rg_vhostfd_open || { rg_notok "vhostfd: open /dev/vhost-scsi" ""; rg_end 1; }
rg_qemu_start vhostfd "$T" -- -device "vhost-scsi-pci,wwpn=$W,vhostfd=$RG_VFD"
fd=$RG_VFD
rg_vhostfd_close
rc=0
if rg_wait_console 'VSNG-BOOT: up' 60; then
	rg_vhostfd_checks "vhostfd: " "$fd"
fi
rg_wait_console 'VSNG-VERDICT: DONE' 90 || rc=3
rg_qemu_stop 10
[ $rc = 3 ] && rg_qemu_failed "vhostfd: " vhostfd && rc=1
if [ $rc = 0 ]; then
	rg_collect "vhostfd: "
	rc=$?
fi
rg_target_clear || rg_notok "vhostfd: LIO configuration removable after QEMU exit" "rmdir failed"
rg_end $rc
