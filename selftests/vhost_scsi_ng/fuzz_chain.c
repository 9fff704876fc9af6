// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_fuzz: descriptor chains, valid and hostile, their publication and
 * the answer oracle.
 *
 * A chain is a list of segments (guest-physical address, length,
 * device-writable or not) laid out in the queue's descriptor table
 * (direct) or in an indirect table in the arena, then bent by one of the
 * hostile shapes below.  Every device-writable descriptor the chain names
 * (in any table) is recorded for the arena oracle; its total bounds the
 * used length.  At the end of a batch every chain must be answered, or
 * the queue's err eventfd must have fired.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "fuzz_chain.h"

#define HOLE_GPA	0x170000000ULL	/* between R1 and R2: no region */

/* A guest-physical address for a buffer of len: in the arena or hostile. */
uint64_t fz_place(struct fz *f, uint8_t how, uint32_t len)
{
	uint64_t gpa;

	switch (how % 16) {
	case 0 ... 7:
		gpa = fz_alloc(f, 0, len, 8);
		break;
	case 8 ... 10:
		gpa = fz_alloc(f, 1, len, 1);
		break;
	case 11 ... 12:
		gpa = fz_alloc(f, 2, len, 8);
		break;
	case 13:
		return HOLE_GPA + (how >> 4) * 4096;	/* in no region */
	case 14:	/* running off the end of R2 */
		return f->mem.r[2].gpa + f->mem.r[2].size - (how >> 4) - 1;
	default:	/* wrapping and absurd addresses */
		return (how & 0x10) ? ~0ULL - (how >> 5) : (how >> 5) * 512;
	}
	if (!gpa)
		gpa = fz_alloc(f, 0, len, 8);
	return gpa;
}

static void put_desc(struct fz *f, struct vsng_vq *vq, uint64_t table,
		     int i, const struct vring_desc *d)
{
	if (table)
		fz_put(f, table + (uint64_t)i * sizeof(*d), d, sizeof(*d));
	else
		vq->desc[i] = *d;
}

static uint32_t add_sat(uint32_t a, uint32_t b)
{
	return a + b < a ? ~0u : a + b;
}

/* ---- packed rings ------------------------------------------------------- */

/*
 * A packed chain: the segments in ring slots from vq->next_avail (each
 * with the AVAIL/USED bits of its slot's lap), or one INDIRECT head and a
 * table of packed descriptors in the arena.  The buffer id is the chain's
 * slot offset in this batch (unique until the batch is answered).  The
 * hostile shapes in packed terms:
 *   LOOP        the last descriptor keeps NEXT: the chain runs on into
 *               slots that are not (yet) available or belong to the next
 *               chain;
 *   NEXT_OOR    a buffer id >= the queue size;
 *   FLAGS       one descriptor's flags at random (NEXT, WRITE, INDIRECT,
 *               AVAIL, USED);
 *   NESTED, ITABLE_*  as for split (INDIRECT with NEXT, nested, table
 *               length / address / WRITE).
 * op_ring() adds the wrap-counter games (fuzz_ops.c).
 */
static int pk_chain_submit(struct fz *f, int qi, struct fz_chain *c)
{
	struct vsng_vq *vq = &f->d.vq[qi];
	struct fz_q *q = &f->q[qi];
	struct vring_packed_desc d[FZ_MAX_SEGS + 2], h = { 0 };
	int n = c->nsegs, i, span, slot, nput;
	uint64_t table = 0;
	uint16_t id, pos;
	bool wrap;

	if (q->ninfl >= FZ_MAX_INFL || q->ninfl >= (int)vq->num)
		return -1;
	span = c->indirect ? 1 : (n ? n : 1);
	if (c->indirect && c->shape == FZ_SHAPE_ITABLE_NEXT)
		span = 2;
	if (q->next_desc + span > vq->num)
		return -1;
	id = q->next_desc;
	memset(d, 0, sizeof(d));
	for (i = 0; i < n; i++) {
		d[i].addr = c->seg[i].gpa;
		d[i].len = c->seg[i].len;
		d[i].id = id;
		d[i].flags = (c->seg[i].write ? VRING_DESC_F_WRITE : 0) |
			     (!c->indirect && i + 1 < n ? VRING_DESC_F_NEXT : 0);
	}
	if (!n)
		n = 1;	/* one empty descriptor */
	if (c->indirect) {
		table = fz_alloc(f, c->itable_where,
				 n * sizeof(struct vring_packed_desc) + 64, 16);
		if (!table)
			return -1;
	}
	switch (c->shape) {
	case FZ_SHAPE_LOOP:
		/* runs on into slots of no chain or the next one: no answer
		 * oracle (the arena one stays)
		 */
		d[n - 1].flags |= VRING_DESC_F_NEXT;
		q->tainted = true;
		break;
	case FZ_SHAPE_NEXT_OOR:
		for (i = 0; i < n; i++)
			d[i].id = vq->num + c->arg;
		break;
	case FZ_SHAPE_FLAGS:
		i = c->arg % n;
		d[i].flags = (c->arg2 & 7) | (c->arg2 & 8 ? VSNG_PD_AVAIL : 0) |
			     (c->arg2 & 16 ? VSNG_PD_USED : 0);
		/* a head that may not be available, or a chain that runs
		 * on: no answer oracle
		 */
		if (!c->indirect && (i == 0 || (i == n - 1 &&
				     (d[i].flags & VRING_DESC_F_NEXT))))
			q->tainted = true;
		break;
	case FZ_SHAPE_NESTED:
		if (c->indirect)
			d[c->arg % n].flags |= VRING_DESC_F_INDIRECT;
		break;
	default:
		break;
	}
	c->wlen = 0;
	for (i = 0; i < n; i++)
		if (d[i].flags & VRING_DESC_F_WRITE) {
			fz_allow(f, d[i].addr, d[i].len);
			c->wlen = add_sat(c->wlen, d[i].len);
		}
	if (c->indirect) {
		fz_put(f, table, d, n * sizeof(d[0]));
		h.addr = table;
		h.len = n * sizeof(d[0]);
		h.id = c->shape == FZ_SHAPE_NEXT_OOR ? vq->num + c->arg : id;
		h.flags = VRING_DESC_F_INDIRECT;
		switch (c->shape) {
		case FZ_SHAPE_ITABLE_LEN:
			h.len = c->arg2 % 4 == 0 ? 0 :
				c->arg2 % 4 == 1 ? h.len + 1 + c->arg % 15 :
				c->arg2 % 4 == 2 ? 0x10000 * 16 : ~0u;
			break;
		case FZ_SHAPE_ITABLE_ADDR:
			h.addr = fz_place(f, 13 + c->arg % 3 + (c->arg2 << 4),
					  h.len);
			break;
		case FZ_SHAPE_ITABLE_NEXT:
			h.flags |= VRING_DESC_F_NEXT;
			break;
		case FZ_SHAPE_ITABLE_WRITE:
			h.flags |= VRING_DESC_F_WRITE;
			break;
		default:
			break;
		}
		d[0] = h;
		if (span == 2) {	/* what the NEXT of the head names */
			d[1] = (struct vring_packed_desc){ table, 16, id,
							   VRING_DESC_F_WRITE };
			fz_allow(f, table, 16);
		}
	}
	nput = c->indirect ? span : n;
	/* the avail bits of each slot's lap, unless a shape set them */
	pos = vq->next_avail;
	wrap = vq->avail_wrap;
	for (i = 0; i < nput; i++) {
		if (!(c->shape == FZ_SHAPE_FLAGS && !c->indirect &&
		      i == (int)(c->arg % n)))
			d[i].flags |= vsng_pq_avail_bits(wrap);
		if (++pos == vq->num) {
			pos = 0;
			wrap = !wrap;
		}
	}
	if (f->verbose) {
		printf("# vq %d packed slot %u id %u%s shape %d arg %u/%u wlen %u:",
		       qi, vq->next_avail, d[0].id,
		       c->indirect ? " indirect" : "", c->shape, c->arg,
		       c->arg2, c->wlen);
		for (i = 0; i < nput; i++)
			printf(" [%llx+%u f%04x id %u]",
			       (unsigned long long)d[i].addr, d[i].len,
			       d[i].flags, d[i].id);
		printf("\n");
	}
	vsng_pq_put_raw(vq, d, nput);
	q->next_desc += span;
	slot = q->ninfl++;
	q->infl[slot] = (struct fz_infl){ .head = id, .wlen = c->wlen,
					  .valid = c->valid, .resp = c->resp,
					  .span = span };
	q->published++;
	f->st.requests++;
	if (!c->valid)
		f->st.hostile++;
	return slot;
}

/*
 * Lay out @c on queue @qi and publish it.  Returns the in-flight slot, or
 * -1 when there is no room (the caller flushes first).
 */
int fz_chain_submit(struct fz *f, int qi, struct fz_chain *c)
{
	struct vsng_vq *vq = &f->d.vq[qi];
	struct fz_q *q = &f->q[qi];
	struct vring_desc d[FZ_MAX_SEGS + 2];
	uint64_t table = 0;
	int n = c->nsegs, i, first, span, slot;
	uint16_t head;

	if (vq->packed)
		return pk_chain_submit(f, qi, c);
	if (q->ninfl >= FZ_MAX_INFL || q->ninfl >= (int)vq->num)
		return -1;
	span = c->indirect ? 1 : n;
	if (span < 1)
		span = 1;
	if (q->next_desc + span > vq->num)
		return -1;
	first = q->next_desc;

	memset(d, 0, sizeof(d));
	for (i = 0; i < n; i++) {
		d[i].addr = c->seg[i].gpa;
		d[i].len = c->seg[i].len;
		d[i].flags = (c->seg[i].write ? VRING_DESC_F_WRITE : 0) |
			     (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		d[i].next = c->indirect ? i + 1 : first + i + 1;
	}
	if (c->indirect) {
		uint32_t tlen = (n ? n : 1) * sizeof(struct vring_desc);

		table = fz_alloc(f, c->itable_where, tlen + 64, 16);
		if (!table)
			return -1;
	}

	/* the hostile shapes */
	switch (c->shape) {
	case FZ_SHAPE_LOOP:
		if (n) {
			d[n - 1].flags |= VRING_DESC_F_NEXT;
			d[n - 1].next = c->indirect ? c->arg % n :
				first + c->arg % n;
		}
		break;
	case FZ_SHAPE_NEXT_OOR:
		if (n) {
			d[c->arg % n].flags |= VRING_DESC_F_NEXT;
			d[c->arg % n].next = vq->num + c->arg;
		}
		break;
	case FZ_SHAPE_FLAGS:
		if (n) {
			i = c->arg % n;
			d[i].flags = c->arg2 & 7;
			if (d[i].flags & VRING_DESC_F_NEXT)
				d[i].next = c->indirect ? c->arg2 >> 3 :
					first + (c->arg2 >> 3) % vq->num;
		}
		break;
	case FZ_SHAPE_NESTED:
		if (n && c->indirect) {
			i = c->arg % n;
			d[i].flags |= VRING_DESC_F_INDIRECT;
		}
		break;
	default:
		break;
	}
	/* every device-writable descriptor the device may follow */
	c->wlen = 0;
	for (i = 0; i < n; i++)
		if (d[i].flags & VRING_DESC_F_WRITE) {
			fz_allow(f, d[i].addr, d[i].len);
			c->wlen = add_sat(c->wlen, d[i].len);
		}

	if (c->indirect) {
		struct vring_desc h = { 0 };

		for (i = 0; i < n; i++)
			put_desc(f, vq, table, i, &d[i]);
		h.addr = table;
		h.len = n * sizeof(struct vring_desc);
		h.flags = VRING_DESC_F_INDIRECT;
		switch (c->shape) {
		case FZ_SHAPE_ITABLE_LEN:
			h.len = c->arg2 % 4 == 0 ? 0 :
				c->arg2 % 4 == 1 ? h.len + 1 + c->arg % 15 :
				c->arg2 % 4 == 2 ? 0x10000 * 16 : ~0u;
			break;
		case FZ_SHAPE_ITABLE_ADDR:
			h.addr = fz_place(f, 13 + c->arg % 3 + (c->arg2 << 4),
					  h.len);
			break;
		case FZ_SHAPE_ITABLE_NEXT:
			h.flags |= VRING_DESC_F_NEXT;
			h.next = first + 1 + c->arg % 3;
			break;
		case FZ_SHAPE_ITABLE_WRITE:
			h.flags |= VRING_DESC_F_WRITE;
			break;
		default:
			break;
		}
		vq->desc[first] = h;
	} else {
		for (i = 0; i < n; i++)
			put_desc(f, vq, 0, first + i, &d[i]);
		if (!n)
			vq->desc[first] = (struct vring_desc){ 0 };
	}
	if (f->verbose) {
		printf("# vq %d head %d%s shape %d arg %u/%u wlen %u:", qi, first,
		       c->indirect ? " indirect" : "", c->shape, c->arg, c->arg2,
		       c->wlen);
		for (i = 0; i < n; i++)
			printf(" [%llx+%u %c%s%s %u]",
			       (unsigned long long)d[i].addr, d[i].len,
			       d[i].flags & VRING_DESC_F_WRITE ? 'W' : 'R',
			       d[i].flags & VRING_DESC_F_NEXT ? "N" : "",
			       d[i].flags & VRING_DESC_F_INDIRECT ? "I" : "",
			       d[i].next);
		printf("\n");
	}
	q->next_desc += span;
	head = first;
	slot = q->ninfl++;
	q->infl[slot] = (struct fz_infl){ .head = head, .wlen = c->wlen,
					  .valid = c->valid,
					  .resp = c->resp };
	vsng_vq_publish(vq, head);
	q->published++;
	f->st.requests++;
	if (!c->valid)
		f->st.hostile++;
	return slot;
}

/* Packed: the used elements from used_pos on, checked like split's. */
static void pk_reap(struct fz *f, int qi)
{
	struct vsng_vq *vq = &f->d.vq[qi];
	struct fz_q *q = &f->q[qi];
	unsigned int guard = 0;
	uint32_t len;
	uint16_t id;

	while (guard++ < vq->num && vsng_pq_peek_used(vq, &id, &len)) {
		int i;

		if (fz_inj("usedid"))
			id += vq->num;
		for (i = 0; i < q->ninfl; i++)
			if (!q->infl[i].answered && q->infl[i].head == id)
				break;
		if (i == q->ninfl) {
			if (!q->tainted)
				fz_find(f, "vq %d: packed used element with id %u at slot %u, not a head in flight",
					qi, id, vq->used_pos);
			/* its length in slots is unknown: out of the model */
			q->tainted = true;
			break;
		}
		q->infl[i].answered = true;
		if (f->verbose)
			printf("# vq %d used id %u len %u slot %u\n", qi, id,
			       len, vq->used_pos);
		if (fz_inj("usedlen"))
			len = q->infl[i].wlen + 1;
		if (len > q->infl[i].wlen && !q->tainted)
			fz_find(f, "vq %d: used len %u > %u device-writable bytes of buffer %u",
				qi, len, q->infl[i].wlen, id);
		vq->used_pos += q->infl[i].span;
		if (vq->used_pos >= vq->num) {
			vq->used_pos -= vq->num;
			vq->used_wrap = !vq->used_wrap;
		}
		vq->last_used++;
	}
	if (vq->event_idx)
		vsng_vq_arm_event(vq);
}

/* Consume the used entries of queue @qi, checking each. */
static void reap(struct fz *f, int qi)
{
	struct vsng_vq *vq = &f->d.vq[qi];
	struct fz_q *q = &f->q[qi];
	uint16_t idx;

	if (vq->packed) {
		pk_reap(f, qi);
		return;
	}
	idx = READ_ONCE16(vq->used->idx);

	while (vq->last_used != idx) {
		struct vring_used_elem e;
		int i;

		smp_rmb();	/* used->idx before the entry it covers */
		e = vq->used->ring[vq->last_used % vq->num];
		vq->last_used++;
		if (fz_inj("usedid"))
			e.id += vq->num;
		for (i = 0; i < q->ninfl; i++)
			if (!q->infl[i].answered && q->infl[i].head == e.id)
				break;
		if (i == q->ninfl) {
			if (!q->tainted)
				fz_find(f, "vq %d: used entry with id %u, not a head in flight",
					qi, e.id);
			continue;
		}
		q->infl[i].answered = true;
		if (f->verbose)
			printf("# vq %d used id %u len %u\n", qi, e.id, e.len);
		if (fz_inj("usedlen"))
			e.len = q->infl[i].wlen + 1;
		if (e.len > q->infl[i].wlen && !q->tainted)
			fz_find(f, "vq %d: used.len %u > %u device-writable bytes of chain %u",
				qi, e.len, q->infl[i].wlen, e.id);
	}
	if (vq->event_idx)
		WRITE_ONCE16(vq->avail->ring[vq->num], vq->last_used);
}

static int unanswered(struct fz_q *q)
{
	int i, n = 0;

	for (i = 0; i < q->ninfl; i++)
		n += !q->infl[i].answered;
	return n;
}

static bool err_fired(struct vsng_vq *vq)
{
	uint64_t v = 0;

	return read(vq->err_fd, &v, sizeof(v)) == sizeof(v) && v;
}

/*
 * The err eventfd of queue @qi is about to be replaced: a signal already
 * on the old one (@old_fd, read after the new one is bound, so none can
 * still come) marks the queue broken, or it would be lost and the wait
 * would take the broken queue for a hang.
 */
void fz_err_fd_retired(struct fz *f, int qi, int old_fd)
{
	uint64_t v = 0;

	if (read(old_fd, &v, sizeof(v)) != sizeof(v) || !v ||
	    f->q[qi].broken)
		return;
	if (f->verbose)
		printf("# vq %d: err eventfd (the one replaced)\n", qi);
	f->q[qi].broken = true;
	f->st.broken++;
}

/*
 * Kick every queue with chains published since its last kick or still in
 * flight: a kick sent while an operation had the kick eventfd unbound is
 * lost, and a guest may always kick again.
 */
void fz_kick_all(struct fz *f)
{
	int qi;

	for (qi = 0; qi < 2 + f->nreq; qi++)
		if (f->q[qi].published ||
		    (qi != VSNG_VQ_EVT && f->q[qi].ninfl)) {
			vsng_vq_kick(&f->d.vq[qi], true);
			f->q[qi].published = 0;
		}
}

/*
 * Wait until every chain of queue @qi is answered, the queue is broken
 * (err eventfd), or the timeout: then it is a hang.
 */
void fz_wait_queue(struct fz *f, int qi)
{
	struct vsng_vq *vq = &f->d.vq[qi];
	struct fz_q *q = &f->q[qi];
	uint64_t end = vsng_now_ms() + f->timeout_ms;
	struct pollfd p[2] = {
		{ .fd = vq->call_fd, .events = POLLIN },
		{ .fd = vq->err_fd, .events = POLLIN },
	};

	if (fz_inj("hang") && q->ninfl < FZ_MAX_INFL)	/* a chain never published */
		q->infl[q->ninfl++] = (struct fz_infl){ .head = 0xffff };
	for (;;) {
		reap(f, qi);
		if (!unanswered(q) || q->broken)
			return;
		if (err_fired(vq)) {
			if (f->verbose)
				printf("# vq %d: err eventfd\n", qi);
			q->broken = true;
			f->st.broken++;
			reap(f, qi);
			return;
		}
		if (vsng_now_ms() > end)
			break;
		if (poll(p, 2, 2) > 0 && (p[0].revents & POLLIN))
			vsng_vq_drain_irq(vq);
	}
	if (!q->tainted)
		fz_find(f, "vq %d: %d of %d chains unanswered after %d ms and no err eventfd",
			qi, unanswered(q), q->ninfl, f->timeout_ms);
}

/* Event buffers are answered only when an event comes: reap, no wait. */
void fz_reap_events(struct fz *f)
{
	reap(f, VSNG_VQ_EVT);
}
