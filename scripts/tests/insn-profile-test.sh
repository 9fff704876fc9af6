#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# insn-profile-test.sh: scripts/insn-profile.py on a canned kallsyms and a
# canned plugin profile: block addresses map to the symbol at or below
# them, module symbols to their module's category, core symbols by name,
# user addresses to "user"; the categories add up to the profile's sum,
# per I/O, and the check against the counter's total is printed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
PROF=$HERE/../insn-profile.py
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
N=0 FAILED=0

ok() {	# NAME CONDITION-RESULT (0 = pass)
	N=$((N + 1))
	if [ "$2" = 0 ]; then
		echo "ok $N - $1"
	else
		echo "not ok $N - $1"
		printf '%s\n' "$OUT" | sed 's/^/#   /'
		FAILED=$((FAILED + 1))
	fi
}

cat >"$T/kallsyms" <<'KS'
ffffffff81000000 T _stext
ffffffff81001000 T entry_SYSCALL_64
ffffffff81002000 T __schedule
ffffffff81003000 t try_to_wake_up
ffffffff81004000 T blk_mq_submit_bio
ffffffff81005000 T queue_work_on
ffffffff81006000 T strnlen
ffffffff81007000 T do_idle
ffffffff81008000 T asm_sysvec_apic_timer_interrupt
ffffffff81009000 T eventfd_signal_mask
ffffffff82000000 D some_data
ffffffffc0100000 t vsng_scsi_handle_kick	[vhost_scsi_ng]
ffffffffc0100400 t vsng_complete_batch	[vhost_scsi_ng]
ffffffffc0200000 t vhost_scsi_handle_vq	[vhost_scsi]
ffffffffc0300000 t vhost_worker	[vhost]
ffffffffc0400000 T transport_generic_new_cmd	[target_core_mod]
ffffffffc0500000 t iblock_execute_rw	[target_core_iblock]
ffffffffc0600000 t null_queue_rq	[null_blk]
KS
# 8 block starts; sum 10000 instructions over 10 I/Os = 1000 per I/O
cat >"$T/prof.txt" <<'PR'
# prof 1 mark 10 blocks 13 insns 10000
ffffffffc0100010 1000
ffffffffc0100420 500
ffffffffc0200040 700
ffffffffc0300010 300
ffffffffc0400100 1200
ffffffffc050000a 400
ffffffffc0600002 600
ffffffff81004100 800
ffffffff81002010 900
ffffffff81003008 100
ffffffff81001000 700
ffffffff81009010 300
ffffffff81005020 200
ffffffff81006000 500
ffffffff81007000 50
ffffffff81008004 150
7f0012345000 1500
401000 100
PR
# 1000+500+700+300+1200+400+600+800+900+100+700+300+200+500+50+150+1500+100
# = 10000

OUT=$(python3 "$PROF" --kallsyms "$T/kallsyms" --prof "$T/prof.txt" --ios 10 --total 10000 --top 5 2>&1)
rc=$?
ok "runs" $rc
cat_is() { printf '%s\n' "$OUT" | awk -v c="$1" -v v="$2" '$1 == c { f = 1; if ($2 + 0 != v + 0) exit 1 } END { exit !f }'; }
cat_is ours 150;	ok "ours = both vsng_* symbols of the module (150/IO)" $?
cat_is intree 100;	ok "in-tree = vhost_scsi + vhost modules (100/IO)" $?
cat_is lio 120;		ok "LIO = target_core_mod (120/IO)" $?
cat_is block 180;	ok "block = iblock + null_blk + blk_mq_submit_bio (180/IO)" $?
cat_is sched 100;	ok "sched = __schedule + try_to_wake_up (100/IO)" $?
cat_is syscall 100;	ok "syscall = entry_SYSCALL_64 + eventfd_signal_mask (100/IO)" $?
cat_is workqueue 20;	ok "workqueue = queue_work_on (20/IO)" $?
cat_is irq 15;		ok "irq = apic timer interrupt (15/IO)" $?
cat_is idle 5;		ok "idle = do_idle (5/IO)" $?
cat_is user 160;	ok "user = the addresses below the kernel (160/IO)" $?
cat_is other 50;	ok "other = strnlen (50/IO)" $?
cat_is sum 1000;	ok "sum = 1000/IO" $?
printf '%s\n' "$OUT" | grep -q "profile sum - counter: +0.000%"
ok "the sum is checked against the counter" $?
printf '%s\n' "$OUT" | grep -A1 "^top 5" | grep -q "160.0  \[user\]"
ok "top list: user space first (160/IO)" $?
printf '%s\n' "$OUT" | grep -q "100.0  vsng_scsi_handle_kick \[vhost_scsi_ng\]"
ok "top list names the module" $?

# a kallsyms without addresses (kptr_restrict) is refused
sed 's/^ffff[0-9a-f]*/0000000000000000/' "$T/kallsyms" >"$T/ks0"
OUT=$(python3 "$PROF" --kallsyms "$T/ks0" --prof "$T/prof.txt" --ios 10 2>&1)
[ $? = 2 ]; ok "kallsyms with hidden addresses: exit 2" $?

echo "1..$N"
[ $FAILED = 0 ]
