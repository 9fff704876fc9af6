# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Helpers for the INNER guest's /test.sh (busybox sh). Results go to the
# serial console as "VSNG-RESULT: ok|not ok|skip NAME[ - WHY]".

res_ok() { echo "VSNG-RESULT: ok $1"; }
res_notok() { echo "VSNG-RESULT: not ok $1 - $2"; }
res_skip() { echo "VSNG-RESULT: skip $1 - $2"; }
# check NAME CMD...: ok when CMD succeeds.
check() {
	_n=$1
	shift
	if "$@"; then res_ok "$_n"; else res_notok "$_n" "failed: $*"; fi
}
trim() { echo $(cat "$1" 2>/dev/null); }

# sdev T L: the sysfs scsi_device dir of target T, LUN L (any host, channel 0).
sdev() {
	for _d in /sys/bus/scsi/devices/*:0:$1:$2; do
		[ -d "$_d" ] && { echo "$_d"; return 0; }
	done
	return 1
}
# disk T L: the block device name (sdX) at target T, LUN L.
disk() {
	_s=$(sdev "$1" "$2") || return 1
	for _b in "$_s"/block/*; do
		[ -d "$_b" ] && { echo "${_b##*/}"; return 0; }
	done
	return 1
}
# wait_disk T L SECS: wait until the disk at T:L exists and has its node.
wait_disk() {
	_i=0
	while [ $_i -lt $(($3 * 5)) ]; do
		_x=$(disk "$1" "$2") && [ -b "/dev/$_x" ] && return 0
		sleep 0.2
		_i=$((_i + 1))
	done
	return 1
}
# wait_gone T L SECS
wait_gone() {
	_i=0
	while [ $_i -lt $(($3 * 5)) ]; do
		sdev "$1" "$2" >/dev/null || return 0
		sleep 0.2
		_i=$((_i + 1))
	done
	return 1
}
# ndisks: how many sd disks the guest sees.
ndisks() { ls -d /sys/block/sd* 2>/dev/null | wc -l; }

# dd_compare DEV MB [OFFSET_MB]: write MB MiB of random data with O_DIRECT,
# read it back with O_DIRECT, compare.
dd_compare() {
	_off=${3:-0}
	head -c $(($2 * 1048576)) /dev/urandom >/tmp/pat.$1 || return 1
	dd if=/tmp/pat.$1 of=/dev/$1 bs=1M seek=$_off oflag=direct conv=fsync 2>/dev/null || return 1
	dd if=/dev/$1 of=/tmp/back.$1 bs=1M skip=$_off count=$2 iflag=direct 2>/dev/null || return 1
	cmp /tmp/pat.$1 /tmp/back.$1
	_r=$?
	rm -f /tmp/pat.$1 /tmp/back.$1
	return $_r
}

# write_marked DEV TAG MB: MB MiB of random data at offset 0, then a 4 KiB
# marker block at offset MB MiB holding "TAG <sha256 of the data>".
write_marked() {
	head -c $(($3 * 1048576)) /dev/urandom >/tmp/wm || return 1
	_sum=$(sha256sum /tmp/wm | cut -d' ' -f1)
	dd if=/tmp/wm of=/dev/$1 bs=1M oflag=direct conv=fsync 2>/dev/null || return 1
	rm -f /tmp/wm
	{ echo "$2 $_sum"; head -c 4000 /dev/zero; } | head -c 4096 >/tmp/mk
	dd if=/tmp/mk of=/dev/$1 bs=4096 seek=$(($3 * 256)) oflag=direct conv=fsync 2>/dev/null
}
# read_marker DEV MB: print the marker line.
read_marker() {
	dd if=/dev/$1 bs=4096 skip=$(($2 * 256)) count=1 iflag=direct 2>/dev/null |
		tr -d '\000' | head -n1
}
# verify_marked DEV TAG MB: the marker says TAG and the data's sha256 matches.
verify_marked() {
	_m=$(read_marker "$1" "$3")
	[ "${_m%% *}" = "$2" ] || { echo "marker on $1 is '$_m', want tag $2"; return 1; }
	_sum=$(dd if=/dev/$1 bs=1M count=$3 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
	[ "$_sum" = "${_m#* }" ] || { echo "data on $1: sha256 $_sum, marker ${_m#* }"; return 1; }
}

# fio_verify NAME DEV [extra fio args...]: a write+verify job, crc32c.
fio_verify() {
	_fn=$1 _fdev=$2
	shift 2
	fio --name="$_fn" --filename="/dev/$_fdev" --thread --direct=1 \
		--ioengine=libaio --iodepth=16 --bs=4k --rw=randwrite \
		--verify=crc32c --do_verify=1 --verify_fatal=1 \
		--output=/tmp/fio.$_fn.out "$@" >/dev/null 2>&1
	_fr=$?
	if [ $_fr != 0 ]; then
		echo "fio $_fn failed ($_fr):"
		tail -n 20 /tmp/fio.$_fn.out
	fi
	return $_fr
}

# retag DEV MB NEWTAG: rewrite the marker's tag, keeping its sum.
retag() {
	_m=$(read_marker "$1" "$2")
	{ echo "$3 ${_m#* }"; head -c 4000 /dev/zero; } | head -c 4096 >/tmp/mk
	dd if=/tmp/mk of=/dev/$1 bs=4096 seek=$(($2 * 256)) oflag=direct conv=fsync 2>/dev/null
}

# Control port from the outer side (rg_send there): the second serial port.
# /init opens it once (fd 7), so nothing sent is lost between two waits.
ctl_open() {
	[ -c /dev/ttyS1 ] || return 1
	stty -F /dev/ttyS1 clocal raw -echo 2>/dev/null
	exec 7</dev/ttyS1
}
# ctl_wait WORD [SECS]: wait for the line WORD (default 60 s).
ctl_wait() {
	_t=${2:-60}
	_end=$(($(cut -d. -f1 /proc/uptime) + _t))
	while [ "$(cut -d. -f1 /proc/uptime)" -lt $_end ]; do
		read -r -t 5 _l <&7 || continue
		[ "$_l" = "$1" ] && return 0
	done
	echo "ctl_wait: no '$1' from the outer side in ${_t}s"
	return 1
}

# Interrupt counts of the virtio-scsi request queues: one line per
# request-queue vector "NAME TOTAL" (all CPUs summed); IRQ numbers keep the
# order of the queues.
irq_requests() {
	awk '/virtio[0-9]*-request/ { s = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break
		print $1 s }' /proc/interrupts | tr -d ' ' | sed 's/:/ /'
}
# blk_ios DEV: completed reads + writes of DEV (block layer).
blk_ios() { awk '{ print $1 + $5 }' /sys/block/$1/stat; }
