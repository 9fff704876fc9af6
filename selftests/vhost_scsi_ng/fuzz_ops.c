// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_fuzz: the interpreter.  An input is
 *
 *   byte 0   features: bit 0 T10_PI, 1 EVENT_IDX, 2 INDIRECT_DESC,
 *            3 HOTPLUG, 4 no VERSION_1 (legacy), 5 ANY_LAYOUT off,
 *            6 RING_PACKED (with --ring mixed; --ring packed: always)
 *   byte 1   bits 0-1: request queues - 1; bits 2-3: queue size 8 << n
 *   then     operations, one byte each (fz_op below picks by value),
 *            followed by the bytes the operation reads.
 *
 * Request-shaped operations build chains (fuzz_chain.c) and publish them;
 * a batch ends with FLUSH, a full queue, an ioctl that needs it, or the end
 * of the input: every chain is then answered (or its queue broken) and
 * the arena checked.  A batch that broke or desynchronised a queue ends
 * with the device closed and a fresh one opened.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"
#include "fuzz_chain.h"
#include "fuzz_scsi.h"
#include "linux/vhost_scsi_ng.h"

enum fz_op {
	OP_REQ, OP_VALID, OP_FLUSH, OP_TMF, OP_AN, OP_EVT, OP_IOCTL,
	OP_RING, OP_KICK,
};

/* 32 slots: the weight of each operation is its number of slots. */
static const uint8_t op_table[32] = {
	OP_REQ, OP_REQ, OP_REQ, OP_REQ, OP_REQ, OP_REQ, OP_REQ, OP_REQ,
	OP_REQ, OP_REQ, OP_REQ, OP_REQ, OP_REQ, OP_REQ,
	OP_VALID, OP_VALID, OP_VALID,
	OP_FLUSH, OP_FLUSH, OP_FLUSH,
	OP_TMF, OP_TMF, OP_AN, OP_EVT, OP_EVT,
	OP_IOCTL, OP_IOCTL, OP_IOCTL, OP_IOCTL,
	OP_RING, OP_KICK, OP_KICK,
};

uint16_t fz_u16(struct fz *f)
{
	return fz_u8(f) | fz_u8(f) << 8;
}

uint32_t fz_u32(struct fz *f)
{
	return fz_u16(f) | (uint32_t)fz_u16(f) << 16;
}

uint64_t fz_u64(struct fz *f)
{
	return fz_u32(f) | (uint64_t)fz_u32(f) << 32;
}

void fz_find(struct fz *f, const char *fmt, ...)
{
	va_list ap;

	if (f->finding[0])
		return;
	va_start(ap, fmt);
	vsnprintf(f->finding, sizeof(f->finding), fmt, ap);
	va_end(ap);
}

static uint64_t run_features;
static int run_nreq;
static unsigned int run_qsz;
static bool table_full;

static void taint_all(struct fz *f)
{
	int i;

	for (i = 0; i < VSNG_MAX_VQS; i++)
		f->q[i].tainted = true;
	f->st.tainted++;
}

static bool any_tainted(struct fz *f)
{
	int i;

	for (i = 0; i < VSNG_MAX_VQS; i++)
		if (f->q[i].tainted)
			return true;
	return false;
}

/*
 * A device the fuzzer's model still follows (no queue tainted) is reset as
 * a guest would (soft); otherwise, or when @full, it is closed and a new
 * one opened.  Writes the device makes after CLEAR_ENDPOINT returned land
 * in buffers handed out again and are findings.
 */
static void dev_again(struct fz *f, bool full)
{
	if (!full && !f->no_soft_reset && !any_tainted(f) &&
	    f->reuse_left-- > 0) {
		if (!fz_dev_soft_reset(f, run_features)) {
			f->st.soft++;
			fz_arena_check(f);
			f->evt_off = 0;
			fz_arena_reset(f);
			table_full = true;
			return;
		}
		fz_find(f, "a soft reset (CLEAR_ENDPOINT, features, memory table, rings at 0, SET_ENDPOINT) failed");
	}
	fz_dev_down(f);
	fz_arena_check(f);
	f->evt_off = 0;
	f->reuse_left = 32;
	fz_arena_reset(f);
	f->st.reinit++;
	table_full = true;
	if (fz_dev_up(f, run_features, run_nreq, run_qsz))
		fz_find(f, "a fresh device could not be set up");
}

/*
 * Packed, every chain answered: no stale descriptor may look available to
 * the device or used to the driver when either reaches it.  The slots
 * from next_avail on are next seen in this lap (avail wrap w): flags
 * AVAIL = USED = !w; the slots before it in the next lap (!w): AVAIL =
 * USED = w.  (A zeroed slot looks used in lap 0.)
 */
static void pk_clear_ring(struct vsng_vq *vq)
{
	uint16_t used_w = VSNG_PD_AVAIL | VSNG_PD_USED;
	unsigned int i;

	memset(vq->pdesc, 0, vq->num * sizeof(*vq->pdesc));
	for (i = 0; i < vq->num; i++)
		if ((i >= vq->next_avail) != vq->avail_wrap)
			vq->pdesc[i].flags = used_w;
}

/* End the batch: answers, the arena, and a fresh device if needed. */
void fz_flush(struct fz *f)
{
	bool again = false;
	int qi;

	if (!f->up)
		return;
	fz_kick_all(f);
	for (qi = 0; qi < 2 + f->nreq; qi++) {
		struct fz_q *q = &f->q[qi];

		if (qi == VSNG_VQ_EVT) {
			fz_reap_events(f);
			again |= q->tainted;
			continue;
		}
		if (q->ninfl && !q->tainted)
			fz_wait_queue(f, qi);
		again |= q->broken || q->tainted;
	}
	if (again) {
		dev_again(f, false);
		return;
	}
	fz_arena_check(f);
	for (qi = 0; qi < 2 + f->nreq; qi++) {
		struct vsng_vq *vq = &f->d.vq[qi];

		if (qi == VSNG_VQ_EVT)
			continue;
		memset(&f->q[qi], 0, sizeof(f->q[qi]));
		if (vq->packed)
			pk_clear_ring(vq);
		else
			memset(vq->desc, 0, vq->num * sizeof(*vq->desc));
	}
}

/* Submit, flushing once when the queue or the arena is full. */
static int submit(struct fz *f, int qi, struct fz_chain *c)
{
	int r = fz_chain_submit(f, qi, c);

	return r;
}

/* Lengths: mostly small and block-sized, sometimes odd or large. */
static uint32_t pick_len(uint8_t b)
{
	switch (b % 8) {
	case 1:
		return 512;
	case 2:
		return 4096;
	case 3:
		return (b >> 3) * 16 + 1;
	case 4:
		return 65536;
	case 5:
		return 512 * (1 + (b >> 3));
	default:
		return 0;
	}
}

static uint8_t databuf[1 << 17];

/*
 * Add a buffer of len bytes to the chain as @parts segments; readable
 * ones are filled with a pattern.  Returns its address.
 */
static uint64_t add_buf(struct fz *f, struct fz_chain *c, uint32_t len,
			int parts, bool write, uint8_t place, uint32_t seed)
{
	uint64_t gpa = fz_place(f, place, len ? len : 1);
	uint32_t off = 0, piece;
	int i;

	if (!gpa)
		return 0;
	if (!write && len && len <= sizeof(databuf)) {
		vsng_fill(databuf, len, seed);
		fz_put(f, gpa, databuf, len);
	}
	if (parts < 1)
		parts = 1;
	if (!len)
		parts = 1;
	for (i = 0; i < parts && c->nsegs < FZ_MAX_SEGS; i++) {
		piece = i + 1 == parts ? len - off : len / parts;
		c->seg[c->nsegs++] = (struct vsng_seg){ gpa + off, piece,
							write };
		off += piece;
	}
	return gpa;
}

/* The shape of a chain: half of them well-formed. */
static void pick_shape(struct fz *f, struct fz_chain *c)
{
	uint8_t h = fz_u8(f);
	uint8_t i = fz_u8(f);

	c->shape = h < 128 ? FZ_SHAPE_NONE : h % FZ_NSHAPES;
	c->arg = fz_u8(f);
	c->arg2 = fz_u8(f);
	c->indirect = (i & 1) && ((f->features & VSNG_F_INDIRECT) ||
				  c->shape != FZ_SHAPE_NONE || (i & 0x80));
	c->itable_where = (i >> 1) % 3;
	if (c->indirect && c->shape == FZ_SHAPE_NONE && (i & 0x80))
		c->shape = FZ_SHAPE_NONE;	/* INDIRECT not negotiated */
}

/* Header length: the right one, or short, or long. */
static uint32_t pick_hlen(struct fz *f, uint32_t right)
{
	uint8_t m = fz_u8(f);

	if (m < 200)
		return right;
	if (m < 230)
		return m % right;
	return right + (m & 31);
}

static void run_ctl_req(struct fz *f, int qi, const void *hdr, uint32_t hlen,
			uint32_t rlen, uint32_t dout, uint32_t din)
{
	struct fz_chain c = { 0 };
	uint8_t pl = fz_u8(f), parts = fz_u8(f);
	uint32_t seed = f->pos;
	uint64_t gpa;

	pick_shape(f, &c);
	gpa = fz_place(f, pl & 0x0f ? 0 : pl >> 4, hlen ? hlen : 1);
	if (!gpa)
		goto full;
	fz_put(f, gpa, hdr, hlen);
	c.seg[c.nsegs++] = (struct vsng_seg){ gpa, hlen, false };
	if ((parts & 3) == 3 && hlen > 1) {	/* header in tiny pieces */
		c.nsegs = 0;
		for (uint32_t o = 0; o < hlen && c.nsegs < 16; ) {
			uint32_t n = 1 + (parts >> 2) % 7;

			if (n > hlen - o || c.nsegs == 15)
				n = hlen - o;
			c.seg[c.nsegs++] = (struct vsng_seg){ gpa + o, n,
							      false };
			o += n;
		}
	}
	if (dout && !add_buf(f, &c, dout, 1 + (parts >> 4) % 4, false,
			     fz_u8(f), seed))
		goto full;
	gpa = add_buf(f, &c, rlen, 1, true, pl & 0xf0 ? 0 : fz_u8(f), 0);
	if (!gpa)
		goto full;
	c.resp = fz_hva(f, gpa, rlen);
	if (din && !add_buf(f, &c, din, 1 + (parts >> 6), true, fz_u8(f), 0))
		goto full;
	if ((parts & 0x0c) == 0x0c && c.nsegs > 1) {	/* write before read */
		struct vsng_seg s = c.seg[0];

		c.seg[0] = c.seg[c.nsegs - 1];
		c.seg[c.nsegs - 1] = s;
	}
	if (submit(f, qi, &c) < 0)
		goto full;
	return;
full:
	fz_flush(f);
}

/* A SCSI command on a request queue: header, CDB, LUN, PI, buffers. */
static void op_req(struct fz *f)
{
	int qi = VSNG_VQ_REQ + fz_u8(f) % f->nreq;
	bool pi = f->features & VSNG_F_T10_PI;
	union {
		struct virtio_scsi_cmd_req r;
		struct virtio_scsi_cmd_req_pi p;
		uint8_t b[128];
	} h;
	uint32_t right = pi ? sizeof(h.p) : sizeof(h.r);
	uint32_t dout = pick_len(fz_u8(f)), din = pick_len(fz_u8(f));
	uint8_t *cdb = pi ? h.p.cdb : h.r.cdb;

	memset(&h, 0, sizeof(h));
	fz_lun(f, pi ? h.p.lun : h.r.lun);
	h.r.tag = f->st.requests;
	h.r.task_attr = fz_u8(f) % 5;
	if (pi) {
		uint8_t m = fz_u8(f);

		switch (m % 5) {
		case 1:
			h.p.pi_bytesout = dout / 2;
			h.p.pi_bytesin = din / 2;
			break;
		case 2:
			h.p.pi_bytesout = dout;
			h.p.pi_bytesin = din;
			break;
		case 3:
			h.p.pi_bytesout = 8 * (m >> 3);
			h.p.pi_bytesin = 4096 * (m >> 3);
			break;
		case 4:
			h.p.pi_bytesout = fz_u32(f);
			h.p.pi_bytesin = fz_u32(f);
			break;
		default:
			break;
		}
	}
	fz_cdb(f, cdb, dout, din);
	if (f->verbose) {
		printf("# REQ vq %d lun %02x %02x %02x %02x dout %u din %u pi %u/%u cdb", qi,
		       h.r.lun[0], h.r.lun[1], h.r.lun[2], h.r.lun[3], dout, din,
		       pi ? h.p.pi_bytesout : 0, pi ? h.p.pi_bytesin : 0);
		for (int k = 0; k < 16; k++)
			printf(" %02x", cdb[k]);
		printf("\n");
	}
	run_ctl_req(f, qi, &h, pick_hlen(f, right),
		    pick_hlen(f, sizeof(struct virtio_scsi_cmd_resp)),
		    dout, din);
}

/* TMF (and whatever else) on the control queue. */
static void op_tmf(struct fz *f)
{
	struct virtio_scsi_ctrl_tmf_req r = { 0 };
	uint8_t m = fz_u8(f);

	r.type = m < 240 ? VIRTIO_SCSI_T_TMF : fz_u32(f);
	r.subtype = m < 200 ? m % 8 : fz_u32(f);
	fz_lun(f, r.lun);
	r.tag = m & 1 ? f->st.requests - (fz_u8(f) & 7) : fz_u64(f);
	f->st.tmf++;
	run_ctl_req(f, VSNG_VQ_CTL, &r, pick_hlen(f, sizeof(r)),
		    pick_hlen(f, sizeof(struct virtio_scsi_ctrl_tmf_resp)),
		    0, 0);
}

static void op_an(struct fz *f)
{
	struct virtio_scsi_ctrl_an_req r = { 0 };
	uint8_t m = fz_u8(f);

	r.type = m & 1 ? VIRTIO_SCSI_T_AN_SUBSCRIBE : VIRTIO_SCSI_T_AN_QUERY;
	fz_lun(f, r.lun);
	r.event_requested = m & 2 ? fz_u32(f) : 1u << (m % 8);
	f->st.an++;
	run_ctl_req(f, VSNG_VQ_CTL, &r, pick_hlen(f, sizeof(r)),
		    pick_hlen(f, sizeof(struct virtio_scsi_ctrl_an_resp)),
		    0, 0);
}

/* Event buffers (answered only when an event comes) and events missed. */
static void op_evt(struct fz *f)
{
	uint8_t m = fz_u8(f);
	int n = 1 + m % 4, i;

	/*
	 * The device may fill an event buffer at any time until it is used,
	 * so the chain (hostile placements included) lives in the event
	 * zone, never reused while the device exists and always writable.
	 */
	f->evt_alloc = true;
	for (i = 0; i < n; i++) {
		struct fz_chain c = { 0 };
		uint8_t l = fz_u8(f), pl = fz_u8(f);
		uint32_t len = l < 200 ? sizeof(struct virtio_scsi_event) :
			       l < 230 ? l % 17 : 4096;
		uint64_t gpa = pl < 224 ? fz_alloc(f, 3, len ? len : 1, 4) :
			       fz_place(f, pl, len);

		if (!gpa)
			break;
		pick_shape(f, &c);
		c.seg[c.nsegs++] = (struct vsng_seg){ gpa, len, !(pl & 1 && pl > 240) };
		if (submit(f, VSNG_VQ_EVT, &c) < 0)
			break;
		f->st.events++;
	}
	f->evt_alloc = false;
	if (m & 0x10) {
		uint32_t v = m & 0x20 ? fz_u32(f) : 1;

		vsng_ioctl(&f->d, VHOST_SCSI_SET_EVENTS_MISSED, &v);
		vsng_ioctl(&f->d, VHOST_SCSI_GET_EVENTS_MISSED, &v);
		f->st.ioctls += 2;
	}
	vsng_vq_kick(&f->d.vq[VSNG_VQ_EVT], true);
	f->q[VSNG_VQ_EVT].published = 0;
}

/* A write of a pattern, read back and compared: must always work. */
static void op_valid(struct fz *f)
{
	int qi = VSNG_VQ_REQ + fz_u8(f) % f->nreq;
	uint8_t m = fz_u8(f), pl = fz_u8(f);
	uint32_t blocks = 1 + m % 16, len = blocks * 512;
	uint64_t lba = fz_u16(f) % 4096, wgpa, rgpa;
	uint16_t lun = m >> 7;
	uint8_t *got;
	int pass, tries;

	fz_flush(f);
	if (f->finding[0] || !table_full)
		return;
	wgpa = fz_alloc(f, pl % 3, len, 8);
	rgpa = fz_alloc(f, (pl >> 2) % 3, len, 8);
	if (!wgpa || !rgpa)
		return;
	for (pass = 0; pass < 2; pass++) {
		bool write = pass == 0;

		for (tries = 0; tries < 3; tries++) {
			struct virtio_scsi_cmd_resp r;
			union {
				struct virtio_scsi_cmd_req r;
				struct virtio_scsi_cmd_req_pi p;
			} h;
			bool pi = f->features & VSNG_F_T10_PI;
			struct fz_chain c = { 0 };
			uint64_t hg, rg;

			memset(&h, 0, sizeof(h));
			vsng_lun_encode(pi ? h.p.lun : h.r.lun, f->t->tpgt, lun);
			vsng_cdb_rw(pi ? h.p.cdb : h.r.cdb, 10, write, lba, blocks);
			hg = fz_alloc(f, 0, sizeof(h), 8);
			rg = fz_alloc(f, 0, sizeof(r), 8);
			if (!hg || !rg)
				return;
			fz_put(f, hg, &h, pi ? sizeof(h.p) : sizeof(h.r));
			c.seg[c.nsegs++] = (struct vsng_seg){ hg, pi ? sizeof(h.p) : sizeof(h.r), false };
			if (write) {
				vsng_fill(databuf, len, f->st.valid + 1);
				fz_put(f, wgpa, databuf, len);
				c.seg[c.nsegs++] = (struct vsng_seg){ wgpa, len, false };
			}
			c.seg[c.nsegs++] = (struct vsng_seg){ rg, sizeof(r), true };
			if (!write) {
				/* poison the target so a read that writes nothing shows */
				memset(databuf + len, 0xee, len);
				fz_put(f, rgpa, databuf + len, len);
				c.seg[c.nsegs++] = (struct vsng_seg){ rgpa, len, true };
			}
			c.valid = true;
			c.indirect = (f->features & VSNG_F_INDIRECT) && (m & 0x40);
			if (fz_chain_submit(f, qi, &c) < 0)
				return;
			fz_kick_all(f);
			fz_wait_queue(f, qi);
			if (f->finding[0] || f->q[qi].broken)
				return;
			fz_get(f, rg, &r, sizeof(r));
			if (r.response == VIRTIO_SCSI_S_OK && r.status == 2 &&
			    r.sense_len >= 3 && (r.sense[2] & 0xf) == 6)
				continue;	/* unit attention: again */
			if (f->verbose) {
				uint8_t hb[64];

				fz_get(f, hg, hb, sizeof(hb));
				for (int k = 0; k < 64; k++)
					printf("%02x%s", hb[k], k % 32 == 31 ? "\n" : " ");
				printf("# hg 0x%llx rg 0x%llx w 0x%llx r 0x%llx\n",
				       (unsigned long long)hg, (unsigned long long)rg,
				       (unsigned long long)wgpa, (unsigned long long)rgpa);
			}
			if (r.response != VIRTIO_SCSI_S_OK || r.status) {
				fz_find(f, "valid %s of %u blocks at lba %llu lun %u: response %u status %u sense %02x/%02x",
					write ? "WRITE" : "READ", blocks,
					(unsigned long long)lba, lun,
					r.response, r.status,
					r.sense_len > 2 ? r.sense[2] & 0xf : 0,
					r.sense_len > 12 ? r.sense[12] : 0);
				return;
			}
			break;
		}
	}
	got = databuf + len;
	fz_get(f, rgpa, got, len);
	vsng_fill(databuf, len, f->st.valid + 1 + fz_inj("valid"));
	if (memcmp(databuf, got, len))
		fz_find(f, "valid READ of %u blocks at lba %llu lun %u returned other data than written",
			blocks, (unsigned long long)lba, lun);
	f->st.valid++;
}

/*
 * Packed ring games: the wrap counters and flags.  A device that consumes
 * what is not available gives a used element of no buffer in flight (a
 * finding); the games that leave the ring out of the model taint it.
 */
static void op_ring_packed(struct fz *f, int qi, uint8_t m, uint16_t v)
{
	struct vsng_vq *vq = &f->d.vq[qi];
	struct vring_packed_desc *s;
	uint16_t at;

	switch (m % 6) {
	case 0:		/* the next slot written in the other lap */
	case 1:		/* ... or with AVAIL = USED (of the other lap: in
			 * this one the driver would take it for used)
			 */
		s = &vq->pdesc[vq->next_avail];
		s->addr = fz_place(f, v, 64);
		s->len = 64;
		s->id = v % vq->num;
		WRITE_ONCE16(s->flags, (uint16_t)((v & 3) |
			     (m % 6 ? (vq->avail_wrap ? 0 : VSNG_PD_AVAIL |
							    VSNG_PD_USED) :
				     vsng_pq_avail_bits(!vq->avail_wrap))));
		break;
	case 2:		/* a slot behind the device made available again */
		at = (vq->next_avail + vq->num - 1 - v % vq->num) % vq->num;
		s = &vq->pdesc[at];
		WRITE_ONCE16(s->flags, (uint16_t)((s->flags &
			     ~(VSNG_PD_AVAIL | VSNG_PD_USED)) |
			     vsng_pq_avail_bits(at < vq->next_avail ?
						vq->avail_wrap :
						!vq->avail_wrap)));
		/* over a used element not reaped yet: out of the model */
		if (f->q[qi].ninfl)
			f->q[qi].tainted = true;
		break;
	case 3:		/* the driver event area anywhere */
		WRITE_ONCE16(vq->drv_event->off_wrap, v);
		WRITE_ONCE16(vq->drv_event->flags, (uint16_t)(m >> 3) % 4);
		break;
	case 4:		/* the last chain again, same buffer id, in flight */
		if (f->q[qi].ninfl) {
			struct vring_packed_desc d = vq->pdesc[
				(vq->next_avail + vq->num - 1) % vq->num];

			d.flags = (d.flags & ~(VSNG_PD_AVAIL | VSNG_PD_USED |
					       VRING_DESC_F_NEXT)) |
				  vsng_pq_avail_bits(vq->avail_wrap);
			vsng_pq_put_raw(vq, &d, 1);
			f->q[qi].tainted = true;
		}
		break;
	default:	/* the guest scribbles on the slot the device writes */
		s = &vq->pdesc[vq->used_pos];
		s->id = v;
		WRITE_ONCE16(s->flags, fz_u16(f));
		f->q[qi].tainted = true;
		break;
	}
	f->q[qi].published++;
}

/* Avail and used ring games. */
static void op_ring(struct fz *f)
{
	f->dirty = true;
	int qi = fz_u8(f) % (2 + f->nreq);
	struct vsng_vq *vq = &f->d.vq[qi];
	uint8_t m = fz_u8(f);
	uint16_t v = fz_u16(f);

	if (vq->packed) {
		op_ring_packed(f, qi, m, v);
		return;
	}
	switch (m % 7) {
	case 0:		/* a head beyond the table */
		vsng_vq_publish(vq, vq->num + v % 1024);
		f->q[qi].tainted = true;
		break;
	case 1:		/* avail->idx far ahead */
		vq->avail_idx += vq->num + 1 + v % 4096;
		WRITE_ONCE16(vq->avail->idx, vq->avail_idx);
		f->q[qi].tainted = true;
		break;
	case 2:		/* the same head twice */
		vsng_vq_publish(vq, vq->avail->ring[(uint16_t)(vq->avail_idx - 1) % vq->num]);
		f->q[qi].tainted = true;
		break;
	case 3:		/* used_event anywhere */
		WRITE_ONCE16(vq->avail->ring[vq->num], v);
		break;
	case 4:		/* avail flags */
		WRITE_ONCE16(vq->avail->flags, v & 3);
		break;
	case 5:		/* avail->idx backwards */
		vq->avail_idx -= 1 + v % 8;
		WRITE_ONCE16(vq->avail->idx, vq->avail_idx);
		f->q[qi].tainted = true;
		break;
	default:	/* the guest scribbles on the used ring */
		WRITE_ONCE16(vq->used->idx, v);
		vq->used->ring[v % vq->num].id = fz_u32(f);
		f->q[qi].tainted = true;
		break;
	}
	f->q[qi].published++;
}

static void op_kick(struct fz *f)
{
	uint8_t m = fz_u8(f);
	int qi = m % (2 + f->nreq);

	vsng_vq_kick(&f->d.vq[qi], m & 0x80);
	f->q[qi].published = 0;
}

void fz_run(struct fz *f, const uint8_t *in, size_t len)
{
	uint8_t b0, b1;

	f->in = in;
	f->inlen = len;
	f->pos = 0;
	f->finding[0] = 0;
	b0 = fz_u8(f);
	b1 = fz_u8(f);
	run_features = VSNG_F_VERSION_1 | VSNG_F_ANY_LAYOUT;
	if (b0 & 1)
		run_features |= VSNG_F_T10_PI;
	if (b0 & 2)
		run_features |= VSNG_F_EVENT_IDX;
	if (b0 & 4)
		run_features |= VSNG_F_INDIRECT;
	if (b0 & 8)
		run_features |= VSNG_F_HOTPLUG;
	if ((b0 & 0x30) == 0x10)
		run_features &= ~VSNG_F_VERSION_1;
	if ((b0 & 0x30) == 0x20)
		run_features &= ~VSNG_F_ANY_LAYOUT;
	/* packed rings need VERSION_1 (a legacy device has split rings) */
	if (f->ring == FZ_RING_PACKED ||
	    (f->ring == FZ_RING_MIXED && (b0 & 0x40)))
		run_features |= VSNG_F_RING_PACKED | VSNG_F_VERSION_1;
	run_features &= ~f->mask_features;
	run_nreq = 1 + (b1 & 3);
	run_qsz = 8u << ((b1 >> 2) & 3);
	table_full = true;
	fz_arena_reset(f);
	/*
	 * With --reuse, the device of the last run is kept when it has the
	 * same queues (at most 32 runs and resets): device setup is most of
	 * a short run's cost.  One that saw ioctls or other features is
	 * reset first (soft), as a guest resets its device.
	 */
	if (f->up && (!f->reuse || f->reuse_left-- <= 0 ||
		      f->nreq != run_nreq ||
		      f->d.vq[VSNG_VQ_REQ].num != run_qsz)) {
		fz_dev_down(f);
		fz_arena_check(f);
	} else if (f->up &&
		   (f->dirty || f->features != (run_features & f->offered))) {
		if (f->no_soft_reset || any_tainted(f) ||
		    fz_dev_soft_reset(f, run_features)) {
			fz_dev_down(f);
		} else {
			f->st.soft++;
			f->evt_off = 0;
		}
		fz_arena_check(f);
	}
	if (!f->up) {
		f->evt_off = 0;
		f->reuse_left = 32;
		if (fz_dev_up(f, run_features, run_nreq, run_qsz)) {
			fz_find(f, "device setup failed");
			return;
		}
	}
	f->st.runs++;
	while (!fz_eof(f) && !f->finding[0] && f->up) {
		switch (op_table[fz_u8(f) % 32]) {
		case OP_REQ:
			op_req(f);
			break;
		case OP_VALID:
			op_valid(f);
			break;
		case OP_FLUSH:
			fz_flush(f);
			break;
		case OP_TMF:
			op_tmf(f);
			break;
		case OP_AN:
			op_an(f);
			break;
		case OP_EVT:
			op_evt(f);
			break;
		case OP_IOCTL:
			fz_op_ioctl(f);
			break;
		case OP_RING:
			op_ring(f);
			break;
		default:
			op_kick(f);
			break;
		}
	}
	fz_flush(f);
	fz_reap_events(f);
	if (!f->reuse || f->finding[0]) {
		fz_dev_down(f);
		fz_arena_check(f);
	}
}

/* for fuzz_ioctl.c */
void fz_set_table_full(bool full)
{
	table_full = full;
}

void fz_taint_all(struct fz *f)
{
	taint_all(f);
}

void fz_dev_again(struct fz *f, bool full)
{
	dev_again(f, full);
}

uint64_t fz_run_features(void)
{
	return run_features;
}
