#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# basic: one LUN on a ramdisk behind -device vhost-scsi-pci. The inner guest
# must see exactly one disk at target 1 LUN 0 with LIO's vendor and the
# backstore's model and capacity, compare 4 MiB written and read back with
# O_DIRECT, and pass a short fio job with verify=crc32c.
# RG_PACKED=1 (scenario basic-packed): the same over packed virtqueues
# (packed=on), with the negotiated ring format checked first; in-tree must
# refuse it (rg_packed_refused in lib.sh).
. "$(dirname "$0")/lib.sh"
rg_begin "$(rg_scn basic)"

W=$(rg_wwpn 1)
MB=64
rg_rd basic "$MB" && rg_tpg "$W" 1 && rg_lun "$W" 1 0 "$CFS/core/rd_mcp_0/basic" ||
	{ rg_notok "basic: configure LIO" "configfs"; rg_end 1; }
VENDOR=$(cat "$CFS/core/rd_mcp_0/basic/wwn/vendor_id" 2>/dev/null)
MODEL=$(cat "$CFS/core/rd_mcp_0/basic/wwn/product_id" 2>/dev/null)
VENDOR=${VENDOR:-LIO-ORG} MODEL=${MODEL:-RAMDISK-MCP}

T=$RG_WORK/basic.test.sh
{ rg_packed_inner; cat; } <<INNER | rg_write_test "$T"
wait_disk 1 0 20; d=\$(disk 1 0)
check "sees one disk at target 1 LUN 0 (\$d)" [ -n "\$d" -a "\$(ndisks)" = 1 ]
if [ -n "\$d" ]; then
	s=\$(sdev 1 0)
	v=\$(trim \$s/vendor); m=\$(trim \$s/model)
	echo "vendor '\$v' model '\$m' size \$(cat /sys/block/\$d/size)"
	check "vendor is LIO-ORG ('\$v')" [ "\$v" = "LIO-ORG" -a "\$v" = "$VENDOR" ]
	check "model is $MODEL ('\$m')" [ "\$m" = "$MODEL" ]
	check "capacity is $MB MiB (\$(cat /sys/block/\$d/size) sectors)" [ "\$(cat /sys/block/\$d/size)" = $((MB * 2048)) ]
	check "4 MiB O_DIRECT write, read back, compare" dd_compare \$d 4
	check "fio randwrite 16 MiB verify=crc32c" fio_verify basic \$d --size=16M --offset=8M
fi
INNER
if [ "$RG_PACKED" = 1 ] && [ "$TARGET" = intree ]; then
	rg_packed_refused "$RG_NAME" "$T" "$RG_NAME: " --fio -- -device "vhost-scsi-pci,wwpn=$W$(rg_vs_opts)"
else
	rg_boot "$RG_NAME" "$T" "$RG_NAME: " --fio -- -device "vhost-scsi-pci,wwpn=$W$(rg_vs_opts)"
fi
rc=$?
rg_target_clear || rg_notok "$RG_NAME: LIO configuration removable after QEMU exit" "rmdir failed"
rg_end $rc
