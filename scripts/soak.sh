#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make soak: chaos under load (selftests/vhost_scsi_ng/soak_test.c) in a
# test guest, one guest per target: owners writing and reading back their
# blocks while owners are killed, endpoints cycled, LUNs relinked, nexuses
# recreated, TPG attributes flipped and TMFs sent.  run.sh then checks that
# no LIO object is left, that the target unloads and that the kernel log is
# clean; the host scans the console log (scripts/kreport-scan.py).
#
# Environment:
#   SOAK_TIME      seconds of chaos (default 600)
#   SOAK_OWNERS    owner processes, one TPG each (default 3)
#   SOAK_TARGETS   targets, in order (default "ours"; "ours intree")
#   VSNG_RESULTS_DIR  where the logs go (default results/soak-<date>)
# Exit status: 0 when every target's guest passed.

set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$REPO" || exit 2
STIME=${SOAK_TIME:-600}
OWNERS=${SOAK_OWNERS:-3}
RES=${VSNG_RESULTS_DIR:-$REPO/results/soak-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$RES"
rc=0
summary=()
for t in ${SOAK_TARGETS:-ours}; do
	start=$(date +%s)
	TARGET=$t scripts/vm-run --logdir "$RES/$t" \
		--timeout $((STIME * 2 + 600)) \
		--env VSNG_SOAK_TIME="$STIME" --env VSNG_SOAK_OWNERS="$OWNERS" \
		-- selftests/vhost_scsi_ng/run.sh vsng_soak 2>&1 | tee "$RES/$t.log"
	r=${PIPESTATUS[0]}
	python3 scripts/kreport-scan.py --tap "soak-$t: kernel log scan" \
		"$RES/$t/console.log" | tee -a "$RES/$t.log"
	grep -q '^not ok' "$RES/$t.log" && r=${r/#0/1}
	[ "$r" = 0 ] || rc=1
	summary+=("$t: $([ "$r" = 0 ] && echo PASS || echo "FAIL (exit $r)"), guest wall time $(($(date +%s) - start)) s")
	while read -r l; do summary+=("  ${l#\# }"); done < <(grep '^# soak:' "$RES/$t.log")
done
printf '\n=============================== make soak summary ===============================\n'
printf '%s\n' "${summary[@]}"
echo "logs: ${RES#"$REPO"/}/"
exit $rc
