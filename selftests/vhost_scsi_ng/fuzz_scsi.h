/* SPDX-License-Identifier: GPL-2.0 */
/* vsng_fuzz: LUN bytes and CDBs (fuzz_scsi.c). */
#ifndef FUZZ_SCSI_H
#define FUZZ_SCSI_H

#include "fuzz.h"

void fz_lun(struct fz *f, uint8_t lun[8]);
void fz_cdb(struct fz *f, uint8_t cdb[VIRTIO_SCSI_CDB_SIZE], uint32_t dout,
	    uint32_t din);

#endif /* FUZZ_SCSI_H */
