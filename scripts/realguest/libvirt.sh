#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# libvirt: the target driven by libvirt, as users run it. libvirtd runs in
# the test guest (a private mount namespace: tmpfs over its run/state/cache
# directories, our own qemu.conf and libvirtd.conf, a passwd/group copy with
# the libvirt-qemu user); a domain of type kvm boots the inner kernel and
# initramfs of the other scenarios with one
#   <hostdev mode='subsystem' type='scsi_host'><source protocol='vhost' wwpn=.../>
# on a ramdisk LUN. libvirt opens /dev/vhost-scsi itself and hands QEMU the
# descriptor (vhostfd=). Checked:
#   boot 1: virsh start; the guest sees the disk, compares an O_DIRECT
#           write, writes tagged data; QEMU holds the fd libvirt passed; the
#           module's refcount is up; virsh destroy of the running domain
#           puts the refcount back;
#   boot 2: virsh start again; the data of boot 1 is there, a new compare;
#           virsh detach-device --live of the hostdev: the guest sees the
#           disk vanish, QEMU holds no /dev/vhost-scsi any more, the
#           refcount is back; virsh attach-device --live: the disk comes
#           back with the data, I/O compares again, a short fio verifies;
#   end:    virsh destroy, undefine; refcount as before, the nexus drops
#           (no endpoint holds the TPG), the LIO configuration is removable.
# Every virsh call and every wait is bounded; diagnostics (dumpxml, the
# libvirtd and QEMU logs, stacks on a hang) stay in $VSNG_RESULTS/realguest/
# libvirt/. Not in run.sh's default list: make check-full's libvirt-<target>.
. "$(dirname "$0")/lib.sh"
rg_begin libvirt

W=$(rg_wwpn 7)
MB=64
DOM=vsng-lv
UUID=5653c3a1-6c76-4000-8000-000000000007	# fixed: boot 2 redefines the same domain
MOD=$(rg_target_module)
LV=$RG_WORK/libvirt
LVLOG=$RG_SDIR/libvirt-log
LV_PID=
LV_TO=${LV_TO:-60}		# one virsh call
LV_UP_TO=${LV_UP_TO:-240}	# libvirtd answering (QEMU capabilities probe under TCG)

for b in libvirtd virsh nsenter unshare; do
	command -v "$b" >/dev/null || {
		rg_notok "libvirt: $b installed" "scripts/deps.sh installs libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients"
		rg_end 1
	}
done

rg_rd lv "$MB" && rg_tpg "$W" 1 && rg_lun "$W" 1 0 "$CFS/core/rd_mcp_0/lv" ||
	{ rg_notok "libvirt: configure LIO" "configfs"; rg_end 1; }

# ---- libvirtd in its own mount namespace -------------------------------------
# lv_ns CMD...: run CMD in libvirtd's mount namespace (its /run/libvirt).
lv_ns() { nsenter -t "$LV_PID" -m -- "$@"; }
# lv_virsh CMD...: one bounded virsh call (LV_TO seconds).
lv_virsh() { timeout -k 5 "$LV_TO" nsenter -t "$LV_PID" -m -- virsh -q -c qemu:///system "$@"; }

lv_write_conf() {
	rm -rf "$LV"
	mkdir -p "$LV/etc/qemu" "$LV/etc/storage" "$LVLOG"
	cp -a /etc/libvirt/. "$LV/etc/" 2>/dev/null
	# An administrator's points (Documentation/admin-guide.md, section 6):
	# QEMU as root without a security driver or cgroups (nothing of that
	# works in this throw-away guest), no private /dev for QEMU, QEMU's
	# output to a plain file (no virtlogd).
	cat >"$LV/etc/qemu.conf" <<-EOF
	user = "root"
	group = "root"
	dynamic_ownership = 0
	remember_owner = 0
	security_driver = "none"
	cgroup_controllers = [ ]
	namespaces = [ ]
	stdio_handler = "file"
	EOF
	cat >"$LV/etc/libvirtd.conf" <<-EOF
	unix_sock_group = "root"
	unix_sock_rw_perms = "0700"
	auth_unix_rw = "none"
	log_filters = "1:qemu.qemu_hotplug 1:qemu.qemu_monitor 3:*"
	log_outputs = "1:file:/var/log/libvirt/libvirtd.log"
	EOF
	cp /etc/passwd "$LV/passwd" && cp /etc/group "$LV/group" || return 1
	grep -q '^libvirt-qemu:' "$LV/group" || echo 'libvirt-qemu:x:64055:' >>"$LV/group"
	grep -q '^libvirt:' "$LV/group" || echo 'libvirt:x:64056:' >>"$LV/group"
	grep -q '^kvm:' "$LV/group" || echo 'kvm:x:64057:' >>"$LV/group"
	grep -q '^libvirt-qemu:' "$LV/passwd" ||
		echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin' >>"$LV/passwd"
}

lv_start() {
	local d i
	lv_write_conf || return 1
	for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /etc/libvirt; do
		mkdir -p "$d" || return 1
	done
	LV="$LV" LVLOG="$LVLOG" unshare -m --propagation private -- bash -c '
		for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt; do
			mount -t tmpfs -o mode=755 tmpfs "$d" || exit 1
		done
		mount --bind "$LVLOG" /var/log/libvirt &&
		mount --bind "$LV/etc" /etc/libvirt &&
		mount --bind "$LV/passwd" /etc/passwd &&
		mount --bind "$LV/group" /etc/group || exit 1
		mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt/qemu
		exec libvirtd
	' >"$LVLOG/libvirtd.stdout" 2>&1 </dev/null &
	LV_PID=$!
	rg_log "libvirt: libvirtd pid $LV_PID"
	# the socket, then an answer (the first one waits for the QEMU probe)
	for ((i = 0; i < LV_UP_TO * 5; i++)); do
		kill -0 "$LV_PID" 2>/dev/null || { rg_log "libvirt: libvirtd exited"; return 1; }
		lv_ns test -S /run/libvirt/libvirt-sock && break
		sleep 0.2
	done
	LV_TO=$LV_UP_TO lv_virsh version >"$LVLOG/virsh-version.txt" 2>&1
}

lv_stop() {
	local i
	[ -n "$LV_PID" ] || return 0
	kill -TERM "$LV_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$LV_PID" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$LV_PID" 2>/dev/null; then
		rg_threads "$LV_PID" >"$RG_SDIR/libvirtd-stuck.txt" 2>&1
		kill -KILL "$LV_PID" 2>/dev/null
		rg_notok "libvirt: libvirtd stops on SIGTERM within 20 s" "stacks in libvirtd-stuck.txt"
	fi
	wait "$LV_PID" 2>/dev/null
	LV_PID=
}

# lv_diag WHAT: keep what a hung or failed step leaves: libvirtd's and
# QEMU's threads, dumpxml, the domain state, the inner vCPUs, outer dmesg.
lv_diag() {
	local f=$RG_SDIR/diag-$1.txt
	{
		echo "== $(date -u +%T) $1"
		echo "== virsh domstate"; LV_TO=15 lv_virsh domstate --reason "$DOM"
		echo "== virsh dumpxml"; LV_TO=15 lv_virsh dumpxml "$DOM"
		echo "== inner vCPUs"; LV_TO=15 lv_virsh qemu-monitor-command --hmp "$DOM" 'info registers -a' | grep -E '^(CPU|RIP|RAX)'
		echo "== inner PCI"; LV_TO=15 lv_virsh qemu-monitor-command --hmp "$DOM" 'info pci'
		[ -n "${RG_QPID:-}" ] && { echo "== QEMU $RG_QPID threads"; rg_threads "$RG_QPID"; }
		[ -n "$LV_PID" ] && { echo "== libvirtd $LV_PID threads"; rg_threads "$LV_PID"; }
		echo "== outer blocked tasks and kernel log"
		rg_blocked 150
	} >"$f" 2>&1
	rg_log "libvirt: $1: state kept in $f"
}

rg_cleanup_hook() {
	if [ -n "$LV_PID" ] && kill -0 "$LV_PID" 2>/dev/null; then
		LV_TO=20 lv_virsh destroy "$DOM" >/dev/null 2>&1
		LV_TO=20 lv_virsh undefine "$DOM" >/dev/null 2>&1
		lv_stop
	fi
}

refcnt() { cat "/sys/module/$MOD/refcnt" 2>/dev/null; }
nvhost() { find "/proc/$1/fd" -lname /dev/vhost-scsi 2>/dev/null | wc -l; }

# ---- the domain -----------------------------------------------------------------
HOSTDEV=$RG_WORK/lv-hostdev.xml
cat >"$HOSTDEV" <<EOF
<hostdev mode='subsystem' type='scsi_host' managed='no'>
  <source protocol='vhost' wwpn='$W'/>
  <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>
</hostdev>
EOF
# The same for attach-device, without the PCI address: libvirt 9.0 keeps a
# detached scsi_host hostdev's address reserved, and an attach that names
# it fails ("Attempted double use of PCI Address 0000:00:07.0").
HOSTDEV_ATTACH=$RG_WORK/lv-hostdev-attach.xml
grep -v '<address ' "$HOSTDEV" >"$HOSTDEV_ATTACH"

# lv_define BOOT: (re)define the domain for boot BOOT: its initramfs
# ($RG_WORK/BOOT.initrd) and its console file ($RG_SDIR/BOOT.console.log).
lv_define() {
	local x=$RG_WORK/$1.domain.xml loader=
	[ -n "$RG_BIOS" ] && loader="<loader type='rom'>$RG_BIOS</loader>"
	cat >"$x" <<EOF
<domain type='kvm'>
  <name>$DOM</name>
  <uuid>$UUID</uuid>
  <memory unit='MiB'>384</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    $loader
    <kernel>$RG_KERNEL</kernel>
    <initrd>$RG_WORK/$1.initrd</initrd>
    <cmdline>console=ttyS0 rdinit=/init panic=-1 quiet loglevel=3 mitigations=off rg_smp=1</cmdline>
  </os>
  <features><acpi/></features>
  <cpu mode='host-passthrough'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v "$RG_QEMU")</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    <serial type='file'>
      <source path='$RG_SDIR/$1.console.log'/>
      <target port='0'/>
    </serial>
    $(cat "$HOSTDEV")
  </devices>
</domain>
EOF
	cp "$x" "$RG_SDIR/$1.domain.xml"
	lv_virsh define "$x" >/dev/null
}

# lv_step LABEL OUT DIAG VIRSH-ARGS...: one virsh command, its output in
# $RG_SDIR/OUT; "ok libvirt: LABEL", or "not ok" with the start of that
# output and lv_diag DIAG (none when DIAG is empty). virsh's status.
lv_step() {
	local label=$1 out=$RG_SDIR/$2 diag=$3
	shift 3
	if lv_virsh "$@" >"$out" 2>&1; then
		rg_ok "libvirt: $label"
		return 0
	fi
	rg_notok "libvirt: $label" "$(head -c 300 "$out" | tr '\n' ' ')"
	[ -z "$diag" ] || lv_diag "$diag"
	return 1
}

# lv_boot_start BOOT TESTSCRIPT [fio]: define and start (with fio: the big
# initramfs); sets RG_QPID, RG_CONSOLE.
lv_boot_start() {
	local i
	rg_make_initrd "$RG_WORK/$1.initrd" "$2" "${3:-}" || return 1
	RG_CONSOLE=$RG_SDIR/$1.console.log RG_QNAME=$1 RG_JUDGED= RG_QPID=
	: >"$RG_CONSOLE"
	lv_define "$1" || { rg_notok "libvirt: $1: virsh define" "see libvirt-log/libvirtd.log"; return 1; }
	lv_step "$1: virsh start" "$1.start.txt" "$1-start" start "$DOM" || return 1
	for ((i = 0; i < 50; i++)); do
		RG_QPID=$(lv_ns cat "/run/libvirt/qemu/$DOM.pid" 2>/dev/null)
		[ -n "$RG_QPID" ] && break
		sleep 0.2
	done
	LV_TO=15 lv_virsh dumpxml "$DOM" >"$RG_SDIR/$1.live.xml" 2>&1
	rg_log "libvirt: $1: QEMU pid ${RG_QPID:-?}"
	[ -n "$RG_QPID" ]
}

# lv_destroy BOOT: virsh destroy, then the QEMU process must be gone.
lv_destroy() {
	local i
	# a guest that powered off already is "not running": say so
	lv_step "$1: virsh destroy" "$1.destroy.txt" "$1-destroy" destroy "$DOM"
	for ((i = 0; i < 150; i++)); do
		kill -0 "$RG_QPID" 2>/dev/null || break
		sleep 0.2
	done
	rg_check "libvirt: $1: QEMU gone after virsh destroy" eval '! kill -0 "$RG_QPID" 2>/dev/null'
	kill -0 "$RG_QPID" 2>/dev/null || RG_QPID=
	rg_check "libvirt: $1: domain shut off ($(LV_TO=15 lv_virsh domstate "$DOM" 2>&1 | tr -d '\n'))" \
		eval '[ "$(LV_TO=15 lv_virsh domstate "$DOM" 2>/dev/null | tr -d "\n")" = "shut off" ]'
}

# lv_wait BOOT PATTERN SECS WHAT: wait for PATTERN on the console; on a
# timeout keep the state (lv_diag). Returns rg_wait_console's code.
lv_wait() {
	local r
	rg_wait_console "$2" "$3"
	r=$?
	[ $r = 0 ] && return 0
	rg_log "libvirt: $1: no '$2' within $3 s (wait rc $r, $4); console tail:"
	tail -n 15 "$RG_CONSOLE" | sed 's/^/#   /'
	[ $r = 2 ] && lv_diag "$1-$4"
	return $r
}

# lv_outcome BOOT: after a boot's waits: collect its results; 3 when it
# died without a verdict and nothing failed (a platform failure).
lv_outcome() {
	if grep -aq 'VSNG-VERDICT: DONE' "$RG_CONSOLE"; then
		rg_collect "libvirt: $1: "
		return $?
	fi
	if ! grep -aq 'VSNG-BOOT' "$RG_CONSOLE" && [ -s "$LVLOG/qemu/$DOM.log" ] &&
		grep -aqiE 'error|unable|failed' "$LVLOG/qemu/$DOM.log"; then
		rg_notok "libvirt: $1: QEMU starts the inner guest" \
			"$(grep -aiE 'error|unable|failed' "$LVLOG/qemu/$DOM.log" | head -n 2 | tr '\n' ' ')"
		return 1
	fi
	if [ "${RG_TARGET_FAULT:-0}" = 1 ] || grep -aq 'VSNG-RESULT: not ok' "$RG_CONSOLE"; then
		rg_collect "libvirt: $1: "
		rg_notok "libvirt: $1: inner guest finished" "no verdict"
		return 1
	fi
	return 3
}

# The inner test scripts end with the verdict, then keep the guest running
# (virsh destroy stops a live domain, as an administrator does).
IDLE='echo "VSNG-VERDICT: DONE at $(cut -d" " -f1 /proc/uptime)s; idle until virsh destroy"; sync; while :; do sleep 5; done'

T1=$RG_WORK/lv-boot1.test.sh
cat >"$T1" <<INNER
wait_disk 1 0 30; d=\$(disk 1 0)
check "sees one disk at target 1 LUN 0 (\$d)" [ -n "\$d" -a "\$(ndisks)" = 1 ]
if [ -n "\$d" ]; then
	check "capacity is $MB MiB (\$(cat /sys/block/\$d/size) sectors)" [ "\$(cat /sys/block/\$d/size)" = $((MB * 2048)) ]
	check "4 MiB O_DIRECT write, read back, compare" dd_compare \$d 4 16
	check "8 MiB of tagged data written" write_marked \$d LV1 8
fi
$IDLE
INNER

T2=$RG_WORK/lv-boot2.test.sh
cat >"$T2" <<INNER
wait_disk 1 0 30; d=\$(disk 1 0)
check "sees the disk again after virsh destroy and start (\$d)" [ -n "\$d" -a "\$(ndisks)" = 1 ]
if [ -n "\$d" ]; then
	check "data written in boot 1 still there (sha256)" verify_marked \$d LV1 8
	check "4 MiB O_DIRECT compare" dd_compare \$d 4 16
fi
echo "VSNG-READY-DETACH"
check "disk vanishes after virsh detach-device" wait_gone 1 0 90
check "no disk left after detach (\$(ndisks))" [ "\$(ndisks)" = 0 ]
echo "VSNG-READY-ATTACH"
check "disk comes back after virsh attach-device" wait_disk 1 0 90
d=\$(disk 1 0)
if [ -n "\$d" ]; then
	check "after re-attach: one disk (\$d), $MB MiB" [ "\$(ndisks)" = 1 -a "\$(cat /sys/block/\$d/size)" = $((MB * 2048)) ]
	check "after re-attach: data of boot 1 still there (sha256)" verify_marked \$d LV1 8
	check "after re-attach: 4 MiB O_DIRECT compare" dd_compare \$d 4 24
	check "after re-attach: fio randwrite 8 MiB verify=crc32c, queue depth 16" fio_verify lv \$d --size=8M --offset=32M
fi
$IDLE
INNER

# ---- run ----------------------------------------------------------------------
if ! lv_start; then
	rg_notok "libvirt: libvirtd starts and answers virsh" \
		"$(tail -n 3 "$LVLOG/virsh-version.txt" "$LVLOG/libvirtd.stdout" 2>/dev/null | tr '\n' ' ' | head -c 400)"
	lv_diag libvirtd-start
	rg_target_clear
	rg_end 1
fi
rg_ok "libvirt: libvirtd starts and answers virsh ($(grep -i 'running hypervisor' "$LVLOG/virsh-version.txt" | sed 's/.*: *//'))"
REF0=$(refcnt)
rg_log "libvirt: $MOD refcnt $REF0 before the domain"

rc=0
# boot 1
if lv_boot_start boot1 "$T1"; then
	if lv_wait boot1 'VSNG-BOOT: up' 120 boot; then
		cmd=$(tr '\0' ' ' <"/proc/$RG_QPID/cmdline" 2>/dev/null)
		# libvirt 9 writes -device as JSON: {"driver":"vhost-scsi-pci",...,"vhostfd":"30"}
		dev=$(echo "$cmd" | grep -oE '[^ ]*vhost-scsi-pci[^ ]*')
		vfd=$(echo "$dev" | grep -oE 'vhostfd[":=]+[0-9]+' | grep -oE '[0-9]+$')
		rg_check "libvirt: boot1: QEMU got vhost-scsi-pci with vhostfd=${vfd:-none}, wwpn $W" \
			eval '[ -n "$vfd" ] && echo "$dev" | grep -q "$W"'
		rg_check "libvirt: boot1: QEMU's fd $vfd is /dev/vhost-scsi, its only one ($(nvhost "$RG_QPID"))" \
			eval '[ "$(readlink "/proc/$RG_QPID/fd/$vfd")" = /dev/vhost-scsi ] && [ "$(nvhost "$RG_QPID")" = 1 ]'
		r=$(refcnt)
		rg_check "libvirt: boot1: $MOD refcnt up while the domain runs ($REF0 -> $r)" [ "$r" -gt "$REF0" ]
	fi
	lv_wait boot1 'VSNG-VERDICT: DONE' 120 verdict
	lv_destroy boot1
	lv_outcome boot1
	rc=$?
	r=$(refcnt)
	rg_check "libvirt: boot1: $MOD refcnt back after virsh destroy ($r, was $REF0)" [ "$r" = "$REF0" ]
else
	rc=1
fi

# boot 2: start again, detach and re-attach the hostdev live
if [ $rc = 0 ] && lv_boot_start boot2 "$T2" fio; then
	if lv_wait boot2 'VSNG-READY-DETACH' 150 ready-detach; then
		lv_step "boot2: virsh detach-device --live" boot2.detach.txt boot2-detach \
			detach-device "$DOM" "$HOSTDEV" --live
		# the guest acknowledges the unplug (ACPI): libvirt drops the
		# hostdev from the live XML when QEMU reports the device deleted
		gone=0
		for ((i = 0; i < 60; i++)); do
			x=$(LV_TO=15 lv_virsh dumpxml "$DOM" 2>/dev/null)
			[ -n "$x" ] && ! grep -q "wwpn='$W'" <<<"$x" && { gone=1; break; }
			sleep 1
		done
		rg_check "libvirt: boot2: hostdev gone from the live domain XML (${i} s)" [ $gone = 1 ]
		[ $gone = 1 ] || lv_diag boot2-detach-pending
		for ((i = 0; i < 50; i++)); do
			[ "$(nvhost "$RG_QPID")" = 0 ] && break
			sleep 0.2
		done
		r=$(refcnt)
		rg_check "libvirt: boot2: after detach QEMU holds no /dev/vhost-scsi ($(nvhost "$RG_QPID")), $MOD refcnt back ($r, was $REF0)" \
			eval '[ "$(nvhost "$RG_QPID")" = 0 ] && [ "$r" = "$REF0" ]'
		if lv_wait boot2 'VSNG-READY-ATTACH' 120 ready-attach; then
			lv_step "boot2: virsh attach-device --live" boot2.attach.txt boot2-attach \
				attach-device "$DOM" "$HOSTDEV_ATTACH" --live
			LV_TO=15 lv_virsh dumpxml "$DOM" >"$RG_SDIR/boot2.reattached.xml" 2>&1
			rg_check "libvirt: boot2: hostdev back in the live domain XML" grep -q "wwpn='$W'" "$RG_SDIR/boot2.reattached.xml"
			rg_check "libvirt: boot2: after attach QEMU holds one /dev/vhost-scsi ($(nvhost "$RG_QPID"))" \
				eval '[ "$(nvhost "$RG_QPID")" = 1 ]'
			lv_wait boot2 'VSNG-VERDICT: DONE' 150 verdict
		fi
	fi
	LV_TO=15 lv_virsh dumpxml "$DOM" >"$RG_SDIR/boot2.end.xml" 2>&1
	lv_destroy boot2
	lv_outcome boot2
	rc=$?
elif [ $rc = 0 ]; then
	rc=1
fi

# the end: undefine; nothing left holding the target
LV_TO=30 lv_step "virsh undefine" undefine.txt "" undefine "$DOM"
r=$(refcnt)
rg_check "libvirt: $MOD refcnt back at the end ($r, was $REF0)" [ "$r" = "$REF0" ]
lv_stop
rg_check "libvirt: LUN 0 unlinks" rg_unlun "$W" 1 0
rg_check "libvirt: no endpoint holds TPG 1 (its nexus drops)" \
	eval 'echo NULL >"$CFS/vhost/$W/tpgt_1/nexus" && [ -z "$(cat "$CFS/vhost/$W/tpgt_1/nexus" 2>/dev/null)" ]'
rg_target_clear || rg_notok "libvirt: LIO configuration removable after the domain" "rmdir failed"
rg_end $rc
