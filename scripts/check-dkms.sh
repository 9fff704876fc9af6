#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-dkms.sh (make check-dkms; a phase of make check-full): build the
# Debian package (scripts/mkdeb.sh) and run scripts/dkms-guest-test.sh in a
# test guest: install it, DKMS builds for the guest's 6.12 kernel under TCG,
# the stock names load our module, targetcli and I/O work on top, removal
# leaves nothing. Prints TAP; exit 0 when everything passed.
#
# Env: VSNG_RESULTS_DIR (logs; default results/dkms-<date>),
# VSNG_DKMS_GUEST_LOGDIR (the guest's, default $VSNG_RESULTS_DIR/guest),
# VSNG_DKMS_TIMEOUT (guest timeout, default 3600 s: the DKMS build and depmod under
# TCG take most of it; 2003 s measured on a busy 2-core machine).
set -u
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$REPO" || exit 2
export KVER=${KVER:-$(scripts/kernel-paths.sh kver)}
RES=${VSNG_RESULTS_DIR:-$REPO/results/dkms-$(date -u +%Y%m%d-%H%M%S)}
GUEST=${VSNG_DKMS_GUEST_LOGDIR:-$RES/guest}
mkdir -p "$RES" "$GUEST"

# Into the guest's log directory, which the guest sees at the same path.
if ! deb=$(scripts/mkdeb.sh "$GUEST/deb" 2>"$RES/mkdeb.err" | tail -n 1) || [ ! -f "$deb" ]; then
	echo "not ok 1 check-dkms: make deb failed"
	sed 's/^/# /' "$RES/mkdeb.err"
	exit 1
fi
echo "# package: ${deb#"$REPO"/}"
# selftests/vhost_scsi_ng/vsng_data does the I/O in the guest.
if [ ! -x selftests/vhost_scsi_ng/vsng_data ]; then
	make -s selftests >"$RES/build-selftests.log" 2>&1 ||
		{ echo "not ok 1 check-dkms: make selftests failed"; exit 1; }
fi
scripts/vm-run --logdir "$GUEST" --timeout "${VSNG_DKMS_TIMEOUT:-3600}" \
	--env VSNG_DEB="$deb" -- bash scripts/dkms-guest-test.sh
