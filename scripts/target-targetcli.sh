#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# target-targetcli.sh: set up / tear down a LIO target through targetcli-fb
# (the way users do it). Same options as target-configfs.sh. Slower (Python:
# several seconds under TCG), so the tests use it where targetcli itself is
# what is tested, and the demo. Run inside the test guest after LIO and the
# fabric module are loaded; a system D-Bus is started if none runs.
#
# Usage:
#   target-targetcli.sh create  --wwpn naa.X [--fabric vhost] [--tpgt 1] [--lun 0]
#                               [--backend rd|brd|nullb|fileio] [--size MB]
#                               [--name STORE] [--dev-attrib K=V]...
#                               [--tpg-attrib K=V]...
#   target-targetcli.sh destroy --wwpn naa.X [--fabric vhost] [--tpgt N] [--lun L]
#   target-targetcli.sh show
#
# All targetcli commands of one call go to a single targetcli process (batch
# on stdin); the result is then checked in configfs, because targetcli's
# batch mode does not report errors through its exit status. The targetcli
# transcript goes to stderr when VSNG_VERBOSE=1 or when the check fails.
# --fabric must be a fabric rtslib knows (vhost, loopback, ...); for fabric
# names rtslib does not know, use target-configfs.sh.
# Backends map to targetcli backstores: rd -> ramdisk, brd -> block
# (/dev/ramN), nullb -> block (/dev/nullb0), fileio -> fileio (/tmp file).
# TPGs: targetcli makes tpg1 with a target; for --tpgt N != 1 the automatic
# tpg1 is deleted again when this call created the target.

set -u
CFS=/sys/kernel/config/target
HERE=$(cd "$(dirname "$0")" && pwd -P)

err() { echo "target-targetcli: $*" >&2; exit 1; }
usage() { sed -n '3,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

OP=${1:-}
[ -n "$OP" ] || usage
shift
FABRIC=vhost WWPN= TPGT= LUN= BACKEND=rd SIZE=64 NAME=
DEV_ATTRS=() TPG_ATTRS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--fabric) FABRIC=${2:?}; shift 2 ;;
	--wwpn) WWPN=${2:?}; shift 2 ;;
	--tpgt) TPGT=${2:?}; shift 2 ;;
	--lun) LUN=${2:?}; shift 2 ;;
	--backend) BACKEND=${2:?}; shift 2 ;;
	--size) SIZE=${2:?}; shift 2 ;;
	--name) NAME=${2:?}; shift 2 ;;
	--nexus) shift 2 ;;	# targetcli always generates the nexus itself
	--dev-attrib) DEV_ATTRS+=("${2:?}"); shift 2 ;;
	--tpg-attrib) TPG_ATTRS+=("${2:?}"); shift 2 ;;
	-h|--help) usage ;;
	*) err "unknown option '$1'" ;;
	esac
done

command -v targetcli >/dev/null || err "targetcli not found (package targetcli-fb)"
[ -d "$CFS" ] || err "$CFS missing: load LIO first (vsng_load_lio)"

# targetcli-fb needs a system bus.
if ! [ -S /run/dbus/system_bus_socket ]; then
	# shellcheck source=scripts/guest-lib.sh
	. "$HERE/guest-lib.sh"
	vsng_start_dbus || err "cannot start D-Bus"
fi

CMDS=()
TRANSCRIPT=$(mktemp /tmp/targetcli.XXXXXX)
trap 'rm -f "$TRANSCRIPT"' EXIT

run_batch() {
	local rc
	{
		echo "set global auto_save_on_exit=false"
		echo "set global auto_cd_after_create=false"
		printf '%s\n' "${CMDS[@]}"
		echo "exit"
	} | targetcli >"$TRANSCRIPT" 2>&1
	rc=$?
	if [ "${VSNG_VERBOSE:-0}" = 1 ]; then
		cat "$TRANSCRIPT" >&2
	fi
	return $rc
}

fail_batch() {
	echo "target-targetcli: $*; targetcli said:" >&2
	sed 's/^/  | /' "$TRANSCRIPT" >&2
	exit 1
}

do_create() {
	[ -n "$WWPN" ] || err "--wwpn is required"
	TPGT=${TPGT:-1}
	LUN=${LUN:-0}
	[[ $TPGT =~ ^[0-9]+$ ]] || err "--tpgt must be a number"
	[[ $LUN =~ ^[0-9]+$ ]] || err "--lun must be a number"
	[[ $SIZE =~ ^[0-9]+$ ]] || err "--size must be a number of MiB"
	[ -n "$NAME" ] || NAME=vsng_${WWPN##*.}_t${TPGT}_l${LUN}
	local bs dev d
	case "$BACKEND" in
	rd)
		bs=/backstores/ramdisk/$NAME
		CMDS+=("/backstores/ramdisk create name=$NAME size=${SIZE}M")
		;;
	brd)
		[ -b /dev/ram0 ] || /sbin/modprobe brd rd_nr=8 rd_size=$((SIZE * 1024)) ||
			err "modprobe brd failed"
		dev=
		for d in /dev/ram[0-9]*; do
			[ -b "$d" ] || continue
			cat "$CFS"/core/iblock_*/*/udev_path 2>/dev/null | grep -qx "$d" && continue
			dev=$d
			break
		done
		[ -n "$dev" ] || err "no free /dev/ramN"
		bs=/backstores/block/$NAME
		CMDS+=("/backstores/block create name=$NAME dev=$dev")
		;;
	nullb)
		[ -b /dev/nullb0 ] || /sbin/modprobe null_blk nr_devices=1 gb=$(((SIZE + 1023) / 1024)) ||
			err "modprobe null_blk failed"
		bs=/backstores/block/$NAME
		CMDS+=("/backstores/block create name=$NAME dev=/dev/nullb0")
		;;
	fileio)
		mkdir -p /tmp/vsng-fileio
		bs=/backstores/fileio/$NAME
		CMDS+=("/backstores/fileio create name=$NAME file_or_dev=/tmp/vsng-fileio/$NAME.img size=${SIZE}M sparse=true")
		;;
	*) err "unknown backend '$BACKEND' (rd|brd|nullb|fileio)" ;;
	esac
	local kv
	for kv in "${DEV_ATTRS[@]}"; do
		CMDS+=("$bs set attribute $kv")
	done
	local new_target=0
	if [ ! -d "$CFS/$FABRIC/$WWPN" ]; then
		CMDS+=("/$FABRIC create $WWPN")
		new_target=1
	fi
	if [ "$TPGT" != 1 ]; then
		[ -d "$CFS/$FABRIC/$WWPN/tpgt_$TPGT" ] || CMDS+=("/$FABRIC/$WWPN create tag=$TPGT")
		[ $new_target = 1 ] && CMDS+=("/$FABRIC/$WWPN delete tag=1")
	elif [ $new_target = 0 ] && [ ! -d "$CFS/$FABRIC/$WWPN/tpgt_1" ]; then
		CMDS+=("/$FABRIC/$WWPN create tag=1")
	fi
	for kv in "${TPG_ATTRS[@]}"; do
		CMDS+=("/$FABRIC/$WWPN/tpg$TPGT set attribute $kv")
	done
	CMDS+=("/$FABRIC/$WWPN/tpg$TPGT/luns create $bs lun=$LUN")
	run_batch || fail_batch "targetcli failed"

	# Check the result in configfs.
	local lundir=$CFS/$FABRIC/$WWPN/tpgt_$TPGT/lun/lun_$LUN l ok=0
	for l in "$lundir"/*; do
		[ -L "$l" ] && [ "$(readlink -f "$l")" = "$(readlink -f "$CFS"/core/*/"$NAME")" ] && ok=1
	done
	[ $ok = 1 ] || fail_batch "LUN $lundir was not created"
	if [ -f "$CFS/$FABRIC/$WWPN/tpgt_$TPGT/nexus" ] &&
	   [ -z "$(cat "$CFS/$FABRIC/$WWPN/tpgt_$TPGT/nexus" 2>/dev/null)" ]; then
		fail_batch "TPG $TPGT has no nexus"
	fi
	echo "created (targetcli) $FABRIC $WWPN tpgt $TPGT lun $LUN -> ${bs#/backstores/} ($BACKEND, ${SIZE} MiB)"
}

# Backstore path (targetcli) of a LUN's storage object.
lun_backstore() {
	local lundir=$1 l t hba
	for l in "$lundir"/*; do
		[ -L "$l" ] || continue
		t=$(readlink -f "$l")
		hba=${t%/*}
		hba=${hba##*/}
		case "$hba" in
		rd_mcp_*) echo "/backstores/ramdisk ${t##*/}" ;;
		iblock_*) echo "/backstores/block ${t##*/}" ;;
		fileio_*) echo "/backstores/fileio ${t##*/}" ;;
		pscsi_*) echo "/backstores/pscsi ${t##*/}" ;;
		esac
	done
}

do_destroy() {
	[ -n "$WWPN" ] || err "--wwpn is required"
	local w=$CFS/$FABRIC/$WWPN t l tag stores=() remaining
	[ -d "$w" ] || err "no such target $w"
	if [ -n "$TPGT" ] && [ -n "$LUN" ]; then
		l=$w/tpgt_$TPGT/lun/lun_$LUN
		[ -d "$l" ] || err "no such LUN $l"
		mapfile -t stores < <(lun_backstore "$l")
		CMDS+=("/$FABRIC/$WWPN/tpg$TPGT/luns delete lun=$LUN")
		remaining=$(ls -d "$w/tpgt_$TPGT"/lun/lun_* 2>/dev/null | grep -vc "/lun_$LUN\$")
		[ "$remaining" = 0 ] && CMDS+=("/$FABRIC/$WWPN delete tag=$TPGT")
		if [ "$remaining" = 0 ] && [ "$(ls -d "$w"/tpgt_* | wc -l)" = 1 ]; then
			CMDS+=("/$FABRIC delete $WWPN")
		fi
	elif [ -n "$TPGT" ]; then
		[ -d "$w/tpgt_$TPGT" ] || err "no such TPG $w/tpgt_$TPGT"
		for l in "$w/tpgt_$TPGT"/lun/lun_*; do
			[ -d "$l" ] && mapfile -t -O "${#stores[@]}" stores < <(lun_backstore "$l")
		done
		if [ "$(ls -d "$w"/tpgt_* | wc -l)" = 1 ]; then
			CMDS+=("/$FABRIC delete $WWPN")
		else
			CMDS+=("/$FABRIC/$WWPN delete tag=$TPGT")
		fi
	else
		for t in "$w"/tpgt_*; do
			for l in "$t"/lun/lun_*; do
				[ -d "$l" ] && mapfile -t -O "${#stores[@]}" stores < <(lun_backstore "$l")
			done
		done
		CMDS+=("/$FABRIC delete $WWPN")
	fi
	# Delete the backing stores that no other LUN uses after this.
	local s used scope=$w/
	[ -n "$TPGT" ] && scope=$w/tpgt_$TPGT/
	[ -n "$TPGT" ] && [ -n "$LUN" ] && scope=$w/tpgt_$TPGT/lun/lun_$LUN/
	for s in "${stores[@]}"; do
		used=0
		for l in "$CFS"/*/*/tpgt_*/lun/lun_*/*; do
			[ -L "$l" ] || continue
			[[ $l == "$scope"* ]] && continue
			[ "${s#* }" = "$(basename "$(readlink -f "$l")")" ] && used=1
		done
		[ $used = 0 ] && CMDS+=("${s% *} delete ${s#* }")
	done
	run_batch || fail_batch "targetcli failed"
	if [ -n "$TPGT" ] && [ -n "$LUN" ] && [ -d "$w/tpgt_$TPGT/lun/lun_$LUN" ]; then
		fail_batch "LUN still present"
	elif [ -z "$TPGT" ] && [ -d "$w" ]; then
		fail_batch "target still present"
	fi
	echo "destroyed (targetcli) $FABRIC $WWPN${TPGT:+ tpgt $TPGT}${LUN:+ lun $LUN}"
}

case "$OP" in
create) do_create ;;
destroy) do_destroy ;;
show) targetcli ls ;;
*) usage ;;
esac
