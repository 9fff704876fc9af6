#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh (make demo): the whole path, end to end.
#   1. build the module;
#   2. boot the TCG test guest (scripts/vm-run);
#   3. load LIO and the target: TARGET=ours (default, vhost_scsi_ng.ko) or
#      TARGET=intree (Debian's vhost_scsi);
#   4. create a 64 MiB ramdisk LUN with targetcli (scripts/target-targetcli.sh);
#   5. start an inner guest on nested KVM with -device vhost-scsi-pci
#      (scripts/inner-guest.sh);
#   6. in it: find the disk, write 8 MiB of random data with O_DIRECT, read
#      it back and compare, then a short fio job (4k randrw, iodepth 16, 8 s);
#   7. print a report: the disk the guest saw, bytes verified, fio IOPS.
# The guest half prints TAP lines, so scripts/check.sh runs this as a test.
#
# Usage: scripts/demo.sh [--logdir DIR] [--no-build]
#        (scripts/demo.sh --guest is the half that runs inside the guest)
# Environment: TARGET=ours|intree, KVER, VSNG_DEMO_TIMEOUT (default 900 s).
# If TARGET=ours and the module does not build, the demo says so loudly,
# runs against the in-tree target instead and exits non-zero at the end.

set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$REPO" || exit 2
# Build for the test guest's kernel (a plain "make module" may pick the running one).
export KVER=${KVER:-$(scripts/kernel-paths.sh kver)}
TARGET=${TARGET:-ours}
WWPN=naa.5001405de0000001
SIZE_MB=64
VERIFY_MB=8

# --------------------------------------------------------------------------
# guest half
# --------------------------------------------------------------------------
guest_main() {
	# shellcheck source=scripts/guest-lib.sh
	. scripts/guest-lib.sh
	local n=0 failed=0 out rep inner=$VSNG_RESULTS/demo-inner.sh
	ok() { n=$((n + 1)); echo "ok $n demo($TARGET): $1"; }
	notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n demo($TARGET): $1"; }
	finish() {
		echo "1..$n"
		[ $failed = 0 ]
		exit $?
	}
	local t0=$SECONDS
	if vsng_load_lio && vsng_load_target "$TARGET"; then
		ok "load LIO and the $TARGET target ($(vsng_target_mod "$TARGET")) in $((SECONDS - t0))s"
	else
		notok "load LIO and the $TARGET target"
		finish
	fi
	dmesg -c >/dev/null 2>&1 || true
	t0=$SECONDS
	if out=$(scripts/target-targetcli.sh create --wwpn "$WWPN" --tpgt 1 --lun 0 \
			--backend rd --size "$SIZE_MB" --name demo_ramdisk 2>&1); then
		ok "targetcli: $SIZE_MB MiB ramdisk LUN 0 on $WWPN tpgt 1 ($((SECONDS - t0))s)"
	else
		echo "$out" | sed 's/^/# /'
		notok "targetcli: create ramdisk LUN"
		finish
	fi

	cat >"$inner" <<EOF
wait_disk 1 0 30 || { echo "FAIL-REASON: no disk at target 1 LUN 0"; exit 1; }
d=\$(disk_at 1 0)
report disk "\$d"
for kv in \$(disk_info \$d); do report "\${kv%%=*}" "\${kv#*=}"; done
pattern_check \$d $VERIFY_MB 0 || exit 1
report verified_bytes $((VERIFY_MB * 1048576))
fio --name=demo --filename=/dev/\$d --direct=1 --ioengine=libaio --rw=randrw \\
	--bs=4k --iodepth=16 --size=32M --offset=16M --runtime=8 --time_based \\
	--minimal >/tmp/fio.out 2>/tmp/fio.err || { cat /tmp/fio.err; echo "FAIL-REASON: fio failed"; exit 1; }
f=\$(grep '^3;' /tmp/fio.out | tail -n1)
[ -n "\$f" ] || { echo "FAIL-REASON: no fio result"; exit 1; }
report fio_read_iops "\$(echo "\$f" | cut -d';' -f8)"
report fio_write_iops "\$(echo "\$f" | cut -d';' -f49)"
report fio_errors "\$(echo "\$f" | cut -d';' -f5)"
EOF
	t0=$SECONDS
	scripts/inner-guest.sh --wwpn "$WWPN" --test "$inner" --timeout 150 \
		--logdir "$VSNG_RESULTS/inner" | tee "$VSNG_RESULTS/inner-guest.out"
	local irc=${PIPESTATUS[0]}
	local itime=$((SECONDS - t0))
	rep=$VSNG_RESULTS/inner/report
	get() { sed -n "s/^$1=//p" "$rep" 2>/dev/null | tail -n1; }
	local retries
	retries=$(cat "$VSNG_RESULTS/inner/platform-retries" 2>/dev/null || echo 0)
	case $irc in
	0) ok "inner guest verdict PASS (${itime}s, platform retries $retries)" ;;
	2) notok "inner guest gave no verdict after retries (platform failure, retries $retries)" ;;
	*) notok "inner guest verdict: $(sed -n 's/^inner-guest: VERDICT //p' "$VSNG_RESULTS/inner-guest.out")" ;;
	esac
	local vendor model size verified riops wiops disk
	disk=$(get disk) vendor=$(get vendor) model=$(get model) size=$(get size_bytes)
	verified=$(get verified_bytes) riops=$(get fio_read_iops) wiops=$(get fio_write_iops)
	if [ "$vendor" = LIO-ORG ] && [ "$size" = $((SIZE_MB * 1048576)) ]; then
		ok "inner guest sees $disk: $vendor $model, $((size / 1048576)) MiB"
	else
		notok "inner guest sees a $SIZE_MB MiB LIO-ORG disk (got '${disk:-none}' '$vendor' '$model' '${size:-?}')"
	fi
	if [ "$verified" = $((VERIFY_MB * 1048576)) ]; then
		ok "O_DIRECT write + read-back compare of $verified bytes"
	else
		notok "O_DIRECT write + read-back compare"
	fi
	if [ -n "$riops" ] && [ "$(get fio_errors)" = 0 ]; then
		ok "fio 4k randrw qd16 8s: read IOPS $riops, write IOPS $wiops"
	else
		notok "fio 4k randrw ran without errors"
	fi
	t0=$SECONDS
	if out=$(scripts/target-targetcli.sh destroy --wwpn "$WWPN" 2>&1); then
		ok "targetcli: target and ramdisk deleted ($((SECONDS - t0))s)"
	else
		echo "$out" | sed 's/^/# /'
		notok "targetcli: delete target"
	fi
	if vsng_unload_target; then
		ok "unload the $TARGET target"
	else
		notok "unload the $TARGET target"
	fi
	local bad
	bad=$(dmesg 2>/dev/null | grep -E 'BUG:|WARNING:|Oops|general protection|Call Trace|refcount_t|list_del corruption|KASAN' | head -n 5)
	if [ -z "$bad" ]; then
		ok "kernel log clean (no BUG/WARNING/Oops)"
	else
		echo "$bad" | sed 's/^/# /'
		notok "kernel log clean"
	fi
	{
		echo "==================== vhost-scsi-ng demo report ===================="
		echo "target under test : $TARGET ($(vsng_target_mod "$TARGET"))"
		echo "disk seen by guest: /dev/${disk:-?}  vendor '${vendor:-?}'  model '${model:-?}'  size $((${size:-0} / 1048576)) MiB"
		echo "                    (SCSI target 1, LUN 0 via -device vhost-scsi-pci,wwpn=$WWPN)"
		echo "bytes verified    : ${verified:-0} (O_DIRECT write, read back, compared equal)"
		echo "fio 4k randrw qd16: read ${riops:-?} IOPS, write ${wiops:-?} IOPS (8 s, nested KVM in TCG: only ratios mean anything)"
		echo "inner guest       : ${itime}s, platform retries $retries"
		echo "result            : $([ $failed = 0 ] && echo PASS || echo "FAIL ($failed checks failed)")"
		echo "==================================================================="
	} | tee "$VSNG_RESULTS/demo-report.txt"
	finish
}

if [ "${1:-}" = --guest ]; then
	guest_main
fi

# --------------------------------------------------------------------------
# host half
# --------------------------------------------------------------------------
LOGDIR= BUILD=1
while [ $# -gt 0 ]; do
	case "$1" in
	--logdir) LOGDIR=${2:?}; shift 2 ;;
	--no-build) BUILD=0; shift ;;
	*) echo "demo: unknown option '$1'" >&2; exit 2 ;;
	esac
done
case "$TARGET" in
ours|intree) ;;
*) echo "demo: TARGET must be ours or intree, not '$TARGET'" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "demo: must run as root" >&2; exit 2; }
LOGDIR=${LOGDIR:-$REPO/results/$(date -u +%Y%m%d-%H%M%S)/demo-$TARGET}
mkdir -p "$LOGDIR"
FALLBACK=0
T_START=$SECONDS

if [ $BUILD = 1 ]; then
	t0=$SECONDS
	echo "demo: building the module (make module)"
	if ! make -s module >"$LOGDIR/build.log" 2>&1; then
		tail -n 20 "$LOGDIR/build.log" | sed 's/^/demo: build: /'
		if [ "$TARGET" = ours ]; then
			echo "demo: ************************************************************"
			echo "demo: our module did NOT build; running the demo against the"
			echo "demo: in-tree vhost_scsi instead (TARGET=intree). Exit will be 1."
			echo "demo: ************************************************************"
			TARGET=intree
			FALLBACK=1
		fi
	fi
	T_BUILD=$((SECONDS - t0))
	echo "demo: build took ${T_BUILD}s"
fi
if [ "$TARGET" = ours ] && [ ! -f "$REPO/vhost_scsi_ng.ko" ]; then
	echo "demo: $REPO/vhost_scsi_ng.ko missing; falling back to TARGET=intree (exit will be 1)"
	TARGET=intree
	FALLBACK=1
fi
export TARGET

t0=$SECONDS
scripts/inner-guest.sh --build-initrd >/dev/null || { echo "demo: cannot build the inner initramfs" >&2; exit 1; }
T_INITRD=$((SECONDS - t0))

echo "demo: booting the test guest (TARGET=$TARGET), logs in $LOGDIR"
t0=$SECONDS
scripts/vm-run --logdir "$LOGDIR" --timeout "${VSNG_DEMO_TIMEOUT:-900}" -- scripts/demo.sh --guest
rc=$?
T_GUEST=$((SECONDS - t0))
boot=$(sed -n 's/.*vm-run: guest up in \([0-9.]*\)s.*/\1/p' "$LOGDIR/console.log" | head -n1)
echo "demo: wall times: build ${T_BUILD:-0}s, inner initramfs ${T_INITRD}s, guest boot ${boot:-?}s, guest run total ${T_GUEST}s, all $((SECONDS - T_START))s"
if [ $FALLBACK = 1 ]; then
	echo "demo: NOTE: ran against the in-tree target because our module did not build"
	exit 1
fi
exit $rc
