#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# migrate-packed: the migrate scenario over packed virtqueues (-device
# vhost-scsi-pci,...,packed=on): dirty logging of the packed ring and the
# packed GET/SET_VRING_BASE encoding across a live migration. See
# migrate.sh and RG_PACKED in lib.sh. Run by hand (not in make check).
RG_PACKED=1 exec bash "$(dirname "$0")/migrate.sh"
