// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: KUnit tests of the pure logic.
 *
 * Built as vhost_scsi_ng_kunit.ko only against kernels with CONFIG_KUNIT
 * (the debug kernel of scripts/debug-kernel.sh); load it after
 * vhost_scsi_ng.ko.  selftests/vhost_scsi_ng/kunit.sh does that in the
 * test guest and turns the KTAP results into flat TAP lines.
 *
 * Suites:
 *   vhost_scsi_ng_mem    guest-physical -> owner address translation
 *   vhost_scsi_ng_vring  descriptor walking (vsng_vq_pop) over rings and
 *                        guest memory in a user mapping of the test thread,
 *                        split and packed (vsng_kt_packed_*: chains, wrap,
 *                        indirect, buffer IDs, the event-suppression
 *                        decision, the GET/SET_VRING_BASE encoding)
 *   vhost_scsi_ng_scsi   LUN decoding, CDB length and data direction
 */
#include <kunit/test.h>
#include <linux/mman.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/dma-direction.h>
#include <scsi/scsi_proto.h>

#include "engine.h"
#include "vsng.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

/* ---- memory table ------------------------------------------------------ */

/*
 * R0 [0x1000, 0x2000) and R1 [0x2000, 0x3000) are contiguous in guest
 * physical space but not in owner space; R2 [0x10000, 0x14000) follows a
 * hole.
 */
static struct vsng_memtable *kt_memtable(struct kunit *test)
{
	struct vsng_memtable *mt;

	mt = kunit_kzalloc(test, struct_size(mt, regions, 3), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, mt);
	mt->nregions = 3;
	mt->regions[0] = (struct vsng_mem_region){ 0x1000, 0x1000, 0x7000000 };
	mt->regions[1] = (struct vsng_mem_region){ 0x2000, 0x1000, 0x5000000 };
	mt->regions[2] = (struct vsng_mem_region){ 0x10000, 0x4000, 0x9000000 };
	return mt;
}

static void vsng_kt_mem_find(struct kunit *test)
{
	struct vsng_memtable *mt = kt_memtable(test);

	KUNIT_EXPECT_NULL(test, vsng_mem_find(mt, 0));
	KUNIT_EXPECT_NULL(test, vsng_mem_find(mt, 0xfff));
	KUNIT_EXPECT_PTR_EQ(test, vsng_mem_find(mt, 0x1000), &mt->regions[0]);
	KUNIT_EXPECT_PTR_EQ(test, vsng_mem_find(mt, 0x1fff), &mt->regions[0]);
	KUNIT_EXPECT_PTR_EQ(test, vsng_mem_find(mt, 0x2000), &mt->regions[1]);
	KUNIT_EXPECT_PTR_EQ(test, vsng_mem_find(mt, 0x2fff), &mt->regions[1]);
	KUNIT_EXPECT_NULL(test, vsng_mem_find(mt, 0x3000));
	KUNIT_EXPECT_NULL(test, vsng_mem_find(mt, 0xffff));
	KUNIT_EXPECT_PTR_EQ(test, vsng_mem_find(mt, 0x10000), &mt->regions[2]);
	KUNIT_EXPECT_PTR_EQ(test, vsng_mem_find(mt, 0x13fff), &mt->regions[2]);
	KUNIT_EXPECT_NULL(test, vsng_mem_find(mt, 0x14000));
	KUNIT_EXPECT_NULL(test, vsng_mem_find(mt, U64_MAX));
}

static void vsng_kt_mem_translate(struct kunit *test)
{
	struct vsng_memtable *mt = kt_memtable(test);
	struct iovec iov[4];

	/* inside one region */
	KUNIT_EXPECT_EQ(test, 1, vsng_mem_translate(mt, 0x1100, 0x100, iov, 4));
	KUNIT_EXPECT_EQ(test, 0x7000100UL, (unsigned long)iov[0].iov_base);
	KUNIT_EXPECT_EQ(test, 0x100UL, iov[0].iov_len);
	/* across the R0/R1 seam: two pieces, owner addresses not contiguous */
	KUNIT_EXPECT_EQ(test, 2, vsng_mem_translate(mt, 0x1f00, 0x200, iov, 4));
	KUNIT_EXPECT_EQ(test, 0x7000f00UL, (unsigned long)iov[0].iov_base);
	KUNIT_EXPECT_EQ(test, 0x100UL, iov[0].iov_len);
	KUNIT_EXPECT_EQ(test, 0x5000000UL, (unsigned long)iov[1].iov_base);
	KUNIT_EXPECT_EQ(test, 0x100UL, iov[1].iov_len);
	/* not enough iovecs for the split */
	KUNIT_EXPECT_EQ(test, -ENOBUFS,
			vsng_mem_translate(mt, 0x1f00, 0x200, iov, 1));
	/* running into the hole after R1; starting in the hole; below all */
	KUNIT_EXPECT_EQ(test, -EFAULT,
			vsng_mem_translate(mt, 0x2f00, 0x200, iov, 4));
	KUNIT_EXPECT_EQ(test, -EFAULT,
			vsng_mem_translate(mt, 0x8000, 0x10, iov, 4));
	KUNIT_EXPECT_EQ(test, -EFAULT, vsng_mem_translate(mt, 0, 1, iov, 4));
	/* one byte past the end of R2 */
	KUNIT_EXPECT_EQ(test, -EFAULT,
			vsng_mem_translate(mt, 0x13000, 0x1001, iov, 4));
	KUNIT_EXPECT_EQ(test, 1, vsng_mem_translate(mt, 0x13000, 0x1000, iov, 4));
	/* nothing to translate */
	KUNIT_EXPECT_EQ(test, 0, vsng_mem_translate(mt, 0x1000, 0, iov, 4));
}

static struct kunit_case vsng_kt_mem_cases[] = {
	KUNIT_CASE(vsng_kt_mem_find),
	KUNIT_CASE(vsng_kt_mem_translate),
	{}
};

static struct kunit_suite vsng_kt_mem_suite = {
	.name = "vhost_scsi_ng_mem",
	.test_cases = vsng_kt_mem_cases,
};

/* ---- descriptor walking ------------------------------------------------ */

#define KT_NUM		8
#define KT_MAP		0x40000UL	/* user mapping of the test thread */
#define KT_RING		0x0UL		/* desc, then avail, then used */
#define KT_R0_UA	0x10000UL	/* R0: gpa 0x100000, 32 KiB */
#define KT_R1_UA	0x30000UL	/* R1: gpa 0x108000, 32 KiB */
#define KT_R0_GPA	0x100000ULL
#define KT_R1_GPA	0x108000ULL
#define KT_RSZ		0x8000ULL

struct vsng_kt_ring {
	struct vsng_dev *dev;
	struct vsng_vq *vq;
	unsigned long ua;
	struct vring_desc desc[KT_NUM];
};

/* A queue of KT_NUM entries on rings and memory in a user mapping. */
static int vsng_kt_ring_init(struct kunit *test)
{
	struct vsng_kt_ring *r;
	struct vsng_memtable *mt;

	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->ua = kunit_vm_mmap(test, NULL, 0, KT_MAP, PROT_READ | PROT_WRITE,
			      MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (IS_ERR_VALUE(r->ua) || !r->ua)
		return -ENOMEM;
	r->dev = kunit_kzalloc(test, sizeof(*r->dev), GFP_KERNEL);
	r->vq = kunit_kzalloc(test, sizeof(*r->vq), GFP_KERNEL);
	mt = kunit_kzalloc(test, struct_size(mt, regions, 2), GFP_KERNEL);
	if (!r->dev || !r->vq || !mt)
		return -ENOMEM;
	mt->nregions = 2;
	mt->regions[0] = (struct vsng_mem_region){ KT_R0_GPA, KT_RSZ,
						   r->ua + KT_R0_UA };
	mt->regions[1] = (struct vsng_mem_region){ KT_R1_GPA, KT_RSZ,
						   r->ua + KT_R1_UA };
	mutex_init(&r->dev->mutex);
	RCU_INIT_POINTER(r->dev->mem, mt);
	r->dev->acked_features = BIT_ULL(VIRTIO_F_VERSION_1) |
				 BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC);
	mutex_init(&r->vq->mutex);
	r->vq->dev = r->dev;
	r->vq->acked_features = r->dev->acked_features;
	r->vq->num = KT_NUM;
	r->vq->desc = (void __user *)(r->ua + KT_RING);
	r->vq->avail = (void __user *)(r->ua + KT_RING + 0x1000);
	r->vq->used = (void __user *)(r->ua + KT_RING + 0x2000);
	test->priv = r;
	return 0;
}

static void vsng_kt_set(struct vsng_kt_ring *r, int i, u64 addr, u32 len,
			u16 flags, u16 next)
{
	r->desc[i].addr = cpu_to_le64(addr);
	r->desc[i].len = cpu_to_le32(len);
	r->desc[i].flags = cpu_to_le16(flags);
	r->desc[i].next = cpu_to_le16(next);
}

/* Copy r->desc to the ring, make @head the only avail entry (idx @idx). */
static void vsng_kt_publish(struct kunit *test, struct vsng_kt_ring *r,
			    u16 head, u16 idx)
{
	__le16 ring0 = cpu_to_le16(head), aidx = cpu_to_le16(idx);
	unsigned long left;

	left = copy_to_user(r->vq->desc, r->desc, sizeof(r->desc));
	left += copy_to_user(&r->vq->avail->ring[0], &ring0, sizeof(ring0));
	left += copy_to_user(&r->vq->avail->idx, &aidx, sizeof(aidx));
	KUNIT_ASSERT_EQ(test, 0UL, left);
}

/* Write @n descriptors as an indirect table at guest address @gpa (R0). */
static void vsng_kt_table(struct kunit *test, struct vsng_kt_ring *r,
			  u64 gpa, const struct vring_desc *t, int n)
{
	void __user *p = (void __user *)(r->ua + KT_R0_UA + (gpa - KT_R0_GPA));

	KUNIT_ASSERT_EQ(test, 0UL, copy_to_user(p, t, n * sizeof(*t)));
}

static int vsng_kt_pop(struct vsng_kt_ring *r, struct vsng_chain *ch)
{
	int ret;

	mutex_lock(&r->vq->mutex);
	ret = vsng_vq_pop(r->vq, ch);
	mutex_unlock(&r->vq->mutex);
	return ret;
}

/* Pop must refuse: -EIO, queue broken, and it stays broken. */
static void vsng_kt_expect_broken(struct kunit *test, struct vsng_kt_ring *r)
{
	struct vsng_chain ch;

	KUNIT_EXPECT_EQ(test, -EIO, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_TRUE(test, r->vq->broken);
	KUNIT_EXPECT_EQ(test, 0U, r->vq->inflight);
	KUNIT_EXPECT_EQ(test, -EIO, vsng_kt_pop(r, &ch));
}

#define F_NEXT	VRING_DESC_F_NEXT
#define F_W	VRING_DESC_F_WRITE
#define F_IND	VRING_DESC_F_INDIRECT

static void vsng_kt_pop_empty(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;
	struct vsng_chain ch;

	KUNIT_EXPECT_EQ(test, 0, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_FALSE(test, r->vq->broken);
}

/* request, response, data-in crossing the R0/R1 seam (split in two) */
static void vsng_kt_pop_direct(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;
	struct vsng_chain ch;

	vsng_kt_set(r, 5, KT_R0_GPA, 51, F_NEXT, 2);
	vsng_kt_set(r, 2, KT_R0_GPA + 0x100, 108, F_NEXT | F_W, 7);
	vsng_kt_set(r, 7, KT_R1_GPA - 0x800, 0x1000, F_W, 0);
	vsng_kt_publish(test, r, 5, 1);
	KUNIT_ASSERT_EQ(test, 1, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_EQ(test, 5, ch.head);
	KUNIT_EXPECT_EQ(test, 1U, ch.out_num);
	KUNIT_EXPECT_EQ(test, 3U, ch.in_num);
	KUNIT_EXPECT_EQ(test, 51UL, ch.out_len);
	KUNIT_EXPECT_EQ(test, 108UL + 0x1000, ch.in_len);
	KUNIT_EXPECT_EQ(test, r->ua + KT_R0_UA, (unsigned long)ch.iov[0].iov_base);
	KUNIT_EXPECT_EQ(test, r->ua + KT_R0_UA + 0x100,
			(unsigned long)ch.iov[1].iov_base);
	KUNIT_EXPECT_EQ(test, r->ua + KT_R0_UA + KT_RSZ - 0x800,
			(unsigned long)ch.iov[2].iov_base);
	KUNIT_EXPECT_EQ(test, 0x800UL, ch.iov[2].iov_len);
	KUNIT_EXPECT_EQ(test, r->ua + KT_R1_UA, (unsigned long)ch.iov[3].iov_base);
	KUNIT_EXPECT_EQ(test, 0x800UL, ch.iov[3].iov_len);
	KUNIT_EXPECT_EQ(test, 1U, r->vq->inflight);
	KUNIT_EXPECT_EQ(test, 1, r->vq->last_avail_idx);
	/* and the ring is empty again */
	KUNIT_EXPECT_EQ(test, 0, vsng_kt_pop(r, &ch));
}

static void vsng_kt_pop_indirect(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;
	struct vring_desc t[3] = {
		{ cpu_to_le64(KT_R0_GPA), cpu_to_le32(51),
		  cpu_to_le16(F_NEXT), cpu_to_le16(2) },
		{ cpu_to_le64(KT_R0_GPA + 0x400), cpu_to_le32(512),
		  cpu_to_le16(F_W), 0 },
		{ cpu_to_le64(KT_R0_GPA + 0x100), cpu_to_le32(108),
		  cpu_to_le16(F_NEXT | F_W), cpu_to_le16(1) },
	};
	struct vsng_chain ch;

	vsng_kt_table(test, r, KT_R0_GPA + 0x2000, t, 3);
	vsng_kt_set(r, 0, KT_R0_GPA + 0x2000, sizeof(t), F_IND, 0);
	vsng_kt_publish(test, r, 0, 1);
	KUNIT_ASSERT_EQ(test, 1, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_EQ(test, 1U, ch.out_num);
	KUNIT_EXPECT_EQ(test, 2U, ch.in_num);
	KUNIT_EXPECT_EQ(test, 51UL, ch.out_len);
	KUNIT_EXPECT_EQ(test, 620UL, ch.in_len);
	KUNIT_EXPECT_EQ(test, r->ua + KT_R0_UA + 0x100,
			(unsigned long)ch.iov[1].iov_base);
	KUNIT_EXPECT_EQ(test, r->ua + KT_R0_UA + 0x400,
			(unsigned long)ch.iov[2].iov_base);
}

static void vsng_kt_bad_loop(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;

	vsng_kt_set(r, 0, KT_R0_GPA, 51, F_NEXT, 1);
	vsng_kt_set(r, 1, KT_R0_GPA + 0x100, 108, F_NEXT | F_W, 2);
	vsng_kt_set(r, 2, KT_R0_GPA + 0x400, 512, F_NEXT | F_W, 1);
	vsng_kt_publish(test, r, 0, 1);
	vsng_kt_expect_broken(test, r);
}

static void vsng_kt_bad_next(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;

	vsng_kt_set(r, 0, KT_R0_GPA, 51, F_NEXT, KT_NUM);
	vsng_kt_publish(test, r, 0, 1);
	vsng_kt_expect_broken(test, r);
}

static void vsng_kt_bad_head(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;

	vsng_kt_set(r, 0, KT_R0_GPA, 51, 0, 0);
	vsng_kt_publish(test, r, KT_NUM + 1, 1);
	vsng_kt_expect_broken(test, r);
}

static void vsng_kt_bad_avail_jump(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;

	vsng_kt_set(r, 0, KT_R0_GPA, 51, 0, 0);
	vsng_kt_publish(test, r, 0, KT_NUM + 1);
	vsng_kt_expect_broken(test, r);
}

static void vsng_kt_bad_order(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;

	vsng_kt_set(r, 0, KT_R0_GPA + 0x100, 108, F_NEXT | F_W, 1);
	vsng_kt_set(r, 1, KT_R0_GPA, 51, 0, 0);
	vsng_kt_publish(test, r, 0, 1);
	vsng_kt_expect_broken(test, r);
}

static void vsng_kt_bad_outside(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;

	vsng_kt_set(r, 0, KT_R0_GPA, 51, F_NEXT, 1);
	vsng_kt_set(r, 1, KT_R1_GPA + KT_RSZ - 8, 108, F_W, 0);
	vsng_kt_publish(test, r, 0, 1);
	vsng_kt_expect_broken(test, r);
}

static void vsng_kt_bad_wrap(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;

	vsng_kt_set(r, 0, 0xfffffffffffff000ULL, 0x2000, 0, 0);
	vsng_kt_publish(test, r, 0, 1);
	vsng_kt_expect_broken(test, r);
}

static void vsng_kt_bad_indirect_nested(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;
	struct vring_desc t[2] = {
		{ cpu_to_le64(KT_R0_GPA), cpu_to_le32(51),
		  cpu_to_le16(F_NEXT), cpu_to_le16(1) },
		{ cpu_to_le64(KT_R0_GPA + 0x3000), cpu_to_le32(32),
		  cpu_to_le16(F_IND), 0 },
	};

	vsng_kt_table(test, r, KT_R0_GPA + 0x2000, t, 2);
	vsng_kt_set(r, 0, KT_R0_GPA + 0x2000, sizeof(t), F_IND, 0);
	vsng_kt_publish(test, r, 0, 1);
	vsng_kt_expect_broken(test, r);
}

static void vsng_kt_bad_indirect_len(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;

	vsng_kt_set(r, 0, KT_R0_GPA + 0x2000, 3 * 16 + 5, F_IND, 0);
	vsng_kt_publish(test, r, 0, 1);
	vsng_kt_expect_broken(test, r);
}

static void vsng_kt_bad_indirect_next_flag(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;

	vsng_kt_set(r, 0, KT_R0_GPA + 0x2000, 32, F_IND | F_NEXT, 1);
	vsng_kt_set(r, 1, KT_R0_GPA, 51, 0, 0);
	vsng_kt_publish(test, r, 0, 1);
	vsng_kt_expect_broken(test, r);
}

static void vsng_kt_bad_indirect_loop(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;
	struct vring_desc t[2] = {
		{ cpu_to_le64(KT_R0_GPA), cpu_to_le32(51),
		  cpu_to_le16(F_NEXT), cpu_to_le16(1) },
		{ cpu_to_le64(KT_R0_GPA + 0x100), cpu_to_le32(108),
		  cpu_to_le16(F_NEXT | F_W), 0 },
	};

	vsng_kt_table(test, r, KT_R0_GPA + 0x2000, t, 2);
	vsng_kt_set(r, 0, KT_R0_GPA + 0x2000, sizeof(t), F_IND, 0);
	vsng_kt_publish(test, r, 0, 1);
	vsng_kt_expect_broken(test, r);
}

/* ---- packed rings (same queue, VIRTIO_F_RING_PACKED) ------------------ */

#define PK_AVAIL	BIT(VRING_PACKED_DESC_F_AVAIL)
#define PK_USED		BIT(VRING_PACKED_DESC_F_USED)

/* vring_need_event over positions modulo 2 * num, wrap counters included. */
static void vsng_kt_packed_need_event(struct kunit *test)
{
	const u16 w1 = BIT(VRING_PACKED_EVENT_F_WRAP_CTR);
	u32 old, new;

	/* num 256: published 250..259, wrapping after 255 (wrap 1 -> 0) */
	old = vsng_packed_pos(256, 250, true);
	new = vsng_packed_pos(256, 4, false);
	KUNIT_EXPECT_EQ(test, 250U, old);
	KUNIT_EXPECT_EQ(test, 260U, new);
	KUNIT_EXPECT_TRUE(test, vsng_packed_need_event(256, 250 | w1, new, old));
	KUNIT_EXPECT_TRUE(test, vsng_packed_need_event(256, 252 | w1, new, old));
	KUNIT_EXPECT_TRUE(test, vsng_packed_need_event(256, 3, new, old));
	KUNIT_EXPECT_FALSE(test, vsng_packed_need_event(256, 4, new, old));
	KUNIT_EXPECT_FALSE(test, vsng_packed_need_event(256, 5, new, old));
	KUNIT_EXPECT_FALSE(test, vsng_packed_need_event(256, 249 | w1, new, old));
	/* the same slot with the other wrap counter is a lap away */
	KUNIT_EXPECT_FALSE(test, vsng_packed_need_event(256, 252, new, old));
	/* num 100 (not a power of two): 95..99 with wrap 0, then 0..4 */
	old = vsng_packed_pos(100, 95, false);
	new = vsng_packed_pos(100, 5, true);
	KUNIT_EXPECT_TRUE(test, vsng_packed_need_event(100, 97, new, old));
	KUNIT_EXPECT_TRUE(test, vsng_packed_need_event(100, 4 | w1, new, old));
	KUNIT_EXPECT_FALSE(test, vsng_packed_need_event(100, 5 | w1, new, old));
	KUNIT_EXPECT_FALSE(test, vsng_packed_need_event(100, 94, new, old));
	/* nothing published: never */
	KUNIT_EXPECT_FALSE(test, vsng_packed_need_event(100, 5 | w1, new, new));
	/* a hostile offset beyond the ring: an answer, no fault */
	vsng_packed_need_event(100, 0x7fff, new, old);
	vsng_packed_need_event(1, 0xffff, 1, 0);
}

/* QEMU's encoding: avail idx | avail wrap << 15, used idx | wrap << 15 << 16. */
static void vsng_kt_packed_base(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;

	KUNIT_EXPECT_EQ(test, 0, vsng_packed_set_base(r->vq, 0x80008000));
	KUNIT_EXPECT_EQ(test, 0, r->vq->last_avail_idx);
	KUNIT_EXPECT_TRUE(test, r->vq->avail_wrap);
	KUNIT_EXPECT_EQ(test, 0, r->vq->last_used_idx);
	KUNIT_EXPECT_TRUE(test, r->vq->used_wrap);
	KUNIT_EXPECT_EQ(test, 0x80008000U, vsng_packed_get_base(r->vq));
	vsng_packed_set_base(r->vq, 0x00058003);
	KUNIT_EXPECT_EQ(test, 3, r->vq->last_avail_idx);
	KUNIT_EXPECT_TRUE(test, r->vq->avail_wrap);
	KUNIT_EXPECT_EQ(test, 5, r->vq->last_used_idx);
	KUNIT_EXPECT_FALSE(test, r->vq->used_wrap);
	KUNIT_EXPECT_EQ(test, 0x00058003U, vsng_packed_get_base(r->vq));
	/* positions beyond the ring are refused when the backend starts */
	vsng_packed_set_base(r->vq, 0x80008000 | KT_NUM);
	r->vq->packed = true;
	mutex_lock(&r->vq->mutex);
	KUNIT_EXPECT_EQ(test, -EINVAL, vsng_packed_init_access(r->vq));
	mutex_unlock(&r->vq->mutex);
}

/* Start @r's queue as a packed ring at base @base. */
static void vsng_kt_packed_start(struct kunit *test, struct vsng_kt_ring *r,
				 u32 base)
{
	int ret;

	r->vq->packed = true;
	vsng_packed_set_base(r->vq, base);
	mutex_lock(&r->vq->mutex);
	ret = vsng_packed_init_access(r->vq);
	mutex_unlock(&r->vq->mutex);
	KUNIT_ASSERT_EQ(test, 0, ret);
}

/* Write packed descriptor @i of the ring (flags as given). */
static void vsng_kt_pset(struct kunit *test, struct vsng_kt_ring *r, int i,
			 u64 addr, u32 len, u16 id, u16 flags)
{
	struct vring_packed_desc d = {
		.addr = cpu_to_le64(addr), .len = cpu_to_le32(len),
		.id = cpu_to_le16(id), .flags = cpu_to_le16(flags),
	};
	struct vring_packed_desc __user *ring = (void __user *)r->vq->desc;

	KUNIT_ASSERT_EQ(test, 0UL, copy_to_user(&ring[i], &d, sizeof(d)));
}

static void vsng_kt_packed_pop(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;
	struct vring_packed_desc __user *ring = (void __user *)r->vq->desc;
	struct vring_packed_desc d;
	struct vsng_chain ch;

	vsng_kt_packed_start(test, r, 0x80008000);
	KUNIT_EXPECT_EQ(test, 0, vsng_kt_pop(r, &ch));
	/* request + response, buffer ID 3 in the last descriptor */
	vsng_kt_pset(test, r, 0, KT_R0_GPA, 51, 0, F_NEXT | PK_AVAIL);
	vsng_kt_pset(test, r, 1, KT_R0_GPA + 0x100, 108, 3, F_W | PK_AVAIL);
	KUNIT_ASSERT_EQ(test, 1, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_EQ(test, 3, ch.head);
	KUNIT_EXPECT_EQ(test, 1U, ch.out_num);
	KUNIT_EXPECT_EQ(test, 1U, ch.in_num);
	KUNIT_EXPECT_EQ(test, 51UL, ch.out_len);
	KUNIT_EXPECT_EQ(test, 108UL, ch.in_len);
	KUNIT_EXPECT_EQ(test, 2, r->vq->last_avail_idx);
	KUNIT_EXPECT_EQ(test, 2, r->vq->pk_ndescs[3]);
	KUNIT_EXPECT_EQ(test, 0, vsng_kt_pop(r, &ch));
	/* unpop and pop again: the same chain */
	mutex_lock(&r->vq->mutex);
	vsng_vq_unpop(r->vq, 1);
	mutex_unlock(&r->vq->mutex);
	KUNIT_EXPECT_EQ(test, 0, r->vq->last_avail_idx);
	KUNIT_EXPECT_EQ(test, 0, r->vq->pk_ndescs[3]);
	KUNIT_ASSERT_EQ(test, 1, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_EQ(test, 3, ch.head);
	/* used: id and len at the used slot, flags only at the flush */
	mutex_lock(&r->vq->mutex);
	KUNIT_EXPECT_EQ(test, 0, vsng_vq_add_used(r->vq, 3, 7));
	mutex_unlock(&r->vq->mutex);
	KUNIT_ASSERT_EQ(test, 0UL, copy_from_user(&d, &ring[0], sizeof(d)));
	KUNIT_EXPECT_EQ(test, 3, le16_to_cpu(d.id));
	KUNIT_EXPECT_EQ(test, 7U, le32_to_cpu(d.len));
	KUNIT_EXPECT_EQ(test, F_NEXT | PK_AVAIL, le16_to_cpu(d.flags));
	KUNIT_EXPECT_EQ(test, 2, r->vq->pending_descs);
	KUNIT_EXPECT_EQ(test, 0, r->vq->pk_ndescs[3]);
}

/* A chain that wraps: position 7 (wrap 1) then 0 (wrap 0). */
static void vsng_kt_packed_wrap(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;
	struct vsng_chain ch;

	vsng_kt_packed_start(test, r, 0x80008000 | (KT_NUM - 1) |
			     (KT_NUM - 1) << 16);
	vsng_kt_pset(test, r, KT_NUM - 1, KT_R0_GPA, 51, 0, F_NEXT | PK_AVAIL);
	vsng_kt_pset(test, r, 0, KT_R0_GPA + 0x100, 108, 5, F_W | PK_USED);
	KUNIT_ASSERT_EQ(test, 1, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_EQ(test, 5, ch.head);
	KUNIT_EXPECT_EQ(test, 1, r->vq->last_avail_idx);
	KUNIT_EXPECT_FALSE(test, r->vq->avail_wrap);
	/* a descriptor of the old lap is not available any more */
	vsng_kt_pset(test, r, 1, KT_R0_GPA, 51, 6, PK_AVAIL);
	KUNIT_EXPECT_EQ(test, 0, vsng_kt_pop(r, &ch));
	/* with the new wrap counter it is */
	vsng_kt_pset(test, r, 1, KT_R0_GPA, 51, 6, PK_USED);
	KUNIT_EXPECT_EQ(test, 1, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_EQ(test, 6, ch.head);
}

static void vsng_kt_packed_indirect(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;
	struct vsng_chain ch;
	struct vring_packed_desc t[2] = {
		{ cpu_to_le64(KT_R0_GPA), cpu_to_le32(51), 0, 0 },
		{ cpu_to_le64(KT_R0_GPA + 0x100), cpu_to_le32(108), 0,
		  cpu_to_le16(F_W) },
	};
	void __user *p = (void __user *)(r->ua + KT_R0_UA + 0x2000);

	KUNIT_ASSERT_EQ(test, 0UL, copy_to_user(p, t, sizeof(t)));
	vsng_kt_packed_start(test, r, 0x80008000);
	vsng_kt_pset(test, r, 0, KT_R0_GPA + 0x2000, sizeof(t), 4,
		     F_IND | PK_AVAIL);
	KUNIT_ASSERT_EQ(test, 1, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_EQ(test, 4, ch.head);
	KUNIT_EXPECT_EQ(test, 1U, ch.out_num);
	KUNIT_EXPECT_EQ(test, 1U, ch.in_num);
	KUNIT_EXPECT_EQ(test, 1, r->vq->pk_ndescs[4]);
	KUNIT_EXPECT_EQ(test, 1, r->vq->last_avail_idx);
}

/* Each of these must break the queue. */
static void vsng_kt_packed_bad_id(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;

	vsng_kt_packed_start(test, r, 0x80008000);
	vsng_kt_pset(test, r, 0, KT_R0_GPA, 51, KT_NUM, PK_AVAIL);
	vsng_kt_expect_broken(test, r);
}

static void vsng_kt_packed_bad_inflight(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;
	struct vsng_chain ch;

	vsng_kt_packed_start(test, r, 0x80008000);
	vsng_kt_pset(test, r, 0, KT_R0_GPA, 51, 2, PK_AVAIL);
	vsng_kt_pset(test, r, 1, KT_R0_GPA, 51, 2, PK_AVAIL);
	KUNIT_ASSERT_EQ(test, 1, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_EQ(test, -EIO, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_TRUE(test, r->vq->broken);
}

static void vsng_kt_packed_bad_long(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;
	int i;

	vsng_kt_packed_start(test, r, 0x80008000);
	for (i = 0; i < KT_NUM; i++)
		vsng_kt_pset(test, r, i, KT_R0_GPA, 16, 0, F_NEXT | PK_AVAIL);
	vsng_kt_expect_broken(test, r);
}

/*
 * The descriptors of the chains in flight never exceed the ring: a chain
 * whose tail runs over the slots of one still in flight (not used yet)
 * breaks the queue.  Without the bound, chains of nearly num descriptors
 * each, reusing each other's slots, pushed the used slots past the end
 * of the ring (review of 2026-12-06).
 */
static void vsng_kt_packed_bad_overlap(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;
	struct vsng_chain ch;
	int i;

	vsng_kt_packed_start(test, r, 0x80008000);
	/* A: slots 0..6, id 1, in flight */
	for (i = 0; i < KT_NUM - 1; i++)
		vsng_kt_pset(test, r, i, KT_R0_GPA, 16, 1,
			     (i < KT_NUM - 2 ? F_NEXT : 0) | PK_AVAIL);
	KUNIT_ASSERT_EQ(test, 1, vsng_kt_pop(r, &ch));
	/* B: slot 7 alone, id 2: 8 descriptors in flight, the whole ring */
	vsng_kt_pset(test, r, KT_NUM - 1, KT_R0_GPA, 16, 2, PK_AVAIL);
	KUNIT_ASSERT_EQ(test, 1, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_FALSE(test, r->vq->broken);
	/* C: slot 0 of the next lap, over A's first slot, id 3 */
	vsng_kt_pset(test, r, 0, KT_R0_GPA, 16, 3, PK_USED);
	KUNIT_EXPECT_EQ(test, -EIO, vsng_kt_pop(r, &ch));
	KUNIT_EXPECT_TRUE(test, r->vq->broken);
	KUNIT_EXPECT_EQ(test, 2U, r->vq->inflight);
}

static void vsng_kt_packed_bad_indirect(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;
	struct vring_packed_desc t[1] = {
		{ cpu_to_le64(KT_R0_GPA), cpu_to_le32(16), 0,
		  cpu_to_le16(F_IND) },
	};
	void __user *p = (void __user *)(r->ua + KT_R0_UA + 0x2000);

	KUNIT_ASSERT_EQ(test, 0UL, copy_to_user(p, t, sizeof(t)));
	/* INDIRECT with NEXT */
	vsng_kt_packed_start(test, r, 0x80008000);
	vsng_kt_pset(test, r, 0, KT_R0_GPA + 0x2000, 16, 0,
		     F_IND | F_NEXT | PK_AVAIL);
	vsng_kt_expect_broken(test, r);
	/* an odd table length */
	vsng_kt_packed_start(test, r, 0x80008000);
	r->vq->broken = false;
	vsng_kt_pset(test, r, 0, KT_R0_GPA + 0x2000, 17, 0, F_IND | PK_AVAIL);
	vsng_kt_expect_broken(test, r);
	/* an indirect entry inside the table */
	r->vq->broken = false;
	vsng_kt_pset(test, r, 0, KT_R0_GPA + 0x2000, 16, 0, F_IND | PK_AVAIL);
	vsng_kt_expect_broken(test, r);
}

static void vsng_kt_ring_exit(struct kunit *test)
{
	struct vsng_kt_ring *r = test->priv;

	vsng_packed_free(r->vq);
}

static struct kunit_case vsng_kt_vring_cases[] = {
	KUNIT_CASE(vsng_kt_pop_empty),
	KUNIT_CASE(vsng_kt_pop_direct),
	KUNIT_CASE(vsng_kt_pop_indirect),
	KUNIT_CASE(vsng_kt_bad_loop),
	KUNIT_CASE(vsng_kt_bad_next),
	KUNIT_CASE(vsng_kt_bad_head),
	KUNIT_CASE(vsng_kt_bad_avail_jump),
	KUNIT_CASE(vsng_kt_bad_order),
	KUNIT_CASE(vsng_kt_bad_outside),
	KUNIT_CASE(vsng_kt_bad_wrap),
	KUNIT_CASE(vsng_kt_bad_indirect_nested),
	KUNIT_CASE(vsng_kt_bad_indirect_len),
	KUNIT_CASE(vsng_kt_bad_indirect_next_flag),
	KUNIT_CASE(vsng_kt_bad_indirect_loop),
	KUNIT_CASE(vsng_kt_packed_need_event),
	KUNIT_CASE(vsng_kt_packed_base),
	KUNIT_CASE(vsng_kt_packed_pop),
	KUNIT_CASE(vsng_kt_packed_wrap),
	KUNIT_CASE(vsng_kt_packed_indirect),
	KUNIT_CASE(vsng_kt_packed_bad_id),
	KUNIT_CASE(vsng_kt_packed_bad_inflight),
	KUNIT_CASE(vsng_kt_packed_bad_long),
	KUNIT_CASE(vsng_kt_packed_bad_indirect),
	KUNIT_CASE(vsng_kt_packed_bad_overlap),
	{}
};

static struct kunit_suite vsng_kt_vring_suite = {
	.name = "vhost_scsi_ng_vring",
	.init = vsng_kt_ring_init,
	.exit = vsng_kt_ring_exit,
	.test_cases = vsng_kt_vring_cases,
};

/* ---- SCSI request decoding ------------------------------------------- */

static void vsng_kt_lun_decode(struct kunit *test)
{
	const u8 flat5[8] = { 1, 1, 0x40, 0x05 };
	const u8 flat_max[8] = { 1, 1, 0x7f, 0xff };
	const u8 periph7[8] = { 1, 1, 0x00, 0x07 };
	const u8 high_bits[8] = { 1, 9, 0xc1, 0x23, 0xff, 0xff, 0xff, 0xff };

	KUNIT_EXPECT_EQ(test, 5, vsng_lun_decode(flat5));
	KUNIT_EXPECT_EQ(test, 0x3fff, vsng_lun_decode(flat_max));
	KUNIT_EXPECT_EQ(test, 7, vsng_lun_decode(periph7));
	/* the two addressing-method bits and bytes 4..7 are ignored */
	KUNIT_EXPECT_EQ(test, 0x123, vsng_lun_decode(high_bits));
}

static void vsng_kt_cdb_fits(struct kunit *test)
{
	u8 cdb[VIRTIO_SCSI_CDB_SIZE] = { 0 };

	cdb[0] = TEST_UNIT_READY;		/* group 0: 6 bytes */
	KUNIT_EXPECT_TRUE(test, vsng_cdb_fits(cdb));
	cdb[0] = READ_10;
	KUNIT_EXPECT_TRUE(test, vsng_cdb_fits(cdb));
	cdb[0] = READ_16;
	KUNIT_EXPECT_TRUE(test, vsng_cdb_fits(cdb));
	cdb[0] = REPORT_LUNS;			/* group 5: 12 bytes */
	KUNIT_EXPECT_TRUE(test, vsng_cdb_fits(cdb));
	/* variable length: 8 + additional length */
	cdb[0] = VARIABLE_LENGTH_CMD;
	cdb[7] = 24;				/* 32: the most virtio carries */
	KUNIT_EXPECT_TRUE(test, vsng_cdb_fits(cdb));
	cdb[7] = 25;				/* 33 */
	KUNIT_EXPECT_FALSE(test, vsng_cdb_fits(cdb));
	cdb[7] = 0xf8;				/* 256 */
	KUNIT_EXPECT_FALSE(test, vsng_cdb_fits(cdb));
}

static void vsng_kt_data_dir(struct kunit *test)
{
	const size_t req = sizeof(struct virtio_scsi_cmd_req);
	const size_t req_pi = sizeof(struct virtio_scsi_cmd_req_pi);
	const size_t rsp = sizeof(struct virtio_scsi_cmd_resp);
	size_t len = 1;

	KUNIT_EXPECT_EQ(test, DMA_NONE,
			vsng_req_data_dir(req, rsp, req, rsp, &len));
	KUNIT_EXPECT_EQ(test, 0UL, len);
	KUNIT_EXPECT_EQ(test, DMA_TO_DEVICE,
			vsng_req_data_dir(req + 4096, rsp, req, rsp, &len));
	KUNIT_EXPECT_EQ(test, 4096UL, len);
	KUNIT_EXPECT_EQ(test, DMA_FROM_DEVICE,
			vsng_req_data_dir(req, rsp + 512, req, rsp, &len));
	KUNIT_EXPECT_EQ(test, 512UL, len);
	/* the T10-PI header is 8 bytes longer: those 8 are not data */
	KUNIT_EXPECT_EQ(test, DMA_NONE,
			vsng_req_data_dir(req_pi, rsp, req_pi, rsp, &len));
	KUNIT_EXPECT_EQ(test, DMA_TO_DEVICE,
			vsng_req_data_dir(req_pi + 1, rsp, req_pi, rsp, &len));
	KUNIT_EXPECT_EQ(test, 1UL, len);
	/* both directions (bidi, never negotiated): taken as data-out */
	KUNIT_EXPECT_EQ(test, DMA_TO_DEVICE,
			vsng_req_data_dir(req + 8, rsp + 8, req, rsp, &len));
	KUNIT_EXPECT_EQ(test, 8UL, len);
	/* 4 GiB + 1 of data-in: the length is not truncated here */
	KUNIT_EXPECT_EQ(test, DMA_FROM_DEVICE,
			vsng_req_data_dir(req, rsp + (1ULL << 32) + 1, req, rsp,
					  &len));
	KUNIT_EXPECT_EQ(test, (size_t)(1ULL << 32) + 1, len);
}

static struct kunit_case vsng_kt_scsi_cases[] = {
	KUNIT_CASE(vsng_kt_lun_decode),
	KUNIT_CASE(vsng_kt_cdb_fits),
	KUNIT_CASE(vsng_kt_data_dir),
	{}
};

static struct kunit_suite vsng_kt_scsi_suite = {
	.name = "vhost_scsi_ng_scsi",
	.test_cases = vsng_kt_scsi_cases,
};

kunit_test_suites(&vsng_kt_mem_suite, &vsng_kt_vring_suite,
		  &vsng_kt_scsi_suite);

MODULE_DESCRIPTION("KUnit tests of vhost-scsi-ng's pure logic");
MODULE_LICENSE("GPL");
