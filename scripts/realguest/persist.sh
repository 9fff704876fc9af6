#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# persist: targetcli saveconfig to a file, clearconfig, restoreconfig. The
# multi-LUN layout (two TPGs, five fileio LUNs on tmpfs files, which keep
# their data when LIO's configuration is cleared) is written by an inner
# guest first: by multilun.sh when run.sh runs both (RG_AFTER_MULTILUN=1),
# else by a boot of this script. After the restore a new inner guest must
# find every LUN at the same target:LUN with the same data.
. "$(dirname "$0")/lib.sh"
reuse=0
if [ "${RG_AFTER_MULTILUN:-0}" = 1 ] && [ -f "$RG_WORK/multilun.keep" ] &&
	[ -d "$CFS/vhost/$ML_WWPN" ]; then
	reuse=1
fi
rm -f "$RG_WORK/multilun.keep"
if [ $reuse = 1 ]; then
	rg_begin persist --keep-config
	rg_log "persist: using the LUNs and data multilun.sh left"
else
	rg_begin persist
	ml_layout
	T=$RG_WORK/persist-write.test.sh
	for e in $ML_LUNS; do
		IFS=: read -r t l mb <<<"$e"
		echo "wait_disk $t $l 20; check \"before save: wrote target $t LUN $l\" write_marked \$(disk $t $l) T${t}L${l} 2"
	done >"$T"
	rg_boot persist-write "$T" "persist: " -- -device "vhost-scsi-pci,wwpn=$ML_WWPN"
	rc=$?
	[ $rc = 0 ] || rg_end $rc
fi

vsng_start_dbus || { rg_notok "persist: start D-Bus for targetcli" ""; rg_end 1; }
SAVE=$RG_WORK/persist-saveconfig.json
rm -f "$SAVE"
tc() { rg_log "targetcli $*"; targetcli "$@" >>"$RG_SDIR/targetcli.log" 2>&1; }
t0=$SECONDS
tc "saveconfig savefile=$SAVE"
ok=1
grep -q "$ML_WWPN" "$SAVE" 2>/dev/null || ok=0
for e in $ML_LUNS; do
	IFS=: read -r t l mb <<<"$e"
	grep -q "ml_t${t}l${l}.img" "$SAVE" 2>/dev/null || ok=0
done
rg_check "persist: targetcli saveconfig wrote the wwpn and all 5 backstores to a file" [ $ok = 1 ]
tc "clearconfig confirm=True"
left=$(find "$CFS/vhost" "$CFS/core" -mindepth 1 -maxdepth 2 -type d \( -name 'naa.*' -o -path '*fileio_*/*' \) 2>/dev/null | wc -l)
rg_check "persist: targetcli clearconfig removed every target and backstore ($left left)" [ "$left" = 0 ]
tc "restoreconfig savefile=$SAVE clear_existing=true"
# A LUN is back when its directory holds the link to its own backstore
# (the directory alone always holds alua_* entries, link or not).
n=0 bad=
for e in $ML_LUNS; do
	IFS=: read -r t l mb <<<"$e"
	if rg_lun_backstore "$ML_WWPN" "$t" "$l" | grep -qx "fileio_[0-9]*/ml_t${t}l${l}"; then
		n=$((n + 1))
	else
		bad+=" $t:$l"
	fi
done
nexus=$(cat "$CFS/vhost/$ML_WWPN/tpgt_1/nexus" "$CFS/vhost/$ML_WWPN/tpgt_2/nexus" 2>/dev/null | grep -c naa)
rg_check "persist: targetcli restoreconfig brought back 5 LUNs linked to their backstores ($n${bad:+, not:$bad}) with a nexus on both TPGs ($nexus)" [ $n = 5 -a "$nexus" = 2 ]
rg_log "persist: targetcli save/clear/restore took $((SECONDS - t0))s"

T=$RG_WORK/persist-verify.test.sh
ml_test_verify "$T"
rg_boot persist-verify "$T" "persist: after restoreconfig: " -- -device "vhost-scsi-pci,wwpn=$ML_WWPN"
rc=$?
rg_target_clear || rg_notok "persist: LIO configuration removable after QEMU exit" "rmdir failed"
rg_end $rc
