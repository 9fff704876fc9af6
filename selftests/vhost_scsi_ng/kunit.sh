#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run vhost-scsi-ng's KUnit tests INSIDE a test guest booted on a kernel with
# CONFIG_KUNIT (the debug kernel of scripts/debug-kernel.sh).
#
#   VSNG_MODULE=<dir>/vhost_scsi_ng.ko selftests/vhost_scsi_ng/kunit.sh
#
# Loads LIO, our module, then vhost_scsi_ng_kunit.ko from the same directory
# (KUnit runs its suites at load time), reads every suite's KTAP results
# (debugfs /sys/kernel/debug/kunit/<suite>/results, else the kernel log) and
# prints one flat TAP line per test case ("ok N kunit.<suite>.<case>"), then
# unloads both modules.  Exit status 0 when every case passed or skipped.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
KO=${VSNG_MODULE:-$TOP/vhost_scsi_ng.ko}
KT=${VSNG_KUNIT_MODULE:-$(dirname "$KO")/vhost_scsi_ng_kunit.ko}
SUITES="vhost_scsi_ng_mem vhost_scsi_ng_vring vhost_scsi_ng_scsi"
MODPROBE=/sbin/modprobe
n=0
fail=0

tap() {		# tap ok|not-ok NAME [COMMENT]
	n=$((n + 1))
	if [ "$1" = ok ]; then echo "ok $n $2${3:+ $3}"; else echo "not ok $n $2${3:+ $3}"; fail=1; fi
}

echo "TAP version 13"
if [ ! -f "$KT" ]; then
	echo "ok 1 kunit # SKIP no $KT (the kernel has no CONFIG_KUNIT, or the module was not built)"
	echo "1..1"
	exit 0
fi
mkdir -p /etc/target
$MODPROBE configfs 2>/dev/null
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
$MODPROBE target_core_mod || { tap not-ok "kunit: load target_core_mod"; echo "1..$n"; exit 1; }
mark=$(dmesg | wc -l)
if ! insmod "$KO"; then
	tap not-ok "kunit: insmod $KO"
	echo "1..$n"
	exit 1
fi
if ! insmod "$KT"; then
	tap not-ok "kunit: insmod $KT"
	rmmod vhost_scsi_ng
	echo "1..$n"
	exit 1
fi

# One suite's KTAP: test cases are the indented result lines.
suite_ktap() {
	local f=/sys/kernel/debug/kunit/$1/results
	if [ -r "$f" ]; then
		cat "$f"
	else
		dmesg | tail -n +"$((mark + 1))" | sed 's/^\[[ 0-9.]*\] //' |
			awk -v s="$1" '$0 ~ "# Subtest: " s "$" { on = 1; next }
				on && /^(not )?ok [0-9]+ / { exit }
				on { print }'
	fi
}

for s in $SUITES; do
	out=$(suite_ktap "$s")
	echo "$out" | sed 's/^/# /'
	cases=$(echo "$out" | grep -E '^[[:space:]]+(not )?ok [0-9]+ ')
	if [ -z "$cases" ]; then
		tap not-ok "kunit.$s" "# no results"
		continue
	fi
	while IFS= read -r l; do
		l=${l#"${l%%[![:space:]]*}"}
		name=$(echo "$l" | sed -E 's/^(not )?ok [0-9]+ ([^ #]+).*/\2/')
		rest=$(echo "$l" | sed -nE 's/^[^#]*(# *[Ss][Kk][Ii][Pp].*)$/\1/p')
		case "$l" in
		"not ok"*) tap not-ok "kunit.$s.$name" ;;
		*) tap ok "kunit.$s.$name" "$rest" ;;
		esac
	done <<<"$cases"
done

rmmod vhost_scsi_ng_kunit || tap not-ok "kunit: rmmod vhost_scsi_ng_kunit"
rmmod vhost_scsi_ng || tap not-ok "kunit: rmmod vhost_scsi_ng"
echo "1..$n"
exit $fail
