#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftest-classify.sh: the real-guest verdict rules on canned input, on the
# host, no guest (a few seconds). TAP. It sources lib.sh and calls the same
# functions the scenarios do:
#  - rg_dmesg_verdict (item 19): an outer kernel log with a report from our
#    module or LIO fails, one with only the platform's noise or reports
#    does not;
#  - rg_silent + rg_end (item 21): a silent inner guest whose queues hold
#    requests is a "not ok" and a verdict (exit 0, no retry); one with
#    nothing of ours pending, or on in-tree, stays a platform failure
#    (exit 3); a scenario with a report of ours in its log is a verdict
#    even when its inner guest died without one.
#     bash scripts/realguest/selftest-classify.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export VSNG_RESULTS=$T/results RG_WORK=$T/work
# shellcheck source=lib.sh
. "$HERE/lib.sh"
N=0 FAILED=0
result() {	# result OK? NAME [DETAIL]
	N=$((N + 1))
	if [ "$1" = 0 ]; then
		echo "ok $N - $2"
	else
		echo "not ok $N - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
		FAILED=$((FAILED + 1))
	fi
}

# ---- canned outer kernel logs -------------------------------------------
cat >"$T/warn-ours.txt" <<'EOF'
[  101.000001] kvm_amd: kvm [1234]: vcpu0, guest rIP: 0xffffffff81001234 Unhandled WRMSR(0xc0010007) = 0x0
[  101.500000] ------------[ cut here ]------------
[  101.500001] WARNING: CPU: 1 PID: 2345 at /work/main/drivers/vhost-scsi-ng/vq.c:377 vsng_vq_add_used+0x1c5/0x200 [vhost_scsi_ng]
[  101.500002] Modules linked in: vhost_scsi_ng(O) target_core_file target_core_iblock target_core_mod kvm_amd kvm
[  101.500003] CPU: 1 UID: 0 PID: 2345 Comm: vhost-2301 Tainted: G           O       6.12.95+deb12-amd64 #1
[  101.500004] RIP: 0010:vsng_vq_add_used+0x1c5/0x200 [vhost_scsi_ng]
[  101.500005] Call Trace:
[  101.500006]  <TASK>
[  101.500007]  vsng_scsi_complete+0x88/0x140 [vhost_scsi_ng]
[  101.500008]  vsng_worker_fn+0x120/0x1a0 [vhost_scsi_ng]
[  101.500009]  kthread+0xcf/0x100
[  101.500010]  </TASK>
[  101.500011] ---[ end trace 0000000000000000 ]---
EOF
cat >"$T/oops-lio.txt" <<'EOF'
[  55.000000] BUG: kernel NULL pointer dereference, address: 0000000000000010
[  55.000001] Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI
[  55.000002] CPU: 0 UID: 0 PID: 77 Comm: kworker/0:2 Tainted: G           O       6.12.95+deb12-amd64 #1
[  55.000003] Workqueue: target_completion target_complete_ok_work [target_core_mod]
[  55.000004] RIP: 0010:transport_generic_free_cmd+0x30/0x300 [target_core_mod]
[  55.000005] Call Trace:
[  55.000006]  <TASK>
[  55.000007]  target_complete_ok_work+0x1a0/0x3b0 [target_core_mod]
[  55.000008]  process_one_work+0x177/0x330
[  55.000009]  </TASK>
EOF
cat >"$T/noise.txt" <<'EOF'
[   30.100000] kvm_amd: kvm [1234]: vcpu0, guest rIP: 0xffffffff81001234 Unhandled WRMSR(0xc0010007) = 0x0
[   31.200000] MODE SENSE: unimplemented page/subpage: 0x0a/0x05
[   31.300000] MODE SENSE: unimplemented page/subpage: 0x0a/0x05
[   32.000000] vhost_scsi_ng: vhost-scsi-ng loaded
[   33.000000] Unable to locate Target Portal Group on naa.5001405000000001
EOF
cat >"$T/rcu-platform.txt" <<'EOF'
[  200.000000] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
[  200.000001] rcu: rcu_preempt kthread timer wakeup didn't happen for 2502 jiffies! g1234 f0x0 RCU_GP_WAIT_FQS(5) ->state=0x402
[  200.000002] rcu: 	Possible timer handling issue on cpu=0 timer-softirq=12345
[  200.000003] rcu: RCU grace-period kthread stack dump:
[  200.000004] Call Trace:
[  200.000005]  <TASK>
[  200.000006]  __schedule+0x3f0/0xb40
[  200.000007]  schedule_timeout+0x9a/0x150
[  200.000008]  rcu_gp_fqs_loop+0x10c/0x560
[  200.000009]  </TASK>
[  200.000010] Modules linked in: vhost_scsi_ng(O) target_core_mod kvm_amd [last unloaded: vhost_scsi_ng(O)]
EOF
cat >"$T/hung-ours.txt" <<'EOF'
[  400.000000] INFO: task qemu-system-x86:3100 blocked for more than 120 seconds.
[  400.000001]       Tainted: G           O       6.12.95+deb12-amd64 #1
[  400.000002] Call Trace:
[  400.000003]  <TASK>
[  400.000004]  __schedule+0x3f0/0xb40
[  400.000005]  schedule+0x27/0xf0
[  400.000006]  vsng_scsi_flush+0xa2/0x120 [vhost_scsi_ng]
[  400.000007]  vsng_release+0x41/0x90 [vhost_scsi_ng]
[  400.000008]  __fput+0xea/0x2d0
[  400.000009]  </TASK>
EOF

for c in "warn-ours 1 WARN_ON in vhost_scsi_ng" "oops-lio 1 Oops in target_core_mod" \
	"hung-ours 1 hung task blocked in vhost_scsi_ng" \
	"noise 0 only the harmless noise (Unhandled WRMSR, MODE SENSE)" \
	"rcu-platform 0 the platform's RCU timer stall, our module only in 'Modules linked in'"; do
	read -r f want what <<<"$c"
	out=$(rg_dmesg_verdict "$T/$f.txt" 2>&1)
	rc=$?
	[ "$want" = 1 ] && v=fails || v=passes
	result "$([ $rc = "$want" ] && echo 0 || echo 1)" "dmesg verdict: $what $v (exit $rc)" "$out"
done

# ---- canned debugfs snapshots of our queues -------------------------------
# snap FILE "vqN k v k v ..."...: a snapshot as rg_vq_snapshot writes it.
snap() {
	local f=$1 q
	shift
	: >"$f"
	for q in "$@"; do
		set -- $q
		echo "== /sys/kernel/debug/vhost-scsi-ng/3100-0/$1" >>"$f"
		shift
		while [ $# -ge 2 ]; do echo "$1 $2" >>"$f"; shift 2; done
	done
}
Q0="vq0 requests 2 completions 2 inflight 0 avail_idx 2 last_avail_idx 2 pending_used 0 kick_fd 1"
Q1="vq1 requests 0 completions 0 inflight 0 avail_idx 8 last_avail_idx 0 pending_used 0 kick_fd 1"
snap "$T/idle.txt" "$Q0" "$Q1" "vq2 requests 900 completions 900 inflight 0 avail_idx 900 last_avail_idx 900 pending_used 0 kick_fd 1"
snap "$T/held-b.txt" "$Q0" "$Q1" "vq2 requests 900 completions 897 inflight 3 avail_idx 900 last_avail_idx 900 pending_used 0 kick_fd 1"
snap "$T/held-a.txt" "$Q0" "$Q1" "vq2 requests 900 completions 897 inflight 3 avail_idx 900 last_avail_idx 900 pending_used 0 kick_fd 1"
snap "$T/moving-a.txt" "$Q0" "$Q1" "vq2 requests 960 completions 958 inflight 2 avail_idx 960 last_avail_idx 960 pending_used 0 kick_fd 1"
snap "$T/untaken-b.txt" "$Q0" "$Q1" "vq2 requests 900 completions 900 inflight 0 avail_idx 904 last_avail_idx 900 pending_used 0 kick_fd 1"
snap "$T/untaken-a.txt" "$Q0" "$Q1" "vq2 requests 900 completions 900 inflight 0 avail_idx 904 last_avail_idx 900 pending_used 0 kick_fd 1"
snap "$T/reset-a.txt" "$Q0" "$Q1" "vq2 requests 10 completions 9 inflight 1 avail_idx 10 last_avail_idx 10 pending_used 0 kick_fd 1"
snap "$T/unset-a.txt" "$Q0" "$Q1" "vq2 requests 900 completions 897 inflight 3 avail_idx 900 last_avail_idx 900 pending_used 0 kick_fd 0"

for c in "held-b held-a 1 3 requests in flight, no completion in between" \
	"untaken-b untaken-a 1 4 avail entries on vq2 never taken" \
	"idle idle 0 idle queues, event queue vq1 holding its buffers" \
	"held-b moving-a 0 requests in flight but completions moving" \
	"held-b reset-a 0 counters reset between the snapshots (device reset)" \
	"held-b unset-a 0 queue torn down (kick_fd 0)"; do
	read -r b a want what <<<"$c"
	out=$(rg_hang_verdict "$T/$b.txt" "$T/$a.txt")
	rc=$?
	[ "$want" = 1 ] && { rc=$((1 - rc)); v="target stuck"; } || v=platform
	result "$rc" "queue verdict: $what: $v" "$out"
done

# ---- the whole decision: rg_silent, then rg_end ---------------------------
# scenario TARGET BEFORE AFTER DMESG: a scenario whose inner guest went
# silent (QEMU "alive": this shell's pid) and whose boot returned 3; prints
# rg_end's exit status and its results.
# shellcheck disable=SC2034  # the variables are read by lib.sh functions
scenario() {
	(
		TARGET=$1 RG_NAME=canned RG_SDIR=$T/s RG_QNAME=boot RG_QPID=$$ RG_JUDGED=
		RG_TAPFILE=$T/s/results RG_FAILED=0 RG_TARGET_FAULT=0 RG_SETTLE_SECS=0
		mkdir -p "$RG_SDIR"
		: >"$RG_TAPFILE"
		n=0
		rg_timeout_dump() { :; }
		rg_vq_snapshot() { n=$((n + 1)); if [ $n = 1 ]; then cp "$T/$B.txt" "$2"; else cp "$T/$A.txt" "$2"; fi; }
		rg_dmesg_new() { cat "$T/$D.txt"; }
		rg_qemu_stop() { RG_QPID=; }
		B=$2 A=$3 D=$4
		rg_silent >/dev/null
		RG_QPID=
		rg_end 3 >/dev/null
	)
	echo "exit $? $(cut -f1,2 "$T/s/results" | tr '\t\n' ': ')"
}
for c in "ours held-b held-a noise 0 ours, requests held: not ok, no retry" \
	"ours idle idle noise 3 ours, nothing pending: platform, retried" \
	"intree held-b held-a noise 3 in-tree: no ring state, platform, retried" \
	"ours idle idle warn-ours 0 ours, nothing pending but a WARN of ours: not ok, no retry"; do
	read -r tg b a d want what <<<"$c"
	out=$(scenario "$tg" "$b" "$a" "$d")
	ok=1
	case "$want" in
	0) [[ $out == "exit 0 "*"not ok:"* ]] && ok=0 ;;
	3) [[ $out == "exit 3 "* ]] && [[ $out != *"not ok"* ]] && ok=0 ;;
	esac
	result $ok "silent inner guest, $what" "$out"
done

echo "1..$N"
[ $FAILED = 0 ]
