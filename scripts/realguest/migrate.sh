#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# migrate (prototype, issue 16): live-migrate the inner guest between two
# QEMUs in the test guest, RG_MIGRATIONS times (default 3), while it reads.
# Both QEMUs use the same LIO target through -device
# vhost-scsi-pci,migratable=on; the destination starts with -incoming on a
# local socket, the source is told "migrate" on its monitor, and QEMU stops
# the source's device (CLEAR_ENDPOINT) before the destination starts its
# own (SET_ENDPOINT), as on two hosts with shared storage.
# The inner guest writes 16 MiB of known data, then, during each migration,
# drops its page cache and reads the 16 MiB through it over and over. After
# each migration it checks the data as it is in its page cache now (pages
# the device wrote after QEMU had copied them, and that were not logged,
# arrive stale) and on disk (O_DIRECT). QEMU's "info migrate" times go to
# the log and to migrate-times.txt.
. "$(dirname "$0")/lib.sh"
rg_begin migrate

W=$(rg_wwpn 9)
N=${RG_MIGRATIONS:-3}
DEV="vhost-scsi-pci,wwpn=$W,migratable=on"
SOCK=$RG_WORK/migrate.sock
rg_rd mig 64 && rg_tpg "$W" 1 && rg_lun "$W" 1 0 "$CFS/core/rd_mcp_0/mig" ||
	{ rg_notok "migrate: configure LIO" "configfs"; rg_end 1; }

T=$RG_WORK/migrate.test.sh
rg_write_test "$T" <<INNER
wait_disk 1 0 20; d=\$(disk 1 0)
check "sees the disk at target 1 LUN 0 (\$d)" [ -n "\$d" ]
head -c 16777216 /dev/urandom >/tmp/pat
dd if=/tmp/pat of=/dev/\$d bs=1M oflag=direct conv=fsync 2>/dev/null
want=\$(sha256sum </tmp/pat | cut -d' ' -f1)
rm -f /tmp/pat
k=1
while [ \$k -le $N ]; do
	rm -f /tmp/stop
	(
		while [ ! -f /tmp/stop ]; do
			echo 1 >/proc/sys/vm/drop_caches
			dd if=/dev/\$d of=/dev/null bs=64k count=256 2>/dev/null
			sleep 0.5
		done
	) &
	echo "VSNG-MIG-READY \$k"
	ctl_wait "migrated \$k" 300 || break
	touch /tmp/stop
	wait
	got=\$(dd if=/dev/\$d bs=64k count=256 2>/dev/null | sha256sum | cut -d' ' -f1)
	check "migration \$k: 16 MiB in the page cache equal to what was written" [ "\$got" = "\$want" ]
	got=\$(dd if=/dev/\$d bs=1M count=16 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
	check "migration \$k: 16 MiB on disk (O_DIRECT) equal" [ "\$got" = "\$want" ]
	echo "VSNG-MIG-CHECKED \$k"
	k=\$((k + 1))
done
INNER

mon() { timeout 10 "$REPO/scripts/qemu-monitor.py" "$@"; }
consoles=()
rc=0
rg_qemu_start mig0 "$T" -- -device "$DEV" ||
	{ rg_notok "migrate: start QEMU" "see mig0.qemu.log"; rg_end 1; }
consoles+=("$RG_CONSOLE")
rg_wait_console 'VSNG-MIG-READY 1' 90 || rc=3
: >"$RG_SDIR/migrate-times.txt"
for ((k = 1; k <= N && rc == 0; k++)); do
	spid=$RG_QPID smon=$RG_MON
	rm -f "$SOCK"
	rg_qemu_start "mig$k" "$T" -- -device "$DEV" -incoming "unix:$SOCK" ||
		{ rg_notok "migrate: start destination QEMU $k" "see mig$k.qemu.log"; rc=1; break; }
	consoles+=("$RG_CONSOLE")
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.2; done
	sleep 3	# the inner guest reads for a while before the migration
	# Nested under TCG the stream is slow: allow a long stop-and-copy.
	mon "$smon" "migrate_set_parameter max-bandwidth 1G" \
		"migrate_set_parameter downtime-limit ${RG_MIG_DOWNTIME_MS:-5000}" \
		"migrate -d unix:$SOCK" >/dev/null
	st=
	for i in $(seq 120); do
		st=$(mon "$smon" "info migrate" | tr -d '\r')
		grep -qE 'Migration status: *(completed|failed|cancelled)' <<<"$st" && break
		[ $((i % 10)) = 0 ] && rg_log "migration $k: $(grep -iE 'status|transferred ram|dirty pages rate' <<<"$st" | tr '\n' ' ')"
		sleep 1
	done
	printf '%s\n' "$st" | grep -iE 'status|total time|downtime|setup' |
		sed "s/^/migration $k: /" | tee -a "$RG_SDIR/migrate-times.txt" | sed 's/^/# /'
	if ! grep -qE 'Migration status: *completed' <<<"$st"; then
		rg_notok "migrate: migration $k completes" "$(grep -i status <<<"$st" | head -n 1)"
		rc=1
		break
	fi
	rg_ok "migrate: migration $k completes"
	mon "$smon" quit >/dev/null
	for _ in $(seq 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	rg_send "migrated $k"
	if [ "$k" -lt "$N" ]; then
		rg_wait_console "VSNG-MIG-READY $((k + 1))" 120 || rc=3
	else
		rg_wait_console 'VSNG-VERDICT: DONE' 120 || rc=3
	fi
done
rg_qemu_stop 10
for c in "${consoles[@]}"; do
	RG_CONSOLE=$c rg_collect "migrate: " >/dev/null
done
[ $rc = 3 ] && grep -aq 'VSNG-RESULT: not ok' "${consoles[@]}" && rc=1
rg_target_clear || rg_notok "migrate: LIO configuration removable after QEMU exit" "rmdir failed"
rg_end $rc
