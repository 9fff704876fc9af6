# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# guest-lib.sh: helpers for scripts running INSIDE the vm-run test guest.
# Source it:  . scripts/guest-lib.sh
#
#   vsng_load_lio             configfs (mounted), target_core_mod (after
#                             /etc/target exists), target_core_iblock,
#                             target_core_file. rd_mcp is part of target_core_mod.
#   vsng_load_target ours|intree [MODPARAM=VALUE...]
#                             ours: insmod $VSNG_MODULE (default
#                             <repo>/vhost_scsi_ng.ko); intree: /sbin/modprobe
#                             vhost_scsi. Refuses to load one while the other
#                             is loaded under the same names (both register
#                             fabric "vhost"); side by side works when ours
#                             gets devname=... fabric=... (module parameters).
#                             Sets VSNG_TARGET_MOD to the module name.
#   vsng_unload_target        rmmod whichever of the two is loaded (after
#                             removing the empty fabric dir, vhost or
#                             $VSNG_FABRIC, which holds a module reference).
#   vsng_start_dbus           start a system D-Bus (targetcli-fb needs one).
#   vsng_target_mod ours|intree  print the module name (vhost_scsi_ng|vhost_scsi).
#   vsng_modprobe MOD [ARGS]  /sbin/modprobe (busybox's applet cannot load .ko.xz).
#
# Everything returns non-zero and prints "guest-lib: ..." on stderr on failure.

VSNG_REPO=${VSNG_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)}
VSNG_MODULE=${VSNG_MODULE:-$VSNG_REPO/vhost_scsi_ng.ko}
VSNG_CONFIGFS=/sys/kernel/config

vsng_err() { echo "guest-lib: $*" >&2; }

vsng_modprobe() {
	/sbin/modprobe "$@" || { vsng_err "modprobe $* failed"; return 1; }
}

vsng_mod_loaded() { [ -d "/sys/module/$1" ]; }

vsng_load_lio() {
	# target_core_mod reads its db_root at load time: create it first.
	mkdir -p /etc/target
	vsng_modprobe configfs || return 1
	if ! grep -q " $VSNG_CONFIGFS configfs " /proc/mounts; then
		mount -t configfs configfs "$VSNG_CONFIGFS" ||
			{ vsng_err "cannot mount configfs"; return 1; }
	fi
	vsng_modprobe target_core_mod || return 1
	vsng_modprobe target_core_iblock || return 1
	vsng_modprobe target_core_file || return 1
	[ -d "$VSNG_CONFIGFS/target" ] || { vsng_err "no $VSNG_CONFIGFS/target"; return 1; }
}

vsng_target_mod() {
	case "${1:-ours}" in
	ours) echo vhost_scsi_ng ;;
	intree) echo vhost_scsi ;;
	*) vsng_err "unknown target '$1' (ours|intree)"; return 1 ;;
	esac
}

vsng_load_target() {
	local which=${1:-${TARGET:-ours}}
	[ $# -gt 0 ] && shift
	local mod
	mod=$(vsng_target_mod "$which") || return 1
	vsng_mod_loaded target_core_mod || vsng_load_lio || return 1
	# Side by side is fine when ours uses other names (devname= and fabric=).
	local renamed=0
	case " $* " in *" devname="*) case " $* " in *" fabric="*) renamed=1 ;; esac ;; esac
	if [ -d /sys/module/vhost_scsi_ng/parameters ] &&
	   [ "$(cat /sys/module/vhost_scsi_ng/parameters/fabric 2>/dev/null)" != vhost ] &&
	   [ "$(cat /sys/module/vhost_scsi_ng/parameters/devname 2>/dev/null)" != vhost-scsi ]; then
		renamed=1
	fi
	if [ $renamed = 0 ] && [ "$mod" = vhost_scsi_ng ] && vsng_mod_loaded vhost_scsi; then
		vsng_err "in-tree vhost_scsi is loaded; unload it first (or load ours with devname= fabric=)"; return 1
	fi
	if [ $renamed = 0 ] && [ "$mod" = vhost_scsi ] && vsng_mod_loaded vhost_scsi_ng; then
		vsng_err "vhost_scsi_ng is loaded under the same names; unload it first"; return 1
	fi
	if vsng_mod_loaded "$mod"; then
		VSNG_TARGET_MOD=$mod
		return 0
	fi
	if [ "$mod" = vhost_scsi_ng ]; then
		[ -f "$VSNG_MODULE" ] || { vsng_err "$VSNG_MODULE not built (run make)"; return 1; }
		insmod "$VSNG_MODULE" "$@" || { vsng_err "insmod $VSNG_MODULE failed"; return 1; }
	else
		vsng_modprobe vhost_scsi "$@" || return 1
	fi
	VSNG_TARGET_MOD=$mod
	export VSNG_TARGET_MOD
}

vsng_unload_target() {
	local m rc=0 f
	# An (empty) fabric directory holds a reference on its module.
	for f in vhost ${VSNG_FABRIC:-} $(cat /sys/module/vhost_scsi_ng/parameters/fabric 2>/dev/null); do
		[ -d "$VSNG_CONFIGFS/target/$f" ] && rmdir "$VSNG_CONFIGFS/target/$f" 2>/dev/null
	done
	for m in vhost_scsi_ng vhost_scsi; do
		if vsng_mod_loaded "$m"; then
			rmmod "$m" || { vsng_err "rmmod $m failed"; rc=1; }
		fi
	done
	return $rc
}

vsng_start_dbus() {
	# targetcli-fb asks Gio for the system bus outside any try block.
	if [ -S /run/dbus/system_bus_socket ] && pgrep -x dbus-daemon >/dev/null 2>&1; then
		return 0
	fi
	mkdir -p /run/dbus
	dbus-daemon --system --fork --nopidfile ||
		{ vsng_err "cannot start dbus-daemon"; return 1; }
	local i
	for i in $(seq 50); do
		[ -S /run/dbus/system_bus_socket ] && return 0
		sleep 0.1
	done
	vsng_err "dbus socket did not appear"
	return 1
}
