#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# platform-study-guest.sh: the guest half of scripts/platform-study.sh. Runs
# INSIDE the vm-run test guest: one LIO LUN (brd) on the in-tree vhost_scsi
# (the platform question is the same for every storage path, and the study
# must not depend on our module), kvm_amd loaded with $STUDY_KVM_PARAMS,
# then $STUDY_RUNS inner-guest boots, each running fio for $STUDY_FIO_SECS s.
# One line per finished run is appended to $VSNG_RESULTS/runs.tsv at once
# (the results share survives an outer panic):
#   <run> <pass|fail|inner-reset|inner-hang> <iops> <secs>
set -u
. scripts/guest-lib.sh
RUNS=${STUDY_RUNS:?} SECS=${STUDY_FIO_SECS:-60}
WWPN=naa.5001405000000a01
OUT=$VSNG_RESULTS/runs.tsv
start=${STUDY_FIRST:-1}

vsng_load_lio || exit 3
vsng_modprobe brd rd_nr=1 rd_size=262144 || exit 3
vsng_load_target intree || exit 3
scripts/target-configfs.sh create --wwpn $WWPN --backend brd --size 256 >/dev/null || exit 3
/sbin/modprobe -r kvm_amd 2>/dev/null
# shellcheck disable=SC2086
/sbin/modprobe kvm_amd ${STUDY_KVM_PARAMS:-} || exit 3
for p in npt avic vgif vls lbrv nested pause_filter_count; do
	printf '%s=%s ' $p "$(cat /sys/module/kvm_amd/parameters/$p 2>/dev/null)"
done >"$VSNG_RESULTS/kvm_amd-params.txt"

cat >/tmp/study-inner.sh <<EOT
wait_disk 1 0 30 || { echo "FAIL-REASON: no disk"; exit 1; }
d=\$(disk_at 1 0)
fio --name=study --filename=/dev/\$d --direct=1 --ioengine=libaio --rw=randrw \\
	--bs=4k --iodepth=32 --size=128M --runtime=$SECS --time_based --minimal \\
	>/tmp/fio.out 2>/tmp/fio.err || { cat /tmp/fio.err; echo "FAIL-REASON: fio failed"; exit 1; }
f=\$(grep '^3;' /tmp/fio.out | tail -n1)
report iops \$((\$(echo "\$f" | cut -d';' -f8) + \$(echo "\$f" | cut -d';' -f49)))
EOT
for i in $(seq "$start" $((start + RUNS - 1))); do
	t0=$SECONDS
	scripts/inner-guest.sh --wwpn $WWPN --test /tmp/study-inner.sh --retries 0 \
		--timeout $((SECS + 120)) ${STUDY_INNER_SMP:+--smp $STUDY_INNER_SMP} \
		${STUDY_INNER_CPU:+--cpu $STUDY_INNER_CPU} --logdir "$VSNG_RESULTS/inner-$i" \
		>"$VSNG_RESULTS/inner-$i.out" 2>&1
	rc=$?
	iops=$(sed -n 's/^iops=//p' "$VSNG_RESULTS/inner-$i/report" 2>/dev/null)
	case $rc in
	0) res=pass ;;
	2) if grep -q 'timeout after' "$VSNG_RESULTS/inner-$i.out"; then res=inner-hang; else res=inner-reset; fi ;;
	*) res=fail ;;
	esac
	printf '%s\t%s\t%s\t%s\n' "$i" "$res" "${iops:--}" $((SECONDS - t0)) >>"$OUT"
	sync
done
exit 0
