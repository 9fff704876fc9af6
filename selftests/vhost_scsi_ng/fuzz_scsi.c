// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_fuzz: LUN addresses and CDBs.  Every opcode is reachable (a raw
 * byte), and a table of the opcodes LIO implements gets plausible fields
 * (an LBA on the disk, a transfer length that matches the buffers, an
 * allocation length) so that the commands get past the first checks.
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz_scsi.h"

/* Opcodes LIO's SBC/SPC emulation handles (and a few it does not). */
static const uint8_t known_ops[] = {
	0x00, 0x03, 0x08, 0x0a, 0x12, 0x15, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e,
	0x25, 0x28, 0x2a, 0x2e, 0x2f, 0x35, 0x3b, 0x3c, 0x41, 0x42, 0x4d,
	0x55, 0x5a, 0x5e, 0x5f, 0x7f, 0x83, 0x84, 0x88, 0x89, 0x8a, 0x8e,
	0x8f, 0x91, 0x93, 0x9e, 0xa0, 0xa3, 0xa4, 0xa8, 0xaa, 0xaf,
};

void fz_lun(struct fz *f, uint8_t lun[8])
{
	uint8_t m = fz_u8(f);
	int i;

	switch (m % 8) {
	case 3:
		vsng_lun_encode(lun, f->t->tpgt, 1);
		break;
	case 4:
		vsng_lun_encode(lun, f->t->tpgt, 2 + (m >> 3));
		break;
	case 5:
		vsng_lun_encode(lun, fz_u8(f), m >> 3);
		break;
	case 6:
		vsng_lun_encode(lun, f->t->tpgt, 0);
		lun[0] = fz_u8(f);
		lun[2] = fz_u8(f);
		break;
	case 7:
		for (i = 0; i < 8; i++)
			lun[i] = fz_u8(f);
		break;
	default:
		vsng_lun_encode(lun, f->t->tpgt, 0);
		break;
	}
}

static int cdb_len(uint8_t op)
{
	switch (op >> 5) {
	case 0: return 6;
	case 1: case 2: return 10;
	case 4: return 16;
	case 5: return 12;
	default: return 16;
	}
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	while (n--) {
		p[n] = v;
		v >>= 8;
	}
}

void fz_cdb(struct fz *f, uint8_t cdb[VIRTIO_SCSI_CDB_SIZE], uint32_t dout,
	    uint32_t din)
{
	uint8_t m = fz_u8(f);
	uint8_t op = m & 1 ? known_ops[fz_u8(f) % sizeof(known_ops)] : fz_u8(f);
	uint32_t xfer = dout > din ? dout : din;
	uint32_t blocks = m & 2 ? fz_u8(f) : xfer / 512;
	uint32_t lba = m & 4 ? fz_u32(f) : fz_u16(f) % 8192;
	int len = cdb_len(op), i;

	for (i = 0; i < VIRTIO_SCSI_CDB_SIZE; i++)
		cdb[i] = (m >> 6) == 3 ? fz_u8(f) : 0;
	cdb[0] = op;
	if ((m >> 6) == 3)
		return;		/* all bytes raw */
	if ((m >> 6) == 2)
		for (i = 1; i < len; i++)
			cdb[i] = fz_u8(f);
	switch (op) {
	case 0x08: case 0x0a:			/* READ/WRITE(6) */
		put_be(cdb + 1, lba & 0x1fffff, 3);
		cdb[4] = blocks;
		break;
	case 0x28: case 0x2a: case 0x2e: case 0x2f: case 0x41: case 0x35:
		put_be(cdb + 2, lba, 4);	/* 10-byte LBA commands */
		put_be(cdb + 7, blocks, 2);
		break;
	case 0x88: case 0x8a: case 0x89: case 0x8e: case 0x8f: case 0x93:
	case 0x91:
		put_be(cdb + 2, lba, 8);	/* 16-byte LBA commands */
		put_be(cdb + 10, blocks, 4);
		break;
	case 0xa8: case 0xaa: case 0xaf:
		put_be(cdb + 2, lba, 4);
		put_be(cdb + 6, blocks, 4);
		break;
	case 0x12:				/* INQUIRY */
		cdb[1] = m & 8 ? 1 : 0;
		cdb[2] = m & 8 ? fz_u8(f) : 0;
		put_be(cdb + 3, m & 16 ? fz_u16(f) : din, 2);
		break;
	case 0x03: case 0x1a: case 0x1c:	/* REQUEST SENSE, MODE SENSE(6) */
		cdb[2] = fz_u8(f);
		cdb[4] = m & 16 ? fz_u8(f) : din;
		break;
	case 0x5a: case 0x4d: case 0x5e:	/* MODE SENSE(10), LOG SENSE, PR IN */
		cdb[1] = fz_u8(f) & 0x1f;
		cdb[2] = fz_u8(f);
		put_be(cdb + 7, m & 16 ? fz_u16(f) : din, 2);
		break;
	case 0x55: case 0x5f: case 0x42:	/* MODE SELECT(10), PR OUT, UNMAP */
		cdb[1] = fz_u8(f) & 0x1f;
		put_be(cdb + 7, m & 16 ? fz_u16(f) : dout, 2);
		break;
	case 0x15:				/* MODE SELECT(6) */
		cdb[4] = dout;
		break;
	case 0xa0:				/* REPORT LUNS */
		put_be(cdb + 6, m & 16 ? fz_u32(f) : din, 4);
		break;
	case 0x9e: case 0xa3: case 0x83: case 0x84:	/* service actions */
		cdb[1] = fz_u8(f) & 0x1f;
		put_be(cdb + 10, m & 16 ? fz_u32(f) : din, 4);
		break;
	case 0x7f:				/* variable length */
		cdb[7] = m & 16 ? fz_u8(f) : 0x18;
		cdb[8] = fz_u8(f);
		cdb[9] = fz_u8(f);
		put_be(cdb + 12, lba, 8);
		put_be(cdb + 28, blocks, 4);
		break;
	default:
		break;
	}
}
