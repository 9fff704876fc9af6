#!/bin/bash
# Install everything vhost-scsi-ng needs on Debian 12 (bookworm).
# Idempotent: quick when all is already present. Prints what it does.
set -euo pipefail

log() { echo "deps: $*"; }

if [ "$(id -u)" != 0 ]; then
	echo "deps: must run as root (apt-get install)" >&2
	exit 1
fi

KVER_PKG_RE='6\.12\.'
BPO_LIST=/etc/apt/sources.list.d/bookworm-backports.sources

# Packages from bookworm itself (the 6.1 headers are handled below)
BASE_PKGS="build-essential bc bison flex libelf-dev libssl-dev dwarves kmod
busybox-static cpio xz-utils zstd targetcli-fb python3-rtslib-fb python3-gi dbus fio
sparse gnuplot-nox python3 procps iproute2"
# Packages we need from bookworm-backports
BPO_PKGS="linux-image-amd64 linux-headers-amd64 linux-source-6.12 qemu-system-x86 qemu-utils"

missing=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' || missing+=("$1"); }

for p in $BASE_PKGS; do
	need_pkg "$p"
done

have_bpo_kernel() { ls /boot/vmlinuz-6.12.*-amd64 >/dev/null 2>&1 && ls -d /usr/src/linux-headers-6.12.*-amd64 >/dev/null 2>&1; }
have_qemu10() { qemu-system-x86_64 --version 2>/dev/null | grep -q 'version 1[0-9]\.'; }
have_src() { ls /usr/src/linux-source-6.12.tar.xz >/dev/null 2>&1; }
have_61_headers() { ls -d /usr/src/linux-headers-6.1.*-amd64 >/dev/null 2>&1; }

if [ ${#missing[@]} -eq 0 ] && have_bpo_kernel && have_qemu10 && have_src && have_61_headers; then
	log "all dependencies present"
	exit 0
fi

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
	} | grep -v security | head -n1
}

if [ ! -e "$BPO_LIST" ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	MIRROR=$(bookworm_mirror || true)	# a missing sources file is no error
	MIRROR=${MIRROR:-http://deb.debian.org/debian}
	log "adding bookworm-backports suite from $MIRROR ($BPO_LIST)"
	cat > "$BPO_LIST" <<EOS
Types: deb
URIs: $MIRROR
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
fi

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
apt-get update -qq -o Acquire::Retries=3 || apt-get update -o Acquire::Retries=3

if [ ${#missing[@]} -ne 0 ]; then
	log "installing from bookworm: ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! have_61_headers; then
	log "installing 6.1 headers (bookworm)"
	apt-get install -y -qq --no-install-recommends -t bookworm linux-headers-amd64 >/dev/null || true
	# the bookworm meta package may be shadowed by backports; pick the 6.1 one by name
	if ! have_61_headers; then
		pkg=$(apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -1)
		[ -n "$pkg" ] && apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
	fi
fi
if ! have_bpo_kernel || ! have_qemu10 || ! have_src; then
	log "installing from bookworm-backports: $BPO_PKGS"
	apt-get install -y -qq --no-install-recommends -t bookworm-backports $BPO_PKGS >/dev/null
fi

have_bpo_kernel || { echo "deps: 6.12 kernel/headers missing after install" >&2; exit 1; }
have_qemu10 || { echo "deps: QEMU 10 missing after install" >&2; exit 1; }
have_src || { echo "deps: linux-source-6.12 missing after install" >&2; exit 1; }
log "done: kernel $(ls /boot/vmlinuz-6.12.* | sed 's|/boot/vmlinuz-||' | sort -V | tail -1), $(qemu-system-x86_64 --version | head -1)"
