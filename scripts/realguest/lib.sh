# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared helpers of the real-guest tests (sourced by scripts/realguest/*.sh,
# which run INSIDE the test guest started by scripts/vm-run).
#
# Layers:
#   outer guest  = the TCG test guest (this shell; LIO + the vhost target)
#   inner guest  = a nested-KVM QEMU started here with -device vhost-scsi-pci;
#                  its Linux virtio_scsi driver is the client under test.
#
# The inner guest boots Debian's kernel with a busybox initramfs built once
# per run (rg_build_base_initrd) plus a small per-boot cpio holding /test.sh
# (the scenario's inner half). Inner scripts report on the serial console:
#   VSNG-RESULT: ok <name>
#   VSNG-RESULT: not ok <name> - <why>
#   VSNG-VERDICT: DONE            (the inner test ran to its end)
# A boot that ends (or hangs) with no VERDICT line is a platform failure
# (nested KVM here is flaky, see the platform notes): the scenario is retried
# at most twice. A boot that produced a verdict is never retried.

RG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=${VSNG_REPO:-$(cd "$RG_DIR/../.." && pwd -P)}
TARGET=${TARGET:-ours}
# the cache's copies (make deps), else the installed ones: scripts/kernel-paths.sh
KVER=${KVER:-$("$REPO/scripts/kernel-paths.sh" kver)}
RG_KERNEL=${RG_KERNEL:-$("$REPO/scripts/kernel-paths.sh" image "$KVER")}
RG_MODDIR=$("$REPO/scripts/kernel-paths.sh" moddir "$KVER")
RG_BUSYBOX=$("$REPO/scripts/kernel-paths.sh" busybox)
RG_SCSI_RESET=$REPO/tools/vsng-scsi-reset
RG_RESULTS=${VSNG_RESULTS:-/tmp}/realguest
RG_WORK=${RG_WORK:-/tmp/realguest}
RG_QEMU=${QEMU:-qemu-system-x86_64}
CFS=/sys/kernel/config/target
# Firmware of the inner guest (empty: QEMU's default, SeaBIOS).
if [ -z "${RG_BIOS+set}" ]; then
	RG_BIOS=
	[ -f /usr/share/qemu/qboot.rom ] && RG_BIOS=/usr/share/qemu/qboot.rom
fi
# Timeouts of one inner boot (seconds): boot ~15 s, plus the test.
RG_BOOT_TIMEOUT=${RG_BOOT_TIMEOUT:-120}

mkdir -p "$RG_WORK" "$RG_RESULTS"

rg_log() { echo "# [$(cut -d' ' -f1 /proc/uptime)s] $*"; }

# ---- results of the current scenario -------------------------------------
# Each scenario script appends "ok|not ok|skip<TAB>name<TAB>why" lines to
# $RG_TAPFILE; run.sh numbers them into TAP.
rg_ok() { printf 'ok\t%s\t\n' "$1" >>"$RG_TAPFILE"; }
rg_notok() { printf 'not ok\t%s\t%s\n' "$1" "${2:-}" >>"$RG_TAPFILE"; RG_FAILED=1; }
rg_skip() { printf 'skip\t%s\t%s\n' "$1" "$2" >>"$RG_TAPFILE"; }
# rg_check NAME CMD...: ok if CMD succeeds.
rg_check() {
	local name=$1
	shift
	if "$@"; then rg_ok "$name"; else rg_notok "$name" "check failed: $*"; fi
}

# ---- outer guest environment ---------------------------------------------
rg_modprobe() { /sbin/modprobe "$@"; }

# Fallbacks for scripts/guest-lib.sh (used when it is there).
if [ -f "$REPO/scripts/guest-lib.sh" ]; then
	# shellcheck source=/dev/null
	. "$REPO/scripts/guest-lib.sh"
fi
if ! declare -F vsng_load_lio >/dev/null; then
	vsng_load_lio() {
		mkdir -p /etc/target
		rg_modprobe configfs || return 1
		mountpoint -q /sys/kernel/config ||
			mount -t configfs configfs /sys/kernel/config || return 1
		rg_modprobe target_core_mod && rg_modprobe target_core_file &&
			rg_modprobe target_core_iblock
	}
fi
if ! declare -F vsng_load_target >/dev/null; then
	vsng_load_target() {
		case "$1" in
		ours) insmod "$REPO/vhost_scsi_ng.ko" ;;
		intree) rg_modprobe vhost_scsi ;;
		*) return 1 ;;
		esac
	}
fi
if ! declare -F vsng_unload_target >/dev/null; then
	vsng_unload_target() {
		case "${1:-$TARGET}" in
		ours) rmmod vhost_scsi_ng ;;
		intree) rmmod vhost_scsi ;;
		esac
	}
fi
if ! declare -F vsng_start_dbus >/dev/null; then
	vsng_start_dbus() {
		[ -S /run/dbus/system_bus_socket ] && return 0
		mkdir -p /run/dbus
		dbus-daemon --system --fork --nopidfile
	}
fi

rg_target_module() { [ "$TARGET" = ours ] && echo vhost_scsi_ng || echo vhost_scsi; }

# Load LIO, the vhost target under test, and KVM (nested). Idempotent.
rg_setup_host() {
	vsng_load_lio || { echo "# cannot load LIO" >&2; return 1; }
	if [ ! -d "/sys/module/$(rg_target_module)" ]; then
		vsng_load_target "$TARGET" || { echo "# cannot load target $TARGET" >&2; return 1; }
	fi
	[ -c /dev/vhost-scsi ] || { echo "# no /dev/vhost-scsi" >&2; return 1; }
	mkdir -p "$CFS/vhost" 2>/dev/null
	[ -d "$CFS/vhost" ] || { echo "# no $CFS/vhost fabric" >&2; return 1; }
	if [ ! -c /dev/kvm ]; then
		rg_modprobe kvm_amd 2>/dev/null || rg_modprobe kvm_intel 2>/dev/null
	fi
	[ -c /dev/kvm ] || { echo "# no /dev/kvm in the test guest (nested SVM)" >&2; return 1; }
	mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	return 0
}

# ---- LIO configuration through raw configfs ------------------------------
# rg_wwpn N -> a fixed naa WWPN per index (so logs read the same each run).
rg_wwpn() { printf 'naa.50014050000000%02x' "$1"; }
rg_nexus() { printf 'naa.50014051000000%02x' "$1"; }

# rg_rd NAME MB: a ramdisk backstore (data lives in LIO; lost when removed).
rg_rd() {
	local d=$CFS/core/rd_mcp_0/$1
	mkdir -p "$d" || return 1
	echo "rd_pages=$(($2 * 256))" >"$d/control" || return 1
	echo 1 >"$d/enable"
}
# rg_fileio NAME FILE MB [HBA]: a fileio backstore on FILE (created if
# missing) under HBA fileio_<HBA> (default 0). Give each backstore its own
# HBA where targetcli will see it: rtslib removes an object's HBA with it,
# and fails ("Directory not empty") when the HBA holds a second object.
rg_fileio() {
	local d=$CFS/core/fileio_${4:-0}/$1
	[ -f "$2" ] || truncate -s "$3M" "$2" || return 1
	mkdir -p "$d" || return 1
	echo "fd_dev_name=$2,fd_dev_size=$(($3 * 1048576))" >"$d/control" || return 1
	echo 1 >"$d/enable"
}
# rg_tpg WWPN TPGT: create the TPG and its nexus.
rg_tpg() {
	local t=$CFS/vhost/$1/tpgt_$2
	mkdir -p "$t" || return 1
	[ -n "$(cat "$t/nexus" 2>/dev/null)" ] && return 0
	echo "$(rg_nexus "$2")" >"$t/nexus"
}
# rg_lun WWPN TPGT LUN BACKSTORE_DIR: map a backstore at a LUN.
rg_lun() {
	local l=$CFS/vhost/$1/tpgt_$2/lun/lun_$3
	mkdir -p "$l" || return 1
	ln -s "$4" "$l/vsng_port"
}
# rg_lun_backstore WWPN TPGT LUN: "<hba>/<backstore>" every symlink in the
# LUN's directory points to (none: no output).
rg_lun_backstore() {
	local f
	for f in "$CFS/vhost/$1/tpgt_$2/lun/lun_$3"/*; do
		[ -L "$f" ] || continue
		f=$(readlink -f "$f") && echo "${f#"$CFS"/core/}"
	done
}
rg_unlun() {
	local l=$CFS/vhost/$1/tpgt_$2/lun/lun_$3
	rm -f "$l"/* 2>/dev/null
	rmdir "$l"
}
# rg_target_clear: remove every vhost target and every backstore. Returns
# non-zero if something could not be removed (e.g. still in use).
rg_target_clear() {
	local rc=0 w t l d
	for w in "$CFS"/vhost/naa.*; do
		[ -d "$w" ] || continue
		for t in "$w"/tpgt_*; do
			[ -d "$t" ] || continue
			for l in "$t"/lun/lun_*; do
				[ -d "$l" ] || continue
				find "$l" -maxdepth 1 -type l -exec rm -f {} + 2>/dev/null
				rmdir "$l" || rc=1
			done
			[ -n "$(cat "$t/nexus" 2>/dev/null)" ] &&
				echo NULL >"$t/nexus" 2>/dev/null
			rmdir "$t" || rc=1
		done
		rmdir "$w" || rc=1
	done
	for d in "$CFS"/core/*_[0-9]*/*; do
		[ -d "$d" ] || continue
		case "${d##*/}" in alua|pr|statistics|wwn|attrib|action) continue ;; esac
		[ -f "$d/enable" ] || continue
		for a in "$d"/alua/*; do
			[ "${a##*/}" = default_tg_pt_gp ] && continue
			[ -d "$a" ] && rmdir "$a" 2>/dev/null
		done
		rmdir "$d" || rc=1
	done
	for d in "$CFS"/core/*_[0-9]*; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	return $rc
}

# ---- the inner guest's initramfs -----------------------------------------
# busybox, fio with every library ldd lists, the virtio_scsi modules, /init.
# About 85 MiB (Debian's fio pulls in ceph, gluster, icu...). Building it
# inside the TCG guest is slow, so it is cached by content key in the same
# cache directory as vm-run's initramfs; `run.sh --build-initrd` on the host
# (make check does it before vm-run) fills the cache, and the guest reads it
# over 9p. Without a cached copy the guest builds its own in $RG_WORK.

rg_initrd_key() {
	{
		cat "$RG_DIR/inner-init.sh" "$RG_DIR/inner-lib.sh"
		sed -n '/^rg_build_initrd_to()/,/^}/p' "$RG_DIR/lib.sh"
		stat -L -c '%n %s %Y' "$RG_BUSYBOX" "$(command -v fio)" "$RG_MODDIR/modules.dep"
		# its source, not the binary: debug info names the checkout
		cat "$RG_SCSI_RESET.c" 2>/dev/null
		[ -x "$RG_SCSI_RESET" ] && echo built
	} | sha256sum | cut -c1-12
}
rg_cache_dirs() {
	[ -n "${VSNG_CACHE_DIR:-}" ] && echo "$VSNG_CACHE_DIR"
	echo /var/cache/vhost-scsi-ng
	echo "${XDG_CACHE_HOME:-$HOME/.cache}/vhost-scsi-ng"
}

rg_copy_with_libs() {	# rg_copy_with_libs ROOT BIN...
	local root=$1 b l
	shift
	for b in "$@"; do
		mkdir -p "$root$(dirname "$b")"
		cp -L "$b" "$root$b"
		for l in $(ldd "$b" 2>/dev/null | awk '/=>/ {print $3} /^\t\/.*ld-linux/ {print $1}'); do
			[ -f "$root$l" ] && continue
			mkdir -p "$root$(dirname "$l")"
			cp -L "$l" "$root$l"
		done
	done
}

# rg_build_initrd_to FILE [nofio]: with nofio, busybox and modules only
# (3 MiB instead of 85: loading and unpacking 85 MiB costs an inner boot
# about 10 s here, so boots that need no fio use the small one).
rg_build_initrd_to() {
	local out=$1 root m f
	root=$(mktemp -d "${TMPDIR:-/tmp}/rg-initrd.XXXXXX") || return 1
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,mods,lib64}
	cp "$RG_BUSYBOX" "$root/bin/busybox"
	[ "${2:-}" = nofio ] || rg_copy_with_libs "$root" "$(command -v fio)"
	# make tools: the device reset of reset.sh (absent: that scenario fails)
	[ -x "$RG_SCSI_RESET" ] && cp "$RG_SCSI_RESET" "$root/bin/" &&
		rg_copy_with_libs "$root" "$RG_SCSI_RESET"
	: >"$root/modlist"
	for m in scsi_common scsi_mod sd_mod virtio_scsi; do
		f=$(grep -E "(^|/)$m\.ko(\.xz|\.zst)?:" "$RG_MODDIR/modules.dep" | cut -d: -f1)
		[ -n "$f" ] || continue		# built in
		f=$RG_MODDIR/$f
		case "$f" in
		*.xz) xz -dc "$f" >"$root/mods/$m.ko" ;;
		*.zst) zstd -qdc "$f" >"$root/mods/$m.ko" ;;
		*) cp "$f" "$root/mods/$m.ko" ;;
		esac || { rm -rf "$root"; return 1; }
		echo "$m" >>"$root/modlist"
	done
	cp "$RG_DIR/inner-init.sh" "$root/init"
	cp "$RG_DIR/inner-lib.sh" "$root/inner-lib.sh"
	chmod 755 "$root/init"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
		>"$out.tmp.$$" || { rm -rf "$root" "$out.tmp.$$"; return 1; }
	mv -f "$out.tmp.$$" "$out"
	rm -rf "$root"
}

# rg_build_base_initrd [--cache]: set RG_BASE_INITRD (with fio) and
# RG_SMALL_INITRD (without) to cached copies, or build them (into the cache
# with --cache, else into $RG_WORK).
rg_build_base_initrd() {
	local key d
	key=$(rg_initrd_key)
	for d in $(rg_cache_dirs); do
		if [ -s "$d/realguest-inner-$key.cpio" ] && [ -s "$d/realguest-inner-$key-nofio.cpio" ]; then
			RG_BASE_INITRD=$d/realguest-inner-$key.cpio
			RG_SMALL_INITRD=$d/realguest-inner-$key-nofio.cpio
			return 0
		fi
	done
	if [ "${1:-}" = --cache ]; then
		for d in $(rg_cache_dirs); do
			mkdir -p "$d" 2>/dev/null && [ -w "$d" ] || continue
			RG_BASE_INITRD=$d/realguest-inner-$key.cpio
			RG_SMALL_INITRD=$d/realguest-inner-$key-nofio.cpio
			rg_build_initrd_to "$RG_BASE_INITRD" && rg_build_initrd_to "$RG_SMALL_INITRD" nofio
			return
		done
	fi
	RG_BASE_INITRD=$RG_WORK/base-$key.cpio
	RG_SMALL_INITRD=$RG_WORK/base-$key-nofio.cpio
	{ [ -s "$RG_BASE_INITRD" ] || rg_build_initrd_to "$RG_BASE_INITRD"; } &&
		{ [ -s "$RG_SMALL_INITRD" ] || rg_build_initrd_to "$RG_SMALL_INITRD" nofio; }
}

# rg_make_initrd OUT TESTSCRIPT [fio]: base initramfs (the one with fio when
# asked) + a cpio holding /test.sh.
rg_make_initrd() {
	local out=$1 test=$2 d base=$RG_SMALL_INITRD
	[ "${3:-}" = fio ] && base=$RG_BASE_INITRD
	d=$(mktemp -d "$RG_WORK/t.XXXXXX")
	cp "$test" "$d/test.sh"
	{
		cat "$base"
		(cd "$d" && echo test.sh | cpio -o -H newc --quiet -R 0:0)
	} >"$out"
	rm -rf "$d"
}

# ---- running the inner guest ---------------------------------------------
# rg_qemu_start LOGNAME TESTSCRIPT [options] -- EXTRA_QEMU_ARGS...
#   options: --smp N  --mem MB  --reboot (let the guest reboot: no -no-reboot)
#            --fio (the inner guest needs fio: the big initramfs)
# Starts QEMU in the background. Sets RG_QPID and RG_CONSOLE.
rg_qemu_start() {
	local name=$1 test=$2 smp=1 mem=384 reboot=0 fio='' initrd
	shift 2
	while [ $# -gt 0 ]; do
		case "$1" in
		--smp) smp=$2; shift 2 ;;
		--mem) mem=$2; shift 2 ;;
		--reboot) reboot=1; shift ;;
		--fio) fio=fio; shift ;;
		--) shift; break ;;
		*) echo "rg_qemu_start: bad option $1" >&2; return 2 ;;
		esac
	done
	initrd=$RG_WORK/$name.initrd
	rg_make_initrd "$initrd" "$test" $fio || return 1
	RG_CONSOLE=$RG_SDIR/$name.console.log
	RG_QNAME=$name RG_JUDGED=
	: >"$RG_CONSOLE"
	# Control channel to the inner guest: its second serial port (ttyS1)
	# reads this fifo (QEMU opens a plain fifo path read-write); see rg_send.
	RG_CTL=$RG_WORK/$name.ctl
	RG_MON=$RG_WORK/$name.mon
	rm -f "$RG_MON"
	rm -f "$RG_CTL"
	mkfifo "$RG_CTL" || return 1
	local args=(
		-name "vsng-inner-$name"
		-nodefaults -no-user-config
		-machine q35 -accel kvm -cpu "${VSNG_INNER_CPU:-host}"
		-smp "$smp" -m "$mem"
		-display none -vga none -monitor "unix:$RG_MON,server=on,wait=off"
		-kernel "$RG_KERNEL" -initrd "$initrd"
		-append "console=ttyS0 rdinit=/init panic=-1 quiet loglevel=3 mitigations=off rg_smp=$smp"
		-serial "file:$RG_CONSOLE"
		-serial "pipe:$RG_CTL"
	)
	[ "$reboot" = 1 ] || args+=(-no-reboot)
	# qboot instead of SeaBIOS: SeaBIOS's own virtio-scsi driver scans every
	# target of the vhost-scsi device before the kernel starts, which costs
	# seconds per boot here; qboot only loads the kernel.
	[ -n "$RG_BIOS" ] && args+=(-bios "$RG_BIOS")
	args+=("$@")
	printf '%q ' "$RG_QEMU" "${args[@]}" >"$RG_SDIR/$name.qemu.cmdline"
	"$RG_QEMU" "${args[@]}" </dev/null >"$RG_SDIR/$name.qemu.log" 2>&1 &
	RG_QPID=$!
	rg_log "started inner QEMU $name (pid $RG_QPID, smp $smp)"
}

# rg_send WORD: send the line WORD to the inner guest's control port (its
# ctl_wait WORD returns). Opened read-write so it never blocks on a fifo
# whose reader (QEMU) is gone.
rg_send() {
	local fd
	exec {fd}<>"$RG_CTL" || return 1
	echo "$1" >&"$fd"
	exec {fd}>&-
}

# rg_wait_console PATTERN TIMEOUT: wait until the console shows PATTERN
# (grep -E). Returns 0 when seen, 1 when QEMU exited first, 2 on timeout.
# On a timeout, with QEMU still alive, rg_silent judges whose fault it is
# (once per inner QEMU) before the caller stops QEMU.
rg_wait_console() {
	local pat=$1 to=$2 start=$SECONDS
	while :; do
		grep -aqE "$pat" "$RG_CONSOLE" 2>/dev/null && return 0
		if ! kill -0 "$RG_QPID" 2>/dev/null; then
			grep -aqE "$pat" "$RG_CONSOLE" 2>/dev/null && return 0
			return 1
		fi
		if [ $((SECONDS - start)) -ge "$to" ]; then
			[ -n "${RG_JUDGED:-}" ] || rg_silent
			return 2
		fi
		sleep 0.2
	done
}

# rg_threads PID: every thread of PID with its name, state and kernel stack.
rg_threads() {
	local t
	for t in /proc/"$1"/task/*; do
		echo "-- ${t##*/} $(cat "$t/comm") $(grep '^State' "$t/status")"
		cat "$t/stack"
	done
}

# rg_blocked N: the blocked tasks (sysrq w) into the kernel log, then the
# log's last N lines.
rg_blocked() {
	echo w >/proc/sysrq-trigger
	sleep 1
	dmesg | tail -n "$1"
}

# rg_qemu_stop [GRACE]: wait GRACE s for QEMU to exit, then TERM, then KILL.
rg_qemu_stop() {
	local grace=${1:-10} i
	[ -n "${RG_QPID:-}" ] || return 0
	for ((i = 0; i < grace * 5; i++)); do
		kill -0 "$RG_QPID" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$RG_QPID" 2>/dev/null; then
		kill -TERM "$RG_QPID" 2>/dev/null
		for ((i = 0; i < 25; i++)); do
			kill -0 "$RG_QPID" 2>/dev/null || break
			sleep 0.2
		done
		kill -0 "$RG_QPID" 2>/dev/null && kill -KILL "$RG_QPID" 2>/dev/null
	fi
	# A QEMU still alive 30 s after SIGKILL is stuck in the kernel: keep
	# its threads' stacks, fail, and do not wait for it forever.
	for ((i = 0; i < 150; i++)); do
		kill -0 "$RG_QPID" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$RG_QPID" 2>/dev/null; then
		{
			rg_threads "$RG_QPID"
			rg_blocked 300
		} >"$RG_SDIR/qemu-stuck.txt" 2>&1
		rg_log "inner QEMU $RG_QPID did not exit 30 s after SIGKILL; stacks in $RG_SDIR/qemu-stuck.txt"
		rg_notok "inner QEMU exits after SIGKILL" "stuck in the kernel, see qemu-stuck.txt"
		RG_QPID=
		return 1
	fi
	wait "$RG_QPID" 2>/dev/null
	RG_QPID=
}

# rg_collect PREFIX: turn the console's VSNG-RESULT lines into results,
# each name prefixed with PREFIX. Returns 3 when there was no verdict.
rg_collect() {
	local prefix=$1 line st rest
	while IFS= read -r line; do
		rest=${line#*VSNG-RESULT: }
		case "$rest" in
		"ok "*) rg_ok "$prefix${rest#ok }" ;;
		"not ok "*)
			rest=${rest#not ok }
			rg_notok "$prefix${rest%% - *}" "${rest#* - }" ;;
		"skip "*)
			rest=${rest#skip }
			rg_skip "$prefix${rest%% - *}" "${rest#* - }" ;;
		esac
	done < <(grep -ao 'VSNG-RESULT: .*' "$RG_CONSOLE" | tr -d '\r')
	grep -aq 'VSNG-VERDICT: DONE' "$RG_CONSOLE" && return 0
	st=3
	return $st
}

# rg_qemu_failed PREFIX LOGNAME: QEMU exited with an error before the inner
# kernel came up (vhost-scsi could not start, say): that is a test failure,
# not a platform one, and is not retried. Records it and returns 0 then.
rg_qemu_failed() {
	local msg
	grep -aq 'VSNG-BOOT' "$RG_CONSOLE" 2>/dev/null && return 1
	msg=$(grep -aiE 'error|unable|failed|could not' "$RG_SDIR/$2.qemu.log" 2>/dev/null | head -n 2 | tr '\n' ' ')
	[ -n "$msg" ] || return 1
	rg_log "inner QEMU $2 failed to start: $msg"
	rg_notok "${1}QEMU starts the inner guest" "$msg"
	return 0
}

# rg_timeout_dump LOGNAME: a silent inner guest's state, taken before it is
# stopped, into LOGNAME.timeout.txt: the inner QEMU's threads (state and
# kernel stack), our module's ring state for each queue with a kick fd
# (debugfs), the inner vCPUs' registers (HMP "info registers -a" on the
# monitor socket: RIP tells firmware, kernel or idle) and the outer
# blocked tasks.
rg_timeout_dump() {
	local f=$RG_SDIR/$1.timeout.txt d files=()
	{
		echo "== $(date -u +%T) inner QEMU $RG_QPID threads"
		rg_threads "$RG_QPID"
		echo "== our queues (debugfs, queues with a kick fd)"
		for d in /sys/kernel/debug/vhost-scsi-ng/"$RG_QPID"-*; do
			[ -d "$d" ] && files+=("$d"/vq*)
		done
		[ ${#files[@]} -gt 0 ] && awk 'FNR == 1 { if (line ~ / kick_fd 1/) print line; line = FILENAME }
			{ line = line " " $1 " " $2 } END { if (line ~ / kick_fd 1/) print line }' "${files[@]}"
		echo "== inner guest (monitor)"
		[ -S "$RG_MON" ] && timeout 10 "$REPO/scripts/qemu-monitor.py" "$RG_MON"
		echo "== outer blocked tasks (sysrq w) and kernel log"
		rg_blocked 120
	} >"$f" 2>&1
	rg_log "inner guest $1 silent: state kept in $f"
}

# rg_vq_snapshot PID FILE: our debugfs ring state of every queue of QEMU
# PID, each as "== <path>" and its "name value" lines (classify.py's input).
rg_vq_snapshot() {
	local files=(/sys/kernel/debug/vhost-scsi-ng/"$1"-*/vq*)
	[ -e "${files[0]}" ] || { : >"$2"; return 1; }
	awk 'FNR == 1 { print "== " FILENAME } { print }' "${files[@]}" >"$2" 2>/dev/null
}
# rg_hang_verdict BEFORE AFTER: 1 (and the reasons on stdout) when the two
# snapshots show a request our target holds up (scripts/realguest/classify.py).
rg_hang_verdict() { python3 "$RG_DIR/classify.py" queues "$1" "$2"; [ $? != 1 ]; }

# rg_silent: the inner guest $RG_QNAME printed nothing more before its
# timeout and its QEMU is alive. Keep its state (rg_timeout_dump), then
# decide whether the silence is ours. Rule (Documentation/realguest-tests.md,
# "A silent inner guest: platform or target?"): QEMU alive, the device's
# queues still set up, and our debugfs shows a request held up (in flight
# without any completion, avail entries not taken, used entries not
# published) in two snapshots RG_SETTLE_SECS apart: the target's failure
# ("not ok", RG_TARGET_FAULT=1, no retry). An inner guest that reset or
# triple-faulted does not get here with requests pending: with -no-reboot
# QEMU exits (rg_wait_console returns 1, the device and its debugfs are
# gone), and a reset inside QEMU stops the vhost device (flushing our
# commands) and starts it again, which zeroes each queue's inflight and
# pending_used (vsng_vq_init_access). In-tree vhost_scsi has no such state
# to read: its silent guests stay platform failures, with a log line.
rg_silent() {
	local b=$RG_SDIR/$RG_QNAME.vq-before.txt a=$RG_SDIR/$RG_QNAME.vq-after.txt why
	RG_JUDGED=1
	rg_timeout_dump "$RG_QNAME"
	if [ "$TARGET" != ours ]; then
		rg_log "inner guest $RG_QNAME silent: in-tree vhost_scsi shows no ring state; counted as a platform failure"
		return 0
	fi
	rg_vq_snapshot "$RG_QPID" "$b" || { rg_log "inner guest $RG_QNAME silent: no debugfs queues for QEMU $RG_QPID"; return 0; }
	sleep "${RG_SETTLE_SECS:-5}"
	rg_vq_snapshot "$RG_QPID" "$a"
	kill -0 "$RG_QPID" 2>/dev/null || { rg_log "inner guest $RG_QNAME: QEMU exited while judged"; return 0; }
	if why=$(rg_hang_verdict "$b" "$a"); then
		rg_log "inner guest $RG_QNAME silent, nothing of ours pending: platform"
		return 0
	fi
	printf '%s\n' "$why" | sed 's/^/#   /'
	RG_TARGET_FAULT=1
	rg_notok "$RG_NAME: target answered every request of the silent inner guest $RG_QNAME" \
		"$(printf '%s' "$why" | grep '^STUCK' | head -n 3 | sed 's/^STUCK //' | tr '\n' ';')"
}

# rg_boot LOGNAME TESTSCRIPT PREFIX [qemu options as rg_qemu_start]:
# one complete inner boot: start, wait for the verdict, stop, collect.
# Returns 0 when a verdict was seen, 3 on a platform failure (no verdict).
rg_boot() {
	local name=$1 test=$2 prefix=$3 rc
	shift 3
	rg_qemu_start "$name" "$test" "$@" || { rg_notok "${prefix}start QEMU" "see $name.qemu.log"; return 1; }
	rg_wait_console 'VSNG-VERDICT: DONE' "$RG_BOOT_TIMEOUT"
	rc=$?
	rg_qemu_stop 10
	if [ $rc != 0 ]; then
		rg_log "inner guest $name: no verdict (wait rc $rc); console tail:"
		tail -n 15 "$RG_CONSOLE" | sed 's/^/#   /'
		rg_qemu_failed "$prefix" "$name" && return 1
		if [ "${RG_TARGET_FAULT:-0}" = 1 ]; then
			rg_collect "$prefix"
			return 1
		fi
		if grep -aq 'VSNG-RESULT: not ok' "$RG_CONSOLE"; then
			rg_collect "$prefix"
			rg_notok "${prefix}inner guest finished" "no verdict after a failed check"
			return 1
		fi
		return 3
	fi
	rg_collect "$prefix"
}

# ---- outer dmesg ---------------------------------------------------------
rg_dmesg_mark() { RG_DMESG_START=$(dmesg | wc -l); }
# rg_dmesg_new: dmesg lines since the mark.
rg_dmesg_new() { dmesg | tail -n +"$((RG_DMESG_START + 1))"; }
# rg_dmesg_clean: no WARNING/BUG/Oops/... since the mark.
rg_dmesg_clean() {
	! rg_dmesg_new | grep -E 'WARNING:|BUG:|BUG |Oops|Call Trace|general protection|KASAN|refcount_t|list_(add|del) corruption|hung_task|INFO: task' >&2
}

# rg_dmesg_verdict FILE: scripts/kreport-scan.py on FILE (outer kernel log
# lines): 1 when a WARN, BUG, Oops, KASAN, lockdep, hung-task or RCU-stall
# report has a frame of the target under test (vhost_scsi_ng, or in-tree
# vhost_scsi and the vhost core) or of LIO (target_core_*). Reports without
# such a frame (the platform's) are listed, not failed. Lines that are no
# report (the harmless "Unhandled WRMSR", "MODE SENSE: unimplemented page"
# of the platform notes) are never one.
rg_dmesg_verdict() { python3 "$REPO/scripts/kreport-scan.py" "$1"; }

# rg_vq_stats PID FIRST LAST: our module's per-queue counters (debugfs
# vhost-scsi-ng/<pid>-<dev>/vqN, the same numbers VHOST_SCSI_NG_GET_VQ_STATS
# returns) of queues FIRST..LAST of QEMU PID, one line per queue:
#   vqN requests R completions C used_idx_writes U interrupts I kicks K
# One awk over all files: a fork per file is slow under TCG.
rg_vq_stats() {
	local pid=$1 first=$2 last=$3 d q files=()
	for d in /sys/kernel/debug/vhost-scsi-ng/"$pid"-*; do
		[ -d "$d" ] || continue
		for ((q = first; q <= last; q++)); do
			[ -f "$d/vq$q" ] && files+=("$d/vq$q")
		done
	done
	[ ${#files[@]} -gt 0 ] || return 1
	awk 'FNR == 1 { if (NR > 1) print line; n = FILENAME; sub(/.*\//, "", n); line = n }
	     $1 ~ /^(requests|completions|used_idx_writes|interrupts|kicks)$/ { line = line " " $1 " " $2 }
	     END { print line }' "${files[@]}"
}
# rg_stat_get "STATS" vqN FIELD: one number out of rg_vq_stats output.
rg_stat_get() {
	echo "$1" | awk -v q="$2" -v f="$3" '$1 == q { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }'
}

# ---- packed virtqueues (RG_PACKED=1, issue 18) ------------------------------
# RG_PACKED=1 runs basic and multiqueue with -device vhost-scsi-pci,...,
# packed=on (scenarios basic-packed and multiqueue-packed set it). The inner
# guest checks that VIRTIO_F_RING_PACKED (bit 34) was really negotiated
# before its fio. In-tree 6.12 refuses the bit in SET_FEATURES: QEMU then
# stops with "unable to start vhost-scsi" as soon as the guest driver sets
# DRIVER_OK; rg_packed_refused asserts exactly that.
RG_PACKED=${RG_PACKED:-0}
# rg_scn NAME: the scenario's name (NAME-packed with RG_PACKED=1).
rg_scn() { if [ "$RG_PACKED" = 1 ]; then echo "$1-packed"; else echo "$1"; fi; }
# rg_vs_opts: what to append to "-device vhost-scsi-pci,wwpn=...".
rg_vs_opts() { [ "$RG_PACKED" = 1 ] && echo ",packed=on"; :; }
# rg_packed_inner: lines for the inner /test.sh (nothing unless RG_PACKED=1):
# the virtio_scsi device's negotiated features (sysfs "features": one
# character per bit, bit 0 first) must have bit 34 set.
rg_packed_inner() {
	[ "$RG_PACKED" = 1 ] || return 0
	cat <<'EOT'
scsi_features() {
	for _v in /sys/bus/virtio/devices/virtio*; do
		[ "$(basename "$(readlink "$_v/driver")" 2>/dev/null)" = virtio_scsi ] && cat "$_v/features"
	done
}
_f=$(scsi_features | head -n 1)
echo "virtio_scsi negotiated features: $_f"
check "virtio ring format: VIRTIO_F_RING_PACKED (bit 34) negotiated" [ "$(echo "$_f" | cut -c35)" = 1 ]
EOT
}
# rg_packed_refused LOGNAME TESTSCRIPT PREFIX [rg_qemu_start options]: the
# in-tree half of a packed scenario. ok when QEMU stopped with "unable to
# start vhost-scsi" (the target refused the packed ring), plus a SKIP
# "in-tree: packed not supported" for the I/O the scenario would have done;
# not ok when the inner guest ran to its verdict instead; 3 (platform) when
# it did neither.
rg_packed_refused() {
	local name=$1 test=$2 prefix=$3 rc msg
	shift 3
	rg_qemu_start "$name" "$test" "$@" || { rg_notok "${prefix}start QEMU" "see $name.qemu.log"; return 1; }
	rg_wait_console 'VSNG-VERDICT: DONE' "$RG_BOOT_TIMEOUT"
	rc=$?
	rg_qemu_stop 10
	msg=$(grep -ao 'unable to start vhost-scsi.*' "$RG_SDIR/$name.qemu.log" | head -n 1 | tr -d '\r')
	if [ -n "$msg" ]; then
		rg_ok "${prefix}in-tree refuses VIRTIO_F_RING_PACKED: QEMU stops the guest, \"$msg\" (in-tree: packed not supported)"
		rg_skip "${prefix}disk I/O over a packed ring" "in-tree: packed not supported"
		return 0
	fi
	if [ $rc = 0 ]; then
		rg_collect "$prefix"
		rg_notok "${prefix}in-tree refuses VIRTIO_F_RING_PACKED" "the inner guest ran to its verdict"
		return 1
	fi
	rg_log "inner guest $name: neither a verdict nor QEMU's refusal; console tail:"
	tail -n 15 "$RG_CONSOLE" | sed 's/^/#   /'
	return 3
}

# ---- scenario frame --------------------------------------------------------
# rg_begin NAME [--keep-config]: called first by every scenario script.
# It loads everything and clears any LIO configuration (unless told not to).
rg_begin() {
	RG_NAME=$1
	[ -s "${RG_BASE_INITRD:-}" ] && [ -s "${RG_SMALL_INITRD:-}" ] || rg_build_base_initrd || exit 1
	RG_SDIR=$RG_RESULTS/$RG_NAME
	mkdir -p "$RG_SDIR"
	RG_TAPFILE=${RG_TAPFILE:-$RG_SDIR/results.txt}
	: >>"$RG_TAPFILE"
	RG_FAILED=0
	RG_TARGET_FAULT=0
	RG_QPID=
	rg_dmesg_mark
	trap 'rg_qemu_stop 0; rg_cleanup_hook' EXIT
	rg_setup_host || { rg_notok "$RG_NAME: set up LIO, $TARGET target and KVM" "see output"; rg_end 1; }
	[ "${2:-}" = --keep-config ] && return 0
	rg_target_clear || { rg_notok "$RG_NAME: clean LIO configuration" "leftover configuration could not be removed"; rg_end 1; }
}
rg_cleanup_hook() { :; }

# rg_end RC: RC is what the last rg_boot returned. Keeps the outer dmesg when
# something failed; exits 3 on a platform failure so run.sh retries.
# Every scenario's outer kernel log since rg_begin is scanned here
# (rg_dmesg_verdict): a report of the target or LIO is a "not ok" and,
# like a target hang found by rg_silent, a verdict: no platform retry then.
rg_end() {
	local rc=$1 out name
	rg_qemu_stop 0
	rg_dmesg_new >"$RG_SDIR/outer-dmesg.txt"
	name="$RG_NAME: outer kernel log has no WARN/BUG/Oops/KASAN/lockdep/RCU-stall report from $(rg_target_module) or LIO"
	if out=$(rg_dmesg_verdict "$RG_SDIR/outer-dmesg.txt"); then
		rg_ok "$name"
	else
		rg_notok "$name" "$(printf '%s\n' "$out" | sed -n 's/^# [^:]*: REPORT FROM THE TARGET OR LIO //p' | head -n 2 | tr '\n' ';')"
		RG_TARGET_FAULT=1
	fi
	printf '%s\n' "$out" | grep -v '^# reports by origin: 0 from the target or LIO, 0 kernel'
	if [ "$rc" = 3 ] && [ "${RG_TARGET_FAULT:-0}" != 1 ]; then
		exit 3
	fi
	if [ "$RG_FAILED" = 1 ]; then
		dmesg >"$RG_SDIR/outer-dmesg-full.txt"
		rg_log "$RG_NAME: failed; inner consoles and outer dmesg in $RG_SDIR"
	fi
	exit 0
}

# rg_write_test FILE: the inner test script from stdin.
rg_write_test() { cat >"$1"; }

# ---- the multi-LUN layout (multilun.sh, persist.sh) -----------------------
# target:LUN:MiB; fileio files on tmpfs so the data survives a LIO config
# clear (persist.sh).
ML_LUNS="1:0:16 1:1:20 1:5:24 2:0:28 2:3:32"
ML_WWPN=$(rg_wwpn 2)
ml_layout() {
	local e t l mb h=0
	for e in $ML_LUNS; do
		IFS=: read -r t l mb <<<"$e"
		rm -f "$RG_WORK/ml_t${t}l${l}.img"
		h=$((h + 1))
		rg_fileio "ml_t${t}l${l}" "$RG_WORK/ml_t${t}l${l}.img" "$mb" $h &&
			rg_tpg "$ML_WWPN" "$t" &&
			rg_lun "$ML_WWPN" "$t" "$l" "$CFS/core/fileio_$h/ml_t${t}l${l}" ||
			{ rg_notok "$RG_NAME: configure LIO ($e)" "configfs"; rg_end 1; }
	done
}

# ml_test_verify FILE: inner test that checks every LUN of the layout is at
# its target:LUN with its size and holds the data multilun/persist wrote.
ml_test_verify() {
	local e t l mb
	{
		for e in $ML_LUNS; do
			IFS=: read -r t l mb <<<"$e"
			cat <<INNER
wait_disk $t $l 20
d=\$(disk $t $l); sz=\$(cat /sys/block/\$d/size 2>/dev/null)
check "target $t LUN $l seen as \$d with $mb MiB" [ -n "\$d" -a "\$sz" = $((mb * 2048)) ]
check "target $t LUN $l holds the data written before" verify_marked \$d T${t}L${l} 2
INNER
		done
		echo "check \"sees exactly $(echo $ML_LUNS | wc -w) disks (\$(ndisks))\" [ \$(ndisks) = $(echo $ML_LUNS | wc -w) ]"
	} >"$1"
}

# ---- libvirt-style fd passing (vhostfd.sh, kill.sh) ------------------------
# rg_vhostfd_open: open /dev/vhost-scsi in this shell (fd in RG_VFD), as
# libvirt does before it starts QEMU with vhostfd=<fd>.
rg_vhostfd_open() { exec {RG_VFD}<>/dev/vhost-scsi; }
rg_vhostfd_close() { [ -n "${RG_VFD:-}" ] && exec {RG_VFD}>&-; RG_VFD=; }
# rg_vhostfd_checks PREFIX FD: QEMU ($RG_QPID) uses the inherited fd and did
# not open /dev/vhost-scsi itself.
rg_vhostfd_checks() {
	local p=$1 fd=$2 link n
	link=$(readlink "/proc/$RG_QPID/fd/$fd" 2>/dev/null)
	n=$(find "/proc/$RG_QPID/fd" -lname /dev/vhost-scsi 2>/dev/null | wc -l)
	rg_check "${p}QEMU holds the passed fd $fd on /dev/vhost-scsi ($link)" [ "$link" = /dev/vhost-scsi ]
	rg_check "${p}QEMU did not open /dev/vhost-scsi itself ($n open)" [ "$n" = 1 ]
}
