#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# faults (issue 15): the backing device fails under the inner guest's fio,
# and a real Linux guest (virtio_scsi + sd) must see errors, never wrong
# data, and the same disk must work again when the fault clears.
#
# Outer side: LUN 0 is iblock on a device-mapper device, vsngrg, over a
# 32 MiB brd RAM disk (/dev/ram0). For each fault the inner guest starts
# two fio jobs side by side and prints VSNG-PHASE: start-<fault>:
#   - randrw over 0..16 MiB (16 KiB blocks, verify=crc32c with an offset
#     pattern, do_verify=1, continue_on_error=all, verify_fatal=0,
#     rate-limited so its write phase lasts at least 8.5 s). fio drops a
#     write that failed from its verify list (fio's unlog_io_piece()), so
#     its verify phase reads back exactly the blocks the guest was told
#     were written;
#   - randread over 16..24 MiB (written and verified once at the start):
#     a read-only fio job with verify= checks every block it reads, so a
#     READ answered GOOD with stale or foreign data would be a mismatch.
# The outer side then loads the fault's table under that I/O (dmsetup
# load, suspend, resume), keeps it FLT_SECS, puts the linear table back
# the same way and sends cleared-<fault> on the control port.
#   error   dm-error on 8..12 MiB and 18..22 MiB: reads and writes there fail
#   flakey  dm-flakey error_writes over the whole disk, 1 s up / 1 s down:
#           writes fail in bursts, reads never
#   drop    dm-flakey drop_writes, always down: the device completes
#           writes without writing them and says so (GOOD). No target can
#           tell: fio's verify must catch it (mismatches > 0 expected: the
#           one fault where they are the right answer)
#   delay   dm-delay 50 ms per I/O: slow, never wrong
# The area of the randrw job is zeroed before each fault (a dropped write
# then leaves zeroes, not an older job's block). fio's verify pattern is
# the block's offset (%o), not fio's random data: fio regenerates the
# random seeds of its verify phase in sequence, and a failed write that
# left the verify list shifts every later seed (fio 3.33 then reports
# "bad header rand_seed" for good blocks: seen in the first runs here).
# Per fault the inner guest prints "VSNG-SUMMARY: ..." (I/Os ok and
# failed, bytes verified, mismatches, the sd sense lines seen), and checks:
# errors reported where the device failed (sd logged them; fio counted
# them), none where it did not, zero verify mismatches in both jobs (drop:
# in the read job; its write job must catch the dropped writes), and
# after the clear the same disk passes a fresh write+verify of 8..12 MiB
# (where dm-error failed). The
# outer side checks, with the fault cleared and the guest idle, that the
# dm device has no request in flight (/sys/block/dm-N/inflight), and for
# ours that every request queue's inflight (debugfs) is 0; after QEMU
# exits, the LUN unlinks within 10 s (LIO's unlink waits for every
# command that still holds the LUN: its command count is back to 0).
# CI=true runs error and flakey only (VSNG_RG_FAULTS="..." chooses).
. "$(dirname "$0")/lib.sh"
rg_begin faults

W=$(rg_wwpn 15)
DM=vsngrg
BS=$CFS/core/iblock_0/faults
FLT_SECS=${FLT_SECS:-2}
# CI=true (make check in CI): the short set, error and flakey (about 90 s
# of guest time instead of 165 s); drop and delay are reported as SKIPs.
FAULTS_ALL="error flakey drop delay"
if [ -n "${VSNG_RG_FAULTS:-}" ]; then
	FAULTS=$VSNG_RG_FAULTS
elif [ "${CI:-}" = true ]; then
	FAULTS="error flakey"
else
	FAULTS=$FAULTS_ALL
fi
SECTORS=65536			# 32 MiB
R0=16384 RN=8192		# error ranges: 8..12 MiB (the randrw job's area)
R2=36864			# and 18..22 MiB (the read-verify job's area)
export DM_DISABLE_UDEV=1	# no udev in the test guest: dmsetup makes the nodes

rg_cleanup_hook() {
	rg_target_clear
	dmsetup remove "$DM" 2>/dev/null
	[ -d /sys/module/brd ] && [ "${FLT_BRD_LOADED:-0}" = 1 ] && rmmod brd 2>/dev/null
	return 0
}

# flt_table FAULT: the dm table of FAULT (linear: the healthy disk).
flt_table() {
	case "$1" in
	linear) echo "0 $SECTORS linear /dev/ram0 0" ;;
	error)
		echo "0 $R0 linear /dev/ram0 0"
		echo "$R0 $RN error"
		echo "$((R0 + RN)) $((R2 - R0 - RN)) linear /dev/ram0 $((R0 + RN))"
		echo "$R2 $RN error"
		echo "$((R2 + RN)) $((SECTORS - R2 - RN)) linear /dev/ram0 $((R2 + RN))" ;;
	flakey) echo "0 $SECTORS flakey /dev/ram0 0 1 1 1 error_writes" ;;
	drop) echo "0 $SECTORS flakey /dev/ram0 0 0 1 1 drop_writes" ;;
	delay) echo "0 $SECTORS delay /dev/ram0 0 50" ;;
	esac
}
# flt_swap FAULT: load FAULT's table under the running I/O.
flt_swap() {
	flt_table "$1" | dmsetup load "$DM" && dmsetup suspend "$DM" && dmsetup resume "$DM" && return 0
	dmsetup resume "$DM" 2>/dev/null	# never leave the guest's disk suspended
	return 1
}

flt_setup() {
	local m
	for m in dm-mod dm-flakey dm-delay; do rg_modprobe "$m" || return 1; done
	if [ ! -b /dev/ram0 ]; then
		rg_modprobe brd rd_nr=1 rd_size=$((SECTORS / 2)) max_part=0 || return 1
		FLT_BRD_LOADED=1
	fi
	[ "$(cat /sys/block/ram0/size)" -ge $SECTORS ] || { echo "# /dev/ram0 is smaller than $SECTORS sectors"; return 1; }
	dmsetup remove "$DM" 2>/dev/null
	flt_table linear | dmsetup create "$DM" || return 1
	[ -b /dev/mapper/$DM ] || return 1
	mkdir -p "$BS" && echo "udev_path=/dev/mapper/$DM" >"$BS/control" && echo 1 >"$BS/enable" &&
		rg_tpg "$W" 1 && rg_lun "$W" 1 0 "$BS"
}
flt_setup || { rg_notok "faults: dm over brd, iblock LUN" "setup failed (dm-mod/dm-flakey/dm-delay/brd, dmsetup)"; rg_end 1; }
DMBLK=dm-$(dmsetup info -c --noheadings -o minor "$DM" | tr -d ' ')
for f in $FAULTS_ALL; do
	[[ " $FAULTS " == *" $f "* ]] || rg_skip "faults: $f" "not run: ${VSNG_RG_FAULTS:+VSNG_RG_FAULTS=$VSNG_RG_FAULTS}${VSNG_RG_FAULTS:-CI=true short set (error flakey)}"
done
rg_log "faults: LUN 0 on /dev/mapper/$DM ($DMBLK) over /dev/ram0; faults: $FAULTS; target $TARGET"

T=$RG_WORK/faults.test.sh
{
	cat <<'INNER'
# the fio job of one fault: NAME SEED
flt_fio() {
	fio --name="$1" --filename=/dev/$d --thread --direct=1 --ioengine=libaio \
		--iodepth=16 --bs=16k --rw=randrw --rwmixread=50 --size=16M \
		--rate_iops=60 --randseed="$2" --verify=crc32c --verify_pattern=%o \
		--do_verify=1 \
		--verify_fatal=0 --continue_on_error=all --output-format=json \
		--output=/tmp/f.$1.json >/dev/null 2>/tmp/f.$1.err
}
# the read-verify job of one fault, beside flt_fio: NAME SEED. Every READ
# answered GOOD is checked (a read-only fio job with verify= checks each
# block it reads: header magic, offset, crc32c), so a failed READ that
# came back GOOD with stale or foreign data would be a mismatch here.
flt_rfio() {
	fio --name="r$1" --filename=/dev/$d --thread --direct=1 --ioengine=libaio \
		--iodepth=16 --bs=16k --rw=randread --offset=16M --size=8M \
		--rate_iops=60 --randseed="$2" --verify=crc32c --verify_pattern=%o \
		--verify_fatal=0 --continue_on_error=all --output-format=json \
		--output=/tmp/r.$1.json >/dev/null 2>/tmp/r.$1.err
}
# rfill: the read-verify job's data, 16..24 MiB, written once.
rfill() {
	fio --name=rfill --filename=/dev/$d --thread --direct=1 --ioengine=libaio \
		--iodepth=16 --bs=16k --rw=write --offset=16M --size=8M \
		--verify=crc32c --verify_pattern=%o --do_verify=1 --verify_fatal=1 \
		--output=/tmp/rfill.out >/dev/null 2>&1
}
# jget FILE SECTION KEY: KEY's first value in the job's SECTION (read,
# write) of fio's JSON; SECTION "-" for the job level.
jget() {
	awk -v s="$2" -v k="\"$3\"" '
		/^      "(read|write|trim|sync)" : \{/ { sec = $1; gsub(/"/, "", sec); next }
		/^      },?$/ { sec = "" }
		$1 == k && ((s == "-" && sec == "") || sec == s) { v = $3; sub(/,$/, "", v); print v; exit }' "$1"
}
up() { cut -d' ' -f1 /proc/uptime; }
# run_fault NAME SEED: one fault, driven by the outer side.
run_fault() {
	n=$1
	dd if=/dev/zero of=/dev/$d bs=1M count=16 oflag=direct 2>/dev/null
	dmesg -c >/dev/null
	echo "VSNG-PHASE: start-$n at $(up)"
	t0=$(up)
	flt_fio "$n" "$2" &
	pid=$!
	flt_rfio "$n" "$2" &
	rpid=$!
	ctl_wait "cleared-$n" 90
	tc=$(up)
	wait $pid
	frc=$?
	wait $rpid
	rrc=$?
	t1=$(up)
	r=/tmp/r.$n.json
	# fio's total_ios counts failed I/Os too: the ones that succeeded are
	# its io_bytes in 16 KiB blocks
	rrb=$(jget $r read io_bytes); rrok=$((${rrb:-0} / 16384)); rerr_f=$(jget $r - total_err)
	rmism=$(grep -cE 'verify failed|bad magic header|bad header|verify type mismatch' /tmp/r.$n.err)
	rerr_f=$((${rerr_f:-0} - rmism))
	j=/tmp/f.$n.json
	rok=$(($(jget $j read io_bytes) / 16384))
	wb=$(jget $j write io_bytes); wok=$((${wb:-0} / 16384)); terr=$(jget $j - total_err)
	mism=$(grep -cE 'verify failed|bad magic header|bad header|verify type mismatch' /tmp/f.$n.err)
	# fio counts a verify mismatch as an error too (EILSEQ)
	terr=$((${terr:-0} - mism))
	# bytes written, reported done, and read back right (16 KiB blocks)
	vb=$((${wb:-0} - mism * 16384))
	dmesg >/tmp/d.$n
	rerr=$(grep -c 'I/O error, dev .*op 0x0:(READ)' /tmp/d.$n)
	werr=$(grep -c 'I/O error, dev .*op 0x1:(WRITE)' /tmp/d.$n)
	key=$(grep -m1 -o 'Sense Key : .*' /tmp/d.$n | sed 's/ *\[.*//')
	asc=$(grep -m1 -o 'Add. Sense: .*' /tmp/d.$n)
	echo "fault $n: fio exit $frc, started ${t0}s, fault cleared ${tc}s, ended ${t1}s"
	echo "fio: reads ok $rok (verify reads included), writes ok $wok, errors $terr; verify mismatches $mism"
	head -c 600 /tmp/f.$n.err
	echo "read-verify fio: exit $rrc, reads ok $rrok ($rrb bytes, each verified), errors $rerr_f, mismatches $rmism"
	head -c 300 /tmp/r.$n.err
	echo "guest dmesg: $rerr READ and $werr WRITE 'I/O error' lines (ratelimited); sd lines:"
	grep -E 'FAILED Result|Sense Key|Add. Sense|CDB:|I/O error' /tmp/d.$n | head -n 8
	echo "VSNG-SUMMARY: fault=$n target=$TGT ios_ok=$((rok + wok)) (reads $rok incl. verify, writes $wok) ios_failed=$terr bytes_written_ok=$wb bytes_verified=$vb mismatches=$mism read_verify_ok=$rrok read_verify_failed=$rerr_f read_verify_bytes=$rrb read_verify_mismatches=$rmism sense='${key:-none} / ${asc:-none}' rw_err_lines=$rerr/$werr"
	check "$n: fio ran to its end through the fault (exit $frc; fault cleared at ${tc}s, fio done at ${t1}s)" [ -s $j ]
	check "$n: every READ answered GOOD held the right data (read-verify job: $rrok ok, $rerr_f failed, $rmism mismatches)" \
		[ -s $r -a "$rmism" = 0 -a "${rrok:-0}" -gt 0 ]
	case $n in
	error) check "$n: the read-verify job saw READ errors in its failed range ($rerr_f)" [ "$rerr_f" -gt 0 ] ;;
	*) check "$n: the read-verify job saw no READ error ($rerr_f)" [ "$rerr_f" = 0 ] ;;
	esac
	case $n in
	error)
		check "$n: guest saw READ and WRITE errors ($terr failed I/Os; sd: $rerr READ, $werr WRITE I/O error lines)" \
			[ "${terr:-0}" -gt 0 -a "$rerr" -gt 0 -a "$werr" -gt 0 ] ;;
	flakey)
		check "$n: guest saw WRITE errors, no READ errors ($terr failed; sd: $rerr READ, $werr WRITE)" \
			[ "${terr:-0}" -gt 0 -a "$rerr" = 0 -a "$werr" -gt 0 ] ;;
	drop|delay)
		check "$n: guest saw no error: the device answered every I/O as done ($terr failed; sd: $rerr/$werr)" \
			[ "${terr:-1}" = 0 -a "$rerr" = 0 -a "$werr" = 0 ] ;;
	esac
	case $n in
	error|flakey)
		check "$n: sd reports the failure as NOT READY / Logical unit communication failure ('$key' / '$asc')" \
			[ "$key" = "Sense Key : Not Ready" -a "$asc" = "Add. Sense: Logical unit communication failure" ]
		check "$n: zero verify mismatches: every write reported done reads back ($vb bytes verified)" \
			[ "$mism" = 0 -a "${wb:-0}" -gt 0 ] ;;
	delay)
		check "$n: zero verify mismatches ($vb bytes verified)" [ "$mism" = 0 -a "${wb:-0}" -gt 0 ] ;;
	drop)
		# the device lies: the target can only pass on its GOOD; fio's
		# verify is what catches it
		check "$n: writes the device dropped and reported done are caught by fio's verify ($mism mismatches, $vb bytes verified)" \
			[ "$mism" -gt 0 ] ;;
	esac
	echo "VSNG-PHASE: done-$n"
	ctl_wait "checked-$n" 90
	check "$n: after the clear the same disk passes a fresh write+verify of 8..12 MiB (the range that failed)" \
		fio_verify "rec$n" $d --offset=8M --size=4M --bs=64k --rw=write --randseed="$(($2 + 1))"
}
INNER
	printf 'TGT=%s\n' "$TARGET"
	cat <<'INNER'
wait_disk 1 0 20; d=$(disk 1 0)
check "sees the disk at target 1 LUN 0 ($d)" [ -n "$d" ]
if [ -n "$d" ]; then
	check "write the read-verify job's 8 MiB (16..24 MiB), verified" rfill
INNER
	s=100
	for f in $FAULTS; do
		s=$((s + 10))
		printf '\trun_fault %s %s\n' "$f" "$s"
	done
	cat <<'INNER'
	check "4 MiB O_DIRECT write, read back, compare at the end" dd_compare $d 4 8
fi
INNER
} >"$T"

# flt_idle_checks FAULT: with the fault cleared and the guest between two
# jobs, nothing is left in flight below or in the target.
flt_idle_checks() {
	local f=$1 infl=x sum=0 n=0
	for _ in $(seq 20); do
		infl=$(tr -s ' ' <"/sys/block/$DMBLK/inflight" 2>/dev/null | sed 's/^ //')
		[ "$infl" = "0 0" ] && break
		sleep 0.5
	done
	rg_check "faults: $f: with the fault cleared the dm device has nothing in flight ($infl)" [ "$infl" = "0 0" ]
	rg_log "faults: $f: LIO's LU statistics: $(cat "$BS/statistics/scsi_lu/num_cmds" 2>/dev/null) commands, $(cat "$BS/statistics/scsi_lu/read_mbytes" 2>/dev/null) MiB read, $(cat "$BS/statistics/scsi_lu/write_mbytes" 2>/dev/null) MiB written"
	if [ "$TARGET" = ours ]; then
		# one awk for every queue: a fork per file is slow under TCG
		read -r n sum < <(awk '$1 == "inflight" { n++; s += $2 } END { print n + 0, s + 0 }' \
			/sys/kernel/debug/vhost-scsi-ng/"$RG_QPID"-*/vq* 2>/dev/null)
		rg_check "faults: $f: our queues hold no request ($sum in flight over $n queues, debugfs)" [ "$n" -gt 0 -a "$sum" = 0 ]
	fi
}

rg_qemu_start faults "$T" --fio -- -device "vhost-scsi-pci,wwpn=$W"
rc=0
for f in $FAULTS; do
	if ! rg_wait_console "VSNG-PHASE: start-$f" 120; then
		rc=3
		break
	fi
	sleep 1
	t0=$SECONDS
	flt_swap "$f" || rg_notok "faults: $f: load the fault table under I/O" "dmsetup"
	rg_log "faults: $f table loaded in $((SECONDS - t0))s: $(dmsetup table "$DM" | head -n 2 | tr '\n' ';')"
	sleep "$FLT_SECS"
	flt_swap linear || rg_notok "faults: $f: load the linear table back under I/O" "dmsetup"
	rg_log "faults: $f cleared, $((SECONDS - t0))s after it was set"
	rg_send "cleared-$f"
	if ! rg_wait_console "VSNG-PHASE: done-$f" 120; then
		rc=3
		break
	fi
	flt_idle_checks "$f"
	rg_send "checked-$f"
done
if [ $rc = 0 ]; then
	rg_wait_console 'VSNG-VERDICT: DONE' 120 || rc=3
fi
rg_qemu_stop 10
if [ $rc = 0 ]; then
	rg_collect "faults: "
	rc=$?
elif rg_qemu_failed "faults: " faults; then
	rc=1
elif grep -aq 'VSNG-RESULT: not ok' "$RG_CONSOLE"; then
	rg_collect "faults: "
	rg_notok "faults: inner guest finished" "no verdict after a failed check"
	rc=1
fi
grep -ao 'VSNG-SUMMARY: .*' "$RG_CONSOLE" | tr -d '\r' | tee "$RG_SDIR/summary.txt"
t0=$SECONDS
timeout 10 rm -f "$CFS/vhost/$W/tpgt_1/lun/lun_0/vsng_port" && timeout 10 rmdir "$CFS/vhost/$W/tpgt_1/lun/lun_0"
rg_check "faults: LUN 0 unlinks after QEMU exit, within 10 s (LIO's command count for it is 0; took $((SECONDS - t0)) s)" \
	[ ! -d "$CFS/vhost/$W/tpgt_1/lun/lun_0" ]
rg_cleanup_hook
rg_end $rc
