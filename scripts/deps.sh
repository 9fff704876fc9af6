#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh (make deps): set this Debian 12 (bookworm) machine up for
# vhost-scsi-ng, saying first what will change. What the machine boots is
# never touched: Debian's 6.12 kernel for the test guest, its modules and its
# headers are extracted from their packages into the project's cache
# (/var/cache/vhost-scsi-ng/kernel/<kver>/), not installed, so /boot, the
# boot loader's configuration and /lib/modules stay as they were. The README's
# "What setup changes on your machine" lists everything this script does.
#
# Usage: scripts/deps.sh [--yes]            set up; asks once unless --yes
#                                           or CI=true; quiet when all is there
#        scripts/deps.sh --remove [--yes]   undo it (make distclean-deps)
#        scripts/deps.sh --plan             print what setup would change
#        scripts/deps.sh --kernel-61 [--yes]  also Debian's 6.1 kernel image
#                                           for a test guest (make deps-61;
#                                           or VSNG_DEPS_61=1), extracted
#                                           into the cache like the 6.12 one
#
# What setup added is recorded in /var/lib/vhost-scsi-ng/deps/: "packages"
# (every package it installed, dependencies included) and "sources" (the apt
# source file it created).
set -euo pipefail
export LC_ALL=C

SELF_DIR=$(cd "$(dirname "$(readlink -f "$0")")" && pwd -P)
# shellcheck source=scripts/kernel-paths.sh
. "$SELF_DIR/kernel-paths.sh"

log() { echo "deps: $*"; }
die() { echo "deps: $*" >&2; exit 1; }

MODE=setup
YES=0
WANT61=${VSNG_DEPS_61:-0}
for a in "$@"; do
	case "$a" in
	--yes|-y) YES=1 ;;
	--remove) MODE=remove ;;
	--plan) MODE=plan ;;
	--kernel-61) WANT61=1 ;;
	-h|--help) sed -n '3,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$a' (see scripts/deps.sh --help)" ;;
	esac
done
case "${CI:-}" in true|1|yes) YES=1 ;; esac
[ "$(id -u)" = 0 ] || die "must run as root (apt-get; the cache is in /var/cache)"

CACHE=$KP_TOP
KCACHE=$KP_CACHE
STATE=/var/lib/vhost-scsi-ng/deps
BPO_LIST=/etc/apt/sources.list.d/bookworm-backports.sources

# Packages from bookworm itself (the 6.1 headers are handled below). Not
# busybox-static: on a machine with initramfs-tools, installing it rebuilds
# the initramfs of the installed kernels (its hook puts busybox in them); it
# is extracted into $CACHE/busybox instead.
BASE_PKGS="build-essential bc bison flex libelf-dev libssl-dev dwarves kmod
cpio xz-utils zstd targetcli-fb python3-rtslib-fb python3-gi dbus fio
sparse gnuplot-nox python3 procps iproute2
dkms dh-dkms debhelper dpkg-dev openssl
libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients"
# From bookworm-backports: linux-source-6.12, qemu-system-x86, qemu-utils
# (below). Never a kernel image: the 6.12 kernel (and its headers, whose
# package depends on the image) is extracted into $KCACHE instead.

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]; }
installed_list() { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" { print $2 }' | sort; }
have_qemu10() { [[ $(qemu-system-x86_64 --version 2>/dev/null) =~ version\ 1[0-9]\. ]]; }
have_src() { [ -r /usr/src/linux-source-6.12.tar.xz ]; }
have_61_headers() { ls -d /usr/src/linux-headers-6.1.*-amd64 >/dev/null 2>&1; }
# The 6.1 test kernel (make deps-61): the image of the installed headers.
have_kernel61() {
	local k
	k=$(kp_kver61)
	[ -n "$k" ] && [ -r "$(kp_image "$k")" ] && [ -d "$(kp_moddir "$k")/kernel" ]
}
# The test kernel: bzImage, modules and headers, installed or in the cache.
have_kernel() {
	local k
	k=$(kp_kver)
	[ -r "$(kp_image "$k")" ] && [ -f "$(kp_kdir "$k")/Makefile" ]
}
have_busybox() {	# a static one
	local b
	b=$(kp_busybox)
	[ -x "$b" ] && [[ $(LC_ALL=C ldd "$b" 2>&1) != *'=>'* ]]
}
has_bpo_source() { [ -e "$BPO_LIST" ] || grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; }
size() { du -sh "$@" 2>/dev/null | awk '{ print $1 }' | paste -sd+; }

# The mirror the machine already uses for bookworm (it may be the only one
# reachable), else deb.debian.org.
bookworm_mirror() {
	{
		sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\)[[:space:]]\+bookworm[[:space:]].*/\2/p' \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
		awk 'BEGIN { RS = ""; FS = "\n" }
		     /(^|\n)Suites:[^\n]*[[:space:]]bookworm([[:space:]]|$)/ || /(^|\n)Suites:[[:space:]]*bookworm([[:space:]]|$)/ {
			for (i = 1; i <= NF; i++)
				if ($i ~ /^URIs:/) { sub(/^URIs:[[:space:]]*/, "", $i); split($i, u, /[[:space:]]+/); print u[1] }
		     }' /etc/apt/sources.list.d/*.sources 2>/dev/null
	} | grep -v security | head -n1 || true
}

# Ask once (unless --yes or CI=true); no terminal and no --yes: stop.
confirm() {
	[ "$YES" = 1 ] && return 0
	local ans
	( : </dev/tty ) 2>/dev/null ||
		die "nothing changed: no terminal to ask on; run with --yes (make $1 YES=1) or CI=true"
	printf 'deps: go ahead? [y/N] ' >/dev/tty
	read -r ans </dev/tty || ans=
	case "$ans" in y|Y|yes|YES) ;; *) die "nothing changed" ;; esac
}

# Refuse an apt-get install that would install a kernel image or a boot
# loader: that would change what this machine boots.
apt_install() {
	local bad
	bad=$(apt-get -s install --no-install-recommends "$@" 2>/dev/null |
		awk '$1 == "Inst" && $2 ~ /^(linux-image-|grub-|shim-|systemd-boot|initramfs-tools|dracut)/ { print $2 }' | paste -sd' ')
	[ -z "$bad" ] || die "refusing: installing $* would also install $bad, which changes what this machine boots"
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---- the kernel for the test guest, extracted into the cache ----------------
# Newest 6.12 image in the apt lists (6.12.95+deb12-amd64, the one the project
# was written against, while the archive has it).
bpo_kver() {
	local all
	all=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+[^ ]*-amd64$' | awk '{ print $1 }' |
		grep -v -e '-unsigned$' -e '-dbg$' | sed 's/^linux-image-//')
	if grep -qxF "$KP_DEF_KVER" <<<"$all"; then
		echo "$KP_DEF_KVER"
	else
		sort -V <<<"$all" | tail -n1
	fi
}

# Debian's 6.1 image for the installed 6.1 headers (modules included; the
# headers stay the installed package's).
extract_kernel61() {
	local k=$1 root=$KCACHE/$1 tmp
	tmp=$KCACHE/.$k.tmp
	rm -rf "$tmp"
	download_extract "$tmp" "linux-image-$k"
	[ -r "$tmp/boot/vmlinuz-$k" ] || die "no boot/vmlinuz-$k in linux-image-$k"
	[ -d "$tmp/lib/modules/$k/kernel" ] || die "no lib/modules/$k in linux-image-$k"
	depmod -b "$tmp" "$k" || die "depmod failed for $tmp/lib/modules/$k"
	rm -rf "$root"
	mv "$tmp" "$root"
}

extract_kernel() {
	local k=$1 root=$KCACHE/$1 tmp pkgs
	# The headers package depends on the image and on these two.
	pkgs="linux-image-$k linux-headers-$k $(apt-cache depends "linux-headers-$k" |
		awk '$1 == "Depends:" && $2 ~ /^linux-(headers-.*-common|kbuild-)/ { print $2 }' | paste -sd' ')"
	tmp=$KCACHE/.$k.tmp
	rm -rf "$tmp"
	# shellcheck disable=SC2086
	download_extract "$tmp" $pkgs
	[ -r "$tmp/boot/vmlinuz-$k" ] || die "no boot/vmlinuz-$k in linux-image-$k"
	[ -d "$tmp/lib/modules/$k/kernel" ] || die "no lib/modules/$k in linux-image-$k"
	# Paths the packages give as absolute /usr/src/...: make them the cache's.
	sed -i "s|^include /usr/src/|include $root/usr/src/|" "$tmp/usr/src/linux-headers-$k/Makefile"
	ln -sfn "$root/usr/src/linux-headers-$k" "$tmp/lib/modules/$k/build"
	rm -f "$tmp/lib/modules/$k/source"
	# What the package's postinst would have made: modules.dep & co.
	depmod -b "$tmp" "$k" || die "depmod failed for $tmp/lib/modules/$k"
	rm -rf "$root"
	mv "$tmp" "$root"
}

# apt-get download PKGS into DIR/.download, dpkg-deb -x them all into DIR
download_extract() {
	local dir=$1 dl=$KP_TOP/.download p
	shift
	rm -rf "$dl"
	mkdir -p "$dl" "$dir"
	chown _apt "$dl" 2>/dev/null || true	# apt-get download's sandbox user
	log "downloading $*"
	(cd "$dl" && apt-get download -qq "$@") || die "apt-get download failed for: $*"
	for p in "$dl"/*.deb; do
		dpkg-deb -x "$p" "$dir" || die "cannot extract $p"
	done
	rm -rf "$dl"
}

extract_busybox() {
	local tmp=$CACHE/.busybox.tmp b
	rm -rf "$tmp"
	download_extract "$tmp" busybox-static
	b=$tmp/bin/busybox
	[ -f "$b" ] || b=$tmp/usr/bin/busybox
	[ -f "$b" ] || die "no bin/busybox in the busybox-static package"
	mkdir -p "$tmp/bin.new" && mv "$b" "$tmp/bin.new/busybox"
	rm -rf "$CACHE/busybox"
	mkdir -p "$CACHE/busybox"
	mv "$tmp/bin.new" "$CACHE/busybox/bin"
	rm -rf "$tmp"
}

# ---- remove (make distclean-deps) ---------------------------------------------
do_remove() {
	local ours=() keep=() p extra sz
	[ -s "$STATE/packages" ] && mapfile -t ours < <(comm -12 "$STATE/packages" <(installed_list))
	sz=$(size "$CACHE")
	log "distclean-deps will change this machine as follows:"
	[ ${#ours[@]} -eq 0 ] || log "  remove the ${#ours[@]} packages setup installed (listed in $STATE/packages), but none that another package needs"
	[ -s "$STATE/sources" ] && log "  remove the apt source $(cat "$STATE/sources") (kept while packages from it remain)"
	[ -d "$CACHE" ] && log "  delete $CACHE (${sz:-0}: test kernel, guest initramfs, checkpatch, debug kernel)"
	[ -d "$STATE" ] && log "  delete $STATE (the record of what setup added)"
	if [ ${#ours[@]} -eq 0 ] && [ ! -s "$STATE/sources" ] && [ ! -d "$CACHE" ] && [ ! -d "$STATE" ]; then
		log "nothing that setup added is left"
		return 0
	fi
	confirm distclean-deps
	export DEBIAN_FRONTEND=noninteractive
	if [ ${#ours[@]} -ne 0 ]; then
		# Only what nothing else needs: a package whose removal would take
		# one setup did not install stays.
		extra=$(apt-get -s remove "${ours[@]}" | awk '$1 == "Remv" { print $2 }' | sort | comm -23 - "$STATE/packages")
		if [ -n "$extra" ]; then
			for p in "${ours[@]}"; do
				if [ -n "$(apt-get -s remove "$p" | awk '$1 == "Remv" { print $2 }' | sort | comm -23 - "$STATE/packages")" ]; then
					log "keeping $p: other packages need it"
				else
					keep+=("$p")
				fi
			done
			ours=("${keep[@]}")
		fi
		if [ ${#ours[@]} -ne 0 ]; then
			log "removing ${#ours[@]} packages"
			apt-get remove -y -qq "${ours[@]}" >/dev/null
		fi
	fi
	if [ -s "$STATE/sources" ]; then
		p=$(cat "$STATE/sources")
		extra=$(dpkg-query -W -f='${db:Status-Abbrev} ${Version} ${Package}\n' | awk '$1 == "ii" && $2 ~ /~bpo/ { print $3 }' | paste -sd' ')
		if [ -n "$extra" ]; then
			log "keeping $p: installed packages come from bookworm-backports: $extra"
		else
			log "removing the apt source $p"
			rm -f "$p"
			apt-get update -qq || true
		fi
	fi
	rm -rf "$CACHE" "$STATE"
	rmdir /var/lib/vhost-scsi-ng 2>/dev/null || true
	log "done"
}

if [ "$MODE" = remove ]; then
	do_remove
	exit 0
fi

# ---- setup: what is missing --------------------------------------------------
missing=()
for p in $BASE_PKGS; do
	installed "$p" || missing+=("$p")
done
bpo=()
have_src || bpo+=(linux-source-6.12)
have_qemu10 || bpo+=(qemu-system-x86 qemu-utils)
need61=0
have_61_headers || need61=1
needk=0
have_kernel || needk=1
needbb=0
have_busybox || needbb=1
needk61=0
[ "$WANT61" = 1 ] && ! have_kernel61 && needk61=1

if [ ${#missing[@]} -eq 0 ] && [ ${#bpo[@]} -eq 0 ] && [ $need61 = 0 ] && [ $needk = 0 ] && [ $needbb = 0 ] && [ $needk61 = 0 ]; then
	k=$(kp_kver)
	log "all dependencies present (kernel $(kp_image "$k"), $(qemu-system-x86_64 --version | head -n1 | sed 's/ *Copyright.*//'))"
	[ "$WANT61" != 1 ] || log "and the 6.1 test kernel $(kp_image "$(kp_kver61)")"
	exit 0
fi

add_source=0
has_bpo_source || add_source=1
MIRROR=$(bookworm_mirror)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
log "setup will change this machine as follows:"
[ $add_source = 0 ] || log "  add the apt source $BPO_LIST (bookworm-backports from $MIRROR)"
[ ${#missing[@]} -eq 0 ] || log "  install from bookworm: ${missing[*]}"
[ $need61 = 0 ] || log "  install from bookworm: the 6.1 kernel headers (newest linux-headers-6.1.0-*-amd64; no kernel image)"
[ ${#bpo[@]} -eq 0 ] || log "  install from bookworm-backports: ${bpo[*]}"
[ ${#missing[@]} -eq 0 ] && [ ${#bpo[@]} -eq 0 ] && [ $need61 = 0 ] ||
	log "    (and the packages these depend on; all are listed in $STATE/packages)"
[ $needk = 0 ] || log "  extract (not install) Debian's 6.12 kernel, modules and headers from bookworm-backports into $KCACHE/<kver>/ (about 215 MB; 120 MB download, not kept)"
[ $needk61 = 0 ] || log "  extract (not install) Debian's 6.1 kernel image and modules (linux-image-<the 6.1 headers' release>) into $KCACHE/<kver>/ (about 405 MB; 71 MB download, not kept)"
[ $needbb = 0 ] || log "  extract (not install) busybox-static from bookworm into $CACHE/busybox/ (2 MB)"
log "  /boot, the boot loader, the initramfs and /lib/modules are not touched"
[ "$MODE" = plan ] && exit 0
confirm deps

export DEBIAN_FRONTEND=noninteractive
before=$(installed_list)
mkdir -p "$STATE"
boot_before=$(ls -l --time-style=full-iso /boot 2>&1)
record() {	# what setup added, for make distclean-deps
	{ comm -13 <(echo "$before") <(installed_list); cat "$STATE/packages" 2>/dev/null || true; } |
		sort -u >"$STATE/packages.new" && mv "$STATE/packages.new" "$STATE/packages"
	# Not expected: a package's trigger (an initramfs hook) rewrote /boot.
	if [ "$boot_before" != "$(ls -l --time-style=full-iso /boot 2>&1)" ]; then
		echo "deps: WARNING: /boot changed while packages were installed:" >&2
		diff <(echo "$boot_before") <(ls -l --time-style=full-iso /boot 2>&1) | sed 's/^/deps:   /' >&2
	fi
}
trap record EXIT

if [ $add_source = 1 ]; then
	log "adding $BPO_LIST"
	cat >"$BPO_LIST" <<EOS
Types: deb
URIs: $MIRROR
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	echo "$BPO_LIST" >"$STATE/sources"
fi

log "apt-get update"
apt-get update -qq -o Acquire::Retries=3 || apt-get update -o Acquire::Retries=3

if [ ${#missing[@]} -ne 0 ]; then
	log "installing from bookworm: ${missing[*]}"
	apt_install "${missing[@]}"
fi
if [ $need61 = 1 ]; then
	pkg=$(apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' | awk '{ print $1 }' | sort -V | tail -n1)
	[ -n "$pkg" ] || die "no linux-headers-6.1.0-*-amd64 package in the apt lists"
	log "installing $pkg"
	apt_install "$pkg"
fi
if [ ${#bpo[@]} -ne 0 ]; then
	log "installing from bookworm-backports: ${bpo[*]}"
	apt_install -t bookworm-backports "${bpo[@]}"
fi
if [ $needbb = 1 ]; then
	extract_busybox
fi
if [ $needk = 1 ]; then
	k=$(bpo_kver)
	[ -n "$k" ] || die "no linux-image-6.12.*-amd64 package in the apt lists (is bookworm-backports in the apt sources?)"
	extract_kernel "$k"
fi

if [ $needk61 = 1 ]; then
	k=$(kp_kver61)
	[ -n "$k" ] || die "no 6.1 headers installed"
	extract_kernel61 "$k"
	have_kernel61 || die "6.1 kernel missing after setup"
fi

have_kernel || die "6.12 kernel/headers missing after setup"
have_busybox || die "static busybox missing after setup"
have_qemu10 || die "QEMU 10 missing after setup"
have_src || die "linux-source-6.12 missing after setup"
k=$(kp_kver)
log "done: kernel $k ($(kp_image "$k")), $(qemu-system-x86_64 --version | head -n1 | sed 's/ *Copyright.*//'); cache $KCACHE: $(size "$KCACHE")"
