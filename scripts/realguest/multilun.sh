#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# multilun: two TPGs under one WWPN, five LUNs of different sizes (fileio on
# tmpfs files). The inner guest must see exactly five disks, each at the
# right target:LUN (target = TPG tag) with that LUN's capacity; it writes a
# distinct random pattern + tagged marker to each, then reads all of them
# back: a write that crossed to another LUN shows up as a wrong tag or sum.
# With RG_KEEP=1 the configuration and data are left for persist.sh.
. "$(dirname "$0")/lib.sh"
rg_begin multilun
ml_layout
T=$RG_WORK/multilun.test.sh
{
	echo 'n=0'
	for e in $ML_LUNS; do
		IFS=: read -r t l mb <<<"$e"
		cat <<INNER
wait_disk $t $l 20
d=\$(disk $t $l); sz=\$(cat /sys/block/\$d/size 2>/dev/null)
check "target $t LUN $l seen as \$d with $mb MiB" [ -n "\$d" -a "\$sz" = $((mb * 2048)) ]
[ -n "\$d" ] && write_marked \$d T${t}L${l} 2 && n=\$((n + 1))
INNER
	done
	echo "check \"sees exactly $(echo $ML_LUNS | wc -w) disks (\$(ndisks))\" [ \$(ndisks) = $(echo $ML_LUNS | wc -w) ]"
	echo "check \"wrote a distinct pattern to every LUN (\$n)\" [ \$n = $(echo $ML_LUNS | wc -w) ]"
	for e in $ML_LUNS; do
		IFS=: read -r t l mb <<<"$e"
		echo "check \"target $t LUN $l reads back its own data\" verify_marked \$(disk $t $l) T${t}L${l} 2"
	done
} >"$T"
rg_boot multilun "$T" "multilun: " -- -device "vhost-scsi-pci,wwpn=$ML_WWPN"
rc=$?
if [ "${RG_KEEP:-0}" = 1 ] && [ $rc = 0 ] && [ "$RG_FAILED" = 0 ]; then
	touch "$RG_WORK/multilun.keep"
else
	rm -f "$RG_WORK/multilun.keep"
	rg_target_clear || rg_notok "multilun: LIO configuration removable after QEMU exit" "rmdir failed"
fi
rg_end $rc
