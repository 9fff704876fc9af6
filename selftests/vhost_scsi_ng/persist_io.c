// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_persist_io: attach to a target that already exists (made by
 * targetcli or restored by targetctl) and write or verify a block pattern
 * on some of its LUNs.  A helper of persist_test.sh, not a test itself.
 *
 *   vsng_persist_io WWPN TPGT write|verify SEED LUN...
 *
 * It plays the guest driver (vsng_drv.c): SET_ENDPOINT on WWPN, then per
 * LUN clears unit attentions and writes (write) or reads back and compares
 * (verify) 8 blocks at LBA 16 whose bytes depend on SEED and the LUN, and
 * in both modes reads back what it wrote.  It also prints what READ
 * CAPACITY(16) says of protection ("# LUN n: prot_en E p_type T"): with a
 * backstore without T10-PI that is the nexus's fabric_prot_type.  With
 * VSNG_PIO_BUSY_FILE set (a TPG attribute file), it writes each of the
 * values in VSNG_PIO_BUSY_VALUES (default "0") there while the endpoint is
 * set and prints "# busy write V: ok" or "# busy write V: <error>".  Prints "# ..." lines; exit 0 when every step worked, 1
 * otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vsng_drv.h"
#include "vsng_test.h"

#define PIO_LBA		16
#define PIO_BLOCKS	8
#define PIO_LEN		(PIO_BLOCKS * VSNG_BLK)

static void pattern(uint8_t *p, unsigned long seed, unsigned int lun)
{
	uint32_t x = (uint32_t)seed * 2654435761u + lun * 40503u + 1;
	int i;

	for (i = 0; i < PIO_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = x;
	}
}

static int rw(struct vsng_dev *d, uint8_t tpgt, unsigned int lun, bool write,
	      uint8_t *buf)
{
	struct vsng_vq *vq = &d->vq[VSNG_VQ_REQ];
	struct vsng_cmd c = { 0 };
	int err;

	vsng_cmd_init(&c, tpgt, lun);
	err = vsng_rw(vq, &c, 10, write, PIO_LBA, PIO_BLOCKS,
		      vsng_gpa(d, buf), PIO_LEN);
	if (err || !RESP_OK(&c) || c.rsp.status) {
		printf("# LUN %u: %s failed: err %d response %u status 0x%x sense %x/%x/%x\n",
		       lun, write ? "WRITE(10)" : "READ(10)", err,
		       c.rsp.response, c.rsp.status, vsng_sense_key(&c.rsp),
		       vsng_sense_asc(&c.rsp), vsng_sense_ascq(&c.rsp));
		return -EIO;
	}
	return 0;
}

/* READ CAPACITY(16): print PROT_EN and P_TYPE (byte 12). */
static int prot_info(struct vsng_dev *d, uint8_t tpgt, unsigned int lun,
		     uint8_t *buf)
{
	uint8_t cdb[16] = { 0x9e, 0x10 };
	struct vsng_cmd c = { 0 };
	int err;

	cdb[13] = 32;
	memset(buf, 0, 32);
	vsng_cmd_init(&c, tpgt, lun);
	err = vsng_scsi(&d->vq[VSNG_VQ_REQ], &c, cdb, 16, 0, 0,
			vsng_gpa(d, buf), 32);
	if (err || !RESP_OK(&c) || c.rsp.status) {
		printf("# LUN %u: READ CAPACITY(16) failed: err %d response %u status 0x%x\n",
		       lun, err, c.rsp.response, c.rsp.status);
		return -EIO;
	}
	printf("# LUN %u: prot_en %d p_type %d\n", lun, buf[12] & 1,
	       (buf[12] >> 1) & 7);
	return 0;
}

/* Eat unit attentions (e.g. the one a new nexus reports) on this LUN. */
static void clear_ua(struct vsng_dev *d, uint8_t tpgt, unsigned int lun)
{
	struct vsng_cmd c = { 0 };
	int i;

	for (i = 0; i < 4; i++)
		if (vsng_tur(&d->vq[VSNG_VQ_REQ], tpgt, lun, &c) ||
		    c.rsp.status != 2 || vsng_sense_key(&c.rsp) != 6)
			break;
}

/* Write values to an attribute file while this device uses the TPG. */
static void busy_write(const char *path, const char *values)
{
	char buf[64], *v, *save;
	ssize_t n;
	int fd;

	if (!path || !*path)
		return;
	snprintf(buf, sizeof(buf), "%s", values && *values ? values : "0");
	for (v = strtok_r(buf, " ", &save); v; v = strtok_r(NULL, " ", &save)) {
		fd = open(path, O_WRONLY);
		if (fd < 0) {
			printf("# busy write %s: open %s: %s\n", v, path,
			       strerror(errno));
			return;
		}
		n = write(fd, v, strlen(v));
		printf("# busy write %s: %s\n", v,
		       n == (ssize_t)strlen(v) ? "ok" : strerror(errno));
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct vsng_dev d = { .fd = -1 };
	uint8_t *want, *got;
	unsigned long seed;
	bool write;
	int err, i, bad = 0;
	uint8_t tpgt;

	if (argc < 6 || (strcmp(argv[3], "write") && strcmp(argv[3], "verify"))) {
		fprintf(stderr, "usage: %s WWPN TPGT write|verify SEED LUN...\n",
			argv[0]);
		return 2;
	}
	tpgt = strtoul(argv[2], NULL, 0);
	write = !strcmp(argv[3], "write");
	seed = strtoul(argv[4], NULL, 0);

	err = vsng_dev_init(&d, NULL);
	if (err) {
		printf("# device init (%s): %s\n", vsng_dev_path(), strerror(-err));
		return 1;
	}
	err = vsng_dev_set_endpoint(&d, argv[1]);
	if (err) {
		printf("# SET_ENDPOINT %s: %s\n", argv[1], strerror(-err));
		vsng_dev_close(&d);
		return 1;
	}
	printf("# SET_ENDPOINT %s: ok\n", argv[1]);
	want = vsng_alloc(&d, 0, PIO_LEN, 4096);
	got = vsng_alloc(&d, 0, PIO_LEN, 4096);
	if (!want || !got) {
		printf("# out of guest memory\n");
		bad = 1;
		goto out;
	}
	for (i = 5; i < argc; i++) {
		unsigned int lun = strtoul(argv[i], NULL, 0);

		clear_ua(&d, tpgt, lun);
		if (prot_info(&d, tpgt, lun, got))
			bad = 1;
		pattern(want, seed, lun);
		if (write && rw(&d, tpgt, lun, true, want)) {
			bad = 1;
			continue;
		}
		memset(got, 0, PIO_LEN);
		if (rw(&d, tpgt, lun, false, got)) {
			bad = 1;
			continue;
		}
		if (memcmp(want, got, PIO_LEN)) {
			printf("# LUN %u: data read back differs from seed %lu's pattern\n",
			       lun, seed);
			bad = 1;
			continue;
		}
		printf("# LUN %u: %s %d blocks at LBA %d: ok\n", lun,
		       write ? "wrote and read back" : "read back the pattern of",
		       PIO_BLOCKS, PIO_LBA);
	}
	busy_write(getenv("VSNG_PIO_BUSY_FILE"), getenv("VSNG_PIO_BUSY_VALUES"));
out:
	vsng_dev_clear_endpoint(&d);
	vsng_dev_close(&d);
	return bad;
}
