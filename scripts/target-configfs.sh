#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# target-configfs.sh: set up / tear down a LIO target through raw configfs
# (mkdir, echo, ln -s). Fast (well under a second); for the tests.
# Run inside the test guest, after LIO and the fabric module are loaded
# (scripts/guest-lib.sh: vsng_load_lio, vsng_load_target).
#
# Usage:
#   target-configfs.sh create  --wwpn naa.X [--fabric vhost] [--tpgt 1] [--lun 0]
#                              [--backend rd|brd|nullb|fileio] [--size MB]
#                              [--name STORE] [--nexus naa.Y]
#                              [--dev-attrib K=V]... [--tpg-attrib K=V]...
#   target-configfs.sh destroy --wwpn naa.X [--fabric vhost] [--tpgt N] [--lun L]
#   target-configfs.sh destroy-all [--fabric vhost]
#   target-configfs.sh show    [--fabric vhost]
#
# create: makes the backing store (default rd, 64 MiB) and
#   target/<fabric>/<wwpn>/tpgt_<tpgt>/lun/lun_<lun> linked to it; sets the
#   TPG nexus (fabrics that have a nexus file, like vhost) when it has none.
#   Calling it again with another --lun/--tpgt adds to the same wwpn.
#   --fabric may be any fabric directory name, e.g. the name our module is
#   loaded with for side-by-side runs.
#   Backends: rd = target_core_mod's rd_mcp RAM disk; brd = /dev/ramN from the
#   brd module through iblock; nullb = /dev/nullbN (null_blk, data not kept)
#   through iblock; fileio = a sparse file in /tmp through target_core_file.
#   --dev-attrib sets core/<hba>/<store>/attrib/K, --tpg-attrib sets
#   tpgt_N/attrib/K (e.g. a tunable of our module).
#   Prints "created <fabric> <wwpn> tpgt <N> lun <L> -> <hba>/<store>".
# destroy: removes that LUN (or all LUNs of the TPG without --lun, or every
#   TPG of the wwpn without --tpgt), then the TPG and wwpn once empty, and the
#   backing stores the removed LUNs used (when no other LUN uses them).
# destroy-all: destroy every wwpn of the fabric.
# Exit status 0 on success; errors are printed as "target-configfs: ...".

set -u
CFS=/sys/kernel/config/target

err() { echo "target-configfs: $*" >&2; exit 1; }
usage() { sed -n '3,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

OP=${1:-}
[ -n "$OP" ] || usage
shift
FABRIC=vhost WWPN= TPGT= LUN= BACKEND=rd SIZE=64 NAME= NEXUS=
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
	--nexus) NEXUS=${2:?}; shift 2 ;;
	--dev-attrib) DEV_ATTRS+=("${2:?}"); shift 2 ;;
	--tpg-attrib) TPG_ATTRS+=("${2:?}"); shift 2 ;;
	-h|--help) usage ;;
	*) err "unknown option '$1'" ;;
	esac
done

[ -d "$CFS" ] || err "$CFS missing: load LIO first (vsng_load_lio)"

# write VALUE FILE: echo into a configfs attribute, with a clear error.
write() {
	echo "$1" >"$2" 2>/dev/null || err "cannot write '$1' to $2"
}

store_dir() {	# HBA STORE -> path
	echo "$CFS/core/$1/$2"
}

make_backend() {
	local hba dev store
	case "$BACKEND" in
	rd)
		hba=rd_mcp_0
		mkdir -p "$CFS/core/$hba/$NAME" || err "cannot create $hba/$NAME"
		store=$CFS/core/$hba/$NAME
		if [ "$(cat "$store/enable" 2>/dev/null)" != 1 ]; then
			write "rd_pages=$((SIZE * 256))" "$store/control"
			write 1 "$store/enable"
		fi
		;;
	brd)
		if [ ! -b /dev/ram0 ]; then
			/sbin/modprobe brd rd_nr=8 rd_size=$((SIZE * 1024)) ||
				err "modprobe brd failed"
		fi
		dev=
		for d in /dev/ram[0-9]*; do
			[ -b "$d" ] || continue
			cat "$CFS"/core/iblock_*/*/udev_path 2>/dev/null | grep -qx "$d" && continue
			dev=$d
			break
		done
		[ -n "$dev" ] || err "no free /dev/ramN"
		hba=iblock_0
		store=$CFS/core/$hba/$NAME
		mkdir -p "$store" || err "cannot create $hba/$NAME"
		if [ "$(cat "$store/enable" 2>/dev/null)" != 1 ]; then
			write "udev_path=$dev" "$store/control"
			write 1 "$store/enable"
		fi
		;;
	nullb)
		if [ ! -b /dev/nullb0 ]; then
			/sbin/modprobe null_blk nr_devices=1 gb=$(((SIZE + 1023) / 1024)) ||
				err "modprobe null_blk failed"
		fi
		hba=iblock_1
		store=$CFS/core/$hba/$NAME
		mkdir -p "$store" || err "cannot create $hba/$NAME"
		if [ "$(cat "$store/enable" 2>/dev/null)" != 1 ]; then
			write "udev_path=/dev/nullb0" "$store/control"
			write 1 "$store/enable"
		fi
		;;
	fileio)
		hba=fileio_0
		store=$CFS/core/$hba/$NAME
		mkdir -p /tmp/vsng-fileio
		local f=/tmp/vsng-fileio/$NAME.img
		mkdir -p "$store" || err "cannot create $hba/$NAME"
		if [ "$(cat "$store/enable" 2>/dev/null)" != 1 ]; then
			truncate -s "${SIZE}M" "$f" || err "cannot create $f"
			write "fd_dev_name=$f,fd_dev_size=$((SIZE * 1024 * 1024))" "$store/control"
			write 1 "$store/enable"
		fi
		;;
	*) err "unknown backend '$BACKEND' (rd|brd|nullb|fileio)" ;;
	esac
	local kv
	for kv in "${DEV_ATTRS[@]}"; do
		write "${kv#*=}" "$store/attrib/${kv%%=*}"
	done
	STORE_HBA=$hba
	STORE=$store
}

random_naa() {
	printf 'naa.5001405%09x' "$(( (RANDOM << 15 | RANDOM) & 0xfffffffff ))"
}

do_create() {
	[ -n "$WWPN" ] || err "--wwpn is required"
	TPGT=${TPGT:-1}
	LUN=${LUN:-0}
	[[ $TPGT =~ ^[0-9]+$ ]] || err "--tpgt must be a number"
	[[ $LUN =~ ^[0-9]+$ ]] || err "--lun must be a number"
	[[ $SIZE =~ ^[0-9]+$ ]] || err "--size must be a number of MiB"
	if [ -z "$NAME" ]; then
		NAME=vsng_${WWPN##*.}_t${TPGT}_l${LUN}
	fi
	make_backend

	local f=$CFS/$FABRIC
	if [ ! -d "$f" ]; then
		mkdir "$f" 2>/dev/null || err "cannot create fabric dir $f (is the fabric module loaded?)"
	fi
	local tpg=$f/$WWPN/tpgt_$TPGT
	mkdir -p "$f/$WWPN" 2>/dev/null || err "cannot create $f/$WWPN"
	mkdir -p "$tpg" 2>/dev/null || err "cannot create $tpg"
	local kv
	for kv in "${TPG_ATTRS[@]}"; do
		write "${kv#*=}" "$tpg/attrib/${kv%%=*}"
	done
	local lundir=$tpg/lun/lun_$LUN
	if [ -d "$lundir" ] && [ -n "$(ls "$lundir" 2>/dev/null | grep -v '^alua\|^statistics')" ]; then
		err "$lundir already exists and is linked"
	fi
	mkdir -p "$lundir" || err "cannot create $lundir"
	ln -s "$STORE" "$lundir/$NAME" || err "cannot link $lundir to $STORE"
	if [ -f "$tpg/nexus" ]; then
		local cur
		cur=$(cat "$tpg/nexus" 2>/dev/null)
		if [ -z "$cur" ] || [ "$cur" = "NULL" ]; then
			write "${NEXUS:-$(random_naa)}" "$tpg/nexus"
		fi
	fi
	echo "created $FABRIC $WWPN tpgt $TPGT lun $LUN -> $STORE_HBA/$NAME ($BACKEND, ${SIZE} MiB)"
}

# Remove one LUN dir; remember its backing store for cleanup.
STORES=()
remove_lun() {
	local lundir=$1 l t
	for l in "$lundir"/*; do
		[ -L "$l" ] || continue
		t=$(readlink -f "$l")
		STORES+=("$t")
		rm -f "$l" || err "cannot unlink $l"
	done
	rmdir "$lundir" || err "cannot remove $lundir"
}

remove_tpg() {
	local tpg=$1 d
	for d in "$tpg"/lun/lun_*; do
		[ -d "$d" ] && remove_lun "$d"
	done
	# ACLs (none made by us, but be thorough)
	for d in "$tpg"/acls/*; do
		[ -d "$d" ] || continue
		find "$d" -mindepth 2 -maxdepth 2 -type l -delete 2>/dev/null
		rmdir "$d"/lun_* 2>/dev/null
		rmdir "$d" || err "cannot remove ACL $d"
	done
	rmdir "$tpg" || err "cannot remove $tpg (still in use by QEMU?)"
}

store_in_use() {
	local l
	for l in "$CFS"/*/*/tpgt_*/lun/lun_*/*; do
		[ -L "$l" ] && [ "$(readlink -f "$l")" = "$1" ] && return 0
	done
	return 1
}

cleanup_stores() {
	local s hba
	for s in "${STORES[@]}"; do
		[ -d "$s" ] || continue
		store_in_use "$s" && continue
		local f=
		if [[ ${s%/*} == */fileio_* ]]; then
			f=$(sed -n 's/.*File: \([^ ]*\).*/\1/p' "$s/info" 2>/dev/null | head -n1)
		fi
		rmdir "$s" || { echo "target-configfs: cannot remove $s" >&2; continue; }
		[ -n "$f" ] && [[ $f == /tmp/vsng-fileio/* ]] && rm -f "$f"
		hba=${s%/*}
		rmdir "$hba" 2>/dev/null
	done
	return 0
}

do_destroy() {
	[ -n "$WWPN" ] || err "--wwpn is required"
	local w=$CFS/$FABRIC/$WWPN t
	[ -d "$w" ] || err "no such target $w"
	if [ -n "$TPGT" ]; then
		local tpg=$w/tpgt_$TPGT
		[ -d "$tpg" ] || err "no such TPG $tpg"
		if [ -n "$LUN" ]; then
			[ -d "$tpg/lun/lun_$LUN" ] || err "no such LUN $tpg/lun/lun_$LUN"
			remove_lun "$tpg/lun/lun_$LUN"
			if [ -z "$(ls -d "$tpg"/lun/lun_* 2>/dev/null)" ]; then
				remove_tpg "$tpg"
			fi
		else
			remove_tpg "$tpg"
		fi
	else
		for t in "$w"/tpgt_*; do
			[ -d "$t" ] && remove_tpg "$t"
		done
	fi
	if [ -z "$(ls -d "$w"/tpgt_* 2>/dev/null)" ]; then
		rmdir "$w" || err "cannot remove $w"
	fi
	cleanup_stores
	echo "destroyed $FABRIC $WWPN${TPGT:+ tpgt $TPGT}${LUN:+ lun $LUN}"
}

do_destroy_all() {
	local w
	[ -d "$CFS/$FABRIC" ] || return 0
	for w in "$CFS/$FABRIC"/*/; do
		w=${w%/}
		[ -d "$w" ] || continue
		case "${w##*/}" in discovery_auth) continue ;; esac
		ls -d "$w"/tpgt_* >/dev/null 2>&1 || [ -z "$(ls "$w")" ] || continue
		WWPN=${w##*/} TPGT= LUN=
		do_destroy
	done
}

do_show() {
	local l
	[ -d "$CFS/$FABRIC" ] || { echo "(no $FABRIC fabric)"; return 0; }
	for l in "$CFS/$FABRIC"/*/tpgt_*/lun/lun_*/*; do
		[ -L "$l" ] || continue
		echo "${l#"$CFS"/} -> $(readlink -f "$l" | sed "s|$CFS/||")"
	done
}

case "$OP" in
create) do_create ;;
destroy) do_destroy ;;
destroy-all) do_destroy_all ;;
show) do_show ;;
*) usage ;;
esac
