// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: virtio-scsi requests to LIO commands, and back.
 *
 * A request travels:
 *   kick -> vsng_scsi_handle_kick() (worker) -> vsng_vq_drain() pops
 *   chains -> vsng_scsi_handle_req() parses and validates the header,
 *   takes a pooled command, pins the data pages into a scatterlist and
 *   submits it to LIO (target_init_cmd/target_submit_prep/target_submit;
 *   direct submission runs the backend in the worker's own context)
 *   -> LIO's last reference calls vsng_release_cmd() (fabric.c), which
 *   puts the command on the queue's completion list and queues
 *   vsng_scsi_complete_work() on the queue's worker -> that work writes
 *   every response, adds one used element per command and publishes
 *   them all with a single vsng_vq_flush_used().
 *
 * Everything read from the ring is untrusted; every value is read once
 * into kernel memory and checked before use.  Responses follow the
 * in-tree target: BAD_TARGET for malformed requests (with an err eventfd
 * signal, like in-tree vq_err()), TASK SET FULL when the pool is empty,
 * BUSY when host memory for the data runs out (in-tree: BAD_TARGET);
 * when the response buffer is too small to hold a response, the err
 * eventfd is signalled and the chain returned unanswered (used length 0).
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/blk_types.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <scsi/scsi_common.h>
#include <scsi/scsi_proto.h>
#include <target/target_core_fabric.h>
#include <kunit/visibility.h>

#include "vsng.h"
#include "trace.h"

/*
 * Copy the iovecs that cover the first @need bytes of @src into @dst,
 * and their guest addresses from @src_gpa into @dst_gpa, skipping empty
 * ones.  Returns the bytes covered (< @need when @src is too short or
 * @max too small).
 */
size_t vsng_copy_resp_iov(struct iovec *dst, u64 *dst_gpa, unsigned int max,
			  const struct iovec *src, const u64 *src_gpa,
			  unsigned int cnt, size_t need, unsigned int *dst_cnt)
{
	unsigned int i, n = 0;
	size_t got = 0;

	for (i = 0; i < cnt && got < need && n < max; i++) {
		if (!src[i].iov_len)
			continue;
		dst_gpa[n] = src_gpa[i];
		dst[n++] = src[i];
		got += src[i].iov_len;
	}
	*dst_cnt = n;
	return got;
}

/*
 * Write @len bytes of @buf through @iov and log the pages written (at
 * @gpa, the iovecs' guest addresses).  The iterator is bounded by the
 * iovecs' own total, so a short buffer fails the copy instead of walking
 * past the array.
 */
int vsng_write_resp(struct vsng_vq *vq, const struct iovec *iov,
		    const u64 *gpa, unsigned int cnt, const void *buf,
		    size_t len)
{
	struct iov_iter it;

	iov_iter_init(&it, ITER_DEST, iov, cnt, iov_length(iov, cnt));
	if (copy_to_iter(buf, len, &it) != len) {
		vq->stats.errors++;
		pr_err_ratelimited("vhost-scsi-ng: faulted writing a response\n");
		return -EFAULT;
	}
	vsng_vq_log_write(vq, iov, gpa, cnt, len);
	return 0;
}

/* Respond at once to the chain being handled; vq->mutex held. */
int vsng_send_resp(struct vsng_vq *vq, struct vsng_chain *ch, u16 head,
		   const void *buf, size_t len)
{
	int ret;

	lockdep_assert_held(&vq->mutex);
	ret = vsng_write_resp(vq, &ch->iov[ch->out_num], &ch->gpa[ch->out_num],
			      ch->in_num, buf, len);
	/*
	 * IN_ORDER: the head goes back even so, or every later buffer of the
	 * queue would wait behind it for ever (inorder.c).
	 */
	if (!ret || vq->in_order)
		vsng_vq_add_used(vq, head, 0);
	return ret;
}

static void vsng_scsi_send_status(struct vsng_vq *vq, struct vsng_chain *ch,
				  u8 response, u8 status)
{
	struct virtio_scsi_cmd_resp rsp;

	memset(&rsp, 0, sizeof(rsp));
	rsp.response = response;
	rsp.status = status;
	vsng_send_resp(vq, ch, ch->head, &rsp, sizeof(rsp));
}

/*
 * A command for a LUN the nexus does not reach (its node ACL maps no such
 * LUN: vsng_nexus_has_lun()) gets LIO's answer for it
 * (CHECK CONDITION, ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED) from us:
 * LIO would log a line (pr_err, no ratelimit) for every one, and a guest
 * can send as many as it likes.  LUN 0 always goes to LIO, which answers
 * REPORT LUNS and INQUIRY there through its virtual LUN 0.  We say so at
 * most once a minute, for all devices: a guest looping over missing LUNs
 * is counted in its queue's errors, not in the host's log.
 */
static struct ratelimit_state vsng_no_lun_rs =
	RATELIMIT_STATE_INIT_FLAGS(vsng_no_lun_rs, 60 * HZ, 1,
				   RATELIMIT_MSG_ON_RELEASE);

static void vsng_scsi_no_lun(struct vsng_vq *vq, struct vsng_chain *ch,
			     u16 lun, size_t data_len)
{
	struct virtio_scsi_cmd_resp rsp;

	memset(&rsp, 0, sizeof(rsp));
	rsp.response = VIRTIO_SCSI_S_OK;
	rsp.status = SAM_STAT_CHECK_CONDITION;
	rsp.resid = vsng_cpu_to_v32(vq, min_t(size_t, data_len, U32_MAX));
	rsp.sense[0] = 0x70;		/* fixed format, current */
	rsp.sense[2] = ILLEGAL_REQUEST;
	rsp.sense[7] = 10;		/* additional sense length */
	rsp.sense[12] = 0x25;		/* LOGICAL UNIT NOT SUPPORTED */
	rsp.sense_len = vsng_cpu_to_v32(vq, 18);
	vq->stats.errors++;
	if (__ratelimit(&vsng_no_lun_rs))
		pr_info("vhost-scsi-ng: dev %u vq %u: command for LUN %u, which the nexus's ACL does not map: answered 05/25/00 (one line a minute; the queue's errors count them all)\n",
			vq->dev->id, vq->index, lun);
	vsng_send_resp(vq, ch, ch->head, &rsp, sizeof(rsp));
}

/*
 * Data direction and length of a request from the byte totals of its
 * chain: data-out follows the request header, data-in the response.  A
 * chain with both (bidirectional, never negotiated) is taken as data-out.
 */
VISIBLE_IF_KUNIT enum dma_data_direction
vsng_req_data_dir(size_t out_len, size_t in_len, size_t req_size,
		  size_t rsp_size, size_t *data_len)
{
	if (out_len > req_size) {
		*data_len = out_len - req_size;
		return DMA_TO_DEVICE;
	}
	if (in_len > rsp_size) {
		*data_len = in_len - rsp_size;
		return DMA_FROM_DEVICE;
	}
	*data_len = 0;
	return DMA_NONE;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_req_data_dir);

/* Can virtio-scsi carry this CDB (its opcode's length fits the field)? */
VISIBLE_IF_KUNIT bool vsng_cdb_fits(const u8 *cdb)
{
	return scsi_command_size(cdb) <= VSNG_MAX_CDB_SIZE;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_cdb_fits);

static int vsng_to_tcm_attr(u8 attr)
{
	switch (attr) {
	case VIRTIO_SCSI_S_ORDERED:
		return TCM_ORDERED_TAG;
	case VIRTIO_SCSI_S_HEAD:
		return TCM_HEAD_TAG;
	case VIRTIO_SCSI_S_ACA:
		return TCM_ACA_TAG;
	case VIRTIO_SCSI_S_SIMPLE:
	default:
		return TCM_SIMPLE_TAG;
	}
}

/* Point cmd->sgl at room for @n entries (inline or the kept big one). */
static int vsng_cmd_sgl_reserve(struct vsng_cmd *cmd, unsigned int n)
{
	if (n <= VSNG_INLINE_SGLS) {
		cmd->sgl = cmd->inline_sgl;
	} else {
		if (n > cmd->big_sgl_cap) {
			kfree(cmd->big_sgl);
			cmd->big_sgl_cap = 0;
			cmd->big_sgl = kmalloc_array(n, sizeof(*cmd->big_sgl),
						     GFP_KERNEL);
			if (!cmd->big_sgl)
				return -ENOMEM;
			cmd->big_sgl_cap = n;
		}
		cmd->sgl = cmd->big_sgl;
	}
	sg_init_table(cmd->sgl, n);
	return 0;
}

/*
 * Pin the pages behind @iter (the owner's memory; the worker runs in
 * the owner's mm) into @sgl, at most @max entries.  Returns the number
 * of entries used or -errno with nothing left pinned.
 */
static int vsng_pin(struct vsng_svq *svq, struct iov_iter *iter,
		    struct scatterlist *sgl, unsigned int max)
{
	unsigned int n = 0, i;
	ssize_t bytes;
	size_t off;
	int ret;

	while (iov_iter_count(iter)) {
		if (n >= max) {
			ret = -EINVAL;
			goto unpin;
		}
		bytes = iov_iter_get_pages2(iter, svq->pin_pages, LONG_MAX,
					    min_t(unsigned int, VSNG_PIN_BATCH,
						  max - n), &off);
		if (bytes <= 0) {
			ret = bytes ? bytes : -EFAULT;
			goto unpin;
		}
		for (i = 0; bytes; i++) {
			unsigned int len = min_t(size_t, PAGE_SIZE - off, bytes);

			sg_set_page(&sgl[n++], svq->pin_pages[i], len, off);
			bytes -= len;
			off = 0;
		}
	}
	if (n)
		sg_mark_end(&sgl[n - 1]);
	return n;

unpin:
	while (n)
		put_page(sg_page(&sgl[--n]));
	return ret;
}

/*
 * Misaligned buffers that would need more than BIO_MAX_VECS segments
 * can be split by the block layer into bios that are not multiples of
 * the sector size (Windows guests send these); so is the data of
 * commands other than READs and WRITEs (vsng_zero_copy()).  Copy through
 * freshly allocated pages instead; data-in is copied back at completion,
 * only as far as the backend produced data (vsng_data_in_produced()).  The pages
 * are the guest's doing: charged to the owner's memory cgroup (the
 * worker is a thread of the owner), and zeroed for reads so that no
 * stale host memory can reach the guest even if a backend reports more
 * than it wrote.
 */
/*
 * Fill @n entries of @sgl with fresh pages for @len bytes (whole pages
 * from offset 0, the last one cut), zeroed for data-in and filled from
 * @iter for data-out.  On failure every page taken is given back.
 */
static int vsng_bounce_pages(struct scatterlist *sgl, unsigned int n,
			     size_t len, enum dma_data_direction dir,
			     struct iov_iter *iter)
{
	gfp_t gfp = GFP_KERNEL_ACCOUNT;
	struct page *page;
	unsigned int i;
	int ret;

	if (dir == DMA_FROM_DEVICE)
		gfp |= __GFP_ZERO;
	for (i = 0; i < n; i++) {
		size_t chunk = min_t(size_t, PAGE_SIZE, len);

		page = alloc_page(gfp);
		if (!page) {
			ret = -ENOMEM;
			goto free;
		}
		sg_set_page(&sgl[i], page, chunk, 0);
		if (dir == DMA_TO_DEVICE &&
		    copy_page_from_iter(page, 0, chunk, iter) != chunk) {
			i++;
			ret = -EFAULT;
			goto free;
		}
		len -= chunk;
	}
	return 0;

free:
	while (i)
		__free_page(sg_page(&sgl[--i]));
	return ret;
}

static int vsng_bounce(struct vsng_cmd *cmd, struct iov_iter *iter,
		       size_t len)
{
	unsigned int n = DIV_ROUND_UP(len, PAGE_SIZE);
	int ret;

	ret = vsng_cmd_sgl_reserve(cmd, n);
	if (ret)
		return ret;
	ret = vsng_bounce_pages(cmd->sgl, n, len, cmd->dir, iter);
	if (ret)
		return ret;
	cmd->sgl_count = n;
	cmd->flags |= VSNG_CMD_BOUNCE;
	return 0;
}

/*
 * PI always goes to LIO in bounce pages (whole pages from offset 0, the
 * last one cut to the PI length), never as the guest's pages: LIO's
 * sbc_dif_generate()/sbc_dif_verify() read and write whole 8-byte tuples
 * at the start of each scatterlist entry whatever its length, so a guest
 * entry of 4 bytes at the end of a page had 4 bytes written into the next
 * physical page.  Data-in PI is copied back with the data
 * (vsng_bounce_copy_back()); the pages are zeroed for that direction and
 * charged to the owner, as the data's bounce pages are.
 */
static int vsng_map_prot(struct vsng_cmd *cmd, struct iov_iter *iter)
{
	unsigned int n = DIV_ROUND_UP(cmd->prot_len, PAGE_SIZE);
	int npages, ret;

	npages = iov_iter_npages(iter, VSNG_MAX_PROT_SGLS + 1);
	if (npages <= 0 || npages > VSNG_MAX_PROT_SGLS)
		return -EINVAL;
	cmd->prot_sgl = kmalloc_array(n, sizeof(*cmd->prot_sgl),
				      GFP_KERNEL_ACCOUNT);
	if (!cmd->prot_sgl)
		return -ENOMEM;
	sg_init_table(cmd->prot_sgl, n);
	ret = vsng_bounce_pages(cmd->prot_sgl, n, cmd->prot_len, cmd->dir,
				iter);
	if (ret) {
		kfree(cmd->prot_sgl);
		cmd->prot_sgl = NULL;
		return ret;
	}
	cmd->prot_sgl_count = n;
	return 0;
}

/*
 * May LIO see the guest's own pages?  Only for the READ and WRITE
 * families, whose data every backend moves through the scatterlist entry
 * by entry.  LIO's emulated commands (INQUIRY, MODE SENSE, REQUEST SENSE,
 * READ CAPACITY, UNMAP, MODE SELECT, PERSISTENT RESERVE OUT...) go
 * through transport_kmap_data_sg() instead: one mapping of the entries'
 * pages, written or read as a single run from the first entry's offset,
 * whatever the entries' own offsets and lengths.  With the guest's pages
 * that run covers guest memory outside its descriptors (two small
 * descriptors of one page, say).  Emulation also writes its answer
 * whatever the direction (READ CAPACITY sent with a data-out buffer), and
 * parses data-out the guest could change between two looks.  Everything
 * else gets a copy, whose entries are whole pages from offset 0.
 */
static bool vsng_zero_copy(const struct vsng_cmd *cmd)
{
	/* PI is checked and generated per block across data entries too */
	if (cmd->prot_len)
		return false;
	switch (cmd->cdb[0]) {
	case READ_6:
	case READ_10:
	case READ_12:
	case READ_16:
		return cmd->dir == DMA_FROM_DEVICE;
	case WRITE_6:
	case WRITE_10:
	case WRITE_12:
	case WRITE_16:
	case WRITE_VERIFY:
	case WRITE_VERIFY_12:
	case WRITE_VERIFY_16:
		return cmd->dir == DMA_TO_DEVICE;
	default:
		return false;
	}
}

static int vsng_map_data(struct vsng_cmd *cmd, struct iov_iter *iter,
			 size_t len)
{
	int npages, ret;

	npages = iov_iter_npages(iter, VSNG_MAX_SGLS + 1);
	if (npages <= 0 || npages > VSNG_MAX_SGLS)
		return -EINVAL;
	if (!vsng_zero_copy(cmd))
		return vsng_bounce(cmd, iter, len);
	if (npages > BIO_MAX_VECS &&
	    !iov_iter_is_aligned(iter, SECTOR_SIZE - 1, SECTOR_SIZE - 1)) {
		pr_warn_once("vhost-scsi-ng: misaligned I/O, using bounce buffers\n");
		return vsng_bounce(cmd, iter, len);
	}
	ret = vsng_cmd_sgl_reserve(cmd, npages);
	if (ret)
		return ret;
	ret = vsng_pin(cmd->svq, iter, cmd->sgl, npages);
	if (ret < 0)
		return ret;
	cmd->sgl_count = ret;
	return 0;
}

/*
 * Keep the device-writable iovecs the completion needs: for a read the
 * whole in-area (dirty logging of the data, bounce copy-back), otherwise
 * just what covers the response.
 */
static int vsng_cmd_save_in(struct vsng_cmd *cmd, struct vsng_chain *ch,
			    size_t rsp_size)
{
	const struct iovec *in = &ch->iov[ch->out_num];
	const u64 *in_gpa = &ch->gpa[ch->out_num];
	unsigned int n = ch->in_num;
	struct iovec *dst;
	u64 *dst_gpa;

	if (cmd->dir != DMA_FROM_DEVICE) {
		cmd->in_len = vsng_copy_resp_iov(cmd->inline_iov,
						 cmd->inline_gpa,
						 VSNG_INLINE_IOVS, in, in_gpa,
						 n, rsp_size, &cmd->in_cnt);
		if (cmd->in_len >= rsp_size) {
			cmd->in_iov = cmd->inline_iov;
			cmd->in_gpa = cmd->inline_gpa;
			return 0;
		}
		/* Response spread over many tiny buffers: keep them all. */
	}

	if (n <= VSNG_INLINE_IOVS) {
		dst = cmd->inline_iov;
		dst_gpa = cmd->inline_gpa;
	} else {
		if (n > cmd->big_iov_cap) {
			kfree(cmd->big_iov);
			kfree(cmd->big_gpa);
			cmd->big_iov_cap = 0;
			cmd->big_iov = kmalloc_array(n, sizeof(*cmd->big_iov),
						     GFP_KERNEL_ACCOUNT);
			cmd->big_gpa = kmalloc_array(n, sizeof(*cmd->big_gpa),
						     GFP_KERNEL_ACCOUNT);
			if (!cmd->big_iov || !cmd->big_gpa) {
				kfree(cmd->big_gpa);
				cmd->big_gpa = NULL;
				kfree(cmd->big_iov);
				cmd->big_iov = NULL;
				return -ENOMEM;
			}
			cmd->big_iov_cap = n;
		}
		dst = cmd->big_iov;
		dst_gpa = cmd->big_gpa;
	}
	memcpy(dst, in, n * sizeof(*dst));
	memcpy(dst_gpa, in_gpa, n * sizeof(*dst_gpa));
	cmd->in_iov = dst;
	cmd->in_gpa = dst_gpa;
	cmd->in_cnt = n;
	cmd->in_len = ch->in_len;
	return 0;
}

/*
 * On an underflow (a READ's buffer larger than the CDB's transfer) LIO
 * cuts data_length to the transfer, but iblock and fileio build their
 * I/O from every entry of the list they were given: they would read the
 * next blocks of the disk into the guest's buffer past the transfer, where
 * the residual says nothing was written and the dirty log does not look,
 * and fail a READ of the disk's last blocks for reading past its end.
 * Give LIO only the entries, and bytes, of the transfer.  sgl_count still
 * counts every page we hold, for vsng_cmd_release().
 */
static void vsng_cmd_trim_sgl(struct vsng_cmd *cmd)
{
	struct se_cmd *se_cmd = &cmd->se_cmd;
	u32 left = se_cmd->data_length;
	unsigned int n;

	if (cmd->dir != DMA_FROM_DEVICE || left >= cmd->data_len ||
	    se_cmd->t_data_sg != cmd->sgl)
		return;
	for (n = 0; n < cmd->sgl_count && left; n++) {
		struct scatterlist *sg = &cmd->sgl[n];

		sg->length = min(sg->length, left);
		left -= sg->length;
	}
	se_cmd->t_data_nents = n;
}

static void vsng_cmd_submit(struct vsng_cmd *cmd, struct vsng_tpg *tpg,
			    struct se_session *sess, u64 tag, u16 lun,
			    u8 task_attr)
{
	struct se_cmd *se_cmd = &cmd->se_cmd;
	struct scatterlist *sgl = NULL, *prot_sgl = NULL;
	unsigned int prot_count = 0;

	/* Never a PI count without its list (no PI without data anyway). */
	if (cmd->sgl_count) {
		sgl = cmd->sgl;
		if (cmd->prot_sgl_count) {
			prot_sgl = cmd->prot_sgl;
			prot_count = cmd->prot_sgl_count;
		} else {
			se_cmd->prot_pto = true;
		}
	}

	/* The virtio tag is what ABORT TASK names. */
	se_cmd->tag = tag;
	vsng_cmd_lio_enter(cmd, tpg, lun, tag);
	target_init_cmd(se_cmd, sess, cmd->sense, lun, cmd->data_len,
			vsng_to_tcm_attr(task_attr), cmd->dir,
			TARGET_SCF_ACK_KREF);
	/* On failure LIO has already queued a CHECK CONDITION response. */
	if (target_submit_prep(se_cmd, cmd->cdb, sgl, cmd->sgl_count,
			       NULL, 0, prot_sgl, prot_count,
			       GFP_KERNEL))
		return;
	vsng_cmd_trim_sgl(cmd);
	/* LIO has no completion of it yet: nothing else writes flags now */
	cmd->flags |= VSNG_CMD_SUBMITTED;
	target_submit(se_cmd);
}

/* Parsed request header, independent of the T10-PI variant. */
struct vsng_req {
	const u8 *lun;
	u64 tag;
	u8 task_attr;
	const u8 *cdb;
	u32 pi_out;
	u32 pi_in;
};

static int vsng_scsi_handle_req(struct vsng_vq *vq, struct vsng_chain *ch)
{
	struct vsng_svq *svq = vsng_to_svq(vq);
	struct vsng_tpg **tpgs = vq->private_data;
	bool t10_pi = vsng_has_feature(vq, VIRTIO_SCSI_F_T10_PI);
	const size_t rsp_size = sizeof(struct virtio_scsi_cmd_resp);
	union {
		struct virtio_scsi_cmd_req plain;
		struct virtio_scsi_cmd_req_pi pi;
	} hdr;
	struct iov_iter out_iter, data_iter, prot_iter;
	enum dma_data_direction dir;
	struct vsng_nexus *nexus;
	struct vsng_tpg *tpg;
	struct vsng_cmd *cmd;
	struct vsng_req req;
	size_t req_size, data_len, prot_len = 0;
	u16 lun;
	int ret;

	lockdep_assert_held(&vq->mutex);

	/*
	 * No room for a response.  In-tree signals the err eventfd and
	 * drops the chain; we signal too, and also give the descriptors back
	 * (used length 0, nothing written) so the guest does not lose them.
	 */
	if (unlikely(ch->in_len < rsp_size)) {
		vsng_vq_bad_request(vq, "response buffer too small: %zu < %zu",
				    ch->in_len, rsp_size);
		vsng_vq_add_used(vq, ch->head, 0);
		return 0;
	}

	req_size = t10_pi ? sizeof(hdr.pi) : sizeof(hdr.plain);
	if (unlikely(ch->out_len < req_size)) {
		vsng_vq_bad_request(vq, "request header too small: %zu < %zu",
				    ch->out_len, req_size);
		goto bad_target;
	}
	iov_iter_init(&out_iter, ITER_SOURCE, ch->iov, ch->out_num,
		      ch->out_len);
	if (unlikely(!copy_from_iter_full(&hdr, req_size, &out_iter))) {
		vsng_vq_bad_request(vq, "cannot read the request header");
		goto bad_target;
	}

	if (t10_pi) {
		req.lun = hdr.pi.lun;
		req.tag = vsng_v64_to_cpu(vq, hdr.pi.tag);
		req.task_attr = hdr.pi.task_attr;
		req.cdb = hdr.pi.cdb;
		req.pi_out = vsng_v32_to_cpu(vq, hdr.pi.pi_bytesout);
		req.pi_in = vsng_v32_to_cpu(vq, hdr.pi.pi_bytesin);
	} else {
		req.lun = hdr.plain.lun;
		req.tag = vsng_v64_to_cpu(vq, hdr.plain.tag);
		req.task_attr = hdr.plain.task_attr;
		req.cdb = hdr.plain.cdb;
		req.pi_out = 0;
		req.pi_in = 0;
	}

	/* virtio-scsi: lun[0] is 1, lun[1] the target (our TPG tag). */
	if (unlikely(req.lun[0] != 1)) {
		vsng_vq_bad_request(vq, "illegal virtio-scsi lun byte %u",
				    req.lun[0]);
		goto bad_target;
	}
	tpg = READ_ONCE(tpgs[req.lun[1]]);
	if (unlikely(!tpg))
		goto bad_target;
	lun = vsng_lun_decode(req.lun);

	/* Direction and length from the buffer sizes. */
	dir = vsng_req_data_dir(ch->out_len, ch->in_len, req_size, rsp_size,
				&data_len);
	if (dir == DMA_TO_DEVICE) {
		data_iter = out_iter;
	} else if (dir == DMA_FROM_DEVICE) {
		iov_iter_init(&data_iter, ITER_DEST, &ch->iov[ch->out_num],
			      ch->in_num, ch->in_len);
		iov_iter_advance(&data_iter, rsp_size);
	}
	if (unlikely(data_len > U32_MAX))
		goto bad_target;

	/* T10-PI bytes come first in the data area. */
	if (req.pi_out) {
		if (unlikely(dir != DMA_TO_DEVICE)) {
			vsng_vq_bad_request(vq, "pi_bytesout %u without data-out",
					    req.pi_out);
			goto bad_target;
		}
		prot_len = req.pi_out;
	} else if (req.pi_in) {
		if (unlikely(dir != DMA_FROM_DEVICE)) {
			vsng_vq_bad_request(vq, "pi_bytesin %u without data-in",
					    req.pi_in);
			goto bad_target;
		}
		prot_len = req.pi_in;
	}
	/*
	 * The PI bytes are not data: LIO gets the data bytes alone as the
	 * expected transfer length (its emulated commands copy up to that
	 * length through the data scatterlist), and a request that is all
	 * PI and no data has nothing to carry the PI for.
	 */
	if (unlikely(prot_len && prot_len >= data_len)) {
		vsng_vq_bad_request(vq, "T10-PI bytes %zu leave no data in a %zu-byte data area",
				    prot_len, data_len);
		goto bad_target;
	}
	if (prot_len) {
		prot_iter = data_iter;
		iov_iter_truncate(&prot_iter, prot_len);
		iov_iter_advance(&data_iter, prot_len);
		data_len -= prot_len;
	}

	if (unlikely(!vsng_cdb_fits(req.cdb))) {
		vsng_vq_bad_request(vq, "CDB opcode %#x is longer than %d bytes",
				    req.cdb[0], VSNG_MAX_CDB_SIZE);
		goto bad_target;
	}

	/* Cannot change while the TPG is attached (drop_nexus -EBUSY). */
	nexus = READ_ONCE(tpg->nexus);
	if (unlikely(!nexus || !nexus->se_sess))
		goto bad_target;
	if (unlikely(lun && !vsng_nexus_has_lun(nexus, lun))) {
		vsng_scsi_no_lun(vq, ch, lun, data_len);
		return 0;
	}

	cmd = vsng_cmd_get(svq);
	if (unlikely(!cmd)) {
		pr_warn_once("vhost-scsi-ng: guest sent too many commands, answering TASK SET FULL\n");
		vsng_scsi_send_status(vq, ch, VIRTIO_SCSI_S_OK,
				      SAM_STAT_TASK_SET_FULL);
		return 0;
	}
	cmd->head = ch->head;
	cmd->dir = dir;
	cmd->data_len = data_len;
	cmd->prot_len = prot_len;
	memcpy(cmd->cdb, req.cdb, VSNG_MAX_CDB_SIZE);

	ret = vsng_cmd_save_in(cmd, ch, rsp_size);
	if (ret)
		goto release;
	if (prot_len) {
		ret = vsng_map_prot(cmd, &prot_iter);
		if (ret)
			goto release;
	}
	if (data_len) {
		ret = vsng_map_data(cmd, &data_iter, data_len);
		if (ret)
			goto release;
	}

	trace_vsng_submit(svq->vq.index, cmd->head, cmd->cdb[0], lun,
			  cmd->data_len);
	vsng_cmd_submit(cmd, tpg, nexus->se_sess, req.tag, lun,
			req.task_attr);
	return 0;

release:
	pr_debug("vhost-scsi-ng: cannot map request data: %d\n", ret);
	vsng_cmd_release(cmd);
	if (ret == -ENOMEM) {
		/* Host memory, not the request: the guest retries BUSY. */
		vq->stats.busy++;
		pr_warn_ratelimited("vhost-scsi-ng: vq %u: no memory for a request's data, answering BUSY\n",
				    vq->index);
		vsng_scsi_send_status(vq, ch, VIRTIO_SCSI_S_OK, SAM_STAT_BUSY);
		return 0;
	}
bad_target:
	vq->stats.errors++;
	vsng_scsi_send_status(vq, ch, VIRTIO_SCSI_S_BAD_TARGET, 0);
	return 0;
}

/*
 * One block plug around a drain pass: with direct submission the backend
 * runs here, and the plug hands its bios to the block layer as one batch
 * at the end of the pass (or when the worker sleeps) instead of one at a
 * time, as LIO's own submission work does with queued submission.
 */
void vsng_scsi_handle_kick(struct vsng_work *work)
{
	struct vsng_vq *vq = container_of(work, struct vsng_vq, kick_work);
	struct blk_plug plug;

	blk_start_plug(&plug);
	vsng_vq_drain(vq, vsng_scsi_handle_req);
	blk_finish_plug(&plug);
}

/*
 * Bytes of data-in the backend produced: none unless the command
 * succeeded (or LIO marked its data good despite the status), and no
 * more than LIO's final transfer length and what the residual reported
 * to the guest leaves.
 */
static u32 vsng_data_in_produced(const struct vsng_cmd *cmd)
{
	const struct se_cmd *se_cmd = &cmd->se_cmd;
	u32 len;

	if (cmd->flags & VSNG_CMD_ABORTED)
		return 0;
	if (se_cmd->scsi_status != SAM_STAT_GOOD &&
	    !(se_cmd->se_cmd_flags & SCF_TREAT_READ_AS_NORMAL))
		return 0;
	len = min(cmd->data_len, se_cmd->data_length);
	if (se_cmd->se_cmd_flags & SCF_UNDERFLOW_BIT)
		len = min(len, cmd->data_len -
			  min(se_cmd->residual_count, cmd->data_len));
	return len;
}

/*
 * Copy the first @len bytes of the bounce pages to the guest's data-in,
 * after the PI pages (all of them, when any data was produced).
 */
static int vsng_bounce_copy_back(struct vsng_cmd *cmd, u32 len)
{
	struct iov_iter it;
	unsigned int i;

	iov_iter_init(&it, ITER_DEST, cmd->in_iov, cmd->in_cnt, cmd->in_len);
	iov_iter_advance(&it, sizeof(struct virtio_scsi_cmd_resp));
	/* the PI of what was produced (zeroes where LIO wrote none) */
	for (i = 0; i < cmd->prot_sgl_count; i++) {
		struct scatterlist *sg = &cmd->prot_sgl[i];

		if (!len) {
			iov_iter_advance(&it, sg->length);
			continue;
		}
		if (copy_page_to_iter(sg_page(sg), 0, sg->length, &it) !=
		    sg->length)
			return -EFAULT;
	}
	for (i = 0; i < cmd->sgl_count && len; i++) {
		struct scatterlist *sg = &cmd->sgl[i];
		size_t chunk = min(sg->length, len);

		if (copy_page_to_iter(sg_page(sg), 0, chunk, &it) != chunk)
			return -EFAULT;
		len -= chunk;
	}
	return 0;
}

/*
 * Bytes at the start of a READ's in-area (response, protection, data)
 * the device may have written, for the dirty log.  A bounced READ wrote
 * what was copied back.  Into pinned pages LIO's backend may have written
 * the whole transfer it was given (data_length, the list cut to it by
 * vsng_cmd_trim_sgl()) once the command was submitted, whatever the
 * status: a backend can fill the pages and then fail (a PI check, say),
 * and LIO clears CMD_T_SENT on any execution error, so that flag cannot
 * tell.  Nothing if LIO refused the CDB before submission.  Never less
 * than was written: a page missed is a stale page on a migration
 * destination; a page too many only costs a copy.
 */
static size_t vsng_data_in_written(const struct vsng_cmd *cmd)
{
	const struct se_cmd *se_cmd = &cmd->se_cmd;
	bool sent = cmd->flags & VSNG_CMD_SUBMITTED;
	size_t len = 0;

	if (cmd->flags & VSNG_CMD_BOUNCE)
		len = vsng_data_in_produced(cmd);
	else if (sent)
		len = min(cmd->data_len, se_cmd->data_length);
	if (len || sent)
		len += cmd->prot_len;
	return min(len + sizeof(struct virtio_scsi_cmd_resp), cmd->in_len);
}

/* Worker, vq->mutex held: answer one finished command. */
static void vsng_scsi_send_cmd_resp(struct vsng_vq *vq, struct vsng_cmd *cmd)
{
	struct se_cmd *se_cmd = &cmd->se_cmd;
	struct virtio_scsi_cmd_resp rsp;
	u32 sense_len, moved = 0;

	memset(&rsp, 0, sizeof(rsp));
	if ((cmd->flags & VSNG_CMD_BOUNCE) && cmd->dir == DMA_FROM_DEVICE &&
	    vsng_bounce_copy_back(cmd, vsng_data_in_produced(cmd))) {
		rsp.response = VIRTIO_SCSI_S_BAD_TARGET;
	} else if (cmd->flags & VSNG_CMD_ABORTED) {
		rsp.response = cmd->flags & VSNG_CMD_RESET ?
			       VIRTIO_SCSI_S_RESET : VIRTIO_SCSI_S_ABORTED;
	} else {
		sense_len = min_t(u32, se_cmd->scsi_sense_length,
				  VIRTIO_SCSI_SENSE_SIZE);
		rsp.resid = vsng_cpu_to_v32(vq, se_cmd->residual_count);
		rsp.status = se_cmd->scsi_status;
		rsp.sense_len = vsng_cpu_to_v32(vq, sense_len);
		memcpy(rsp.sense, cmd->sense, sense_len);
		if (se_cmd->scsi_status == SAM_STAT_GOOD)
			moved = cmd->data_len -
				min(se_cmd->residual_count, cmd->data_len);
	}

	/*
	 * Data-in went to guest pages too: log them for migration first.
	 * Writing the response can fault (the guest unmapped its page); the
	 * data is in guest memory all the same, and the head goes back
	 * (length 0) all the same, or the guest loses the ring slot.
	 */
	if (cmd->dir == DMA_FROM_DEVICE)
		vsng_vq_log_write(vq, cmd->in_iov, cmd->in_gpa, cmd->in_cnt,
				  vsng_data_in_written(cmd));
	if (vsng_write_resp(vq, cmd->in_iov, cmd->in_gpa, cmd->in_cnt, &rsp,
			    sizeof(rsp)))
		moved = 0;
	vsng_vq_add_used(vq, cmd->head, 0);
	vq->stats.bytes += moved;
	trace_vsng_complete(cmd->svq->vq.index, cmd->head, rsp.status,
			    se_cmd->residual_count);
}

/*
 * Completion pass: every command LIO has finished since the last pass,
 * one used index write and at most one signal for all of them.
 */
void vsng_scsi_complete_work(struct vsng_work *work)
{
	struct vsng_svq *svq = container_of(work, struct vsng_svq,
					    completion_work);
	struct vsng_vq *vq = &svq->vq;
	struct vsng_cmd *cmd, *next;
	struct llist_node *list;

	list = llist_del_all(&svq->completions);
	if (!list)
		return;
	/* llist is LIFO; answer in completion order. */
	list = llist_reverse_order(list);

	mutex_lock(&vq->mutex);
	llist_for_each_entry_safe(cmd, next, list, node) {
		vsng_scsi_send_cmd_resp(vq, cmd);
		vsng_cmd_release(cmd);
	}
	vsng_vq_flush_used(vq);
	mutex_unlock(&vq->mutex);
}

/* The queue has no worker any more (owner gone): free without answer. */
static void vsng_scsi_drop_completions(struct vsng_svq *svq)
{
	struct vsng_cmd *cmd, *next;
	struct llist_node *list;

	list = llist_del_all(&svq->completions);
	llist_for_each_entry_safe(cmd, next, list, node)
		vsng_cmd_release(cmd);
}

/* LIO released the command (any context). */
void vsng_scsi_queue_completion(struct vsng_cmd *cmd)
{
	struct vsng_svq *svq = cmd->svq;
	struct vsng_tmf *abort_set = vsng_cmd_lio_leave(cmd);

	/* An ABORT TASK SET marked it: answered ABORTED, before the TMF. */
	if (abort_set)
		cmd->flags |= VSNG_CMD_ABORTED;
	/*
	 * LIO aborted it while a reset of ours runs (LIO releases what a LUN
	 * RESET aborts before it answers the reset): cancelled by a reset,
	 * which a guest retries.
	 */
	else if ((cmd->flags & VSNG_CMD_ABORTED) &&
		 atomic_read(&svq->vs->resetting))
		cmd->flags |= VSNG_CMD_RESET;
	llist_add(&cmd->node, &svq->completions);
	if (!vsng_vq_work_queue(&svq->vq, &svq->completion_work))
		vsng_scsi_drop_completions(svq);
	if (abort_set)
		vsng_tmf_mark_put(abort_set);
}
