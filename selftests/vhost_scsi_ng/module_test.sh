#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Module-level checks of vhost_scsi_ng.ko, run INSIDE the test guest with no
# target module loaded (it loads and unloads modules itself):
#
#   scripts/vm-run -- bash selftests/vhost_scsi_ng/module_test.sh
#
#  1. modinfo: MODULE_ALIAS("tcm_vhost") (targetcli-fb runs
#     "modprobe tcm_vhost") and the parameters max_io_vqs, devname, fabric,
#     worker_per_vq, max_mem_regions;
#  2. drop-in names by default: /dev/vhost-scsi and LIO fabric "vhost" are
#     ours; max_io_vqs defaults to 128 like in-tree;
#  3. with the in-tree vhost_scsi loaded, loading ours with the default
#     names fails cleanly (an error, a message naming the in-tree module,
#     no kernel warning) and leaves the in-tree module working;
#  4. devname= and fabric= let both run side by side;
#  5. the kernel log has no WARNING/BUG/Call Trace.
# Prints TAP; exit status 0 when everything passed.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
KO=${VSNG_MODULE:-$TOP/vhost_scsi_ng.ko}
CFS=/sys/kernel/config/target
MODPROBE=/sbin/modprobe
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }

unload_all() {
	local f
	for f in vhost vhost_ng; do
		[ -d "$CFS/$f" ] && rmdir "$CFS/$f" 2>/dev/null
	done
	[ -d /sys/module/vhost_scsi_ng ] && rmmod vhost_scsi_ng
	[ -d /sys/module/vhost_scsi ] && rmmod vhost_scsi
	return 0
}

echo "TAP version 13"
if [ ! -f "$KO" ]; then
	echo "Bail out! $KO not built (make module)"
	exit 1
fi
mkdir -p /etc/target
$MODPROBE configfs 2>/dev/null
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
$MODPROBE target_core_mod || { echo "Bail out! no LIO"; exit 1; }
unload_all
mark=$(dmesg | wc -l)

# 1. modinfo
check "modinfo_alias_tcm_vhost" bash -c "modinfo -F alias '$KO' | grep -qx tcm_vhost"
parms=$(modinfo -F parm "$KO" | cut -d: -f1 | tr '\n' ' ')
echo "# parameters: $parms"
for p in max_io_vqs devname fabric worker_per_vq max_mem_regions; do
	check "modinfo_parm_$p" bash -c "echo ' $parms' | grep -q ' $p '"
done

# 2. drop-in names
if insmod "$KO"; then
	ok "insmod_default_names"
	check "dev_vhost_scsi_is_ours" test -c /dev/vhost-scsi -a \
		-d /sys/module/vhost_scsi_ng
	check "max_io_vqs_default_128" \
		test "$(cat /sys/module/vhost_scsi_ng/parameters/max_io_vqs)" = 128
	mkdir -p "$CFS/vhost" 2>/dev/null
	check "fabric_vhost_is_ours" grep -q vhost-scsi-ng "$CFS/vhost/version"
	check "no_enable_file" bash -c "! ls $CFS/vhost | grep -q enable"
	rmdir "$CFS/vhost"
	check "rmmod_default_names" rmmod vhost_scsi_ng
else
	nok "insmod_default_names"
fi

# 3. clash with the in-tree module
if $MODPROBE vhost_scsi; then
	m2=$(dmesg | wc -l)
	if insmod "$KO" 2>/tmp/vsng-insmod.err; then
		nok "insmod_refused_while_intree_loaded"
		rmmod vhost_scsi_ng
	else
		ok "insmod_refused_while_intree_loaded"
	fi
	echo "# insmod: $(cat /tmp/vsng-insmod.err)"
	dmesg | tail -n +"$((m2 + 1))" | sed 's/^/# dmesg: /'
	check "clash_message_names_intree" bash -c \
		"dmesg | tail -n +$((m2 + 1)) | grep -q 'in-tree vhost_scsi module is loaded'"
	check "intree_still_loaded" test -d /sys/module/vhost_scsi -a \
		! -d /sys/module/vhost_scsi_ng -a -c /dev/vhost-scsi
	mkdir -p "$CFS/vhost" 2>/dev/null
	check "intree_fabric_still_works" bash -c \
		"grep -qv vhost-scsi-ng '$CFS/vhost/version'"

	# 4. side by side
	if insmod "$KO" devname=vhost-scsi-ng fabric=vhost_ng; then
		ok "insmod_side_by_side"
		check "both_devices" test -c /dev/vhost-scsi -a -c /dev/vhost-scsi-ng
		mkdir -p "$CFS/vhost_ng" 2>/dev/null
		check "both_fabrics" bash -c \
			"grep -q vhost-scsi-ng '$CFS/vhost_ng/version' && ! grep -q vhost-scsi-ng '$CFS/vhost/version'"
		rmdir "$CFS/vhost_ng"
		check "rmmod_side_by_side" rmmod vhost_scsi_ng
	else
		nok "insmod_side_by_side"
	fi
	rmdir "$CFS/vhost" 2>/dev/null
	rmmod vhost_scsi
else
	echo "# in-tree vhost_scsi not available: clash tests skipped"
	ok "insmod_refused_while_intree_loaded # SKIP no in-tree vhost_scsi"
fi
unload_all

# 5. kernel log
if dmesg | tail -n +"$((mark + 1))" |
	grep -E "WARNING:|BUG:|Oops|Call Trace|cannot create duplicate" >/tmp/vsng-mod-dmesg.txt; then
	nok "dmesg_clean"
	sed 's/^/# /' /tmp/vsng-mod-dmesg.txt | head -30
else
	ok "dmesg_clean"
fi
echo "1..$n"
exit $fail
