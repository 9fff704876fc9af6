#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# migrate (prototype, issue 16): live-migrate the inner guest between two
# QEMUs in the test guest, RG_MIGRATIONS times (default 3), while it reads.
# Both QEMUs use the same LIO target through -device
# vhost-scsi-pci,migratable=on; the destination starts with -incoming on a
# local socket, the source is told "migrate" on its monitor, and QEMU stops
# the source's device (CLEAR_ENDPOINT) before the destination starts its
# own (SET_ENDPOINT), as on two hosts with shared storage.
# The inner guest writes 6 regions of 8 MiB of random data, then, during
# each migration, loops over them: drop the page cache, read a region
# through it (the device writes the cache pages), hash the cached copy;
# read it again with O_DIRECT into one buffer and hash that. A round that
# reads on the source and hashes on the destination sees pages the device
# wrote after QEMU had copied them, and that were not logged, stale. Beside
# it fio writes and verifies (randrw, verify=crc32c) the disk's last
# 8 MiB, short job after short job. After each migration the count of
# stale rounds and of failed fio jobs must be 0, and every region read
# through the page cache, and region 0 read with O_DIRECT, equal to what
# was written.
# QEMU's "info migrate" times go to the log and to migrate-times.txt.
# RG_PACKED=1 (scenario migrate-packed, run by hand): the same over packed
# virtqueues (packed=on): the dirty log of used elements written into the
# descriptor ring, and GET/SET_VRING_BASE's packed encoding carried from
# the source's device to the destination's.
. "$(dirname "$0")/lib.sh"
rg_begin "$(rg_scn migrate)"

W=$(rg_wwpn 9)
N=${RG_MIGRATIONS:-3}
DEV="vhost-scsi-pci,wwpn=$W,migratable=on$(rg_vs_opts)"
SOCK=$RG_WORK/migrate.sock
rg_rd mig 64 && rg_tpg "$W" 1 && rg_lun "$W" 1 0 "$CFS/core/rd_mcp_0/mig" ||
	{ rg_notok "$RG_NAME: configure LIO" "configfs"; rg_end 1; }

T=$RG_WORK/migrate.test.sh
{ rg_packed_inner; cat; } <<INNER | rg_write_test "$T"
wait_disk 1 0 20; d=\$(disk 1 0)
check "sees the disk at target 1 LUN 0 (\$d)" [ -n "\$d" ]
# R regions of 8 MiB, each its own random data: a page cache page that
# the next round reuses for another region gets other data, so a stale
# one does not match by chance.
R=6
r=0
while [ \$r -lt \$R ]; do
	head -c 8388608 /dev/urandom >/tmp/pat
	dd if=/tmp/pat of=/dev/\$d bs=1M seek=\$((r * 8)) oflag=direct conv=fsync 2>/dev/null
	sha256sum </tmp/pat | cut -d' ' -f1 >/tmp/want.\$r
	r=\$((r + 1))
done
rm -f /tmp/pat
# rd R: the hash of region R's 8 MiB read through the page cache.
rd() { dd if=/dev/\$d bs=64k skip=\$((\$1 * 128)) count=128 2>/dev/null | sha256sum | cut -d' ' -f1; }
# rdd R: the same read with O_DIRECT into one 8 MiB buffer (the device
# writes dd's buffer; dd then copies it out to the pipe).
rdd() { dd if=/dev/\$d bs=8M skip=\$1 count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1; }
k=1
while [ \$k -le $N ]; do
	rm -f /tmp/stop /tmp/stale /tmp/rounds /tmp/fioruns /tmp/fiofail
	(
		i=0
		while [ ! -f /tmp/stop ]; do
			r=\$((i % R))
			echo 1 >/proc/sys/vm/drop_caches
			dd if=/dev/\$d of=/dev/null bs=64k skip=\$((r * 128)) count=128 2>/dev/null
			[ "\$(rd \$r)" = "\$(cat /tmp/want.\$r)" ] || echo x >>/tmp/stale
			[ "\$(rdd \$r)" = "\$(cat /tmp/want.\$r)" ] || echo x >>/tmp/stale
			echo x >>/tmp/rounds
			i=\$((i + 1))
		done
	) &
	# fio writes and verifies the disk's last 8 MiB, one short job after
	# the other, with requests in flight whenever the source stops.
	(
		while [ ! -f /tmp/stop ]; do
			fio_verify mig\$k \$d --offset=48M --size=2M --rw=randrw --iodepth=8 ||
				echo x >>/tmp/fiofail
			echo x >>/tmp/fioruns
		done
	) &
	echo "VSNG-MIG-READY \$k"
	ctl_wait "migrated \$k" 300 || break
	touch /tmp/stop
	wait
	n=\$(cat /tmp/rounds 2>/dev/null | wc -l); bad=\$(cat /tmp/stale 2>/dev/null | wc -l)
	check "migration \$k: \$bad of \$n read-then-check rounds (page cache, O_DIRECT) saw stale data" [ "\$bad" = 0 ]
	n=\$(cat /tmp/fioruns 2>/dev/null | wc -l); bad=\$(cat /tmp/fiofail 2>/dev/null | wc -l)
	check "migration \$k: \$bad of \$n fio randrw verify=crc32c jobs failed (I/O error or mismatch)" [ "\$bad" = 0 -a "\$n" -gt 0 ]
	ok=0
	r=0
	while [ \$r -lt \$R ]; do
		[ "\$(rd \$r)" = "\$(cat /tmp/want.\$r)" ] && ok=\$((ok + 1))
		r=\$((r + 1))
	done
	check "migration \$k: \$ok of \$R regions equal through the page cache" [ \$ok = \$R ]
	got=\$(dd if=/dev/\$d bs=1M count=8 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
	check "migration \$k: region 0 on disk (O_DIRECT) equal" [ "\$got" = "\$(cat /tmp/want.0)" ]
	echo "VSNG-MIG-CHECKED \$k"
	k=\$((k + 1))
done
INNER

mon() { timeout 10 "$REPO/scripts/qemu-monitor.py" "$@"; }
consoles=()
rc=0
rg_qemu_start mig0 "$T" --fio -- -device "$DEV" ||
	{ rg_notok "$RG_NAME: start QEMU" "see mig0.qemu.log"; rg_end 1; }
consoles+=("$RG_CONSOLE")
rg_wait_console 'VSNG-MIG-READY 1' 90 || rc=3
: >"$RG_SDIR/migrate-times.txt"
for ((k = 1; k <= N && rc == 0; k++)); do
	spid=$RG_QPID smon=$RG_MON
	rm -f "$SOCK"
	rg_qemu_start "mig$k" "$T" --fio -- -device "$DEV" -incoming "unix:$SOCK" ||
		{ rg_notok "$RG_NAME: start destination QEMU $k" "see mig$k.qemu.log"; rc=1; break; }
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
		rg_notok "$RG_NAME: migration $k completes" "$(grep -i status <<<"$st" | head -n 1)"
		rc=1
		break
	fi
	rg_ok "$RG_NAME: migration $k completes"
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
	RG_CONSOLE=$c rg_collect "$RG_NAME: " >/dev/null
done
[ $rc = 3 ] && grep -aq 'VSNG-RESULT: not ok' "${consoles[@]}" && rc=1
rg_target_clear || rg_notok "$RG_NAME: LIO configuration removable after QEMU exit" "rmdir failed"
rg_end $rc
