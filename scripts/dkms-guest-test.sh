#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-guest-test.sh: the vhost-scsi-ng-dkms package as an administrator
# uses it, INSIDE the test guest (scripts/check-dkms.sh starts it through
# vm-run). Prints TAP.
#   1. makes /usr and /lib/modules writable (overlays with tmpfs upper
#      layers: vm-run shares the host's root read-only), notes what is there;
#   2. dpkg -i the .deb: DKMS builds, signs and installs the module for the
#      running kernel;
#   3. "modprobe vhost_scsi" loads vhost_scsi_ng; targetcli's own load
#      ("tcm_vhost") does too; a LUN made with targetcli under the stock
#      names; I/O with read-back through /dev/vhost-scsi (selftest
#      vsng_data); the one-command switch back to the in-tree module;
#   4. dpkg --purge: nothing of the package is left (files, DKMS tree,
#      modules, modprobe configuration, modules.dep).
#
# Usage (guest): VSNG_DEB=path/vhost-scsi-ng-dkms_<v>_all.deb dkms-guest-test.sh

set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd -P)
REPO=$(cd "$HERE/.." && pwd -P)
# shellcheck source=scripts/guest-lib.sh
. "$HERE/guest-lib.sh"
DEB=${VSNG_DEB:?VSNG_DEB: the .deb to install}
PKG=vhost-scsi-ng-dkms
VER=$("$HERE/dkms-src.sh" --version)
K=$(uname -r)
OUT=${VSNG_RESULTS:-/tmp}
CFS=/sys/kernel/config/target
WWPN=naa.5001405dd0000001
MODPROBE=/sbin/modprobe
T=/tmp/dkms-test
export DEBIAN_FRONTEND=noninteractive
PLAN=27

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n $*"; }
# check DESCRIPTION CMD...: ok when CMD succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
note() { sed 's/^/# /'; }
loaded() { [ -d "/sys/module/$1" ]; }

echo "TAP version 13"
echo "1..$PLAN"
echo "# kernel $K, package $(basename "$DEB"), version $VER"

# ---- 1. a writable system -----------------------------------------------------
# /lib is /usr/lib (merged /usr). vm-run lays the test kernel's modules over
# /lib/modules with an overlay on top of its /var overlay, and overlayfs
# stacks at most two deep: take the lower layers from a plain bind of the
# 9p root instead (no submounts), the modules from where kernel-paths.sh
# says they are.
writable() {
	local moddir
	moddir=$(readlink -f "$("$HERE/kernel-paths.sh" moddir "$K")/..")
	mkdir -p $T/root $T/usr/upper $T/usr/work $T/lm/upper $T/lm/work &&
	mount --bind / $T/root &&
	mount -t overlay -o lowerdir=$T/root/usr,upperdir=$T/usr/upper,workdir=$T/usr/work overlay /usr &&
	mount -t overlay -o "lowerdir=$T/root$moddir,upperdir=$T/lm/upper,workdir=$T/lm/work" overlay /usr/lib/modules &&
	[ -d "/lib/modules/$K/kernel" ] && touch /usr/src/.w "/lib/modules/$K/.w" && rm /usr/src/.w "/lib/modules/$K/.w"
}
check "/usr and /lib/modules made writable (overlays on tmpfs)" writable

# What the package may touch, by name; DKMS's MOK key pair is DKMS's own (it
# signs every DKMS module and must outlive any one package) and is left out.
snapshot() {
	find /usr/src /usr/lib/modprobe.d /etc/modprobe.d /lib/modules/"$K" /var/lib/dkms \
		/usr/share/doc/$PKG 2>/dev/null | grep -v -e '^/var/lib/dkms/mok\.' | sort
}
snapshot >$T/before.txt
[ -d /var/lib/dkms ] || mkdir -p /var/lib/dkms
echo "# $(wc -l <$T/before.txt) paths noted before the install"

# ---- 2. install ---------------------------------------------------------------
t0=$SECONDS
if dpkg -i "$DEB" >"$OUT/dpkg-install.log" 2>&1; then
	ok "dpkg -i $(basename "$DEB") ($((SECONDS - t0)) s, DKMS build included)"
else
	nok "dpkg -i $(basename "$DEB") failed (dpkg-install.log)"
	tail -n 20 "$OUT/dpkg-install.log" | note
	cp /var/lib/dkms/vhost-scsi-ng/"$VER"/build/make.log "$OUT/dkms-make.log" 2>/dev/null
fi
note <"$OUT/dpkg-install.log" | grep -iE 'build|sign|install|error' | head -n 12
st=$(dkms status -m vhost-scsi-ng -v "$VER" -k "$K" 2>&1)
echo "# dkms status: $st"
check "dkms status: installed for the running kernel $K" grep -q ': installed' <<<"$st"
ko=$(find /lib/modules/"$K"/updates/dkms -name 'vhost_scsi_ng.ko*' 2>/dev/null | head -n1)
check "module in /lib/modules/$K/updates/dkms/ (${ko##*/})" test -n "$ko"
vm=$(modinfo -F vermagic "${ko:-/nonexistent}" 2>/dev/null | cut -d' ' -f1)
check "module built for $K (vermagic '$vm')" test "$vm" = "$K"
v=$(modinfo -F version "${ko:-/nonexistent}" 2>/dev/null)
check "module version '$v' is the package's ($VER)" test "$v" = "$VER"

# Signing: dkms signs with its MOK key (/var/lib/dkms/mok.key, made on first
# use) since the kernel has CONFIG_MODULE_SIG.
signer=$(modinfo -F signer "${ko:-/nonexistent}" 2>/dev/null)
check "module signed by the DKMS MOK key (signer '$signer')" test "$signer" = "DKMS module signing key"
norm() { tr -d ':\n ' | tr 'a-f' 'A-F' | sed 's/^0*//'; }
key=$(modinfo -F sig_key "${ko:-/nonexistent}" 2>/dev/null | norm)
cert=$(openssl x509 -inform DER -in /var/lib/dkms/mok.pub -noout -serial 2>/dev/null | sed 's/^serial=//' | norm)
check "signature's key is /var/lib/dkms/mok.pub (serial ${cert:-none})" test -n "$cert" -a "$key" = "$cert"

# ---- 3. stock names ------------------------------------------------------------
check "/lib/modprobe.d/vhost-scsi-ng.conf installed" test -f /lib/modprobe.d/vhost-scsi-ng.conf
r=$($MODPROBE -R tcm_vhost 2>&1)
check "tcm_vhost (targetcli's name) resolves to vhost_scsi_ng (got '$r')" test "$r" = vhost_scsi_ng
$MODPROBE -n -v vhost_scsi 2>&1 | note
vsng_load_lio >/dev/null
$MODPROBE vhost_scsi 2>&1 | note
check "modprobe vhost_scsi loads vhost_scsi_ng, not the in-tree vhost_scsi" eval 'loaded vhost_scsi_ng && ! loaded vhost_scsi'
check "loaded module is the package's (/sys/module/vhost_scsi_ng/version $(cat /sys/module/vhost_scsi_ng/version 2>/dev/null))" \
	test "$(cat /sys/module/vhost_scsi_ng/version 2>/dev/null)" = "$VER"
check "/dev/vhost-scsi is there" test -c /dev/vhost-scsi
vsng_unload_target

# targetcli with no target module loaded: rtslib loads "tcm_vhost" itself.
vsng_start_dbus >/dev/null 2>&1
"$HERE/target-targetcli.sh" create --wwpn $WWPN --backend rd --size 64 2>&1 | note
check "targetcli made /vhost/$WWPN/tpg1/luns/lun0 (configfs)" test -d $CFS/vhost/$WWPN/tpgt_1/lun/lun_0
check "targetcli's own module load got vhost_scsi_ng" eval 'loaded vhost_scsi_ng && ! loaded vhost_scsi'
targetcli ls /vhost 2>&1 | head -n 8 | note
"$HERE/target-targetcli.sh" destroy --wwpn $WWPN 2>&1 | note
check "targetcli removed the target" test ! -e $CFS/vhost/$WWPN

# I/O through the stock names: the data selftest (its own LUNs in configfs
# under fabric "vhost", /dev/vhost-scsi, write then read back and compare).
TARGET=ours VSNG_FABRIC=vhost VSNG_DEV=/dev/vhost-scsi VSNG_TARGET_MOD=vhost_scsi_ng \
	"$REPO/selftests/vhost_scsi_ng/vsng_data" >$T/data.tap 2>&1
rc=$?
cp $T/data.tap "$OUT/vsng_data.tap"
np=$(grep -cE '^ok ' $T/data.tap)
nf=$(grep -cE '^not ok ' $T/data.tap)
grep -E '^(not )?ok ' $T/data.tap | head -n 30 | note
check "vsng_data through the DKMS module: $np passed, $nf failed (exit $rc)" test "$rc" = 0 -a "$np" -gt 0 -a "$nf" = 0
vsng_unload_target
check "target module unloaded" eval '! loaded vhost_scsi_ng'

# The documented switch back: an empty file of the same name in /etc masks
# /lib/modprobe.d/vhost-scsi-ng.conf.
echo '# in-tree vhost_scsi' >/etc/modprobe.d/vhost-scsi-ng.conf
r=$($MODPROBE -n -v vhost_scsi 2>&1)
echo "$r" | note
# shellcheck disable=SC2016 # expanded by eval
check "switched back: modprobe -n -v vhost_scsi would insmod the in-tree vhost_scsi.ko" \
	eval 'grep -q "^insmod .*/kernel/drivers/vhost/vhost_scsi\.ko" <<<"$r"'
$MODPROBE vhost_scsi 2>&1 | note
check "switched back: modprobe vhost_scsi loads the in-tree module" eval 'loaded vhost_scsi && ! loaded vhost_scsi_ng'
vsng_unload_target
rm -f /etc/modprobe.d/vhost-scsi-ng.conf

# ---- 4. remove ------------------------------------------------------------------
t0=$SECONDS
if dpkg --purge $PKG >"$OUT/dpkg-purge.log" 2>&1; then
	ok "dpkg --purge $PKG ($((SECONDS - t0)) s)"
else
	nok "dpkg --purge $PKG failed (dpkg-purge.log)"
	tail -n 20 "$OUT/dpkg-purge.log" | note
fi
check "dpkg: $PKG no longer installed" eval "! dpkg-query -W -f='\${Status}' $PKG 2>/dev/null | grep -q 'ok installed'"
check "dkms status lists nothing of vhost-scsi-ng" test -z "$(dkms status -m vhost-scsi-ng 2>/dev/null)"
snapshot >$T/after.txt
diff $T/before.txt $T/after.txt >$T/diff.txt
note <$T/diff.txt | head -n 20
check "nothing left behind: /usr/src, modprobe.d, /lib/modules/$K, /var/lib/dkms as before" test ! -s $T/diff.txt
check "modules.dep has no vhost_scsi_ng" eval "! grep -q vhost_scsi_ng /lib/modules/$K/modules.dep"
r=$($MODPROBE -R tcm_vhost 2>&1)
check "tcm_vhost resolves to the in-tree vhost_scsi again (got '$r')" test "$r" = vhost_scsi
find /var/lib/dkms -maxdepth 1 -name 'mok.*' | sed 's/$/ (DKMS'"'"'s signing key, kept)/' | note

dmesg >"$OUT/dmesg.txt" 2>/dev/null
bad=$(grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace' "$OUT/dmesg.txt" | head -n 5)
[ -n "$bad" ] && note <<<"$bad"
check "kernel log: no WARNING, BUG or Oops" test -z "$bad"

[ "$n" = "$PLAN" ] || echo "# plan says $PLAN, ran $n"
echo "# $((n - fails)) passed, $fails failed"
[ "$fails" = 0 ] && [ "$n" = "$PLAN" ]
