#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# reboot: one QEMU run (without -no-reboot) in which the inner guest boots
# three times: boot 1 writes 8 MiB of random data and a marker, then
# `reboot -f`; boot 2 verifies it and reboots; boot 3 verifies it again and
# compares a new O_DIRECT write. Each reboot is a device reset: QEMU stops the vhost
# device (CLEAR_ENDPOINT, GET_VRING_BASE) and starts it again (SET_ENDPOINT
# on the same fd) when the new kernel's driver comes up.
. "$(dirname "$0")/lib.sh"
rg_begin reboot
W=$(rg_wwpn 4)
rg_rd rb 32 && rg_tpg "$W" 1 && rg_lun "$W" 1 0 "$CFS/core/rd_mcp_0/rb" ||
	{ rg_notok "reboot: configure LIO" "configfs"; rg_end 1; }
T=$RG_WORK/reboot.test.sh
cat >"$T" <<'INNER'
wait_disk 1 0 20; d=$(disk 1 0)
[ -n "$d" ] || { res_notok "disk at 1:0" "not found"; poweroff -f; }
m=$(read_marker $d 8)
case "$m" in
BOOT1\ *)
	check "boot 2: data written in boot 1 intact" verify_marked $d BOOT1 8
	retag $d 8 BOOT2; sync; echo "VSNG-REBOOTING 2"; reboot -f ;;
BOOT2\ *)
	check "boot 3: data written in boot 1 intact" verify_marked $d BOOT2 8
	check "boot 3: new 4 MiB O_DIRECT compare after two resets" dd_compare $d 4 16 ;;
*)
	check "boot 1: wrote 8 MiB + marker" write_marked $d BOOT1 8
	sync; echo "VSNG-REBOOTING 1"; reboot -f ;;
esac
INNER
RG_BOOT_TIMEOUT=240
rg_boot reboot "$T" "reboot: " --reboot -- -device "vhost-scsi-pci,wwpn=$W"
rc=$?
if [ $rc = 0 ]; then
	nb=$(grep -ac 'VSNG-BOOT: up' "$RG_CONSOLE")
	rg_check "reboot: the inner guest booted 3 times in one QEMU run ($nb)" [ "$nb" = 3 ]
fi
rg_target_clear || rg_notok "reboot: LIO configuration removable after QEMU exit" "rmdir failed"
rg_end $rc
