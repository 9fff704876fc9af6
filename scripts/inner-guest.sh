#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# inner-guest.sh: boot a small INNER guest with nested KVM inside the vm-run
# test guest, with QEMU's -device vhost-scsi-pci on the vhost target loaded
# there, run a test script in it and report its verdict.
#
#   outer (TCG test guest, this script) --QEMU -accel kvm--> inner guest
#
# Usage (inside the test guest, after the LIO target exists):
#   scripts/inner-guest.sh [options] [--wwpn naa.X [--num-queues N]
#                          [--worker-per-vq] [--vhostfd FD] [--dev-opts K=V,..]]
#                          --test FILE [-- EXTRA QEMU ARGS...]
#   scripts/inner-guest.sh --build-initrd      (on the host: fill the cache)
#
# Options:
#   --test FILE        busybox-sh script run by the inner guest's /init (as
#                      /test.sh). It passes when it exits 0. A line
#                      "echo FAIL-REASON: text" gives the reason on failure.
#                      Helpers available to it (from /inner-lib.sh):
#                        disk_at T L        block device name (sdX) at target T, LUN L
#                        wait_disk T L SECS wait until that disk appears
#                        disk_info DEV      "vendor=.. model=.. size_bytes=.."
#                        pattern_check DEV MB [OFF_MB]  write MB MiB of random
#                                           data with O_DIRECT, read back, compare
#                        report KEY VALUE   print "REPORT: KEY=VALUE" (the
#                                           outer side collects these)
#                      fio is in the initramfs (with every library it needs).
#   --wwpn W           add -device vhost-scsi-pci,wwpn=W[,num_queues=N]
#                      [,worker_per_virtqueue=on][,vhostfd=FD][,K=V...]
#   --num-queues N, --worker-per-vq, --vhostfd FD, --dev-opts K=V[,K=V]
#                      options of that device. Instead of --wwpn, any
#                      -device can be given after "--" (passed verbatim).
#   --smp N            inner vCPUs (default 1: the stable setting on this
#                      platform; 2 vCPUs failed ~45% of long nested runs).
#   --mem MB           inner RAM (default 512).
#   --cpu MODEL        inner -cpu (default $VSNG_INNER_CPU, else host).
#   --timeout SECS     kill the inner QEMU (by PID) after SECS (default 120).
#   --retries N        retries when the inner guest ends WITHOUT a verdict
#                      (platform failure: nested KVM triple fault etc.);
#                      default 2. A run that gave a verdict is never retried.
#   --logdir DIR       where console logs go (default $VSNG_RESULTS/inner
#                      or /tmp/inner): console-<attempt>.log, qemu-<attempt>.*
#   --kernel BZIMAGE   inner kernel (default: scripts/kernel-paths.sh image).
#   --append ARGS      extra kernel command line for the inner guest.
#
# Output: the inner console's test lines prefixed "inner| ", then one line
#   inner-guest: VERDICT PASS|FAIL <reason> (attempts A, platform retries R)
#   or inner-guest: NO VERDICT after A attempts (platform failure)
# REPORT lines of the passing attempt are also written to $LOGDIR/report.
# Exit: 0 PASS, 1 FAIL, 2 no verdict after all retries, 3 setup error.
#
# Initramfs: busybox-static, fio + its ldd libraries, scsi_common, scsi_mod,
# sd_mod, virtio_scsi (decompressed), /init, /inner-lib.sh; cached as
# inner-<kver>-<hash>.cpio in the vm-run cache dir (VSNG_CACHE_DIR,
# /var/cache/vhost-scsi-ng, ~/.cache/vhost-scsi-ng). The host fills it with
# --build-initrd (make demo/check do); inside the guest the cache is read over
# 9p, or an initramfs is built in /tmp when it is missing. The test script
# goes into a second small cpio appended per boot.

set -u
SELF=$(readlink -f "${BASH_SOURCE[0]}")
KPATHS=$(dirname "$SELF")/kernel-paths.sh	# the cache's copy, else the installed one
KVER=${KVER:-$("$KPATHS" kver)}
KERNEL=$("$KPATHS" image "$KVER")
MODDIR=$("$KPATHS" moddir "$KVER")
BUSYBOX=$("$KPATHS" busybox)
QEMU=${QEMU:-qemu-system-x86_64}
CPU=${VSNG_INNER_CPU:-host} SMP=1 MEM=512 TIMEOUT=120 RETRIES=2 LOGDIR= TEST= APPEND=
WWPN= NUMQ= WPV=0 VHOSTFD= DEVOPTS= BUILD_ONLY=0
EXTRA=()

die() { echo "inner-guest: $*" >&2; exit 3; }

while [ $# -gt 0 ]; do
	case "$1" in
	--test) TEST=${2:?}; shift 2 ;;
	--wwpn) WWPN=${2:?}; shift 2 ;;
	--num-queues) NUMQ=${2:?}; shift 2 ;;
	--worker-per-vq) WPV=1; shift ;;
	--vhostfd) VHOSTFD=${2:?}; shift 2 ;;
	--dev-opts) DEVOPTS=${2:?}; shift 2 ;;
	--smp) SMP=${2:?}; shift 2 ;;
	--mem) MEM=${2:?}; shift 2 ;;
	--cpu) CPU=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--retries) RETRIES=${2:?}; shift 2 ;;
	--logdir) LOGDIR=${2:?}; shift 2 ;;
	--kernel) KERNEL=${2:?}; shift 2 ;;
	--append) APPEND=${2:?}; shift 2 ;;
	--build-initrd) BUILD_ONLY=1; shift ;;
	-h|--help) sed -n '3,/^$/p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--) shift; EXTRA=("$@"); break ;;
	*) die "unknown option '$1'" ;;
	esac
done

# ---- inner initramfs ---------------------------------------------------
write_init() {
	cat <<'EOF'
#!/bin/busybox sh
# inner guest /init (made by scripts/inner-guest.sh)
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
for m in $(cat /modlist); do
	insmod /mods/$m.ko || echo "inner: insmod $m failed"
done
. /inner-lib.sh
echo "INNER-BOOT: up at $(cut -d' ' -f1 /proc/uptime)s, $(grep -c ^processor /proc/cpuinfo) vCPU(s)"
if [ -f /test.sh ]; then
	{ sh -c '. /inner-lib.sh; . /test.sh' </dev/null 2>&1; echo $? >/tmp/test.rc; } |
		tee /tmp/test.out | sed 's/^/TEST: /'
	rc=$(cat /tmp/test.rc)
else
	echo "TEST: no /test.sh"
	rc=99
fi
if [ $rc = 0 ]; then
	echo "VERDICT: PASS"
else
	reason=$(sed -n 's/^FAIL-REASON: //p' /tmp/test.out | tail -n1)
	echo "VERDICT: FAIL ${reason:-test exited $rc}"
fi
sync
echo o >/proc/sysrq-trigger
sleep 30
EOF
}

write_lib() {
	cat <<'EOF'
# helpers for the inner guest's /test.sh (busybox sh)
# sdev_at T L: sysfs dir of the SCSI device at target T, LUN L (channel 0).
sdev_at() {
	for _d in /sys/bus/scsi/devices/*:0:$1:$2; do
		[ -d "$_d" ] && { echo "$_d"; return 0; }
	done
	return 1
}
# disk_at T L: block device name (sdX) at target T, LUN L.
disk_at() {
	_s=$(sdev_at "$1" "$2") || return 1
	for _b in "$_s"/block/*; do
		[ -d "$_b" ] && { echo "${_b##*/}"; return 0; }
	done
	return 1
}
# wait_disk T L SECS
wait_disk() {
	_i=0
	while [ $_i -lt $(($3 * 5)) ]; do
		_x=$(disk_at "$1" "$2") && [ -b "/dev/$_x" ] && return 0
		sleep 0.2
		_i=$((_i + 1))
	done
	return 1
}
# disk_info DEV: vendor, model, size of sdX
disk_info() {
	_s=/sys/block/$1/device
	echo "vendor=$(echo $(cat $_s/vendor)) model=$(echo $(cat $_s/model)) size_bytes=$(($(cat /sys/block/$1/size) * 512))"
}
# pattern_check DEV MB [OFF_MB]: O_DIRECT write of MB MiB random data, read back, compare
pattern_check() {
	_off=${3:-0}
	head -c $(($2 * 1048576)) /dev/urandom >/tmp/pat.w || return 1
	dd if=/tmp/pat.w of=/dev/$1 bs=1M seek=$_off count=$2 oflag=direct 2>/dev/null || { echo "FAIL-REASON: write to $1 failed"; return 1; }
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/$1 of=/tmp/pat.r bs=1M skip=$_off count=$2 iflag=direct 2>/dev/null || { echo "FAIL-REASON: read from $1 failed"; return 1; }
	cmp /tmp/pat.w /tmp/pat.r || { echo "FAIL-REASON: read-back of $1 differs"; return 1; }
	rm -f /tmp/pat.w /tmp/pat.r
}
report() { echo "REPORT: $1=$2"; }
EOF
}

# Modules to load in the inner guest, dependencies first (from modules.dep).
mod_order() {
	local want="$*" m path deps d out=()
	add() {
		local p=$1 n
		n=${p##*/}
		n=${n%%.ko*}
		case " ${out[*]} " in *" $n "*) return ;; esac
		local line
		line=$(grep -E "^$p:" "$MODDIR/modules.dep" | cut -d: -f2)
		for d in $line; do
			add "$d"
		done
		out+=("$n")
		echo "$n $p"
	}
	for m in $want; do
		path=$(grep -E "(^|/)$m\.ko(\.xz|\.zst|\.gz)?:" "$MODDIR/modules.dep" | cut -d: -f1)
		[ -n "$path" ] || continue	# built in
		add "$path"
	done
}

copy_with_libs() {	# ROOT BIN
	local root=$1 b=$2 l
	mkdir -p "$root$(dirname "$b")"
	cp -L "$b" "$root$b"
	for l in $(ldd "$b" 2>/dev/null | awk '/=>/ {print $3} /^\t\/.*ld-linux/ {print $1}'); do
		[ -f "$root$l" ] && continue
		mkdir -p "$root$(dirname "$l")"
		cp -L "$l" "$root$l"
	done
}

build_initrd() {	# OUT
	local out=$1 root n p fio
	root=$(mktemp -d "${TMPDIR:-/tmp}/inner-initrd.XXXXXX") || return 1
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,mods}
	cp "$BUSYBOX" "$root/bin/busybox" || return 1
	fio=$(command -v fio)
	[ -n "$fio" ] && copy_with_libs "$root" "$fio"
	: >"$root/modlist"
	while read -r n p; do
		case "$p" in
		*.xz) xz -dc "$MODDIR/$p" ;;
		*.zst) zstd -qdc "$MODDIR/$p" ;;
		*.gz) gzip -dc "$MODDIR/$p" ;;
		*) cat "$MODDIR/$p" ;;
		esac >"$root/mods/$n.ko" || { rm -rf "$root"; return 1; }
		echo "$n" >>"$root/modlist"
	done < <(mod_order scsi_common scsi_mod sd_mod virtio_scsi)
	write_init >"$root/init"
	chmod 755 "$root/init"
	write_lib >"$root/inner-lib.sh"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
		>"$out.tmp.$$" || { rm -rf "$root" "$out.tmp.$$"; return 1; }
	mv -f "$out.tmp.$$" "$out"
	rm -rf "$root"
}

initrd_key() {
	{
		sha256sum "$SELF"
		stat -L -c '%n %s %Y' "$BUSYBOX" "$(command -v fio 2>/dev/null || echo /bin/true)" \
			"$MODDIR/modules.dep"
	} | sha256sum | cut -c1-12
}

cache_dirs() {
	[ -n "${VSNG_CACHE_DIR:-}" ] && echo "$VSNG_CACHE_DIR"
	echo /var/cache/vhost-scsi-ng
	echo "${XDG_CACHE_HOME:-$HOME/.cache}/vhost-scsi-ng"
}

find_or_build_initrd() {
	local key d name
	key=$(initrd_key)
	name=inner-$KVER-$key.cpio
	for d in $(cache_dirs); do
		[ -s "$d/$name" ] && { INITRD=$d/$name; return 0; }
	done
	for d in $(cache_dirs); do
		if mkdir -p "$d" 2>/dev/null && [ -w "$d" ] && touch "$d/.w" 2>/dev/null; then
			rm -f "$d/.w"
			echo "inner-guest: building inner initramfs $d/$name" >&2
			if build_initrd "$d/$name"; then
				INITRD=$d/$name
				# Older versions (85 MB each) pile up as the scripts change:
				# keep the newest three.
				ls -t "$d"/inner-"$KVER"-*.cpio 2>/dev/null | tail -n +4 | xargs -r rm -f
				return 0
			fi
		fi
	done
	# read-only cache (inside the test guest): build in /tmp
	INITRD=/tmp/$name
	[ -s "$INITRD" ] && return 0
	echo "inner-guest: building inner initramfs $INITRD (no cached copy)" >&2
	build_initrd "$INITRD"
}

[ -d "$MODDIR" ] || die "$MODDIR missing (kernel $KVER modules)"
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (busybox-static: make deps)"
command -v cpio >/dev/null || die "cpio missing"
find_or_build_initrd || die "cannot build the inner initramfs"
if [ $BUILD_ONLY = 1 ]; then
	echo "inner-guest: initramfs $INITRD"
	exit 0
fi

# ---- run -------------------------------------------------------------------
[ -n "$TEST" ] || die "--test FILE is required"
[ -r "$TEST" ] || die "cannot read test script $TEST"
[ -r "$KERNEL" ] || die "kernel $KERNEL missing"
command -v "$QEMU" >/dev/null || die "$QEMU missing"
if [ ! -c /dev/kvm ]; then
	/sbin/modprobe kvm_amd 2>/dev/null || /sbin/modprobe kvm_intel 2>/dev/null
fi
[ -c /dev/kvm ] || die "no /dev/kvm (nested virtualization: the test guest needs -cpu max)"
LOGDIR=${LOGDIR:-${VSNG_RESULTS:-/tmp}/inner}
mkdir -p "$LOGDIR" || die "cannot create $LOGDIR"
WORK=$(mktemp -d /tmp/inner-run.XXXXXX) || die "mktemp failed"
trap 'rm -rf "$WORK"' EXIT

# per-boot cpio with the test, appended to the base one
mkdir -p "$WORK/root"
cp "$TEST" "$WORK/root/test.sh"
(cd "$WORK/root" && echo test.sh | cpio -o -H newc --quiet -R 0:0) >"$WORK/test.cpio" ||
	die "cannot pack the test"
cat "$INITRD" "$WORK/test.cpio" >"$WORK/initrd.cpio" || die "cannot assemble the initramfs"

DEV=()
if [ -n "$WWPN" ]; then
	d="vhost-scsi-pci,wwpn=$WWPN"
	[ -n "$NUMQ" ] && d+=",num_queues=$NUMQ"
	[ $WPV = 1 ] && d+=",worker_per_virtqueue=on"
	[ -n "$VHOSTFD" ] && d+=",vhostfd=$VHOSTFD"
	[ -n "$DEVOPTS" ] && d+=",$DEVOPTS"
	DEV=(-device "$d")
fi

run_once() {	# ATTEMPT -> sets VERDICT ("" if none)
	local n=$1 con=$LOGDIR/console-$1.log qpid start rc
	rm -f "$con"
	local args=(
		-name vsng-inner -nodefaults -no-user-config -no-reboot
		-machine q35 -accel kvm -cpu "$CPU" -smp "$SMP" -m "$MEM"
		-display none -vga none -monitor none
		-kernel "$KERNEL" -initrd "$WORK/initrd.cpio"
		-append "console=ttyS0 rdinit=/init panic=-1 quiet loglevel=4 $APPEND"
		-serial "file:$con"
		"${DEV[@]}" "${EXTRA[@]}"
	)
	printf '%q ' "$QEMU" "${args[@]}" >"$LOGDIR/qemu-$n.cmdline"
	start=$SECONDS
	"$QEMU" "${args[@]}" </dev/null >"$LOGDIR/qemu-$n.out" 2>&1 &
	qpid=$!
	INNER_QPID=$qpid
	while kill -0 "$qpid" 2>/dev/null; do
		if [ $((SECONDS - start)) -ge "$TIMEOUT" ]; then
			echo "inner-guest: attempt $n: timeout after ${TIMEOUT}s, killing QEMU $qpid" >&2
			kill -TERM "$qpid" 2>/dev/null
			sleep 2
			kill -KILL "$qpid" 2>/dev/null
			# A QEMU that does not even die of SIGKILL is stuck in the
			# kernel: keep the stacks of its threads and of every blocked
			# task, and do not wait for it forever.
			for _ in $(seq 60); do
				kill -0 "$qpid" 2>/dev/null || break
				sleep 0.5
			done
			if kill -0 "$qpid" 2>/dev/null; then
				stuck_report "$qpid" >"$LOGDIR/stuck-$n.txt" 2>&1
				echo "inner-guest: attempt $n: QEMU $qpid did not exit 30 s after SIGKILL; thread stacks and blocked tasks in $LOGDIR/stuck-$n.txt" >&2
				INNER_QPID=
				# Not a platform failure to retry: the stuck QEMU still
				# holds its devices, and the hang needs a look.
				VERDICT="FAIL inner QEMU stuck in the kernel after SIGKILL (stuck-$n.txt)"
				echo "inner-guest: attempt $n: $VERDICT" >&2
				return
			fi
			break
		fi
		grep -q '^VERDICT: ' "$con" 2>/dev/null && [ $((SECONDS - start)) -gt 0 ] &&
			{ sleep 5; kill -0 "$qpid" 2>/dev/null && kill -TERM "$qpid" 2>/dev/null; }
		sleep 0.5
	done
	wait "$qpid" 2>/dev/null
	rc=$?
	INNER_QPID=
	tr -d '\r' <"$con" 2>/dev/null | sed -n 's/^TEST: /inner| /p'
	if [ -s "$LOGDIR/qemu-$n.out" ]; then
		sed 's/^/inner-guest: qemu: /' "$LOGDIR/qemu-$n.out" >&2
	fi
	VERDICT=$(tr -d '\r' <"$con" 2>/dev/null | sed -n 's/^VERDICT: //p' | tail -n1)
	ELAPSED=$((SECONDS - start))
	echo "inner-guest: attempt $n: ${VERDICT:-no verdict} (${ELAPSED}s, QEMU status $rc)" >&2
}

# stuck_report PID: what the threads of PID and all blocked tasks wait for.
stuck_report() {
	local t
	echo "== threads of $1"
	for t in /proc/"$1"/task/*; do
		echo "-- ${t##*/} $(cat "$t/comm" 2>/dev/null) $(grep '^State' "$t/status" 2>/dev/null)"
		cat "$t/stack" 2>/dev/null
	done
	echo "== blocked tasks (sysrq w) and the kernel log"
	echo w >/proc/sysrq-trigger 2>/dev/null
	sleep 1
	dmesg | tail -n 400
}

INNER_QPID=
trap '[ -n "$INNER_QPID" ] && kill -KILL "$INNER_QPID" 2>/dev/null; rm -rf "$WORK"; exit 130' INT TERM

attempt=0
VERDICT=
while [ $attempt -le "$RETRIES" ]; do
	attempt=$((attempt + 1))
	run_once $attempt
	[ -n "$VERDICT" ] && break
	# A QEMU that could not even start (bad device args, target missing)
	# is a setup error, not a platform failure: do not retry it.
	if grep -qiE 'vhost-scsi: |Could not|failed to|error' "$LOGDIR/qemu-$attempt.out" 2>/dev/null &&
	   ! grep -q 'INNER-BOOT' "$LOGDIR/console-$attempt.log" 2>/dev/null; then
		echo "inner-guest: QEMU failed to start (see above); not retrying" >&2
		echo "inner-guest: VERDICT FAIL qemu did not start (attempts $attempt, platform retries $((attempt - 1)))"
		exit 1
	fi
	echo "inner-guest: no verdict from attempt $attempt (platform failure); console tail:" >&2
	tail -n 5 "$LOGDIR/console-$attempt.log" 2>/dev/null | sed 's/^/inner-guest:   | /' >&2
done
RETRIED=$((attempt - 1))
echo "$RETRIED" >"$LOGDIR/platform-retries"
if [ -z "$VERDICT" ]; then
	echo "inner-guest: NO VERDICT after $attempt attempts (platform failure)"
	exit 2
fi
tr -d '\r' <"$LOGDIR/console-$attempt.log" | sed -n 's/^TEST: REPORT: //p' >"$LOGDIR/report"
echo "inner-guest: VERDICT $VERDICT (attempts $attempt, platform retries $RETRIED)"
case "$VERDICT" in
PASS) exit 0 ;;
*) exit 1 ;;
esac
