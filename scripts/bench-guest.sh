#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-guest.sh: the benchmark half that runs INSIDE the vm-run test guest
# (scripts/bench.sh starts it; see Documentation/performance.md).
#
#   scripts/bench-guest.sh target     target level: tools/vsng-load on
#                                     /dev/vhost-scsi, no inner guest
#   scripts/bench-guest.sh realguest  fio in a nested-KVM inner guest
#
# Environment:
#   BENCH_OUT        results directory (default $VSNG_RESULTS/bench)
#   BENCH_ROUNDS     rounds; the paths alternate A B C D A B C D ... (3)
#   BENCH_WORKLOADS  workload names (default: all five, see wl_* below)
#   BENCH_PATHS      path names (default: all of the level)
#   BENCH_BACKENDS   target level: nullb brd (default); workloads on brd:
#                    BENCH_BRD_WORKLOADS (default rr4k-qd32-2q rw4k-qd32)
#   BENCH_RUNTIME    seconds per measurement (target 3, fio 3)
#   VSNG_INSN_LOG    the tcg-insn-plugin log (host file shared over 9p); when
#                    set, instructions per I/O are measured between markers.
#
# Every result is one JSON file under $BENCH_OUT/{target,realguest}/.
# A path that fails is recorded with "ok": false and the rest goes on.

set -u
REPO=${VSNG_REPO:-$(cd "$(dirname "$0")/.." && pwd -P)}
cd "$REPO" || exit 2
. scripts/guest-lib.sh

MODE=${1:?usage: bench-guest.sh target|realguest}
OUT=${BENCH_OUT:-${VSNG_RESULTS:-/tmp}/bench}
ROUNDS=${BENCH_ROUNDS:-3}
RUNTIME=${BENCH_RUNTIME:-3}
ALL_WL="rr4k-qd32-2q rw4k-qd32 rr4k-qd1 seq64k-qd16 rrw4k-7030-qd32"
WORKLOADS=${BENCH_WORKLOADS:-$ALL_WL}
INSN_LOG=${VSNG_INSN_LOG:-}
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

# Module switching: ours and the in-tree module both register fabric "vhost".
use_target() {	# ours|intree
	local want=$1
	if [ "$want" = ours ] && vsng_mod_loaded vhost_scsi; then
		scripts/target-configfs.sh destroy-all >/dev/null 2>&1
		rmmod vhost_scsi || return 1
	fi
	if [ "$want" = intree ] && vsng_mod_loaded vhost_scsi_ng; then
		scripts/target-configfs.sh destroy-all >/dev/null 2>&1
		rmmod vhost_scsi_ng || return 1
	fi
	vsng_load_target "$want" || return 1
	for _ in $(seq 20); do [ -c /dev/vhost-scsi ] && return 0; sleep 0.1; done
	return 1
}

# Instruction total at the last occurrence of marker ID in the plugin log.
insn_at() {
	[ -n "$INSN_LOG" ] && [ -r "$INSN_LOG" ] || return 1
	awk -v id="$1" '$1 == "MARK" && $2 == id { v = $3 } END { if (v != "") print v; else exit 1 }' "$INSN_LOG"
}

kvm_stats() {	# one line KEY=VALUE of the outer KVM's exit/injection counters
	local f d=/sys/kernel/debug/kvm
	for f in exits io_exits mmio_exits irq_exits halt_exits irq_injections \
		 nmi_injections request_irq_exits irq_window_exits; do
		[ -r "$d/$f" ] && printf '%s=%s ' "$f" "$(cat "$d/$f")"
	done
	echo
}

# ---------------------------------------------------------------------------
# Target level
# ---------------------------------------------------------------------------
target_level() {
	local paths=${BENCH_PATHS:-"ours-pq ours-shared intree intree-nw"}
	local backends=${BENCH_BACKENDS:-"nullb brd"}
	local brd_wl=${BENCH_BRD_WORKLOADS:-"rr4k-qd32-2q rw4k-qd32"}
	local r p b w wls args extra tgt res rc
	local dir=$OUT/target
	mkdir -p "$dir"
	vsng_load_lio || return 1
	/sbin/modprobe null_blk nr_devices=1 gb=4 memory_backed=0 bs=512 || log "null_blk failed"
	/sbin/modprobe brd rd_nr=1 rd_size=262144 || log "brd failed"
	# touch every brd page once, so reads do not hit unallocated pages
	dd if=/dev/zero of=/dev/ram0 bs=1M count=256 oflag=direct 2>/dev/null
	for r in $(seq 1 "$ROUNDS"); do
		for b in $backends; do
			if [ "$b" = brd ]; then wls=$brd_wl; else wls=$WORKLOADS; fi
			for w in $wls; do
				case " $WORKLOADS " in *" $w "*) ;; *) continue ;; esac
				for p in $paths; do
					extra=
					case "$p" in
					ours-pq) tgt=ours ;;
					ours-shared) tgt=ours ;;
					intree) tgt=intree ;;
					intree-nw) tgt=intree; extra=--new-workers ;;
					*) log "unknown path $p"; continue ;;
					esac
					res=$dir/r$r-$p-$b-$w.json
					if ! use_target "$tgt"; then
						log "$p: cannot load $tgt"
						echo "{\"ok\": false, \"level\": \"target\", \"path\": \"$p\", \"backend\": \"$b\", \"workload\": \"$w\", \"round\": $r}" >"$res"
						continue
					fi
					if [ "$tgt" = ours ]; then
						if [ "$p" = ours-shared ]; then v=N; else v=Y; fi
						echo $v >/sys/module/vhost_scsi_ng/parameters/worker_per_vq
					fi
					args=$(wl_load_args "$w")
					TARGET=$tgt VSNG_BACKEND=$b timeout 120 tools/vsng-load $args $extra \
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
					log "r$r $b $w $p: rc=$rc $(jq -r '"iops=\(.iops // "-" | tostring) insn/io=\(.insns_per_io // "-" | tostring) notif/io=\(.notifications_per_io // "-" | tostring)"' "$res" 2>/dev/null)"
					[ $rc = 0 ] || tail -n 5 "$dir/r$r-$p-$b-$w.log" | sed 's/^/bench:   | /'
				done
			done
		done
	done
	scripts/target-configfs.sh destroy-all >/dev/null 2>&1
	vsng_unload_target
	dmesg >"$dir/dmesg.txt"
	return 0
}

# ---------------------------------------------------------------------------
# Real-guest level
# ---------------------------------------------------------------------------
# Inner boots are the slow part (and the flaky one), so each round has two:
#   boot "ours":   our module; vhost-scsi-pci on /dev/ram0       (target 1)
#   boot "others": in-tree module; vhost-scsi-pci on ram0         (target 1),
#                  vhost-scsi-pci worker_per_virtqueue=on on ram1 (target 2),
#                  QEMU virtio-scsi-pci + iothread on ram2        (target 3),
#                  QEMU virtio-blk-pci + iothread on ram3         (vda)
# Every device has 2 queues; every backing store is a 256 MiB brd disk.
# Inside a boot the paths alternate per workload (B C D E, B C D E, ...);
# the two boots swap order every round.
RG_W1=naa.5001405bbe000001
RG_W2=naa.5001405bbe000002

# The inner test: one fio run per path and workload, each bracketed by
# instruction markers and by BENCH-BEGIN/END lines that the outer side's
# watcher turns into KVM counter samples (a 1.5 s quiet gap on each side
# lets the sample land between runs).
make_inner_test() {	# FILE "path:disk ..." (disk = scsi:T or blk)
	local f=$1 specs=$2 k w spec mark_b64 blk_b64 pi=0
	mark_b64=$(gzip -9c tools/vsng-mark | base64 -w0)
	blk_b64=$(xz -dc "$(find /lib/modules/"$(uname -r)"/kernel -name 'virtio_blk.ko*' | head -n1)" | gzip -9c | base64 -w0)
	{
		echo 'echo "'"$mark_b64"'" | base64 -d | gunzip >/tmp/vsng-mark; chmod +x /tmp/vsng-mark'
		echo 'echo "'"$blk_b64"'" | base64 -d | gunzip >/tmp/vblk.ko; insmod /tmp/vblk.ko'
		cat <<'INNER'
find_disk() {	# scsi:T | blk
	case "$1" in
	scsi:*)
		for _b in /sys/bus/scsi/devices/*:0:${1#scsi:}:0/block/*; do
			[ -d "$_b" ] && { echo "${_b##*/}"; return 0; }
		done ;;
	blk)
		for _b in /sys/block/vd*; do
			[ -d "$_b" ] && { echo "${_b##*/}"; return 0; }
		done ;;
	esac
	return 1
}
get_disk() {
	_i=0
	while [ $_i -lt 100 ]; do
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
	sleep 1.5
	i0=$(virq)
	/tmp/vsng-mark $m
	fio --name=$n --filename=/dev/$d --direct=1 --ioengine=libaio --thread \
		--time_based --runtime=$RT --size=200M --group_reporting \
		--output-format=terse --terse-version=3 "$@" >/tmp/fio.$n 2>/tmp/fio.$n.err
	frc=$?
	/tmp/vsng-mark $((m + 1))
	i1=$(virq)
	echo "BENCH-END $p/$n"
	sleep 1.5
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
		k=0
		for w in $WORKLOADS; do
			pi=0
			for spec in $specs; do
				echo "bench_one ${spec%%:*} \$D$pi $w $((100 + 2 * (k * 5 + pi))) $(wl_fio_args "$w")"
				pi=$((pi + 1))
			done
			k=$((k + 1))
		done
		echo '[ $fails = 0 ] || { echo "FAIL-REASON: $fails fio runs failed"; exit 1; }'
	} >"$f"
}

# Watch the inner consoles of LOGDIR for BENCH-BEGIN/END lines and sample
# the outer KVM counters at each.
kvm_watch() {	# LOGDIR OUTFILE
	local dir=$1 out=$2 seen=0 n
	: >"$out"
	while :; do
		n=$(cat "$dir"/console-*.log 2>/dev/null | grep -ac 'BENCH-\(BEGIN\|END\) ')
		if [ "$n" -gt "$seen" ]; then
			cat "$dir"/console-*.log 2>/dev/null | tr -d '\r' |
				grep -a 'BENCH-\(BEGIN\|END\) ' | sed -n "$((seen + 1)),${n}p" |
				grep -ao 'BENCH-\(BEGIN\|END\) [^ ]*' | while read -r line; do
					echo "$line $(kvm_stats)" >>"$out"
				done
			seen=$n
		fi
		sleep 0.1
	done
}

lio_iblock() {	# WWPN TPGT DEV
	local s=$CFS/core/iblock_77/bench$2 t=$CFS/vhost/$1/tpgt_$2
	mkdir -p "$s" && echo "udev_path=$3" >"$s/control" && echo 1 >"$s/enable" || return 1
	mkdir -p "$t/lun/lun_0" && ln -s "$s" "$t/lun/lun_0/bench_port" || return 1
	echo "naa.5001405bbe00ff0$2" >"$t/nexus"
}

lio_clear() {
	scripts/target-configfs.sh destroy-all >/dev/null 2>&1
	local s
	for s in "$CFS"/core/iblock_77/bench*; do [ -d "$s" ] && rmdir "$s"; done
	[ -d "$CFS/core/iblock_77" ] && rmdir "$CFS/core/iblock_77"
	return 0
}

# boot_setup ours|others -> QARGS, SPECS
boot_setup() {
	QARGS=() SPECS=
	lio_clear
	case "$1" in
	ours)
		use_target ours || return 1
		lio_iblock $RG_W1 1 /dev/ram0 || return 1
		QARGS=(-device "vhost-scsi-pci,wwpn=$RG_W1,num_queues=2")
		SPECS="ours:scsi:1"
		;;
	others)
		use_target intree || return 1
		lio_iblock $RG_W1 1 /dev/ram0 || return 1
		lio_iblock $RG_W2 2 /dev/ram1 || return 1
		QARGS=(-device "vhost-scsi-pci,wwpn=$RG_W1,num_queues=2"
		       -device "vhost-scsi-pci,wwpn=$RG_W2,num_queues=2,worker_per_virtqueue=on"
		       -object iothread,id=io0 -object iothread,id=io1
		       -drive if=none,id=d2,file=/dev/ram2,format=raw,cache=none,aio=native
		       -device virtio-scsi-pci,id=vs0,iothread=io0,num_queues=2
		       -device scsi-hd,drive=d2,bus=vs0.0,scsi-id=3,lun=0
		       -drive if=none,id=d3,file=/dev/ram3,format=raw,cache=none,aio=native
		       -device virtio-blk-pci,drive=d3,iothread=io1,num-queues=2)
		SPECS="intree:scsi:1 intree-wpv:scsi:2 qemu-scsi:scsi:3 qemu-blk:blk"
		;;
	esac
	# keep only the paths asked for
	local s keep=
	for s in $SPECS; do
		case " $RG_PATHS " in *" ${s%%:*} "*) keep+=" $s" ;; esac
	done
	SPECS=$keep
}

realguest_level() {
	RG_PATHS=${BENCH_PATHS:-"ours intree intree-wpv qemu-scsi qemu-blk"}
	local dir=$OUT/realguest r b boots rc ldir wpid test k w pi spec line
	mkdir -p "$dir"
	vsng_load_lio || return 1
	/sbin/modprobe brd rd_nr=4 rd_size=262144 || { log "brd failed"; return 1; }
	for b in 0 1 2 3; do
		dd if=/dev/zero of=/dev/ram$b bs=1M count=256 oflag=direct 2>/dev/null
	done
	/sbin/modprobe kvm_amd 2>/dev/null || /sbin/modprobe kvm_intel 2>/dev/null
	mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
	for r in $(seq 1 "$ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then boots="ours others"; else boots="others ours"; fi
		for b in $boots; do
			ldir=$dir/r$r-$b
			rm -rf "$ldir"
			mkdir -p "$ldir"
			if ! boot_setup "$b"; then
				log "r$r $b: set-up failed"
				echo "{\"ok\": false, \"boot\": \"$b\", \"round\": $r}" >"$ldir/result.json"
				continue
			fi
			[ -n "$SPECS" ] || { rmdir "$ldir"; continue; }
			test=$ldir/inner-test.sh
			make_inner_test "$test" "$SPECS"
			kvm_watch "$ldir" "$ldir/kvm.txt" &
			wpid=$!
			scripts/inner-guest.sh --smp 2 --mem 512 \
				--timeout $((90 + $(echo $SPECS | wc -w) * $(echo $WORKLOADS | wc -w) * (RUNTIME + 6) * 3)) \
				--retries 2 --logdir "$ldir" --test "$test" \
				-- "${QARGS[@]}" >"$ldir/inner.out" 2>&1
			rc=$?
			kill "$wpid" 2>/dev/null
			wait "$wpid" 2>/dev/null
			log "r$r $b: inner-guest rc=$rc: $(tail -n1 "$ldir/inner.out")"
			[ $rc = 0 ] || tail -n 12 "$ldir/inner.out" | sed 's/^/bench:   | /'
			# instruction totals at the markers of each path/workload
			: >"$ldir/insns.txt"
			k=0
			for w in $WORKLOADS; do
				pi=0
				for spec in $SPECS; do
					echo "${spec%%:*}/$w $(insn_at $((100 + 2 * (k * 5 + pi))) || echo 0) $(insn_at $((101 + 2 * (k * 5 + pi))) || echo 0)" >>"$ldir/insns.txt"
					pi=$((pi + 1))
				done
				k=$((k + 1))
			done
			echo "{\"ok\": $([ $rc = 0 ] && echo true || echo false), \"rc\": $rc, \"boot\": \"$b\", \"round\": $r, \"retries\": $(cat "$ldir/platform-retries" 2>/dev/null || echo null)}" >"$ldir/result.json"
			while read -r line; do log "  $line"; done < <(sed -n 's/^wl_//p' "$ldir/report" 2>/dev/null)
		done
	done
	lio_clear
	vsng_unload_target
	dmesg >"$dir/dmesg.txt"
}

case "$MODE" in
target) target_level ;;
realguest) realguest_level ;;
*) echo "usage: bench-guest.sh target|realguest" >&2; exit 2 ;;
esac
