#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-guest.sh: the benchmark half that runs INSIDE the vm-run test guest
# (scripts/bench.sh starts it; see Documentation/performance.md).
#
#   scripts/bench-guest.sh target     target level: tools/vsng-load on
#                                     /dev/vhost-scsi, no inner guest
#   scripts/bench-guest.sh realguest  fio in a nested-KVM inner guest
#   scripts/bench-guest.sh mem        kernel memory per device, ours and
#                                     in-tree in the same boot (tools/vsng-mem)
#
# Environment:
#   BENCH_OUT        results directory (default $VSNG_RESULTS/bench)
#   BENCH_ROUNDS     rounds; the paths alternate A B C D A B C D ... (3)
#   BENCH_WORKLOADS  workload names (default: all five, see wl_* below)
#   BENCH_PATHS      path names (default: all of the level; the target
#                    level also has ours-inorder and ours-packed-inorder,
#                    VIRTIO_F_IN_ORDER on, run only when named here)
#   BENCH_BACKENDS   target level: nullb brd (default); workloads on brd:
#                    BENCH_BRD_WORKLOADS (default rr4k-qd32-2q rw4k-qd32)
#   BENCH_RUNTIME    seconds per measurement (target 3, fio 3)
#   BENCH_OURS_ATTRS TPG attributes for our paths (both levels), as
#                    "NAME=VALUE ..." (coalesce_usecs=0, say)
#   BENCH_DEV_ATTRS  target level: backstore attributes for every path
#                    ("submit_type=2": LIO's queued submission, say)
#   BENCH_MEM_CONFIGS  mem level: request queues x ring entries
#                    (default 1x128,4x256,16x1024)
#   BENCH_MEM_REPS   mem level: repetitions per configuration (5)
#   BENCH_RESUME     1: real-guest level, keep every round/workload that
#                    already has an ok result.json (bench.sh sets it when it
#                    boots the level again after an outer-guest panic)
#   VSNG_INSN_LOG    the tcg-insn-plugin log (host file shared over 9p); when
#                    set, instructions per I/O are measured between markers.
#   VSNG_PROF_DIR    the plugin's prof=DIR (target level): each run's
#                    profile (per translated-block start) is moved next to
#                    its JSON as r<R>-<path>-<backend>-<workload>.prof, and
#                    the guest's /proc/kallsyms is saved as target/kallsyms.txt
#                    (scripts/insn-profile.py, issue 19).
#
# Every result is one JSON file under $BENCH_OUT/{target,realguest}/.
# A path that fails is recorded with "ok": false and the rest goes on.

set -u
REPO=${VSNG_REPO:-$(cd "$(dirname "$0")/.." && pwd -P)}
cd "$REPO" || exit 2
. scripts/guest-lib.sh

MODE=${1:?usage: bench-guest.sh target|realguest|mem}
OUT=${BENCH_OUT:-${VSNG_RESULTS:-/tmp}/bench}
ROUNDS=${BENCH_ROUNDS:-3}
RUNTIME=${BENCH_RUNTIME:-3}
ALL_WL="rr4k-qd32-2q rw4k-qd32 rr4k-qd1 seq64k-qd16 rrw4k-7030-qd32"
WORKLOADS=${BENCH_WORKLOADS:-$ALL_WL}
INSN_LOG=${VSNG_INSN_LOG:-}
PROF_DIR=${VSNG_PROF_DIR:-}
KO=$REPO/vhost_scsi_ng.ko
CFS=/sys/kernel/config/target
mkdir -p "$OUT"

log() { echo "bench: [$(cut -d' ' -f1 /proc/uptime)s] $*"; }

# wl_args NAME: vsng-load options of a workload.
wl_load_args() {
	case "$1" in
	rr4k-qd32-2q) echo "--queues 2 --qd 32 --bs 4k --rw randread" ;;
	rw4k-qd32) echo "--queues 1 --qd 32 --bs 4k --rw randwrite" ;;
	rr4k-qd1) echo "--queues 1 --qd 1 --bs 4k --rw randread" ;;
	seq64k-qd16) echo "--queues 1 --qd 16 --bs 64k --rw read" ;;
	rrw4k-7030-qd32) echo "--queues 1 --qd 32 --bs 4k --rw randrw --rwmix 70" ;;
	*) return 1 ;;
	esac
}
# wl_fio NAME: fio options (inner guest, libaio, O_DIRECT).
wl_fio_args() {
	case "$1" in
	rr4k-qd32-2q) echo "--rw=randread --bs=4k --iodepth=32 --numjobs=2 --cpus_allowed=0-1 --cpus_allowed_policy=split" ;;
	rw4k-qd32) echo "--rw=randwrite --bs=4k --iodepth=32 --numjobs=1" ;;
	rr4k-qd1) echo "--rw=randread --bs=4k --iodepth=1 --numjobs=1" ;;
	seq64k-qd16) echo "--rw=read --bs=64k --iodepth=16 --numjobs=1" ;;
	rrw4k-7030-qd32) echo "--rw=randrw --rwmixread=70 --bs=4k --iodepth=32 --numjobs=1" ;;
	*) return 1 ;;
	esac
}

# Both targets are loaded side by side for the whole run, so that the paths
# can alternate without module reloads: the in-tree vhost_scsi on
# /dev/vhost-scsi (fabric "vhost"), ours on /dev/vhost-scsi-ng (fabric
# "vhost_ng", module parameters devname= and fabric=).
OURS_DEV=/dev/vhost-scsi-ng
OURS_FABRIC=vhost_ng
load_both() {
	vsng_load_lio || return 1
	vsng_mod_loaded vhost_scsi || /sbin/modprobe vhost_scsi || return 1
	if ! vsng_mod_loaded vhost_scsi_ng; then
		[ -f "$KO" ] || { log "$KO not built"; return 1; }
		insmod "$KO" devname=${OURS_DEV#/dev/} fabric=$OURS_FABRIC || return 1
	fi
	for _ in $(seq 30); do
		[ -c /dev/vhost-scsi ] && [ -c $OURS_DEV ] && return 0
		sleep 0.1
	done
	log "device nodes missing"
	return 1
}

unload_both() {
	local f
	for f in vhost $OURS_FABRIC; do
		scripts/target-configfs.sh destroy-all --fabric $f >/dev/null 2>&1
		[ -d "$CFS/$f" ] && rmdir "$CFS/$f" 2>/dev/null
	done
	rmmod vhost_scsi_ng 2>/dev/null
	rmmod vhost_scsi 2>/dev/null
	return 0
}

# Instruction total at the last occurrence of marker ID in the plugin log.
insn_at() {
	[ -n "$INSN_LOG" ] && [ -r "$INSN_LOG" ] || return 1
	awk -v id="$1" '$1 == "MARK" && $2 == id { v = $3 } END { if (v != "") print v; else exit 1 }' "$INSN_LOG"
}

# Move the profile the plugin wrote at the last end marker to DEST.
prof_take() {	# DEST
	local seq
	[ -n "$PROF_DIR" ] && [ -n "$INSN_LOG" ] || return 0
	seq=$(awk '$1 == "PROF" { s = $3 } END { print s }' "$INSN_LOG")
	[ -n "$seq" ] && [ "$seq" -gt 0 ] 2>/dev/null && [ -f "$PROF_DIR/prof-$seq.txt" ] ||
		{ log "no profile from the plugin for $1"; return 1; }
	mv "$PROF_DIR/prof-$seq.txt" "$1"
}

# The text symbols of the kernel and of every module loaded (addresses need
# kptr_restrict=0; we are root): what insn-profile.py maps profiles with.
save_kallsyms() {	# OUTFILE
	[ -n "$PROF_DIR" ] || return 0
	echo 0 >/proc/sys/kernel/kptr_restrict
	awk '$2 ~ /^[tTwW]$/' /proc/kallsyms >"$1"
	head -n1 "$1" | grep -q '^0000000000000000' && log "kallsyms: addresses hidden"
	return 0
}

# Plugin sanity check: tools/vsng-mark ID LOOPS runs exactly 2*LOOPS
# instructions between its two markers; the count must match within the
# background of the rest of the machine (a fraction of a percent).
plugin_check() {	# OUTFILE
	local n=50000000 a b t0 t1
	[ -n "$INSN_LOG" ] || return 0
	t0=$(cut -d' ' -f1 /proc/uptime)
	tools/vsng-mark 250 $n
	t1=$(cut -d' ' -f1 /proc/uptime)
	a=$(insn_at 250) && b=$(insn_at 251) || { log "plugin check: no markers"; return 1; }
	awk -v a="$a" -v b="$b" -v n=$n -v t0="$t0" -v t1="$t1" 'BEGIN {
		d = b - a; e = 2 * n
		printf "plugin check: expected %d, counted %d (%+.3f%%), %.2f s\n", e, d, (d - e) * 100 / e, t1 - t0 }' | tee "$1"
}

# cpuidle's POLL state spins (executes instructions) while a CPU expects a
# short idle, as at queue depth 1: instructions that depend on time, not on
# work. Disable it so that an idle vCPU halts; log what the guest has.
idle_setup() {	# OUTFILE
	local s n
	{
		echo "driver=$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null)"
		for s in /sys/devices/system/cpu/cpu*/cpuidle/state*; do
			[ -r "$s/name" ] || continue
			read -r n <"$s/name"
			echo "$s name=$n"
			[ "$n" = POLL ] && echo 1 >"$s/disable" && echo "  disabled"
		done
	} >"$1" 2>&1
}

# The outer KVM's exit/injection counters as KEY=VALUE (no forks: the
# sampling must not add instructions of its own to the count).
kvm_stats() {
	local f v d=/sys/kernel/debug/kvm line=
	for f in exits io_exits mmio_exits irq_exits halt_exits irq_injections \
		 nmi_injections request_irq_exits irq_window_exits; do
		[ -r "$d/$f" ] && read -r v <"$d/$f" && line+="$f=$v "
	done
	echo "$line"
}

# ---------------------------------------------------------------------------
# Target level
# ---------------------------------------------------------------------------
target_level() {
	local paths=${BENCH_PATHS:-"ours-pq ours-packed ours-shared intree intree-nw"}
	local backends=${BENCH_BACKENDS:-"nullb brd"}
	local brd_wl=${BENCH_BRD_WORKLOADS:-$WORKLOADS}
	local r p b w wls args extra tgt res rc dev fab a
	local dir=$OUT/target
	mkdir -p "$dir"
	load_both || return 1
	[ -n "${BENCH_KEEP_POLL_IDLE:-}" ] || idle_setup "$dir/cpuidle.txt"
	plugin_check "$dir/plugin-check.txt"
	/sbin/modprobe null_blk nr_devices=1 gb=4 memory_backed=0 bs=512 || log "null_blk failed"
	/sbin/modprobe brd rd_nr=1 rd_size=262144 || log "brd failed"
	# touch every brd page once, so reads do not hit unallocated pages
	dd if=/dev/zero of=/dev/ram0 bs=1M count=256 oflag=direct 2>/dev/null
	save_kallsyms "$dir/kallsyms.txt"
	for r in $(seq 1 "$ROUNDS"); do
		for b in $backends; do
			if [ "$b" = brd ]; then wls=$brd_wl; else wls=$WORKLOADS; fi
			for w in $wls; do
				case " $WORKLOADS " in *" $w "*) ;; *) continue ;; esac
				for p in $paths; do
					extra=
					case "$p" in
					ours-pq|ours-shared|ours-packed|ours-inorder|ours-packed-inorder)
						tgt=ours dev=$OURS_DEV fab=$OURS_FABRIC
						# ours-packed: as ours-pq on packed rings (issue 18)
						case "$p" in ours-packed*) extra+=" --ring packed" ;; esac
						# *-inorder: VIRTIO_F_IN_ORDER offered and acked
						case "$p" in *-inorder) extra+=" --in-order" ;; esac
						for a in ${BENCH_OURS_ATTRS:-}; do extra+=" --tpg-attr $a"; done ;;
					intree) tgt=intree dev=/dev/vhost-scsi fab=vhost ;;
					intree-nw) tgt=intree dev=/dev/vhost-scsi fab=vhost
						   extra=--new-workers ;;
					*) log "unknown path $p"; continue ;;
					esac
					for a in ${BENCH_DEV_ATTRS:-}; do extra+=" --dev-attr $a"; done
					res=$dir/r$r-$p-$b-$w.json
					if [ "$tgt" = ours ]; then
						if [ "$p" = ours-shared ]; then v=N; else v=Y; fi
						echo $v >/sys/module/vhost_scsi_ng/parameters/worker_per_vq
						case "$p" in *-inorder) v=Y ;; *) v=N ;; esac
						echo $v >/sys/module/vhost_scsi_ng/parameters/in_order
					fi
					args=$(wl_load_args "$w")
					TARGET=$tgt VSNG_DEV=$dev VSNG_FABRIC=$fab VSNG_BACKEND=$b \
						timeout 120 tools/vsng-load $args $extra \
						--runtime "$RUNTIME" --ramp 0.5 --size-mb 1024 \
						--label "$p/$b/$w/r$r" --mark 10 --json "$res.tmp" --quiet \
						>"$dir/r$r-$p-$b-$w.log" 2>&1
					rc=$?
					if [ -s "$res.tmp" ]; then
						jq -c --arg p "$p" --arg b "$b" --arg w "$w" --argjson r "$r" --argjson rc "$rc" \
							'. + {ok: ($rc == 0), level: "target", path: $p, backend: $b, workload: $w, round: $r}' \
							"$res.tmp" >"$res"
					else
						echo "{\"ok\": false, \"level\": \"target\", \"path\": \"$p\", \"backend\": \"$b\", \"workload\": \"$w\", \"round\": $r, \"rc\": $rc}" >"$res"
					fi
					rm -f "$res.tmp"
					prof_take "$dir/r$r-$p-$b-$w.prof"
					log "r$r $b $w $p: rc=$rc $(jq -r '"iops=\(.iops // "-" | tostring) insn/io=\(.insns_per_io // "-" | tostring) notif/io=\(.notifications_per_io // "-" | tostring)"' "$res" 2>/dev/null)"
					[ $rc = 0 ] || tail -n 5 "$dir/r$r-$p-$b-$w.log" | sed 's/^/bench:   | /'
				done
			done
		done
	done
	echo Y >/sys/module/vhost_scsi_ng/parameters/worker_per_vq
	unload_both
	dmesg >"$dir/dmesg.txt"
	return 0
}

# ---------------------------------------------------------------------------
# Real-guest level
# ---------------------------------------------------------------------------
# One inner boot per round and workload (short boots: long nested runs are
# the flaky ones, see shared/notes/platform.md). Each boot has all eight
# paths at once, each on its own 256 MiB brd disk, 2 queues each:
#   ours        vhost-scsi-pci vhostfd=<open /dev/vhost-scsi-ng>  ram0 (T1)
#   ours-packed the same with packed=on (VIRTIO_F_RING_PACKED)     ram7 (T6)
#   intree      vhost-scsi-pci on the in-tree /dev/vhost-scsi      ram1 (T2)
#   intree-wpv  the same with worker_per_virtqueue=on              ram2 (T3)
#   qemu-scsi   virtio-scsi-pci + iothread, scsi-hd cache=none,aio=native
#                                                                  ram3 (T4)
#   qemu-blk    virtio-blk-pci + iothread, cache=none,aio=native   ram4
#                                                   (vd*, serial vsngblk4)
#   qemu-scsi-uring  virtio-scsi-pci + iothread, scsi-hd
#               cache=none,aio=io_uring                            ram5 (T5)
#   qemu-blk-uring   virtio-blk-pci + iothread, cache=none,aio=io_uring
#                                             ram6 (vd*, serial vsngblk6)
# and runs the workload on each path in turn (A B C D ...); the order
# rotates by one path every round.
RG_ALL="ours ours-packed intree intree-wpv qemu-scsi qemu-blk qemu-scsi-uring qemu-blk-uring"
RG_WWPN_OURS=naa.5001405bbe000001
RG_WWPN_IT=naa.5001405bbe000002
RG_WWPN_WPV=naa.5001405bbe000003
RG_WWPN_PK=naa.5001405bbe000004

# The inner test: one fio run per path, each bracketed by instruction
# markers and by BENCH-BEGIN/END lines that the outer side's watcher turns
# into KVM counter samples (a quiet gap on each side lets the sample land
# outside the measured window).
make_inner_test() {	# FILE WORKLOAD "path:disk ..." (disk = scsi:T or blk:SERIAL)
	local f=$1 w=$2 specs=$3 spec mark_b64 blk_b64 pi=0
	mark_b64=$(gzip -9c tools/vsng-mark | base64 -w0)
	blk_b64=$(xz -dc "$(find /lib/modules/"$(uname -r)"/kernel -name 'virtio_blk.ko*' | head -n1)" | gzip -9c | base64 -w0)
	{
		echo 'echo "'"$mark_b64"'" | base64 -d | gunzip >/tmp/vsng-mark; chmod +x /tmp/vsng-mark'
		echo 'echo "'"$blk_b64"'" | base64 -d | gunzip >/tmp/vblk.ko; insmod /tmp/vblk.ko'
		cat <<'INNER'
find_disk() {	# scsi:T | blk:SERIAL
	case "$1" in
	scsi:*)
		for _b in /sys/bus/scsi/devices/*:0:${1#scsi:}:0/block/*; do
			[ -d "$_b" ] && { echo "${_b##*/}"; return 0; }
		done ;;
	blk:*)
		for _b in /sys/block/vd*; do
			[ "$(cat "$_b/serial" 2>/dev/null)" = "${1#blk:}" ] &&
				{ echo "${_b##*/}"; return 0; }
		done ;;
	esac
	return 1
}
get_disk() {
	_i=0
	while [ $_i -lt 150 ]; do
		_d=$(find_disk "$1") && [ -b /dev/$_d ] && { echo $_d; return 0; }
		sleep 0.2
		_i=$((_i + 1))
	done
	return 1
}
virq() { awk '/virtio/ { for (i = 2; i <= ncpu + 1; i++) s += $i } END { print s + 0 }' ncpu=$(grep -c ^processor /proc/cpuinfo) /proc/interrupts; }
fails=0
bench_one() {	# PATH DISK NAME MARKID FIOARGS...
	p=$1 d=$2 n=$3 m=$4
	shift 4
	echo "BENCH-BEGIN $p/$n"
	sleep 1
	i0=$(virq)
	/tmp/vsng-mark $m
	fio --name=$n --filename=/dev/$d --direct=1 --ioengine=libaio --thread \
		--time_based --runtime=$RT --size=200M --group_reporting \
		--output-format=terse --terse-version=3 "$@" >/tmp/fio.$n 2>/tmp/fio.$n.err
	frc=$?
	/tmp/vsng-mark $((m + 1))
	i1=$(virq)
	echo "BENCH-END $p/$n"
	sleep 1
	if [ $frc != 0 ]; then
		echo "fio $p/$n failed: $(head -c 300 /tmp/fio.$n.err)"
		fails=$((fails + 1))
		return
	fi
	# terse v3: read kb 6, iops 8, runtime 9, clat p50 24, p99 30,
	# p99.9 32, lat mean 40; write = read + 41
	awk -F';' -v n=$p/$n -v irq=$((i1 - i0)) '/^3;/ {
		rkb = $6; wkb = $47; rt = ($9 > $50 ? $9 : $50) / 1000
		if ($8 > 0) o = 0; else o = 41
		split($(24 + o), a, "="); split($(30 + o), b, "="); split($(32 + o), c, "=")
		printf "REPORT: wl_%s=rkb=%s wkb=%s riops=%s wiops=%s secs=%s lat_mean=%s p50=%s p99=%s p999=%s virq=%s\n",
			n, rkb, wkb, $8, $49, rt, $(40 + o), a[2], b[2], c[2], irq }' /tmp/fio.$n
}
INNER
		echo "RT=$RUNTIME"
		for spec in $specs; do
			echo "D$pi=\$(get_disk ${spec#*:}) || { echo 'FAIL-REASON: no disk ${spec#*:} for ${spec%%:*}'; exit 1; }"
			echo "echo \"${spec%%:*}: \$D$pi, \$(cat /sys/block/\$D$pi/size) sectors, \$(ls /sys/block/\$D$pi/mq | wc -l) hw queues\""
			echo "echo none >/sys/block/\$D$pi/queue/scheduler 2>/dev/null"
			pi=$((pi + 1))
		done
		pi=0
		for spec in $specs; do
			echo "bench_one ${spec%%:*} \$D$pi $w $((100 + 2 * pi)) $(wl_fio_args "$w")"
			pi=$((pi + 1))
		done
		# let the last REPORT line reach the console before the power-off
		# message (seen cut by "sysrq: Power Off" under host load)
		echo 'sleep 1'
		echo '[ $fails = 0 ] || { echo "FAIL-REASON: $fails fio runs failed"; exit 1; }'
	} >"$f"
}

# Follow the inner consoles in LOGDIR (tmpfs: inotify, no polling) and
# sample the outer KVM counters at each BENCH-BEGIN/END line.
kvm_watch() {	# LOGDIR OUTFILE
	local dir=$1 out=$2 line re='BENCH-(BEGIN|END) ([^ [:cntrl:]]+)'
	: >"$out"
	tail -q -n +1 -F "$dir/console-1.log" "$dir/console-2.log" \
		"$dir/console-3.log" 2>/dev/null |
	while IFS= read -r line; do
		[[ $line =~ $re ]] || continue
		echo "${BASH_REMATCH[0]} $(kvm_stats)" >>"$out"
	done
}

lio_iblock() {	# FABRIC WWPN TPGT DEV
	local s=$CFS/core/iblock_77/bench$3 t=$CFS/$1/$2/tpgt_$3
	mkdir -p "$s" && echo "udev_path=$4" >"$s/control" && echo 1 >"$s/enable" || return 1
	mkdir -p "$t/lun/lun_0" && ln -s "$s" "$t/lun/lun_0/bench_port" || return 1
	echo "naa.5001405bbe00ff0$3" >"$t/nexus"
}

lio_clear() {
	local s f
	for f in vhost $OURS_FABRIC; do
		scripts/target-configfs.sh destroy-all --fabric $f >/dev/null 2>&1
	done
	for s in "$CFS"/core/iblock_77/bench*; do [ -d "$s" ] && rmdir "$s"; done
	[ -d "$CFS/core/iblock_77" ] && rmdir "$CFS/core/iblock_77"
	return 0
}

# rg_dev PATH: SPEC="path:disk"; its QEMU args appended to QARGS
rg_dev() {
	case "$1" in
	ours) QARGS+=(-device "vhost-scsi-pci,wwpn=$RG_WWPN_OURS,num_queues=2,vhostfd=$VFD")
	      SPEC=ours:scsi:1 ;;
	ours-packed) QARGS+=(-device "vhost-scsi-pci,wwpn=$RG_WWPN_PK,num_queues=2,vhostfd=$VFD2,packed=on")
		     SPEC=ours-packed:scsi:6 ;;
	intree) QARGS+=(-device "vhost-scsi-pci,wwpn=$RG_WWPN_IT,num_queues=2")
		SPEC=intree:scsi:2 ;;
	intree-wpv) QARGS+=(-device "vhost-scsi-pci,wwpn=$RG_WWPN_WPV,num_queues=2,worker_per_virtqueue=on")
		    SPEC=intree-wpv:scsi:3 ;;
	qemu-scsi) QARGS+=(-object iothread,id=io0
			   -drive if=none,id=d3,file=/dev/ram3,format=raw,cache=none,aio=native
			   -device virtio-scsi-pci,id=vs0,iothread=io0,num_queues=2
			   -device scsi-hd,drive=d3,bus=vs0.0,scsi-id=4,lun=0)
		   SPEC=qemu-scsi:scsi:4 ;;
	qemu-blk) QARGS+=(-object iothread,id=io1
			  -drive if=none,id=d4,file=/dev/ram4,format=raw,cache=none,aio=native
			  -device virtio-blk-pci,drive=d4,iothread=io1,num-queues=2,serial=vsngblk4)
		  SPEC=qemu-blk:blk:vsngblk4 ;;
	qemu-scsi-uring) QARGS+=(-object iothread,id=io2
			 -drive if=none,id=d5,file=/dev/ram5,format=raw,cache=none,aio=io_uring
			 -device virtio-scsi-pci,id=vs1,iothread=io2,num_queues=2
			 -device scsi-hd,drive=d5,bus=vs1.0,scsi-id=5,lun=0)
		 SPEC=qemu-scsi-uring:scsi:5 ;;
	qemu-blk-uring) QARGS+=(-object iothread,id=io3
			-drive if=none,id=d6,file=/dev/ram6,format=raw,cache=none,aio=io_uring
			-device virtio-blk-pci,drive=d6,iothread=io3,num-queues=2,serial=vsngblk6)
		SPEC=qemu-blk-uring:blk:vsngblk6 ;;
	esac
}

realguest_level() {
	local paths=${BENCH_PATHS:-$RG_ALL}
	local dir=$OUT/realguest r b w rc ldir tdir wpid test pi spec line order i n specs p attempt a
	mkdir -p "$dir"
	load_both || return 1
	idle_setup "$dir/cpuidle.txt"
	plugin_check "$dir/plugin-check.txt"
	/sbin/modprobe brd rd_nr=8 rd_size=262144 || { log "brd failed"; return 1; }
	for b in 0 1 2 3 4 5 6 7; do
		dd if=/dev/zero of=/dev/ram$b bs=1M count=256 oflag=direct 2>/dev/null
	done
	lio_clear
	lio_iblock $OURS_FABRIC $RG_WWPN_OURS 1 /dev/ram0 &&
		lio_iblock vhost $RG_WWPN_IT 2 /dev/ram1 &&
		lio_iblock vhost $RG_WWPN_WPV 3 /dev/ram2 &&
		lio_iblock $OURS_FABRIC $RG_WWPN_PK 6 /dev/ram7 || { log "LIO set-up failed"; return 1; }
	for a in ${BENCH_OURS_ATTRS:-}; do
		echo "${a#*=}" >"$CFS/$OURS_FABRIC/$RG_WWPN_OURS/tpgt_1/attrib/${a%%=*}" &&
		echo "${a#*=}" >"$CFS/$OURS_FABRIC/$RG_WWPN_PK/tpgt_6/attrib/${a%%=*}" ||
			{ log "cannot set attribute $a"; return 1; }
		log "ours: TPG attribute $a"
	done
	/sbin/modprobe kvm_amd 2>/dev/null || /sbin/modprobe kvm_intel 2>/dev/null
	mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
	# KVM's halt polling spins in the outer kernel while an inner vCPU
	# idles: instructions that depend on time, not on work. Off, so that
	# instructions per I/O count work only (the same for every path).
	[ -w /sys/module/kvm/parameters/halt_poll_ns ] &&
		echo 0 >/sys/module/kvm/parameters/halt_poll_ns
	for r in $(seq 1 "$ROUNDS"); do
		# rotate the path order by one every round
		set -- $paths
		n=$#
		order=
		for i in $(seq 0 $((n - 1))); do
			eval "p=\${$(( (i + r - 1) % n + 1 ))}"
			order+=" $p"
		done
		for w in $WORKLOADS; do
			ldir=$dir/r$r-$w
			if [ "${BENCH_RESUME:-0}" = 1 ] &&
			   grep -q '"ok": true' "$ldir/result.json" 2>/dev/null; then
				log "r$r $w: kept from the run before the outer guest's panic"
				continue
			fi
			tdir=$(mktemp -d /tmp/rg.XXXXXX)
			rm -rf "$ldir"
			mkdir -p "$ldir"
			test=$ldir/inner-test.sh
			kvm_watch "$tdir" "$ldir/kvm.txt" &
			wpid=$!
			# Platform retries (inner guest died without a verdict) are
			# made here, not by inner-guest.sh: ours needs a freshly
			# opened vhostfd for every QEMU (the old one has an owner).
			for attempt in 1 2 3; do
				QARGS=() specs= VFD= VFD2=
				case " $order " in
				*" ours "*) exec {VFD}<>$OURS_DEV || { log "cannot open $OURS_DEV"; break; } ;;
				esac
				case " $order " in
				*" ours-packed "*) exec {VFD2}<>$OURS_DEV || { log "cannot open $OURS_DEV"; break; } ;;
				esac
				for p in $order; do
					rg_dev $p
					specs+=" $SPEC"
				done
				make_inner_test "$test" "$w" "$specs"
				scripts/inner-guest.sh --smp 2 --mem 512 \
					--timeout $((120 + n * (RUNTIME + 8) * 2)) \
					--retries 0 --logdir "$tdir" --test "$test" \
					-- "${QARGS[@]}" >>"$ldir/inner.out" 2>&1
				rc=$?
				[ -n "$VFD" ] && exec {VFD}>&-
				[ -n "$VFD2" ] && exec {VFD2}>&-
				[ $rc = 2 ] || break
				log "r$r $w: attempt $attempt: no verdict (platform failure)"
			done
			echo $((attempt - 1)) >"$tdir/platform-retries"
			sleep 0.5
			pkill -P "$wpid" 2>/dev/null
			kill "$wpid" 2>/dev/null
			wait "$wpid" 2>/dev/null
			cp -a "$tdir"/. "$ldir"/ 2>/dev/null
			rm -rf "$tdir"
			log "r$r $w: inner-guest rc=$rc: $(tail -n1 "$ldir/inner.out")"
			[ $rc = 0 ] || tail -n 12 "$ldir/inner.out" | sed 's/^/bench:   | /'
			# instruction totals at the markers of each path
			: >"$ldir/insns.txt"
			pi=0
			for spec in $specs; do
				echo "${spec%%:*}/$w $(insn_at $((100 + 2 * pi)) || echo 0) $(insn_at $((101 + 2 * pi)) || echo 0)" >>"$ldir/insns.txt"
				pi=$((pi + 1))
			done
			echo "{\"ok\": $([ $rc = 0 ] && echo true || echo false), \"rc\": $rc, \"workload\": \"$w\", \"round\": $r, \"order\": \"${order# }\", \"retries\": $(cat "$ldir/platform-retries" 2>/dev/null || echo null)}" >"$ldir/result.json"
			while read -r line; do log "  $line"; done < <(sed -n 's/^wl_//p' "$ldir/report" 2>/dev/null)
		done
	done
	lio_clear
	unload_both
	dmesg >"$dir/dmesg.txt"
}

# ---------------------------------------------------------------------------
# Memory level: what one device costs in kernel memory after SET_ENDPOINT
# (tools/vsng-mem; method in its header and Documentation/performance.md)
# ---------------------------------------------------------------------------
mem_level() {
	local dir=$OUT/mem rc
	mkdir -p "$dir"
	load_both || return 1
	{
		grep -E '^(MemTotal|MemFree|Slab|VmallocUsed):' /proc/meminfo
		echo "worker_per_vq=$(cat /sys/module/vhost_scsi_ng/parameters/worker_per_vq 2>/dev/null)"
		grep -h '^CONFIG_VMAP_STACK=' "/boot/config-$(uname -r)" 2>/dev/null
		echo "kernel=$(uname -r)"
	} >"$dir/guest.txt"
	log "mem: configurations ${BENCH_MEM_CONFIGS:-1x128,4x256,16x1024}, ${BENCH_MEM_REPS:-5} repetitions"
	timeout 1200 tools/vsng-mem --reps "${BENCH_MEM_REPS:-5}" \
		--configs "${BENCH_MEM_CONFIGS:-1x128,4x256,16x1024}" \
		--ours "$OURS_DEV,$OURS_FABRIC" --intree /dev/vhost-scsi,vhost \
		--json "$dir/mem.json" >"$dir/mem.log" 2>&1
	rc=$?
	sed 's/^/bench:   | /' "$dir/mem.log"
	unload_both
	dmesg >"$dir/dmesg.txt"
	return $rc
}

case "$MODE" in
target) target_level ;;
realguest) realguest_level ;;
mem) mem_level ;;
*) echo "usage: bench-guest.sh target|realguest|mem" >&2; exit 2 ;;
esac
