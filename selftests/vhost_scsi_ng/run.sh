#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the vhost-scsi-ng selftests INSIDE the test guest (never on the host).
#
#   TARGET=ours|intree selftests/vhost_scsi_ng/run.sh [TEST_BINARY...]
#
# Loads LIO and the target (ours: insmod vhost_scsi_ng.ko from the repo top,
# intree: Debian's vhost_scsi), runs each test binary (kselftest TAP), then
# checks that no target/LIO objects are left, unloads the target and fails if
# the kernel log shows a WARNING, BUG, Oops or similar.
#
# Env: TARGET (default ours), VSNG_MODULE (path of our .ko, as in
# scripts/guest-lib.sh; default <repo>/vhost_scsi_ng.ko), VSNG_KO_ARGS
# (module parameters), VSNG_FABRIC (fabric dir name, default vhost),
# VSNG_BACKEND (rd|brd|nullb|fileio), VSNG_TARGET_MOD (module name, default
# by TARGET), VSNG_DEV (device node, default /dev/vhost-scsi), VSNG_TESTS
# (binaries to run), VSNG_RING (split|packed: the ring format of every
# binary; default split).
#
# A name ending in _packed (vsng_data_packed, vsng_notify_packed,
# vsng_badinput_packed) runs that binary again with VSNG_RING=packed
# (VIRTIO_F_RING_PACKED); its test names get the prefix "packed." in TAP.
#
# Ours beside in-tree (different device node and fabric name):
#   TARGET=ours VSNG_KO_ARGS="devname=vhost-scsi-ng fabric=vhost_ng" \
#   VSNG_DEV=/dev/vhost-scsi-ng VSNG_FABRIC=vhost_ng run.sh

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
TARGET=${TARGET:-ours}
export TARGET
CFS=/sys/kernel/config/target
MODPROBE=/sbin/modprobe
[ -x $MODPROBE ] || MODPROBE=modprobe

case "$TARGET" in
ours) : "${VSNG_TARGET_MOD:=vhost_scsi_ng}" ;;
intree) : "${VSNG_TARGET_MOD:=vhost_scsi}" ;;
*) echo "run.sh: TARGET must be ours or intree" >&2; exit 2 ;;
esac
export VSNG_TARGET_MOD
: "${VSNG_FABRIC:=vhost}"
export VSNG_FABRIC
VSNG_KO=${VSNG_MODULE:-$TOP/vhost_scsi_ng.ko}
# Device node: ours can be loaded with devname=..., then set VSNG_DEV too.
: "${VSNG_DEV:=/dev/vhost-scsi}"
export VSNG_DEV

ALL_TESTS="vsng_abi vsng_data vsng_scsi_err vsng_badinput vsng_notify
	   vsng_data_packed vsng_notify_packed vsng_badinput_packed
	   vsng_lifetime vsng_events vsng_pool vsng_ng vsng_tmfflood vsng_dirtylog
	   vsng_faults vsng_faults_gone vsng_faults_nvmf vsng_failalloc vsng_tmf vsng_cgroup
	   vsng_inorder"
if [ $# -gt 0 ]; then
	TESTS="$*"
else
	TESTS=${VSNG_TESTS:-$ALL_TESTS}
fi

# Build if needed (the guest sees the host's tree read-only: build on host).
bin_of() { echo "${1%_packed}"; }
for t in $TESTS; do
	if [ ! -x "$HERE/$(bin_of "$t")" ]; then
		echo "run.sh: $HERE/$t missing: run 'make -C selftests/vhost_scsi_ng' on the host" >&2
		exit 2
	fi
done

dmesg_mark=$(dmesg | wc -l)

load_lio() {
	mkdir -p /etc/target
	$MODPROBE configfs 2>/dev/null
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
	$MODPROBE target_core_mod || return 1
	$MODPROBE target_core_iblock 2>/dev/null
	$MODPROBE target_core_file 2>/dev/null
	case "${VSNG_BACKEND:-rd}" in
	brd) $MODPROBE brd rd_nr=4 rd_size=16384 ;;
	nullb) $MODPROBE null_blk nr_devices=4 gb=1 ;;
	esac
	return 0
}

load_target() {
	case "$TARGET" in
	ours)
		if [ ! -f "$VSNG_KO" ]; then
			echo "run.sh: $VSNG_KO not built (make module)" >&2
			return 1
		fi
		insmod "$VSNG_KO" ${VSNG_KO_ARGS:-} || return 1 ;;
	intree)
		$MODPROBE vhost_scsi || return 1 ;;
	esac
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[ -c "$VSNG_DEV" ] && break
		sleep 0.2
	done
	[ -c "$VSNG_DEV" ]
}

leftovers() {
	# Anything of ours still in configfs is a leak (or a test that died).
	local n=0 d
	for d in "$CFS/$VSNG_FABRIC"/naa.*; do
		[ -e "$d" ] || continue
		echo "# leftover target $d"
		n=$((n + 1))
	done
	for d in "$CFS"/core/rd_mcp_* "$CFS"/core/iblock_* "$CFS"/core/fileio_*; do
		[ -e "$d" ] || continue
		case "$(basename "$d")" in *_[0-9][0-9][0-9][0-9]) ;; *) continue ;; esac
		echo "# leftover backstore $d"
		n=$((n + 1))
	done
	return $n
}

cleanup_configfs() {
	local tpg lun l wwn hba dev
	for tpg in "$CFS/$VSNG_FABRIC"/naa.*/tpgt_*; do
		[ -d "$tpg" ] || continue
		for lun in "$tpg"/lun/lun_*; do
			[ -d "$lun" ] || continue
			for l in "$lun"/*; do [ -L "$l" ] && rm -f "$l"; done
			rmdir "$lun"
		done
		echo NULL > "$tpg/nexus" 2>/dev/null
		rmdir "$tpg"
	done
	for wwn in "$CFS/$VSNG_FABRIC"/naa.*; do [ -d "$wwn" ] && rmdir "$wwn"; done
	# the fabric directory holds a reference on the fabric module
	[ -d "$CFS/$VSNG_FABRIC" ] && rmdir "$CFS/$VSNG_FABRIC" 2>/dev/null
	for hba in "$CFS"/core/rd_mcp_* "$CFS"/core/iblock_* "$CFS"/core/fileio_*; do
		[ -d "$hba" ] || continue
		for dev in "$hba"/vsng_l*; do [ -d "$dev" ] && rmdir "$dev"; done
		rmdir "$hba" 2>/dev/null
	done
}

echo "TAP version 13"
fail=0
if ! load_lio; then
	echo "Bail out! cannot load LIO"
	exit 1
fi
if ! load_target; then
	echo "Bail out! cannot load target ($TARGET)"
	exit 1
fi
echo "# target=$TARGET module=$VSNG_TARGET_MOD fabric=$VSNG_FABRIC backend=${VSNG_BACKEND:-rd} kernel=$(uname -r)"

# Each binary prints kselftest TAP; its results are renumbered into one
# flat TAP stream (one line per test case) and its plan lines become
# comments.  A binary whose results do not match its plan "1..N" (it died
# half-way, or printed no plan) adds a "not ok" of its own, and so does a
# binary that dies without reporting.
ntest=0
: > /tmp/vsng-all.txt
renumber() {
	awk -v n="$ntest" -v cnt=/tmp/vsng-ntest -v name="$1" -v pfx="${2:-}" '
		/^TAP version/ { print "# " $0; next }
		/^1\.\.[0-9]+/ { plan = substr($1, 4) + 0; planned = 1
				 print "# " $0; next }
		/^(not )?ok [0-9]+ / {
			n++
			got++
			if ($1 == "not") { sub(/^not ok [0-9]+ /, ""); print "not ok " n " " pfx $0 }
			else { sub(/^ok [0-9]+ /, ""); print "ok " n " " pfx $0 }
			next
		}
		{ print }
		END {
			if (!planned || got != plan) {
				n++
				printf "not ok %d %s # TAP plan %s, %d results\n", n, name,
				       planned ? "1.." plan : "missing", got
			}
			print n > cnt
		}' | tee -a /tmp/vsng-all.txt
}
# vsng_badinput's cases about one ring format's layout run only in that
# format's run (kselftest filters, -T name): the packed_* cases in the
# packed run, the split ring's next links and avail ring in the split run.
ring_filter() {
	[ "$1" = vsng_badinput ] || return 0
	if [ "$2" = packed ]; then
		printf -- '-T %s ' looping_chain next_out_of_range avail_idx_jump \
			avail_head_out_of_range
	else
		"$HERE/$1" -l 2>&1 | awk '$NF ~ /^packed_/ { printf "-T %s ", $NF }'
	fi
}
plan_broken() {
	grep -q "^not ok [0-9]* $1 # TAP plan" /tmp/vsng-out.txt
}
for t in $TESTS; do
	echo "# ===== $t"
	start=$(date +%s)
	case "$t" in
	*_packed) ring=packed pfx=packed. ;;
	*) ring=${VSNG_RING:-split} pfx= ;;
	esac
	# shellcheck disable=SC2046 # one word per filter argument
	( cd "$HERE" && VSNG_RING=$ring "./$(bin_of "$t")" $(ring_filter "$(bin_of "$t")" "$ring") ) 2>&1 |
		renumber "$t" "$pfx" | tee /tmp/vsng-out.txt
	rc=${PIPESTATUS[0]}
	ntest=$(cat /tmp/vsng-ntest)
	echo "# $t: rc=$rc ($(( $(date +%s) - start )) s)"
	if [ "$rc" != 0 ] && [ "$rc" != 4 ] && ! grep -q "^not ok" /tmp/vsng-out.txt; then
		ntest=$((ntest + 1))
		echo "not ok $ntest $t # exited with $rc without a failing test"
	fi
	[ "$rc" != 0 ] && [ "$rc" != 4 ] && fail=1
	plan_broken "$t" && fail=1
done

ntest=$((ntest + 1))
if leftovers; then
	echo "ok $ntest no_leftover_targets"
else
	echo "not ok $ntest no_leftover_targets"
	fail=1
	cleanup_configfs
fi

ntest=$((ntest + 1))
# Everything released: the target module must unload.
cleanup_configfs
if rmmod "$VSNG_TARGET_MOD"; then
	echo "ok $ntest module_unloads"
else
	echo "not ok $ntest module_unloads"
	lsmod | grep -E "vhost|target" | sed 's/^/# /'
	fail=1
fi

ntest=$((ntest + 1))
# In-tree vhost_scsi WARNs (once, by design) on misaligned guest I/O that
# takes its bounce path; that trace is expected there and is dropped.
# Ours must never WARN on guest input.
known_intree() {
	if [ "$TARGET" = intree ]; then
		awk '/cut here/ { blk = $0 "\n"; inb = 1; next }
		     inb { blk = blk $0 "\n"
			   if (/detected misaligned IO/) skip = 1
			   if (/end trace/) { if (!skip) printf "%s", blk; inb = 0; skip = 0; blk = "" }
			   next }
		     { print }'
	else
		cat
	fi
}
# vsng_failalloc fails allocations on purpose: the kernel's own reports of
# those failures in its task (warn_alloc's "vmalloc error"/"page allocation
# failure" with a stack dump, kmemleak's "Cannot allocate a scan area") are
# expected there and dropped; anything else still counts.
known_failalloc() {
	local t
	for t in $TESTS; do
		if [ "$t" = vsng_failalloc ]; then
			awk '/ vsng_failalloc: (vmalloc error|page allocation failure):/ { inb = 1; next }
			     inb { if (/<\/TASK>/) inb = 0; next }
			     /kmemleak: Cannot allocate a scan area/ { next }
			     { print }'
			return
		fi
	done
	cat
}
if dmesg | tail -n +"$((dmesg_mark + 1))" | known_intree | known_failalloc |
	grep -E "WARNING:|BUG:|Oops|general protection|KASAN|UBSAN|lockdep|possible recursive locking|circular locking|INFO: task .* blocked|kmemleak|Call Trace" >/tmp/vsng-dmesg-bad.txt; then
	echo "not ok $ntest dmesg_clean"
	sed 's/^/# /' /tmp/vsng-dmesg-bad.txt | head -40
	fail=1
else
	echo "ok $ntest dmesg_clean"
fi
[ -n "${VSNG_RESULTS:-}" ] && [ -d "$VSNG_RESULTS" ] && dmesg > "$VSNG_RESULTS/dmesg-selftests-$TARGET.txt" 2>/dev/null

# Module-level checks (load/unload, parameters, side by side with in-tree):
# ours only, run last with no target loaded; their TAP is renumbered too.
if [ "$TARGET" = ours ] && [ -z "${VSNG_NO_MODULE_TEST:-}" ] && [ $# -eq 0 ]; then
	echo "# ===== module_test.sh"
	cleanup_configfs
	VSNG_MODULE=$VSNG_KO bash "$HERE/module_test.sh" 2>&1 |
		renumber module_test.sh | tee /tmp/vsng-out.txt
	rc=${PIPESTATUS[0]}
	ntest=$(cat /tmp/vsng-ntest)
	echo "# module_test.sh: rc=$rc"
	plan_broken module_test.sh && fail=1
	if [ "$rc" != 0 ]; then
		fail=1
		if ! grep -q "^not ok" /tmp/vsng-out.txt; then
			ntest=$((ntest + 1))
			echo "not ok $ntest module_test.sh # exited with $rc without a failing test"
		fi
	fi
fi
# A SKIP must stand out: list every skipped test case at the end.
nskip=$(grep -c "^ok [0-9]* .* # SKIP" /tmp/vsng-all.txt)
echo "# $ntest results: $(grep -c "^not ok" /tmp/vsng-all.txt) not ok from the binaries, $nskip SKIP"
grep "^ok [0-9]* .* # SKIP" /tmp/vsng-all.txt | sed 's/^/# SKIPPED: /'
echo "1..$ntest"
exit $fail
