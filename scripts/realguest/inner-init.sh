#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the real-guest tests' INNER guest (nested KVM). It loads the
# virtio_scsi stack, then runs /test.sh (written per boot by the scenario on
# the outer side) and reports on the serial console; see lib.sh.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
for m in $(cat /modlist); do
	insmod /mods/$m.ko
done
. /inner-lib.sh
ctl_open || echo "VSNG-BOOT: no control port ttyS1"
echo "VSNG-BOOT: up at $(cut -d' ' -f1 /proc/uptime)s, $(grep -c ^processor /proc/cpuinfo) vCPUs"
. /test.sh
echo "VSNG-VERDICT: DONE at $(cut -d' ' -f1 /proc/uptime)s"
sync
poweroff -f
sleep 30
