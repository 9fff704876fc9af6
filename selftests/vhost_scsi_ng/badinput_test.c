// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input: hostile rings and descriptor chains.
 *
 * Every case must end in an error for that request (an error response) or
 * in the queue being marked broken with the err eventfd signalled; never in
 * an oops, a hang, or a write outside the buffers the chain names.  After
 * each case another queue of the same device must still work, and a fresh
 * device on the same target must work (the broken one is torn down
 * cleanly).  run.sh checks the kernel log afterwards.
 *
 * "Outside the buffers" is checked over ALL guest memory: a copy of the
 * whole mapping (every region and the unregistered gaps) is taken just
 * before the chain is published, and afterwards every byte must be equal
 * except in the used rings, the published avail ring, the response
 * buffer and the buffers the case names as writable.  The guards around
 * each buffer are checked as well (they are part of that memory).
 *
 * The binary runs twice (run.sh): split rings, then packed rings
 * (VSNG_RING=packed, TAP names "packed.bad.*").  The hand-made chains
 * below are written in the format of the run; the few cases that are
 * about one format's layout (split: next links, avail ring; packed: wrap
 * counters, buffer ids, the vring base) SKIP in the other run.
 */
#include <fcntl.h>

#include "kselftest_harness.h"
#include "vsng_test.h"

#define GUARD	256
#define DLEN	4096

static const struct vsng_dev_opts bad_opts = { .nreq = 2 };

FIXTURE(bad) {
	struct vsng_env e;
	struct vsng_vq *vq;
	struct virtio_scsi_cmd_req *req;
	struct virtio_scsi_cmd_resp *resp;
	uint8_t *data;
	struct vring_desc *ind;	/* guarded indirect table area */
	bool err_fired, used, resp_err;
	bool may_succeed;	/* the case allows a device-written success */
	uint32_t used_len;
	uint8_t *snap;		/* copy of all guest memory before the case */
	struct { const uint8_t *p; size_t len; } allow[4];
	int nallow;		/* extra ranges the device may write */
	/* packed: the hand-made chain run_chain() makes available */
	struct vring_packed_desc pend[VSNG_INDIR_MAX];
	int npend;
	uint16_t used_id;	/* packed: id of the used element seen */
};

FIXTURE_SETUP(bad)
{
	VSNG_PACKED_SKIP();
	ASSERT_EQ(0, vsng_env_up(&self->e, &bad_opts, 1));
	self->vq = vsng_req_vq(&self->e, 0);
	self->req = vsng_alloc_guarded(&self->e.d, 0, sizeof(*self->req),
				       GUARD);
	self->resp = vsng_alloc_guarded(&self->e.d, 0, sizeof(*self->resp),
					GUARD);
	self->data = vsng_alloc_guarded(&self->e.d, 0, DLEN, GUARD);
	self->ind = vsng_alloc_guarded(&self->e.d, 0, 64 * 16, GUARD);
	ASSERT_NE(NULL, self->ind);
	memset(self->req, 0, sizeof(*self->req));
	vsng_lun_encode(self->req->lun, VSNG_TPGT, 0);
	vsng_cdb_rw(self->req->cdb, 10, false, 0, DLEN / VSNG_BLK);
	memset(self->resp, 0x77, sizeof(*self->resp));
	memset(self->data, 0x77, DLEN);
}

FIXTURE_TEARDOWN(bad)
{
	vsng_env_down(&self->e);
	free(self->snap);
}

static void snap_take(FIXTURE_DATA(bad) *self)
{
	struct vsng_mem *m = &self->e.d.mem;

	if (!self->snap)
		self->snap = malloc(m->map_len);
	if (self->snap)
		memcpy(self->snap, m->map, m->map_len);
}

static void snap_allow(FIXTURE_DATA(bad) *self, const void *p, size_t len)
{
	if (self->nallow < 4) {
		self->allow[self->nallow].p = p;
		self->allow[self->nallow].len = len;
		self->nallow++;
	}
}

static bool in_range(const uint8_t *p, const void *base, size_t len)
{
	return p >= (const uint8_t *)base && p < (const uint8_t *)base + len;
}

/* May the device (or this driver, publishing) have written byte p? */
static bool snap_allowed(FIXTURE_DATA(bad) *self, const uint8_t *p,
			 bool allow_extra)
{
	struct vsng_dev *d = &self->e.d;
	int i;

	for (i = 0; i < d->nvqs; i++) {
		struct vsng_vq *vq = &d->vq[i];

		if (vq->setup && !vq->packed &&
		    in_range(p, vq->used, 4 + 8 * vq->num + 2))
			return true;
		/* packed: used elements go into the descriptor ring */
		if (vq->setup && vq->packed &&
		    (in_range(p, vq->pdesc, 16 * vq->num) ||
		     in_range(p, vq->dev_event, 4)))
			return true;
	}
	if (!self->vq->packed &&
	    in_range(p, self->vq->avail, 4 + 2 * self->vq->num + 2))
		return true;
	if (self->vq->packed && in_range(p, self->vq->drv_event, 4))
		return true;
	if (in_range(p, self->resp, sizeof(*self->resp)))
		return true;
	for (i = 0; allow_extra && i < self->nallow; i++)
		if (in_range(p, self->allow[i].p, self->allow[i].len))
			return true;
	return false;
}

/*
 * Bytes of guest memory that changed since snap_take() outside what the
 * device may write; *first gets the guest-physical address (or process
 * offset, for the unregistered gaps) of the first one.
 */
static size_t snap_diff(FIXTURE_DATA(bad) *self, bool allow_extra,
			uint64_t *first)
{
	struct vsng_mem *m = &self->e.d.mem;
	const size_t chunk = 65536;
	size_t off, i, n, bad = 0;

	*first = 0;
	if (!self->snap)
		return (size_t)-1;
	for (off = 0; off < m->map_len; off += chunk) {
		n = m->map_len - off < chunk ? m->map_len - off : chunk;
		if (!memcmp(m->map + off, self->snap + off, n))
			continue;
		for (i = off; i < off + n; i++) {
			const uint8_t *p = m->map + i;
			int r;

			if (*p == self->snap[i] ||
			    snap_allowed(self, p, allow_extra))
				continue;
			if (!bad++) {
				*first = i;
				for (r = 0; r < m->nregions; r++)
					if (in_range(p, m->r[r].hva,
						     m->r[r].size))
						*first = m->r[r].gpa +
							 (p - m->r[r].hva);
			}
		}
	}
	return bad;
}

static uint64_t G(struct vsng_env *e, const void *p)
{
	return vsng_gpa(&e->d, p);
}

static void set_desc(struct vring_desc *d, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* Take n linked descriptors: idx[] gets their indexes, returns the head. */
static int take(struct vsng_vq *vq, int n, uint16_t *idx)
{
	static int cookie;
	int head = vsng_vq_take_descs(vq, n, &cookie), i;
	uint16_t cur = head;

	for (i = 0; head >= 0 && i < n; i++) {
		idx[i] = cur;
		cur = vq->next[cur];
	}
	return head;
}

/* The buffer id of hand-made packed chains: the library's ids count up
 * from 0 and are all free again whenever a case makes its chain.
 */
#define HAND_ID(vq)	((vq)->num - 1)

/*
 * A chain of @n descriptors {addr, len, VRING_DESC_F_* flags} in the
 * format of the run, NEXT linking each to the following one where the
 * flags say so: split, in descriptors taken from the free list (head
 * returned, published by run_chain()); packed, kept in self->pend with
 * the avail bits of each slot's lap and id HAND_ID, made available by
 * run_chain().
 */
struct hd {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

static int mk_chain(FIXTURE_DATA(bad) *self, const struct hd *h, int n)
{
	struct vsng_vq *vq = self->vq;
	uint16_t idx[VSNG_INDIR_MAX];
	uint16_t pos = vq->next_avail;
	bool wrap = vq->avail_wrap;
	int head, k;

	if (n > VSNG_INDIR_MAX)
		return -EINVAL;
	if (vq->packed) {
		for (k = 0; k < n; k++) {
			self->pend[k] = (struct vring_packed_desc){
				.addr = h[k].addr, .len = h[k].len,
				.id = HAND_ID(vq),
				.flags = h[k].flags | vsng_pq_avail_bits(wrap),
			};
			if (++pos == vq->num) {
				pos = 0;
				wrap = !wrap;
			}
		}
		self->npend = n;
		return 0;
	}
	head = take(vq, n, idx);
	for (k = 0; head >= 0 && k < n; k++)
		set_desc(&vq->desc[idx[k]], h[k].addr, h[k].len, h[k].flags,
			 k + 1 < n && (h[k].flags & VRING_DESC_F_NEXT) ?
			 idx[k + 1] : 0);
	return head;
}

/* Entry k of the indirect table self->ind, in the format of the run. */
static void set_tdesc(FIXTURE_DATA(bad) *self, int k, uint64_t addr,
		      uint32_t len, uint16_t flags, uint16_t next)
{
	if (self->vq->packed) {
		struct vring_packed_desc *t = (void *)self->ind;

		t[k] = (struct vring_packed_desc){ .addr = addr, .len = len,
						   .flags = flags };
		return;
	}
	set_desc(&self->ind[k], addr, len, flags, next);
}

/* Consume the used element of the last hand-made chain without the
 * library (its id is not one of the library's).
 */
static void skip_used(FIXTURE_DATA(bad) *self)
{
	struct vsng_vq *vq = self->vq;

	vq->last_used++;
	if (!vq->packed)
		return;
	vq->used_pos += self->npend;
	if (vq->used_pos >= vq->num) {
		vq->used_pos -= vq->num;
		vq->used_wrap = !vq->used_wrap;
	}
}

/* Split-only and packed-only cases. */
#define SPLIT_ONLY() do { \
	if (self->vq->packed) \
		SKIP(return, "split ring layout (packed run)"); \
} while (0)
#define PACKED_ONLY() do { \
	if (!self->vq->packed) \
		SKIP(return, "packed ring only (run as vsng_badinput_packed)"); \
} while (0)

/*
 * Did the device write this response?  The fixture prefills it with 0x77,
 * which is no virtio-scsi response code and no SAM status, so only an
 * answer the device wrote passes: a response code it defines, and with
 * VIRTIO_SCSI_S_OK a status SAM defines.
 */
static bool resp_written(const struct virtio_scsi_cmd_resp *r)
{
	if (r->response > VIRTIO_SCSI_S_FAILURE)
		return false;
	if (r->response != VIRTIO_SCSI_S_OK)
		return true;
	switch (r->status) {
	case 0x00:	/* GOOD */
	case 0x02:	/* CHECK CONDITION */
	case 0x08:	/* BUSY */
	case 0x18:	/* RESERVATION CONFLICT */
	case 0x28:	/* TASK SET FULL */
	case 0x30:	/* ACA ACTIVE */
	case 0x40:	/* TASK ABORTED */
		return true;
	}
	return false;
}

/* An error answer the device wrote (not GOOD, not the prefill). */
static bool resp_error(const struct virtio_scsi_cmd_resp *r)
{
	return resp_written(r) &&
	       (r->response != VIRTIO_SCSI_S_OK || r->status != 0);
}

/* Publish head, kick, and collect what happened within a few seconds. */
static void run_chain(FIXTURE_DATA(bad) *self, int head)
{
	uint64_t end;

	snap_take(self);
	if (self->vq->packed)
		vsng_pq_put_raw(self->vq, self->pend, self->npend);
	else
		vsng_vq_publish(self->vq, head);
	vsng_vq_kick(self->vq, true);
	end = vsng_now_ms() + 3000;
	while (vsng_now_ms() < end) {
		if (!self->err_fired && vsng_vq_err_fired(self->vq, 20))
			self->err_fired = true;
		if (self->vq->packed &&
		    vsng_pq_peek_used(self->vq, &self->used_id,
				      &self->used_len)) {
			self->used = true;
			self->resp_err = resp_error(self->resp);
		} else if (!self->vq->packed &&
			   vsng_vq_used_idx(self->vq) != self->vq->last_used) {
			struct vring_used_elem *u;

			u = &self->vq->used->ring[self->vq->last_used %
						  self->vq->num];
			self->used = true;
			self->used_len = u->len;
			self->resp_err = resp_error(self->resp);
		}
		if (self->used || self->err_fired) {
			/* give the other signal a moment to show up too */
			if (!self->err_fired)
				self->err_fired = vsng_vq_err_fired(self->vq,
								    200);
			break;
		}
	}
}

/* The verdict common to all cases, then the "device still works" checks. */
static void verdict(struct __test_metadata *_metadata, FIXTURE_DATA(bad) *self,
		    bool data_untouched)
{
	struct vsng_cmd c = { 0 };
	uint64_t first;
	size_t nbad;

	/* first, before anything else runs on the device */
	if (!data_untouched)
		snap_allow(self, self->data, DLEN);
	nbad = snap_diff(self, true, &first);
	EXPECT_EQ(0, nbad) {
		TH_LOG("%zu bytes of guest memory outside the request's buffers changed, first at %#llx",
		       nbad, (unsigned long long)first);
	}
	TH_LOG("err eventfd %d, used entry %d (len %u), response 0x%x status 0x%x",
	       self->err_fired, self->used, self->used_len,
	       self->resp->response, self->resp->status);
	if (self->may_succeed) {
		/* an answer the device wrote, success allowed, or err */
		EXPECT_TRUE(self->err_fired ||
			    (self->used && resp_written(self->resp)));
	} else {
		EXPECT_TRUE(self->err_fired || (self->used && self->resp_err));
		/* No success answer may be produced for a malformed request,
		 * and a used entry must carry an answer the device wrote.
		 */
		if (self->used)
			EXPECT_TRUE(self->resp_err);
	}
	EXPECT_TRUE(vsng_guard_ok(self->req, sizeof(*self->req), GUARD));
	EXPECT_TRUE(vsng_guard_ok(self->resp, sizeof(*self->resp), GUARD));
	EXPECT_TRUE(vsng_guard_ok(self->data, DLEN, GUARD));
	EXPECT_TRUE(vsng_guard_ok(self->ind, 64 * 16, GUARD));
	if (data_untouched) {
		int i, bad = 0;

		for (i = 0; i < DLEN; i++)
			bad += self->data[i] != 0x77;
		EXPECT_EQ(0, bad);
	}

	/* another queue of the same device still works */
	ASSERT_EQ(0, vsng_tur(vsng_req_vq(&self->e, 1), VSNG_TPGT, 0, &c));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, c.rsp.response);
	EXPECT_EQ(0, c.rsp.status);

	/* tear the device down, a fresh one works */
	EXPECT_EQ(0, vsng_dev_clear_endpoint(&self->e.d));
	vsng_dev_close(&self->e.d);
	ASSERT_EQ(0, vsng_dev_init(&self->e.d, &bad_opts));
	ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
	memset(&c, 0, sizeof(c));
	ASSERT_EQ(0, vsng_tur(vsng_req_vq(&self->e, 0), VSNG_TPGT, 0, &c));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, c.rsp.response);
	EXPECT_EQ(0, c.rsp.status);
}

/* A normal READ chain (req, resp, data-in) with data-in at gpa/len. */
static int read_chain(FIXTURE_DATA(bad) *self, uint64_t gpa, uint32_t len)
{
	struct hd h[3] = {
		{ G(&self->e, self->req), sizeof(*self->req),
		  VRING_DESC_F_NEXT },
		{ G(&self->e, self->resp), sizeof(*self->resp),
		  VRING_DESC_F_NEXT | VRING_DESC_F_WRITE },
		{ gpa, len, VRING_DESC_F_WRITE },
	};

	return mk_chain(self, h, 3);
}

/* Sanity: the hand-made chain machinery itself gives a good READ, and the
 * whole-memory check sees the data it wrote (so it can fail) while it
 * finds nothing else changed.
 */
TEST_F(bad, control_good_chain)
{
	uint64_t first;
	size_t nbad;

	/* the ramdisk reads back zeroes: make the data buffer differ */
	vsng_fill(self->data, DLEN, 3);
	run_chain(self, read_chain(self, G(&self->e, self->data), DLEN));
	ASSERT_TRUE(self->used);
	nbad = snap_diff(self, false, &first);
	EXPECT_GT(nbad, 0);
	EXPECT_LE(nbad, DLEN);
	EXPECT_TRUE(first >= G(&self->e, self->data) &&
		    first < G(&self->e, self->data) + DLEN);
	snap_allow(self, self->data, DLEN);
	EXPECT_EQ(0, snap_diff(self, true, &first));
	EXPECT_EQ(0, self->resp->response);
	EXPECT_EQ(0, self->resp->status);
	EXPECT_FALSE(self->err_fired);
	EXPECT_TRUE(vsng_guard_ok(self->data, DLEN, GUARD));
}

/* Proves: a data descriptor below all regions is refused. */
TEST_F(bad, desc_addr_outside_table)
{
	run_chain(self, read_chain(self, 0x50000000ULL, DLEN));
	verdict(_metadata, self, true);
}

/* Proves: a data descriptor in the hole between regions is refused. */
TEST_F(bad, desc_addr_in_hole)
{
	run_chain(self, read_chain(self, 0x140000000ULL, DLEN));
	verdict(_metadata, self, true);
}

/* Proves: a descriptor running off the end of the last region is refused
 * (partly valid is not valid).
 */
TEST_F(bad, desc_runs_off_region)
{
	uint64_t end = self->e.d.mem.r[2].gpa + self->e.d.mem.r[2].size;

	run_chain(self, read_chain(self, end - 512, DLEN));
	verdict(_metadata, self, true);
}

/* Proves: lengths that overflow (addr + len wraps 64 bits; 4 GiB - 1
 * length) are refused.
 */
TEST_F(bad, overflowing_lengths)
{
	run_chain(self, read_chain(self, 0xfffffffffffff000ULL, 0x2000));
	verdict(_metadata, self, true);
}

TEST_F(bad, huge_length)
{
	run_chain(self, read_chain(self, G(&self->e, self->data), 0xffffffff));
	verdict(_metadata, self, false);
}

/* Proves: a chain that loops (last descriptor points back to the first)
 * is detected, not followed forever.
 */
TEST_F(bad, looping_chain)
{
	uint16_t i[3];
	int head;

	SPLIT_ONLY();
	head = take(self->vq, 3, i);
	set_desc(&self->vq->desc[i[0]], G(&self->e, self->req),
		 sizeof(*self->req), VRING_DESC_F_NEXT, i[1]);
	set_desc(&self->vq->desc[i[1]], G(&self->e, self->resp),
		 sizeof(*self->resp), VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
		 i[2]);
	set_desc(&self->vq->desc[i[2]], G(&self->e, self->data), DLEN,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, i[1]);
	run_chain(self, head);
	verdict(_metadata, self, false);
}

/* Proves: a next index beyond the ring is refused. */
TEST_F(bad, next_out_of_range)
{
	uint16_t i[2];
	int head;

	SPLIT_ONLY();
	head = take(self->vq, 2, i);
	set_desc(&self->vq->desc[i[0]], G(&self->e, self->req),
		 sizeof(*self->req), VRING_DESC_F_NEXT, i[1]);
	set_desc(&self->vq->desc[i[1]], G(&self->e, self->resp),
		 sizeof(*self->resp), VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
		 self->vq->num + 7);
	run_chain(self, head);
	verdict(_metadata, self, true);
}

/* Proves: an indirect table containing an indirect descriptor is refused. */
TEST_F(bad, indirect_in_indirect)
{
	struct hd h;
	int head;

	if (!(self->e.d.features & VSNG_F_INDIRECT))
		SKIP(return, "INDIRECT_DESC not negotiated");
	set_tdesc(self, 0, G(&self->e, self->req), sizeof(*self->req),
		  VRING_DESC_F_NEXT, 1);
	set_tdesc(self, 1, G(&self->e, self->ind + 8), 2 * 16,
		  VRING_DESC_F_INDIRECT, 0);
	set_tdesc(self, 8, G(&self->e, self->resp), sizeof(*self->resp),
		  VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_tdesc(self, 9, G(&self->e, self->data), DLEN,
		  VRING_DESC_F_WRITE, 0);
	h = (struct hd){ G(&self->e, self->ind), 2 * 16,
			 VRING_DESC_F_INDIRECT };
	head = mk_chain(self, &h, 1);
	run_chain(self, head);
	verdict(_metadata, self, true);
}

/* Proves: an indirect table whose length is not a multiple of the
 * descriptor size is refused.
 */
TEST_F(bad, indirect_bad_length)
{
	struct hd h;
	int head;

	if (!(self->e.d.features & VSNG_F_INDIRECT))
		SKIP(return, "INDIRECT_DESC not negotiated");
	set_tdesc(self, 0, G(&self->e, self->req), sizeof(*self->req),
		  VRING_DESC_F_NEXT, 1);
	set_tdesc(self, 1, G(&self->e, self->resp), sizeof(*self->resp),
		  VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_tdesc(self, 2, G(&self->e, self->data), DLEN,
		  VRING_DESC_F_WRITE, 0);
	h = (struct hd){ G(&self->e, self->ind), 3 * 16 + 5,
			 VRING_DESC_F_INDIRECT };
	head = mk_chain(self, &h, 1);
	run_chain(self, head);
	verdict(_metadata, self, true);
}

/* Proves: an indirect table outside guest memory is refused. */
TEST_F(bad, indirect_table_outside)
{
	struct hd h;
	int head;

	if (!(self->e.d.features & VSNG_F_INDIRECT))
		SKIP(return, "INDIRECT_DESC not negotiated");
	h = (struct hd){ 0x140000000ULL, 3 * 16, VRING_DESC_F_INDIRECT };
	head = mk_chain(self, &h, 1);
	run_chain(self, head);
	verdict(_metadata, self, true);
}

/* Proves: the driver moving avail->idx more than a ring size ahead is
 * refused (the ring would have to hold more entries than it has).
 */
TEST_F(bad, avail_idx_jump)
{
	int head;

	SPLIT_ONLY();
	head = read_chain(self, G(&self->e, self->data), DLEN);
	snap_take(self);
	self->vq->avail->ring[0] = head;
	__atomic_store_n(&self->vq->avail->idx, self->vq->num + 5,
			 __ATOMIC_RELEASE);
	vsng_vq_kick(self->vq, true);
	/* run_chain would publish again: collect by hand */
	self->err_fired = vsng_vq_err_fired(self->vq, 3000);
	if (vsng_vq_used_idx(self->vq) != self->vq->last_used) {
		self->used = true;
		self->resp_err = resp_error(self->resp);
	}
	/* Executing entries from a ring that claims num + 5 entries is
	 * tolerable only if every answer is an error; in-tree refuses.
	 */
	verdict(_metadata, self, false);
}

/* Proves: an avail ring entry naming a head beyond the ring is refused. */
TEST_F(bad, avail_head_out_of_range)
{
	SPLIT_ONLY();
	run_chain(self, self->vq->num + 3);
	verdict(_metadata, self, true);
}

/* Proves: a response buffer smaller than virtio_scsi_cmd_resp is not
 * written past its end; the request fails.
 */
TEST_F(bad, response_too_small)
{
	uint8_t *small = vsng_alloc_guarded(&self->e.d, 0, 20, GUARD);
	struct hd h[2] = {
		{ G(&self->e, self->req), sizeof(*self->req),
		  VRING_DESC_F_NEXT },
		{ G(&self->e, small), 20, VRING_DESC_F_WRITE },
	};
	int head = mk_chain(self, h, 2);

	memset(small, 0x77, 20);
	snap_allow(self, small, 20);
	self->req->cdb[0] = 0;	/* TUR */
	run_chain(self, head);
	EXPECT_TRUE(vsng_guard_ok(small, 20, GUARD));
	/* The response cannot carry an error: it must be dropped + err, or
	 * answered with a used entry without writing more than 20 bytes.
	 */
	if (self->used)
		self->resp_err = true;
	verdict(_metadata, self, true);
}

/* Proves: a request header shorter than virtio_scsi_cmd_req fails. */
TEST_F(bad, request_too_small)
{
	struct hd h[2] = {
		{ G(&self->e, self->req), 10, VRING_DESC_F_NEXT },
		{ G(&self->e, self->resp), sizeof(*self->resp),
		  VRING_DESC_F_WRITE },
	};

	run_chain(self, mk_chain(self, h, 2));
	verdict(_metadata, self, true);
}

/* Proves: a CDB whose opcode implies more than the 32 bytes virtio-scsi
 * carries (variable-length CDB 0x7f with additional length 0xf8, i.e.
 * 256 bytes; in-tree checks scsi_command_size() > 32) is refused, not
 * executed.
 */
TEST_F(bad, cdb_longer_than_32)
{
	memset(self->req->cdb, 0, sizeof(self->req->cdb));
	self->req->cdb[0] = 0x7f;
	self->req->cdb[7] = 0xf8;
	run_chain(self, read_chain(self, G(&self->e, self->data), DLEN));
	verdict(_metadata, self, true);
}

/* Proves: a device-writable descriptor before a device-readable one (the
 * response ahead of the request) is refused.
 */
TEST_F(bad, write_only_before_read_only)
{
	struct hd h[2] = {
		{ G(&self->e, self->resp), sizeof(*self->resp),
		  VRING_DESC_F_NEXT | VRING_DESC_F_WRITE },
		{ G(&self->e, self->req), sizeof(*self->req), 0 },
	};

	run_chain(self, mk_chain(self, h, 2));
	verdict(_metadata, self, true);
}

/* Proves: a data-in descriptor aimed at the device's own rings is either
 * refused (err eventfd) or executed and answered with a response the
 * device wrote, success included (rings are guest memory like any other),
 * with nothing written outside the named range; no answer at all (a
 * hang) fails.  The device keeps working.
 */
TEST_F(bad, data_in_onto_ring)
{
	/* aim at the descriptor table of queue 0 itself */
	void *ring = self->vq->packed ? (void *)self->vq->pdesc :
					(void *)self->vq->desc;

	snap_allow(self, ring, 512);
	run_chain(self, read_chain(self, G(&self->e, ring), 512));
	EXPECT_TRUE(self->used || self->err_fired) {
		TH_LOG("no answer and no err eventfd within 3 s");
	}
	self->may_succeed = true;
	verdict(_metadata, self, false);
}

/* ---- T10-PI lengths ---------------------------------------------------- */

#define PG	4096

/*
 * Re-create the device with T10_PI negotiated (the request header grows
 * pi_bytesout/pi_bytesin); the fixture's buffers move into the new
 * device's memory.  -EOPNOTSUPP if the target does not offer T10_PI.
 */
static int pi_reinit(FIXTURE_DATA(bad) *self)
{
	struct vsng_dev_opts o = bad_opts;
	struct vsng_dev *d = &self->e.d;
	int err;

	if (!(d->offered & VSNG_F_T10_PI))
		return -EOPNOTSUPP;
	o.features = d->offered & (VSNG_F_VERSION_1 | VSNG_F_ANY_LAYOUT |
				   VSNG_F_INDIRECT | VSNG_F_EVENT_IDX |
				   VSNG_F_T10_PI);
	vsng_dev_clear_endpoint(d);
	vsng_dev_close(d);
	err = vsng_dev_init(d, &o);
	if (!err)
		err = vsng_dev_set_endpoint(d, self->e.t.wwpn);
	if (err)
		return err;
	vsng_clear_ua(vsng_req_vq(&self->e, 0), 0);
	vsng_clear_ua(vsng_req_vq(&self->e, 1), 0);
	self->vq = vsng_req_vq(&self->e, 0);
	/* the PI header is longer: req_pi lives where req points */
	self->req = vsng_alloc_guarded(d, 0,
				       sizeof(struct virtio_scsi_cmd_req_pi),
				       GUARD);
	self->resp = vsng_alloc_guarded(d, 0, sizeof(*self->resp), GUARD);
	self->data = vsng_alloc_guarded(d, 0, DLEN, GUARD);
	self->ind = vsng_alloc_guarded(d, 0, 64 * 16, GUARD);
	if (!self->req || !self->resp || !self->data || !self->ind)
		return -ENOMEM;
	memset(self->resp, 0x77, sizeof(*self->resp));
	memset(self->data, 0x77, DLEN);
	return 0;
}

/*
 * A PI request: INQUIRY with allocation length @alloc, pi_bytesin @pi,
 * one data-in descriptor of @din bytes at @buf (PI bytes first, then
 * data).
 */
static int pi_inquiry_chain(FIXTURE_DATA(bad) *self, uint16_t alloc,
			    uint32_t pi, const uint8_t *buf, uint32_t din)
{
	struct virtio_scsi_cmd_req_pi *r = (void *)self->req;
	struct hd h[3] = {
		{ G(&self->e, r), sizeof(*r), VRING_DESC_F_NEXT },
		{ G(&self->e, self->resp), sizeof(*self->resp),
		  VRING_DESC_F_NEXT | VRING_DESC_F_WRITE },
		{ G(&self->e, buf), din, VRING_DESC_F_WRITE },
	};

	memset(r, 0, sizeof(*r));
	vsng_lun_encode(r->lun, VSNG_TPGT, 0);
	vsng_cdb_inquiry(r->cdb, false, 0, alloc);
	r->pi_bytesin = pi;
	return mk_chain(self, h, 3);
}

/*
 * The harmless probe of the PI length confusion: one page of PI, then
 * 16 data bytes at the START of the next page, the rest of that page a
 * pattern the device must not touch; INQUIRY asks for 255 bytes.  A
 * target that hands LIO the data and PI bytes together as the expected
 * transfer length (16 + 4096 >= 255) lets LIO's INQUIRY emulation copy
 * 255 bytes into the 16-byte data buffer: the 239 bytes past it land in
 * the same page (kmap of the data page), never beyond it, so the probe
 * is safe for the host even where it shows the defect.  Returns the
 * number of bytes changed past the data-in descriptor (in that page).
 */
static size_t pi_probe(struct __test_metadata *_metadata,
		       FIXTURE_DATA(bad) *self, uint8_t **bufp)
{
	uint8_t *buf = vsng_alloc(&self->e.d, 0, 2 * PG, PG);
	size_t past = 0, k;

	if (!buf)
		return (size_t)-1;
	*bufp = buf;
	memset(buf, 0x77, 2 * PG);
	snap_allow(self, buf, PG + 16);
	run_chain(self, pi_inquiry_chain(self, 255, PG, buf, PG + 16));
	for (k = PG + 16; k < 2 * PG; k++)
		past += buf[k] != 0x77;
	TH_LOG("probe: used %d err %d response %u status %#x resid %u, %zu bytes past the data-in descriptor changed",
	       self->used, self->err_fired, self->resp->response,
	       self->resp->status, self->resp->resid, past);
	return past;
}

/* The device still answers on the other queue. */
static void pi_still_works(struct __test_metadata *_metadata,
			   FIXTURE_DATA(bad) *self)
{
	struct vsng_cmd c = { 0 };

	ASSERT_EQ(0, vsng_tur(vsng_req_vq(&self->e, 1), VSNG_TPGT, 0, &c));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, c.rsp.response);
	EXPECT_EQ(0, c.rsp.status);
}

/*
 * Proves: pi_bytesin larger than what the CDB asks, with a small data
 * area, does not let the device write past the data-in descriptor: the
 * expected transfer length given to LIO is the data area alone, so an
 * INQUIRY for 255 bytes into 16 data bytes is an overflow (CHECK
 * CONDITION, ILLEGAL REQUEST), and all other guest memory is untouched.
 * In-tree 6.12 passes data + PI bytes to LIO: affected (the probe stays
 * inside one page, see pi_probe()).
 */
TEST_F(bad, pi_bytesin_past_data)
{
	uint64_t first;
	uint8_t *buf;
	size_t past, nbad;

	if (pi_reinit(self) == -EOPNOTSUPP)
		SKIP(return, "T10_PI not offered");
	ASSERT_EQ(0, self->nallow);
	past = pi_probe(_metadata, self, &buf);
	ASSERT_NE((size_t)-1, past);
	ASSERT_TRUE(self->used || self->err_fired);
	nbad = snap_diff(self, true, &first);
	if (VSNG_INTREE_AFFECTED(past || nbad,
				 "INQUIRY for 255 bytes, pi_bytesin 4096, 16 data bytes: %zu bytes past the data-in descriptor written (%zu outside the chain's buffers, first at %#llx)",
				 past, nbad, (unsigned long long)first))
		return;
	/* not affected: an overflow of the 16-byte data area, refused */
	EXPECT_TRUE(self->used);
	EXPECT_EQ(VIRTIO_SCSI_S_OK, self->resp->response);
	EXPECT_EQ(2, self->resp->status);
	EXPECT_EQ(5, vsng_sense_key(self->resp));
	EXPECT_TRUE(vsng_guard_ok(self->req,
				  sizeof(struct virtio_scsi_cmd_req_pi), GUARD));
	EXPECT_TRUE(vsng_guard_ok(self->resp, sizeof(*self->resp), GUARD));
	pi_still_works(_metadata, self);
}

/*
 * Proves: pi_bytesin equal to the whole data-in area (PI bytes and no
 * data) is refused as a bad request (BAD_TARGET, err eventfd) and
 * writes nothing, instead of reaching LIO with PI and no data.
 * In-tree 6.12 is NOT sent this request: it would map a data area of
 * 0 bytes with sg_init_table(sgl, 0), whose end marker lands at
 * sgl[0xffffffff] (a write about 128 GiB past its array: an oops at
 * best).  Its affliction with the same length arithmetic is shown by
 * the harmless probe of pi_bytesin_past_data instead.
 */
TEST_F(bad, pi_bytesin_fills_data_in)
{
	uint64_t first;
	uint8_t *buf;
	size_t nbad, k, chg = 0;

	if (pi_reinit(self) == -EOPNOTSUPP)
		SKIP(return, "T10_PI not offered");
	if (!vsng_target_is_ours()) {
		size_t past = pi_probe(_metadata, self, &buf);

		ASSERT_NE((size_t)-1, past);
		VSNG_INTREE_AFFECTED(past != 0,
				     "pi_bytesin == data-in length not sent (would run sg_init_table(sgl, 0)); the same data + PI length arithmetic shows in the probe: %zu bytes past a 16-byte data-in descriptor written",
				     past);
		return;
	}
	buf = vsng_alloc(&self->e.d, 0, 2 * PG, PG);
	ASSERT_NE(NULL, buf);
	memset(buf, 0x77, 2 * PG);
	snap_allow(self, buf, PG);
	run_chain(self, pi_inquiry_chain(self, 255, PG, buf, PG));
	TH_LOG("used %d err %d response %u status %#x resid %u",
	       self->used, self->err_fired, self->resp->response,
	       self->resp->status, self->resp->resid);
	nbad = snap_diff(self, true, &first);
	EXPECT_EQ(0, nbad) {
		TH_LOG("%zu bytes outside the chain's buffers changed, first at %#llx",
		       nbad, (unsigned long long)first);
	}
	for (k = 0; k < 2 * PG; k++)
		chg += buf[k] != 0x77;
	EXPECT_EQ(0, chg);
	EXPECT_TRUE(self->used);
	EXPECT_EQ(VIRTIO_SCSI_S_BAD_TARGET, self->resp->response);
	EXPECT_TRUE(self->err_fired);
	pi_still_works(_metadata, self);
}

/*
 * Proves (found by the fuzzer, fuzz-corpus/findings/readcap-writes-data-out):
 * a command whose data LIO produces (READ CAPACITY) sent with a data-out
 * buffer (device-readable) does not make the device write into that
 * buffer: nothing the guest marked read-only changes, the guards around
 * it hold, the command is answered, and READ CAPACITY with a data-in
 * buffer still works.  Ours gives LIO a copy of the data-out of anything
 * that is not a WRITE; in-tree 6.12 maps the guest's pages: affected.
 */
TEST_F(bad, data_out_not_written)
{
	uint8_t cdb[10] = { 0x25 };	/* READ CAPACITY(10) */
	struct vsng_cmd c = { 0 };
	uint8_t *din;
	size_t k, chg = 0;

	vsng_cmd_init(&c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_scsi(self->vq, &c, cdb, sizeof(cdb),
			       vsng_gpa(&self->e.d, self->data), 8, 0, 0));
	for (k = 0; k < DLEN; k++)
		chg += self->data[k] != 0x77;
	TH_LOG("response %u status %#x; %zu bytes of the data-out buffer changed",
	       c.rsp.response, c.rsp.status, chg);
	EXPECT_EQ(VIRTIO_SCSI_S_OK, c.rsp.response);
	EXPECT_TRUE(vsng_guard_ok(self->data, DLEN, GUARD));
	if (VSNG_INTREE_AFFECTED(chg != 0,
				 "READ CAPACITY with an 8-byte data-out buffer: %zu bytes of it written by the device",
				 chg))
		return;

	din = vsng_alloc(&self->e.d, 0, 8, 8);
	ASSERT_NE(NULL, din);
	memset(din, 0, 8);
	vsng_cmd_init(&c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_scsi(self->vq, &c, cdb, sizeof(cdb), 0, 0,
			       vsng_gpa(&self->e.d, din), 8));
	EXPECT_EQ(0, c.rsp.status);
	/* block length 512 in bytes 4..7 */
	EXPECT_EQ(2, din[6]);
}

/*
 * Proves: the data-in of a command LIO emulates (INQUIRY here) lands in
 * the guest's descriptors and nowhere else when it is split into two
 * small descriptors of the same page.  LIO's emulation writes through
 * transport_kmap_data_sg(), one mapping of the pages that ignores where
 * each scatterlist entry starts and ends: a target that hands LIO the
 * guest's pages with those offsets gets the answer written as one run
 * from the first entry's offset, over guest memory no descriptor named,
 * while the second descriptor gets nothing.  Ours copies through a
 * bounce buffer for anything but the READ family; in-tree 6.12 maps the
 * guest's pages: affected.
 */
TEST_F(bad, data_in_split_emulated)
{
	const uint32_t la = 6, lb = 90, off_a = 0x100, off_b = 0x800;
	uint8_t want[96], got[96];
	struct vsng_cmd c = { 0 };
	struct hd h[4];
	uint8_t cdb[6], *plain;
	uint64_t first;
	size_t nbad;
	int head;

	/* the answer the device gives into one plain buffer */
	plain = vsng_alloc(&self->e.d, 0, sizeof(want), 8);
	ASSERT_NE(NULL, plain);
	vsng_cdb_inquiry(cdb, false, 0, sizeof(want));
	vsng_cmd_init(&c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_scsi(self->vq, &c, cdb, sizeof(cdb), 0, 0,
			       vsng_gpa(&self->e.d, plain), sizeof(want)));
	ASSERT_EQ(0, c.rsp.status);
	memcpy(want, plain, sizeof(want));

	vsng_cdb_inquiry(self->req->cdb, false, 0, la + lb);
	h[0] = (struct hd){ G(&self->e, self->req), sizeof(*self->req),
			    VRING_DESC_F_NEXT };
	h[1] = (struct hd){ G(&self->e, self->resp), sizeof(*self->resp),
			    VRING_DESC_F_NEXT | VRING_DESC_F_WRITE };
	h[2] = (struct hd){ G(&self->e, self->data + off_a), la,
			    VRING_DESC_F_NEXT | VRING_DESC_F_WRITE };
	h[3] = (struct hd){ G(&self->e, self->data + off_b), lb,
			    VRING_DESC_F_WRITE };
	head = mk_chain(self, h, 4);
	ASSERT_LE(0, head);
	run_chain(self, head);
	ASSERT_TRUE(self->used);
	EXPECT_EQ(VIRTIO_SCSI_S_OK, self->resp->response);
	EXPECT_EQ(0, self->resp->status);

	snap_allow(self, self->data + off_a, la);
	snap_allow(self, self->data + off_b, lb);
	nbad = snap_diff(self, true, &first);
	memcpy(got, self->data + off_a, la);
	memcpy(got + la, self->data + off_b, lb);
	EXPECT_TRUE(vsng_guard_ok(self->data, DLEN, GUARD));
	if (VSNG_INTREE_AFFECTED(nbad != 0,
				 "INQUIRY into a 6- and a 90-byte descriptor of one page: %zu bytes outside them written, first at %#llx",
				 nbad, (unsigned long long)first))
		return;
	EXPECT_EQ(0, memcmp(want, got, sizeof(want)));
}

/*
 * Re-create the TPG's nexus with attrib/fabric_prot_type=1 (LIO reads it
 * when it makes the session; LUN 0 is unlinked around it, as LIO wants),
 * then the device with T10_PI (pi_reinit()).  LIO then inserts PI into
 * every READ itself (TARGET_PROT_DIN_INSERT, the rd backstore has none).
 */
static int pi_fabric_type1(FIXTURE_DATA(bad) *self)
{
	char tpg[256], p[320];

	vsng_dev_clear_endpoint(&self->e.d);
	if (vsng_target_del_lun(&self->e.t, 0) ||
	    vsng_target_set_nexus(&self->e.t, false))
		return -EIO;
	vsng_target_tpg_path(&self->e.t, tpg, sizeof(tpg));
	snprintf(p, sizeof(p), "%s/attrib/fabric_prot_type", tpg);
	if (vsng_sysfs_write(p, "1") ||
	    vsng_target_set_nexus(&self->e.t, true) ||
	    vsng_target_add_lun(&self->e.t, 0))
		return -EIO;
	return pi_reinit(self);
}

/*
 * Proves: PI that LIO generates for a READ lands in the guest's PI
 * descriptors and nowhere else when the 8 PI bytes are split into two
 * 4-byte descriptors in the middle of a page.  LIO's sbc_dif_generate()
 * writes whole 8-byte tuples at the start of each PI scatterlist entry
 * whatever the entry's length: with the guest's pages mapped, 4 bytes
 * past each descriptor (and past the page when a descriptor ends there:
 * host memory, which this test keeps out of reach by placing them
 * mid-page).  Ours gives LIO bounce pages for the PI (and the data) of
 * every PI request; in-tree 6.12 pins the guest's pages: affected.
 */
TEST_F(bad, pi_split_tuple_stays_inside)
{
	struct virtio_scsi_cmd_req_pi *r;
	uint8_t *buf, want[8], got[8];
	struct hd h[5];
	uint64_t first;
	size_t nbad;
	int err, head, k;

	err = pi_fabric_type1(self);
	if (err == -EOPNOTSUPP)
		SKIP(return, "the target does not offer T10_PI");
	ASSERT_EQ(0, err);
	r = (void *)self->req;
	buf = vsng_alloc(&self->e.d, 0, PG, PG);
	ASSERT_NE(NULL, buf);

	for (k = 0; k < 2; k++) {
		/* k 0: one 8-byte PI descriptor (the reference), 1: 4 + 4 */
		memset(buf, 0x77, PG);
		memset(r, 0, sizeof(*r));
		vsng_lun_encode(r->lun, VSNG_TPGT, 0);
		vsng_cdb_rw(r->cdb, 10, false, 0, 1);
		r->pi_bytesin = 8;
		h[0] = (struct hd){ G(&self->e, r), sizeof(*r),
				    VRING_DESC_F_NEXT };
		h[1] = (struct hd){ G(&self->e, self->resp),
				    sizeof(*self->resp),
				    VRING_DESC_F_NEXT | VRING_DESC_F_WRITE };
		h[2] = (struct hd){ G(&self->e, buf + 100), k ? 4 : 8,
				    VRING_DESC_F_NEXT | VRING_DESC_F_WRITE };
		if (k)
			h[3] = (struct hd){ G(&self->e, buf + 200), 4,
					    VRING_DESC_F_NEXT |
					    VRING_DESC_F_WRITE };
		h[3 + k] = (struct hd){ G(&self->e, buf + 1024), 512,
					VRING_DESC_F_WRITE };
		head = mk_chain(self, h, 4 + k);
		ASSERT_LE(0, head);
		self->nallow = 0;
		self->used = false;
		snap_allow(self, buf + 100, k ? 4 : 8);
		if (k)
			snap_allow(self, buf + 200, 4);
		snap_allow(self, buf + 1024, 512);
		run_chain(self, head);
		ASSERT_TRUE(self->used);
		skip_used(self);
		TH_LOG("%s: response %u status %#x", k ? "split" : "whole",
		       self->resp->response, self->resp->status);
		EXPECT_EQ(VIRTIO_SCSI_S_OK, self->resp->response);
		EXPECT_EQ(0, self->resp->status);
		nbad = snap_diff(self, true, &first);
		if (!k) {
			ASSERT_EQ(0, nbad);
			memcpy(want, buf + 100, 8);
			continue;
		}
		memcpy(got, buf + 100, 4);
		memcpy(got + 4, buf + 200, 4);
		if (VSNG_INTREE_AFFECTED(nbad != 0,
					 "PI of a READ split into two 4-byte descriptors: %zu bytes outside them written, first at %#llx",
					 nbad, (unsigned long long)first))
			return;
		EXPECT_EQ(0, memcmp(want, got, 8));
	}
	pi_still_works(_metadata, self);
}

/* ---- packed rings ------------------------------------------------------ */

/*
 * The packed cases assert one exact outcome each:
 *   PK_BROKEN:   the chain is refused as a whole: the err eventfd fires,
 *                no used element is written, exactly one "vq N broken"
 *                line is logged (ratelimited, once per breakage), and
 *                nothing else changes; the other queue and a fresh device
 *                work (verdict()).
 *   PK_IGNORED:  the descriptor is not available by its flags: nothing is
 *                consumed (no used element, no err, no log line, the
 *                response untouched); once the driver makes it available
 *                properly, the same chain is served (GOOD).
 * VSNG_PK_INVERT=1 in the environment turns every expectation round, to
 * show that each case can fail (every packed case must then fail).
 */
enum pk_expect { PK_BROKEN, PK_IGNORED };

static bool pk_invert(void)
{
	const char *v = getenv("VSNG_PK_INVERT");

	return v && *v == '1';
}

/* Kernel log lines from now on: an fd at the end of /dev/kmsg. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* The chain req / resp / data-in as packed descriptors of lap @wrap. */
static void pk_read_descs(FIXTURE_DATA(bad) *self, struct vring_packed_desc *d,
			  uint16_t id)
{
	struct vsng_vq *vq = self->vq;
	uint16_t pos = vq->next_avail;
	bool wrap = vq->avail_wrap;
	int k;

	d[0] = (struct vring_packed_desc){ G(&self->e, self->req),
					   sizeof(*self->req), id,
					   VRING_DESC_F_NEXT };
	d[1] = (struct vring_packed_desc){ G(&self->e, self->resp),
					   sizeof(*self->resp), id,
					   VRING_DESC_F_NEXT |
					   VRING_DESC_F_WRITE };
	d[2] = (struct vring_packed_desc){ G(&self->e, self->data), DLEN, id,
					   VRING_DESC_F_WRITE };
	for (k = 0; k < 3; k++) {
		d[k].flags |= vsng_pq_avail_bits(wrap);
		if (++pos == vq->num) {
			pos = 0;
			wrap = !wrap;
		}
	}
}

/* Do the ring slots from @head differ from the @n descriptors written? */
static bool pk_slots_changed(FIXTURE_DATA(bad) *self, int head,
			     const struct vring_packed_desc *d, int n)
{
	struct vsng_vq *vq = self->vq;
	int k;

	for (k = 0; k < n; k++)
		if (memcmp(&vq->pdesc[(head + k) % vq->num], &d[k],
			   sizeof(*d)))
			return true;
	return false;
}

/* Make @n raw descriptors available after the snapshot and collect. */
static void pk_run(FIXTURE_DATA(bad) *self, const struct vring_packed_desc *d,
		   int n)
{
	memcpy(self->pend, d, n * sizeof(*d));
	self->npend = n;
	run_chain(self, 0);
}

/* The outcome checks; @kfd from kmsg_open() before the case ran. */
static void pk_outcome(struct __test_metadata *_metadata,
		       FIXTURE_DATA(bad) *self, enum pk_expect want, int kfd,
		       const char *why, bool data_untouched)
{
	int logged = kfd >= 0 ? vsng_kmsg_count(kfd, " broken: ", "packed") :
				-1;

	if (pk_invert())
		want = want == PK_BROKEN ? PK_IGNORED : PK_BROKEN;
	TH_LOG("%s: err %d, used %d, %d \"broken\" log lines, response 0x%x",
	       why, self->err_fired, self->used, logged,
	       self->resp->response);
	if (want == PK_BROKEN) {
		EXPECT_TRUE(self->err_fired);
		EXPECT_FALSE(self->used);
		EXPECT_EQ(1, logged);
		verdict(_metadata, self, data_untouched);
		return;
	}
	EXPECT_FALSE(self->err_fired);
	EXPECT_FALSE(self->used);
	EXPECT_EQ(0, logged);
	EXPECT_EQ(0x77, self->resp->response);
}

/* PK_IGNORED, second half: the same chain made available properly is
 * served once, GOOD.
 */
static void pk_then_served(struct __test_metadata *_metadata,
			   FIXTURE_DATA(bad) *self, uint16_t head)
{
	struct vsng_vq *vq = self->vq;
	uint64_t end = vsng_now_ms() + VSNG_TMO;
	uint32_t len;
	uint16_t id;

	/* flags of the right lap (the slot's), written last */
	__atomic_store_n(&vq->pdesc[head].flags,
			 (uint16_t)(self->pend[0].flags &
				    ~(VSNG_PD_AVAIL | VSNG_PD_USED)) |
			 vsng_pq_avail_bits(head >= vq->next_avail ?
					    !vq->avail_wrap : vq->avail_wrap),
			 __ATOMIC_RELEASE);
	vsng_vq_kick(vq, true);
	while (!vsng_pq_peek_used(vq, &id, &len) && vsng_now_ms() < end)
		usleep(1000);
	ASSERT_TRUE(vsng_pq_peek_used(vq, &id, &len));
	EXPECT_EQ(HAND_ID(vq), id);
	EXPECT_EQ(VIRTIO_SCSI_S_OK, self->resp->response);
	EXPECT_EQ(0, self->resp->status);
	EXPECT_FALSE(vsng_vq_err_fired(vq, 0));
	skip_used(self);
}

/* Proves (packed): a head whose AVAIL/USED bits are those of the other
 * lap (AVAIL = !wrap, USED = wrap) is not available: not consumed, no
 * error; written with the right bits it is served.
 */
TEST_F(bad, packed_flags_other_lap)
{
	struct vring_packed_desc d[3];
	int kfd = kmsg_open(), head;

	PACKED_ONLY();
	pk_read_descs(self, d, HAND_ID(self->vq));
	head = self->vq->next_avail;
	d[0].flags ^= VSNG_PD_AVAIL | VSNG_PD_USED;
	pk_run(self, d, 3);
	usleep(300 * 1000);
	self->used = pk_slots_changed(self, head, d, 3);
	pk_outcome(_metadata, self, PK_IGNORED, kfd, "other lap", true);
	if (!pk_invert())
		pk_then_served(_metadata, self, head);
	close(kfd);
}

/* Proves (packed): a head that looks like a used element of this lap
 * (AVAIL = USED = wrap) is not available: not consumed, no error.
 */
TEST_F(bad, packed_flags_look_used)
{
	struct vring_packed_desc d[3];
	int kfd = kmsg_open(), head;

	PACKED_ONLY();
	pk_read_descs(self, d, HAND_ID(self->vq));
	head = self->vq->next_avail;
	d[0].flags |= VSNG_PD_AVAIL | VSNG_PD_USED;
	pk_run(self, d, 3);
	usleep(300 * 1000);
	/* the head looks like a used element to the driver: did the
	 * device write anything there?
	 */
	self->used = pk_slots_changed(self, head, d, 3);
	pk_outcome(_metadata, self, PK_IGNORED, kfd, "looks used", true);
	if (!pk_invert())
		pk_then_served(_metadata, self, head);
	close(kfd);
}

/* Proves (packed): a buffer ID >= the queue size breaks the queue. */
TEST_F(bad, packed_id_out_of_range)
{
	struct vring_packed_desc d[3];
	int kfd = kmsg_open();

	PACKED_ONLY();
	pk_read_descs(self, d, self->vq->num + 5);
	pk_run(self, d, 3);
	pk_outcome(_metadata, self, PK_BROKEN, kfd, "id num + 5", true);
	close(kfd);
}

/* Proves (packed): a buffer ID already in flight breaks the queue: two
 * chains with the same ID made available together (one kick; the first
 * is still in flight when the device reads the second).
 */
TEST_F(bad, packed_id_in_flight)
{
	struct vring_packed_desc d[6];
	int kfd = kmsg_open();

	PACKED_ONLY();
	pk_read_descs(self, d, 7);
	/* the second chain's slots follow the first's */
	self->vq->next_avail += 3;
	pk_read_descs(self, d + 3, 7);
	self->vq->next_avail -= 3;
	/* the first chain may be answered before the break: its data */
	snap_allow(self, self->data, DLEN);
	pk_run(self, d, 6);
	/* a used element, if any, can only be the first chain's (id 7) */
	if (self->used)
		EXPECT_EQ(7, self->used_id);
	self->used = false;
	pk_outcome(_metadata, self, PK_BROKEN, kfd, "id in flight", false);
	close(kfd);
}

/* Proves (packed): a chain of num descriptors, each with NEXT (longer
 * than the ring), breaks the queue; nothing is consumed.
 */
TEST_F(bad, packed_chain_longer_than_ring)
{
	struct vsng_vq *vq = self->vq;
	struct vring_packed_desc *d = calloc(vq->num, sizeof(*d));
	int kfd = kmsg_open();
	unsigned int k;

	PACKED_ONLY();
	ASSERT_NE(NULL, d);
	d[0] = (struct vring_packed_desc){ G(&self->e, self->req),
					   sizeof(*self->req), 1,
					   VRING_DESC_F_NEXT };
	for (k = 1; k < vq->num; k++)
		d[k] = (struct vring_packed_desc){
			G(&self->e, self->data) + 16 * k, 16, 1,
			VRING_DESC_F_NEXT | VRING_DESC_F_WRITE };
	for (k = 0; k < vq->num; k++)
		d[k].flags |= vsng_pq_avail_bits(vq->avail_wrap);
	snap_take(self);
	ASSERT_LE(0, vsng_pq_put_raw(vq, d, vq->num));
	vsng_vq_kick(vq, true);
	self->err_fired = vsng_vq_err_fired(vq, 3000);
	self->used = vsng_pq_peek_used(vq, &self->used_id, &self->used_len);
	pk_outcome(_metadata, self, PK_BROKEN, kfd, "chain of num", true);
	free(d);
	close(kfd);
}

/* The indirect cases: head @hflags (INDIRECT...), table self->ind of
 * @len bytes (req, resp, data-in; entry 1 optionally INDIRECT).
 */
static void pk_indirect(struct __test_metadata *_metadata,
			FIXTURE_DATA(bad) *self, uint16_t hflags,
			uint32_t len, bool nested, const char *why)
{
	struct vring_packed_desc d[2];
	int kfd = kmsg_open(), n = 1;
	bool w = self->vq->avail_wrap;

	set_tdesc(self, 0, G(&self->e, self->req), sizeof(*self->req), 0, 0);
	set_tdesc(self, 1, G(&self->e, nested ? (void *)(self->ind + 8) :
						 (void *)self->resp),
		  nested ? 32 : sizeof(*self->resp),
		  nested ? VRING_DESC_F_INDIRECT : VRING_DESC_F_WRITE, 0);
	set_tdesc(self, 2, G(&self->e, self->data), DLEN, VRING_DESC_F_WRITE,
		  0);
	set_tdesc(self, 8, G(&self->e, self->resp), sizeof(*self->resp),
		  VRING_DESC_F_WRITE, 0);
	set_tdesc(self, 9, G(&self->e, self->data), DLEN, VRING_DESC_F_WRITE,
		  0);
	d[0] = (struct vring_packed_desc){ G(&self->e, self->ind), len, 3,
					   hflags | vsng_pq_avail_bits(w) };
	if (hflags & VRING_DESC_F_NEXT) {
		/* a second descriptor the NEXT points at */
		d[1] = (struct vring_packed_desc){ G(&self->e, self->data),
						   DLEN, 3, VRING_DESC_F_WRITE };
		d[1].flags |= vsng_pq_avail_bits(self->vq->next_avail + 1 ==
						 self->vq->num ? !w : w);
		n = 2;
	}
	pk_run(self, d, n);
	pk_outcome(_metadata, self, PK_BROKEN, kfd, why, true);
	close(kfd);
}

/* Proves (packed): INDIRECT together with NEXT breaks the queue. */
TEST_F(bad, packed_indirect_with_next)
{
	PACKED_ONLY();
	pk_indirect(_metadata, self,
		    VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 3 * 16, false,
		    "INDIRECT|NEXT");
}

/* Proves (packed): an INDIRECT entry inside an indirect table breaks the
 * queue.
 */
TEST_F(bad, packed_indirect_in_indirect)
{
	PACKED_ONLY();
	pk_indirect(_metadata, self, VRING_DESC_F_INDIRECT, 3 * 16, true,
		    "nested indirect");
}

/* Proves (packed): an indirect table of length 0 breaks the queue. */
TEST_F(bad, packed_indirect_len_zero)
{
	PACKED_ONLY();
	pk_indirect(_metadata, self, VRING_DESC_F_INDIRECT, 0, false,
		    "indirect length 0");
}

/* Proves (packed): an indirect table length that is not a multiple of
 * 16 breaks the queue.
 */
TEST_F(bad, packed_indirect_len_odd)
{
	PACKED_ONLY();
	pk_indirect(_metadata, self, VRING_DESC_F_INDIRECT, 3 * 16 + 5, false,
		    "indirect length 53");
}

/*
 * Proves (packed): the wrap-counter flip game.  A chain is served; the
 * driver then writes the flags of its (now used) head back to "available
 * in this lap", kicks, and also marks the slot after the chain available
 * in the *next* lap: neither is consumed (the device is past the first,
 * the second is not of its lap), no error.  A proper chain after that is
 * served once, and exactly two used elements were written in all.
 */
TEST_F(bad, packed_wrap_flip_game)
{
	struct vsng_vq *vq = self->vq;
	struct vring_packed_desc d[3];
	int kfd = kmsg_open(), head;
	uint32_t len;
	uint16_t id, nxt;

	PACKED_ONLY();
	pk_read_descs(self, d, HAND_ID(vq));
	head = vq->next_avail;
	pk_run(self, d, 3);
	ASSERT_TRUE(self->used);
	EXPECT_EQ(0, self->resp->status);
	skip_used(self);
	/* the game: the used head "available" again, the next slot in the
	 * next lap
	 */
	memset(self->resp, 0x77, sizeof(*self->resp));
	nxt = vq->next_avail;
	vq->pdesc[nxt] = d[0];
	__atomic_store_n(&vq->pdesc[nxt].flags,
			 (uint16_t)(VRING_DESC_F_NEXT |
				    vsng_pq_avail_bits(!vq->avail_wrap)),
			 __ATOMIC_RELEASE);
	__atomic_store_n(&vq->pdesc[head].flags, d[0].flags,
			 __ATOMIC_RELEASE);
	self->used = self->err_fired = false;
	vsng_vq_kick(vq, true);
	self->err_fired = vsng_vq_err_fired(vq, 500);
	self->used = vsng_pq_peek_used(vq, &id, &len);
	pk_outcome(_metadata, self, PK_IGNORED, kfd, "flipped flags", true);
	if (pk_invert()) {
		close(kfd);
		return;
	}
	/* a proper chain at nxt is served once */
	pk_read_descs(self, d, HAND_ID(vq));
	pk_run(self, d, 3);
	ASSERT_TRUE(self->used);
	EXPECT_EQ(HAND_ID(vq), self->used_id);
	EXPECT_EQ(0, self->resp->status);
	skip_used(self);
	usleep(200 * 1000);
	EXPECT_FALSE(vsng_pq_peek_used(vq, &id, &len));
	EXPECT_FALSE(vsng_vq_err_fired(vq, 0));
	close(kfd);
}

/*
 * Proves (packed): GET_VRING_BASE gives both positions with their wrap
 * counters (QEMU's encoding) after the ring wrapped, and the device goes
 * on from a SET_VRING_BASE of the same value.
 */
TEST_F(bad, packed_vring_base_roundtrip)
{
	struct vsng_vq *vq = vsng_req_vq(&self->e, 1);
	struct vhost_vring_state s = { .index = vq->index };
	struct vsng_cmd c = { 0 };
	int i;

	PACKED_ONLY();
	/* 70 TURs of 2 descriptors: 140 slots of 128, one wrap */
	for (i = 0; i < 70; i++)
		ASSERT_EQ(0, vsng_tur(vq, VSNG_TPGT, 0, &c));
	EXPECT_FALSE(vq->avail_wrap);
	ASSERT_EQ(0, vsng_dev_clear_endpoint(&self->e.d));
	s.num = 0xdeadbeef;
	ASSERT_EQ(0, vsng_ioctl(&self->e.d, VHOST_GET_VRING_BASE, &s));
	TH_LOG("GET_VRING_BASE %#x, driver %#x", s.num, vsng_vq_base(vq));
	if (pk_invert()) {
		EXPECT_NE(vsng_vq_base(vq), s.num);
	} else {
		EXPECT_EQ(vsng_vq_base(vq), s.num);
	}
	EXPECT_EQ(VSNG_PACKED_BASE(12, 0, 12, 0), s.num);
	ASSERT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_VRING_BASE, &s));
	ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, vsng_tur(vq, VSNG_TPGT, 0, &c));
		EXPECT_EQ(0, c.rsp.status);
	}
}

/*
 * SET_VRING_BASE of queue 0 with an index >= num in one half (@used:
 * the used half, else the avail half) while the backend is stopped,
 * then SET_ENDPOINT and a valid chain at slot 0 (and, for a bad avail
 * index, at the slot it names past the ring's end).  The
 * exact outcome: refused (SET_VRING_BASE or SET_ENDPOINT -EINVAL), or
 * the queue is cleanly dead: the chain is not consumed, nothing is
 * written into the ring, and the other queue and a fresh device work.
 */
static void pk_bad_base(struct __test_metadata *_metadata,
			FIXTURE_DATA(bad) *self, bool used)
{
	struct vsng_vq *vq = self->vq;
	struct vhost_vring_state s = { .index = vq->index };
	struct vring_packed_desc d[3], before[3];
	bool ok, served = false;
	int r1, r2 = 0, changed = 0;
	uint32_t len;
	uint16_t id;

	ASSERT_EQ(0, vsng_dev_clear_endpoint(&self->e.d));
	s.num = used ? VSNG_PACKED_BASE(0, 1, vq->num + 3, 1) :
		       VSNG_PACKED_BASE(vq->num + 3, 1, 0, 1);
	r1 = vsng_ioctl(&self->e.d, VHOST_SET_VRING_BASE, &s);
	if (!r1)
		r2 = vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn);
	TH_LOG("SET_VRING_BASE %#x: %d, SET_ENDPOINT: %d", s.num, r1, r2);
	if (r1 || r2) {
		ok = (r1 ? r1 : r2) == -EINVAL;
		if (r2)
			ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d,
							   self->e.t.wwpn));
	} else {
		/* accepted: the queue must be cleanly dead */
		vq->next_avail = 0;
		vq->avail_wrap = true;
		pk_read_descs(self, d, HAND_ID(vq));
		memcpy(before, d, sizeof(d));
		/* the same chain where the bad index points, past the
		 * ring's end (guest memory all the same): a device that
		 * follows the index reads it there
		 */
		if (!used)
			memcpy(&vq->pdesc[vq->num + 3], d, sizeof(d));
		snap_take(self);
		vsng_pq_put_raw(vq, d, 3);
		vsng_vq_kick(vq, true);
		self->err_fired = vsng_vq_err_fired(vq, 1000);
		vq->used_pos = 0;
		vq->used_wrap = true;
		served = vsng_pq_peek_used(vq, &id, &len);
		changed = memcmp(before, vq->pdesc, sizeof(before));
		TH_LOG("accepted: err %d, used element %d, ring changed %d, response 0x%x",
		       self->err_fired, served, changed != 0,
		       self->resp->response);
		ok = !served && !changed && self->resp->response == 0x77;
	}
	if (pk_invert()) {
		EXPECT_FALSE(ok);
		return;
	}
	EXPECT_TRUE(ok);
	self->err_fired = true;	/* verdict(): no answer is the outcome */
	verdict(_metadata, self, true);
}

/* Proves (packed): SET_VRING_BASE with last_avail_idx >= num. */
TEST_F(bad, packed_vring_base_bad_avail)
{
	PACKED_ONLY();
	pk_bad_base(_metadata, self, false);
}

/* Proves (packed): SET_VRING_BASE with the used index >= num. */
TEST_F(bad, packed_vring_base_bad_used)
{
	PACKED_ONLY();
	pk_bad_base(_metadata, self, true);
}

TEST_HARNESS_MAIN
