#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kill: kill -9 QEMU while fio runs in the inner guest. Afterwards:
#  - the module's reference count is back where it was before QEMU started
#    (it was higher while QEMU ran), no worker thread of that QEMU is left,
#    and (ours) its debugfs directory is gone;
#  - a new QEMU takes the same target at once and its inner guest reads the
#    data written before the kill (with RG_VHOSTFD=1 this QEMU is started
#    the libvirt way, with vhostfd=, and the vhostfd checks are made too);
#  - the whole LIO configuration can be removed (no dependency left), the
#    module unloads and loads again, and dmesg has no WARNING/BUG/Oops.
. "$(dirname "$0")/lib.sh"
rg_begin kill
W=$(rg_wwpn 5)
MOD=$(rg_target_module)
rg_rd kl 64 && rg_tpg "$W" 1 && rg_lun "$W" 1 0 "$CFS/core/rd_mcp_0/kl" ||
	{ rg_notok "kill: configure LIO" "configfs"; rg_end 1; }
base=$(cat "/sys/module/$MOD/refcnt")

T1=$RG_WORK/kill1.test.sh
cat >"$T1" <<'INNER'
wait_disk 1 0 20; d=$(disk 1 0)
check "first QEMU: wrote 4 MiB + marker before fio" write_marked $d KILL 4
echo "VSNG-FIO-RUNNING"
fio --name=k --filename=/dev/$d --thread --direct=1 --ioengine=libaio --iodepth=32 \
	--bs=4k --rw=randrw --offset=16M --size=32M --time_based --runtime=90 >/dev/null 2>&1
res_notok "first QEMU was killed during fio" "fio finished: QEMU was not killed"
INNER
rg_qemu_start kill1 "$T1" --fio -- -device "vhost-scsi-pci,wwpn=$W"
if ! rg_wait_console 'VSNG-FIO-RUNNING' 90; then
	rg_qemu_stop 0
	rg_qemu_failed "kill: " kill1 && rg_end 1
	rg_end 3
fi
sleep 4
pid=$RG_QPID
inuse=$(cat "/sys/module/$MOD/refcnt")
rg_check "kill: $MOD in use while QEMU runs (refcnt $inuse, before $base)" [ "$inuse" -gt "$base" ]
kill -0 "$pid" 2>/dev/null || { rg_log "kill: QEMU died by itself before the kill"; rg_end 3; }
kill -9 "$pid"
wait "$pid" 2>/dev/null
RG_QPID=
rg_log "kill: QEMU $pid killed during fio"
rg_collect "kill: " >/dev/null	# the first QEMU's results (no verdict: it was killed)
now=
for _ in $(seq 50); do
	now=$(cat "/sys/module/$MOD/refcnt")
	[ "$now" = "$base" ] && break
	sleep 0.2
done
rg_check "kill: $MOD refcount back to $base after the kill ($now)" [ "$now" = "$base" ]
thr=$(ps -eLo comm | grep -c "^vhost-$pid" || true)
rg_check "kill: no worker thread of the killed QEMU left ($thr)" [ "$thr" = 0 ]
if [ "$TARGET" = ours ]; then
	left=$(ls -d /sys/kernel/debug/vhost-scsi-ng/"$pid"-* 2>/dev/null | wc -l)
	rg_check "kill: debugfs directory of the killed QEMU removed ($left left)" [ "$left" = 0 ]
else
	rg_skip "kill: debugfs directory of the killed QEMU removed" "in-tree vhost_scsi has no debugfs directory"
fi

T2=$RG_WORK/kill2.test.sh
cat >"$T2" <<'INNER'
wait_disk 1 0 20; d=$(disk 1 0)
check "new QEMU right after the kill sees the disk" [ -n "$d" ]
[ -n "$d" ] && check "data written before the kill is intact" verify_marked $d KILL 4
[ -n "$d" ] && check "new QEMU: 2 MiB O_DIRECT compare" dd_compare $d 2 8
INNER
if [ "${RG_VHOSTFD:-0}" = 1 ]; then
	rg_vhostfd_open || rg_notok "vhostfd: open /dev/vhost-scsi" ""
	rg_qemu_start kill2 "$T2" -- -device "vhost-scsi-pci,wwpn=$W,vhostfd=$RG_VFD"
	fd=$RG_VFD
	rg_vhostfd_close
	rg_wait_console 'VSNG-BOOT: up' 60 && rg_vhostfd_checks "vhostfd: " "$fd"
	prefix="kill+vhostfd: "
else
	rg_qemu_start kill2 "$T2" -- -device "vhost-scsi-pci,wwpn=$W"
	prefix="kill: "
fi
rc=0
rg_wait_console 'VSNG-VERDICT: DONE' 90 || rc=3
rg_qemu_stop 10
[ $rc = 3 ] && rg_qemu_failed "$prefix" kill2 && rc=1
if [ $rc = 0 ]; then
	rg_collect "$prefix"
	rc=$?
fi
if [ $rc = 0 ]; then
	rg_check "kill: whole LIO configuration removable afterwards" rg_target_clear
	rg_check "kill: $MOD unloads and loads again" eval 'vsng_unload_target && vsng_load_target "$TARGET"'
	rg_check "kill: dmesg clean (no WARNING/BUG/Oops) since the scenario began" rg_dmesg_clean
else
	rg_target_clear
fi
rg_end $rc
