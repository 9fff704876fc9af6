/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-scsi-ng: the SCSI device on top of the virtqueue engine (vq.h).
 *
 * Objects
 *   struct vsng_scsi   one per open() of the misc device.  Embeds the
 *                      engine's struct vsng_dev.  Lives from open() to
 *                      release(); release() clears the endpoint (which
 *                      drains every in-flight command) before freeing.
 *   struct vsng_svq    one per virtqueue: 0 control, 1 event, 2.. I/O.
 *                      Embeds struct vsng_vq; owns the command pool of an
 *                      I/O queue and its completion list.
 *   struct vsng_cmd    one per I/O request, taken from the queue's pool at
 *                      SET_ENDPOINT-time sized to the ring.  Owned by the
 *                      worker until target_submit(), then by LIO until
 *                      release_cmd(), then by the completion list until
 *                      the completion work has written its response.
 *   struct vsng_tmf    one per task management request, kmalloc'ed; same
 *                      ownership story through target_submit_tmr().
 *   struct vsng_tport  a configfs WWN directory (vhost/naa.X).
 *   struct vsng_tpg    a configfs tpgt_N directory.  Pinned in configfs
 *                      with target_depend_item() while a device uses it.
 *   struct vsng_nexus  the I_T nexus (LIO session) of a TPG, made and
 *                      dropped through the "nexus" file; cannot be dropped
 *                      while a device or a LUN uses the TPG.
 *
 * Lock order (outer to inner)
 *   dev->mutex -> vsng_tpg_list_mutex -> tpg->mutex -> vq->mutex
 *
 *   dev->mutex (engine)  endpoint state of a device: vs->tpgs, vs->wwpn,
 *                        the command pools (created/destroyed only with
 *                        every backend stopped and every command drained).
 *   vsng_tpg_list_mutex  the global list of TPGs (vsng_tpg_list).
 *   vsng_tport_mutex     the global list of target ports (configfs.c),
 *                        whose stored names are unique; a leaf lock.
 *   tpg->mutex           tpg->nexus, tpg->port_count, tpg->vhost_count,
 *                        tpg->vs, the TPG tunables and fabric_prot_type.
 *   vq->mutex (engine)   ring state; vq->private_data (the backend, here
 *                        the vs->tpgs array) is set and cleared under it
 *                        and handlers only run with it held.  The event
 *                        queue's mutex also protects vs->events_nr and
 *                        vs->events_missed.
 *   No lock: svq->free (llist: one consumer under vq->mutex, producers
 *   anywhere), svq->completions (llist), svq->inflight (atomic).
 *
 * In-flight accounting
 *   Every command and TMF counts in its queue's svq->inflight from the
 *   moment it is taken until its resources are released.  Clearing the
 *   endpoint first stops every backend (no new commands), then waits for
 *   every counter to reach zero, then flushes the workers, and only then
 *   frees the pools and drops the TPGs.
 */
#ifndef _VSNG_H
#define _VSNG_H

#include <linux/atomic.h>
#include <linux/llist.h>
#include <linux/ratelimit.h>
#include <linux/scatterlist.h>
#include <linux/seqlock.h>
#include <linux/virtio_byteorder.h>
#include <linux/virtio_scsi.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <target/target_core_base.h>

#include "compat.h"
#include "vq.h"

#define VSNG_VERSION		"0.1"

#define VSNG_VQ_CTL		0
#define VSNG_VQ_EVT		1
#define VSNG_VQ_IO		2

#define VSNG_MAX_TARGET		256	/* TPG tags 0..255 = virtio targets */
#define VSNG_MAX_LUNS		16384	/* virtio-scsi LUNs are 14 bits */
#define VSNG_MAX_IO_VQ		1024
#define VSNG_DEFAULT_IO_VQ	128
#define VSNG_MAX_EVENT		128	/* pending events before "missed" */
#define VSNG_MAX_CDB_SIZE	32
#define VSNG_NAMELEN		256

/* LIO max_data_sg_nents: one page per entry, 8 MiB per command. */
#define VSNG_MAX_SGLS		2048
#define VSNG_MAX_PROT_SGLS	2048
/* Scatterlist entries kept inside each command (64 KiB of data). */
#define VSNG_INLINE_SGLS	16
/* Response iovecs kept inside each command/TMF. */
#define VSNG_INLINE_IOVS	8
/* Pages pinned per iov_iter_get_pages2() call. */
#define VSNG_PIN_BATCH		64

/* Limits of the tpgt_N/attrib tunables (defaults: VSNG_*_DEFAULT, vq.h). */
#define VSNG_MAX_POLL_USECS		VSNG_POLL_USECS_MAX
#define VSNG_MAX_HOLD_USECS		1000
#define VSNG_MAX_COALESCE_USECS		1000
#define VSNG_MAX_COALESCE_MAX		1024

#define VSNG_FEATURES	((1ULL << VIRTIO_F_VERSION_1) |			\
			 (1ULL << VIRTIO_F_ANY_LAYOUT) |		\
			 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |	\
			 (1ULL << VIRTIO_RING_F_EVENT_IDX) |		\
			 (1ULL << VIRTIO_F_RING_PACKED) |		\
			 (1ULL << VIRTIO_F_NOTIFY_ON_EMPTY) |		\
			 (1ULL << VHOST_F_LOG_ALL) |			\
			 (1ULL << VIRTIO_SCSI_F_HOTPLUG) |		\
			 (1ULL << VIRTIO_SCSI_F_T10_PI))

/* No backend feature (they are all about IOTLB/vDPA) is offered. */
#define VSNG_BACKEND_FEATURES	0ULL

struct vsng_scsi;

struct vsng_nexus {
	struct se_session *se_sess;
};

struct vsng_tport {
	u8 proto_id;			/* SCSI_PROTOCOL_SAS/FCP/ISCSI */
	char name[VSNG_NAMELEN];	/* WWPN without an "fc." prefix; unique */
	struct list_head node;		/* vsng_tport_list, vsng_tport_mutex */
	struct se_wwn wwn;
};

struct vsng_tpg {
	u16 tpgt;			/* virtio target number */
	/* attrib/fabric_prot_type: 0, 1, 3; written under mutex */
	int fabric_prot_type;
	struct list_head node;		/* vsng_tpg_list_mutex */
	struct vsng_tport *tport;
	struct se_portal_group se_tpg;

	struct mutex mutex;		/* protects the fields below */
	struct vsng_nexus *nexus;
	int port_count;			/* linked LUNs */
	/* devices using the TPG (0 or 1); vsng_drop_tpg() reads it locklessly */
	int vhost_count;
	struct vsng_scsi *vs;		/* the device using the TPG */
	unsigned int poll_usecs;
	unsigned int hold_usecs;	/* attrib/kick_hold_usecs */
	unsigned int coalesce_usecs;
	unsigned int coalesce_max;
};

/* vsng_cmd.lio_abort of a command LIO has and no TMF marked. */
#define VSNG_IN_LIO		((struct vsng_tmf *)1UL)

/* vsng_cmd.flags */
#define VSNG_CMD_BOUNCE		BIT(0)	/* sgl holds bounce pages */
#define VSNG_CMD_ABORTED	BIT(1)	/* LIO aborted it (aborted_task) */
#define VSNG_CMD_SUBMITTED	BIT(2)	/* given to target_submit() */
#define VSNG_CMD_RESET		BIT(3)	/* aborted by a reset */

struct vsng_cmd {
	struct se_cmd se_cmd;
	struct vsng_svq *svq;
	struct llist_node node;		/* svq->free or svq->completions */
	u16 head;			/* descriptor head to complete */
	u8 flags;
	/*
	 * The in-flight table: what the QUERY TMFs and ABORT TASK SET look
	 * up (tmf.c).  lio_tpg/lun/tag are written only by the command's
	 * owner when it hands the command to LIO, inside @lio_seq's write
	 * section, and read locklessly by the control queue's worker, which
	 * skips a slot whose section moved while it looked.  @lio_abort is
	 * NULL while LIO does not have the command, VSNG_IN_LIO while it
	 * does, and the ABORT TASK SET that marked it (cmpxchg from
	 * VSNG_IN_LIO) until LIO's release takes it back to NULL (xchg).
	 */
	seqcount_t lio_seq;
	u16 lio_lun;
	u64 lio_tag;
	struct vsng_tpg *lio_tpg;
	struct vsng_tmf *lio_abort;
	enum dma_data_direction dir;
	u32 data_len;			/* data bytes, without PI */
	u32 prot_len;			/* protection bytes */
	struct scatterlist *sgl;	/* inline_sgl or big_sgl */
	unsigned int sgl_count;
	struct scatterlist *prot_sgl;	/* kmalloc'ed or NULL */
	unsigned int prot_sgl_count;
	/*
	 * Device-writable iovecs: the response and, for a read, the whole
	 * data-in area (needed for dirty logging and bounce copy-back).
	 */
	struct iovec *in_iov;		/* inline_iov or big_iov */
	u64 *in_gpa;			/* their guest addresses (dirty log) */
	unsigned int in_cnt;
	size_t in_len;			/* bytes covered by in_iov */
	/*
	 * Larger arrays, allocated on first need and kept with the pool
	 * slot until the pool is destroyed, so a steady workload does not
	 * allocate per request.
	 */
	struct scatterlist *big_sgl;
	unsigned int big_sgl_cap;
	struct iovec *big_iov;
	u64 *big_gpa;			/* as big_iov, parallel to it */
	unsigned int big_iov_cap;
	unsigned char cdb[VSNG_MAX_CDB_SIZE];
	unsigned char sense[TRANSPORT_SENSE_BUFFER];
	struct iovec inline_iov[VSNG_INLINE_IOVS];
	u64 inline_gpa[VSNG_INLINE_IOVS];
	struct scatterlist inline_sgl[VSNG_INLINE_SGLS];
};

/*
 * TMF flood control: at most VSNG_TMF_MAX_INFLIGHT TMFs of a device with
 * LIO at once, and at most VSNG_ABORT_BURST ABORT TASKs handed to LIO per
 * VSNG_ABORT_INTERVAL (LIO logs a line for each, unratelimited).  Beyond
 * that a TMF is answered VIRTIO_SCSI_S_BUSY at once (design.md).
 */
#define VSNG_TMF_MAX_INFLIGHT	16
/* The spec's VIRTIO_SCSI_S_FUNCTION_COMPLETE; Linux's header lacks it. */
#define VSNG_S_FUNCTION_COMPLETE	VIRTIO_SCSI_S_OK
#define VSNG_ABORT_BURST	10
#define VSNG_ABORT_INTERVAL	(5 * HZ)

struct vsng_tmf {
	struct se_cmd se_cmd;
	struct vsng_svq *svq;		/* the control queue */
	struct vsng_tpg *tpg;		/* the nexus the TMF names */
	u16 lun;
	/*
	 * ABORT TASK SET and I_T NEXUS RESET are a series of LIO TMRs on
	 * se_cmd, one at a time (tmf.c): step_work on the control queue's
	 * worker starts the next once LIO released the previous.  Only the
	 * step in progress touches the fields below.
	 */
	struct vsng_work step_work;
	unsigned int scan_vq;		/* ABORT TASK SET: next slot to look at */
	unsigned int scan_slot;
	u64 next_lun;			/* I_T NEXUS RESET: lowest LUN left */
	bool luns_done;			/* I_T NEXUS RESET: past LUN U64_MAX */
	bool step_ok;			/* LIO answered the step, and well */
	/*
	 * A series answers when this drops to 0: one for the series itself
	 * (its last step drops it), one per command ABORT TASK SET marked
	 * (LIO's release of the command drops it).
	 */
	atomic_t marks;
	/*
	 * After LIO released the TMF, hop_work visits the worker of every
	 * request queue in turn (hop: the next vq index; only the hop chain
	 * itself touches them, one step at a time), so the answers to what the
	 * TMF aborted are out before resp_work writes the TMF's own.
	 */
	struct vsng_work hop_work;
	unsigned int hop;
	const void *last_worker;	/* the previous hop's, compared only */
	struct vsng_work resp_work;	/* worker: write the response */
	u16 head;
	u32 subtype;
	bool resets;			/* counted in vs->resetting */
	u8 response;			/* VIRTIO_SCSI_S_* to send */
	unsigned int in_cnt;
	struct iovec in_iov[VSNG_INLINE_IOVS];
	u64 in_gpa[VSNG_INLINE_IOVS];
};

struct vsng_evt {
	struct virtio_scsi_event event;
	struct llist_node node;		/* vs->events */
};

struct vsng_svq {
	struct vsng_vq vq;
	struct vsng_scsi *vs;

	/* Command pool of an I/O queue; dev->mutex, see the top comment. */
	struct vsng_cmd *cmds;
	unsigned int max_cmds;
	struct page **pin_pages;	/* VSNG_PIN_BATCH, under vq->mutex */
	struct llist_head free;

	struct llist_head completions;
	struct vsng_work completion_work;
	atomic_t inflight;
};

struct vsng_scsi {
	struct vsng_dev dev;
	struct vsng_svq **svqs;
	struct vsng_vq **vqs;
	int nvqs;

	/* VSNG_FEATURES, plus IN_ORDER if in_order= was set at open; fixed. */
	u64 features;

	/* dev->mutex; readers on the workers hold a vq->mutex. */
	struct vsng_tpg **tpgs;
	/*
	 * Written under dev->mutex and wwpn_lock; the debugfs "wwpn" reader
	 * takes only wwpn_lock (removing that file waits for its readers,
	 * and RESET_OWNER does so under dev->mutex).
	 */
	char wwpn[TRANSPORT_IQN_LEN];
	spinlock_t wwpn_lock;		/* vs->wwpn, see above */

	wait_queue_head_t inflight_wq;	/* woken when a queue goes idle */

	/*
	 * TMF flood control (tmf.c).  tmf_inflight: TMFs handed to LIO and
	 * not yet freed, at most VSNG_TMF_MAX_INFLIGHT (incremented on the
	 * control queue's worker, decremented wherever a TMF is freed).
	 * abort_rs: ABORT TASKs handed to LIO, VSNG_ABORT_BURST per
	 * VSNG_ABORT_INTERVAL, since LIO logs a line for each; it has its
	 * own lock.  Over either limit the TMF is answered BUSY at once.
	 */
	atomic_t tmf_inflight;
	struct ratelimit_state abort_rs;
	/*
	 * LUN RESETs and I_T NEXUS RESETs from the time the control queue
	 * takes one until it is freed (after its answer): a command LIO
	 * aborts meanwhile was cancelled by a reset and is answered
	 * VIRTIO_SCSI_S_RESET, not ABORTED (per device, as QEMU does).
	 */
	atomic_t resetting;

	struct llist_head events;
	struct vsng_work event_work;
	bool events_missed;		/* event vq->mutex */
	int events_nr;			/* event vq->mutex */
};

static inline struct vsng_svq *vsng_to_svq(struct vsng_vq *vq)
{
	return container_of(vq, struct vsng_svq, vq);
}

static inline struct vsng_scsi *vsng_to_scsi(struct vsng_dev *dev)
{
	return container_of(dev, struct vsng_scsi, dev);
}

static inline struct vsng_tpg *vsng_se_to_tpg(struct se_portal_group *se_tpg)
{
	return container_of(se_tpg, struct vsng_tpg, se_tpg);
}

/* Byte order of the virtio-scsi headers (legacy guests: native). */
static inline bool vsng_hdr_is_le(struct vsng_vq *vq)
{
	return vsng_has_feature(vq, VIRTIO_F_VERSION_1) ||
	       virtio_legacy_is_little_endian();
}

static inline u32 vsng_v32_to_cpu(struct vsng_vq *vq, __virtio32 v)
{
	return __virtio32_to_cpu(vsng_hdr_is_le(vq), v);
}

static inline u64 vsng_v64_to_cpu(struct vsng_vq *vq, __virtio64 v)
{
	return __virtio64_to_cpu(vsng_hdr_is_le(vq), v);
}

static inline __virtio32 vsng_cpu_to_v32(struct vsng_vq *vq, u32 v)
{
	return __cpu_to_virtio32(vsng_hdr_is_le(vq), v);
}

#if IS_ENABLED(CONFIG_KUNIT)
/* scsi.c, static unless KUnit is on (kunit_test.c tests them). */
enum dma_data_direction
vsng_req_data_dir(size_t out_len, size_t in_len, size_t req_size,
		  size_t rsp_size, size_t *data_len);
bool vsng_cdb_fits(const u8 *cdb);
#endif

/* LUN = ((lun[2] << 8) | lun[3]) & 0x3fff, lun[1] = target. */
static inline u16 vsng_lun_decode(const u8 *lun)
{
	return ((lun[2] << 8) | lun[3]) & (VSNG_MAX_LUNS - 1);
}

/* main.c */
extern char *vsng_fabric_name;

/* cmd.c */
int vsng_cmd_pool_create(struct vsng_svq *svq, unsigned int num);
void vsng_cmd_pool_destroy(struct vsng_svq *svq);
struct vsng_cmd *vsng_cmd_get(struct vsng_svq *svq);
void vsng_cmd_release(struct vsng_cmd *cmd);
void vsng_inflight_get(struct vsng_svq *svq);
void vsng_inflight_put(struct vsng_svq *svq);
void vsng_scsi_drain(struct vsng_scsi *vs);
void vsng_cmd_lio_enter(struct vsng_cmd *cmd, struct vsng_tpg *tpg, u16 lun,
			u64 tag);
struct vsng_tmf *vsng_cmd_lio_leave(struct vsng_cmd *cmd);
bool vsng_cmd_lio_match(struct vsng_cmd *cmd, struct vsng_tpg *tpg, u16 lun,
			bool any_tag, u64 *tag, bool *marked);
bool vsng_cmd_lio_mark(struct vsng_cmd *cmd, struct vsng_tpg *tpg, u16 lun,
		       struct vsng_tmf *tmf);
bool vsng_cmd_lio_marked(struct vsng_cmd *cmd, struct vsng_tmf *tmf,
			 u64 *tag);

/* scsi.c */
void vsng_scsi_handle_kick(struct vsng_work *work);
void vsng_scsi_complete_work(struct vsng_work *work);
void vsng_scsi_queue_completion(struct vsng_cmd *cmd);
int vsng_send_resp(struct vsng_vq *vq, struct vsng_chain *ch, u16 head,
		   const void *buf, size_t len);
size_t vsng_copy_resp_iov(struct iovec *dst, u64 *dst_gpa, unsigned int max,
			  const struct iovec *src, const u64 *src_gpa,
			  unsigned int cnt, size_t need, unsigned int *dst_cnt);
int vsng_write_resp(struct vsng_vq *vq, const struct iovec *iov,
		    const u64 *gpa, unsigned int cnt, const void *buf,
		    size_t len);

/* tmf.c */
void vsng_ctl_handle_kick(struct vsng_work *work);
void vsng_tmf_release(struct se_cmd *se_cmd);
void vsng_tmf_queue_rsp(struct se_cmd *se_cmd);
void vsng_tmf_mark_put(struct vsng_tmf *tmf);

/* event.c */
void vsng_evt_handle_kick(struct vsng_work *work);
void vsng_evt_work(struct vsng_work *work);
void vsng_evt_drop_all(struct vsng_scsi *vs);
void vsng_evt_hotplug(struct vsng_tpg *tpg, struct se_lun *lun, bool plug);

/* fabric.c */
extern struct target_core_fabric_ops vsng_fabric_ops;
int vsng_nexus_make(struct vsng_tpg *tpg, const char *name);
int vsng_nexus_drop(struct vsng_tpg *tpg);
bool vsng_nexus_has_lun(struct vsng_nexus *nexus, u64 lun);
bool vsng_nexus_next_lun(struct vsng_nexus *nexus, u64 from, u64 *lun);
long vsng_set_endpoint(struct vsng_scsi *vs, struct vhost_scsi_target *t);
long vsng_clear_endpoint(struct vsng_scsi *vs, struct vhost_scsi_target *t,
			 bool check);
void vsng_tpg_apply_tunables(struct vsng_tpg *tpg);

/* configfs.c */
extern struct configfs_attribute *vsng_wwn_attrs[];
extern struct configfs_attribute *vsng_tpg_attrs[];
extern struct configfs_attribute *vsng_tpg_attrib_attrs[];
struct se_wwn *vsng_make_tport(struct target_fabric_configfs *tf,
			       struct config_group *group, const char *name);
void vsng_drop_tport(struct se_wwn *wwn);
struct se_portal_group *vsng_make_tpg(struct se_wwn *wwn, const char *name);
void vsng_drop_tpg(struct se_portal_group *se_tpg);
extern struct mutex vsng_tpg_list_mutex;
extern struct list_head vsng_tpg_list;

#endif /* _VSNG_H */
