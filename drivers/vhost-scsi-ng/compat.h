/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-scsi-ng: the only place kernel-version differences live.
 *
 * Features are detected, not assumed from version numbers: scripts/kprobe.sh
 * compiles small probes against the target kernel's headers and writes
 * compat-autoconf.h with HAVE_* defines.  Each shim below names the
 * upstream change that made it necessary.
 *
 * Section "engine": owned by the virtqueue engine (vq/worker/mem/notify).
 * Section "target": owned by the LIO side (scsi/fabric/configfs).
 */
#ifndef _VSNG_COMPAT_H
#define _VSNG_COMPAT_H

#include "compat-autoconf.h"

/* ---- engine ---------------------------------------------------------- */

/* ---- target ---------------------------------------------------------- */

#endif /* _VSNG_COMPAT_H */
