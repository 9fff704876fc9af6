#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# multiqueue-packed: the multiqueue scenario over packed virtqueues (-device
# vhost-scsi-pci,...,packed=on), VIRTIO_F_RING_PACKED checked in the inner
# guest before fio; in-tree must refuse the packed ring. See multiqueue.sh
# and RG_PACKED in lib.sh.
RG_PACKED=1 exec bash "$(dirname "$0")/multiqueue.sh"
