/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vsng_drv: a userspace virtio-scsi "guest driver" for /dev/vhost-scsi.
 *
 * The test process plays the guest.  It owns the vhost device, registers
 * parts of its own address space as guest memory and drives its rings,
 * split (the default) or packed (VIRTIO_F_RING_PACKED: vsng_dev_opts.ring,
 * or VSNG_RING=packed in the environment).  The ring formats live in
 * vsng_ring_split.c and vsng_ring_packed.c behind vsng_ring.h.
 *
 * Guest memory uses a NON-IDENTITY mapping, so a target that mixes up
 * guest-physical addresses (descriptors) and process addresses (ring
 * addresses given to SET_VRING_ADDR) fails loudly:
 *
 *   region  guest-physical           size    process VA (inside one mmap)
 *   R0      0x100000000              48 MiB  map + 20 MiB
 *   R1      0x103000000 (after R0)   16 MiB  map +  1 MiB  (VA *before* R0)
 *   R2      0x180000000 (hole)       16 MiB  map + 72 MiB
 *
 * R0 and R1 are contiguous in guest-physical space but not in VA, so a
 * single descriptor may cross them.  The gaps in the mmap are not
 * registered: guard zones.
 *
 * All functions return 0 or a negative errno unless said otherwise.
 */
#ifndef VSNG_DRV_H
#define VSNG_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_scsi.h>

#define VSNG_MAX_REGIONS	3
#define VSNG_MAX_VQS		66	/* control, event, 64 request queues */
#define VSNG_VQ_CTL		0
#define VSNG_VQ_EVT		1
#define VSNG_VQ_REQ		2	/* first request queue */
#define VSNG_INDIR_MAX		64	/* descriptors per indirect table */
#define VSNG_XREGION_SPAN	(512u * 1024)	/* per side of the R0/R1 seam */

#define VSNG_GPA_BASE		0x100000000ULL
/* The dirty log bitmaps of vsng_log_alloc() cover guest pages below this. */
#define VSNG_LOG_TOP		0x200000000ULL

/* The virtio-scsi feature bits we know. */
#define VSNG_F_HOTPLUG		(1ULL << VIRTIO_SCSI_F_HOTPLUG)
#define VSNG_F_T10_PI		(1ULL << VIRTIO_SCSI_F_T10_PI)
#define VSNG_F_INDIRECT		(1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define VSNG_F_EVENT_IDX	(1ULL << VIRTIO_RING_F_EVENT_IDX)
#define VSNG_F_VERSION_1	(1ULL << VIRTIO_F_VERSION_1)
#define VSNG_F_ANY_LAYOUT	(1ULL << VIRTIO_F_ANY_LAYOUT)
#define VSNG_F_RING_PACKED	(1ULL << VIRTIO_F_RING_PACKED)
#define VSNG_F_IN_ORDER		(1ULL << VIRTIO_F_IN_ORDER)

/* Packed descriptor flag bits (virtio 1.1, 2.8). */
#define VSNG_PD_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define VSNG_PD_USED		(1u << VRING_PACKED_DESC_F_USED)
/* SET/GET_VRING_BASE for packed rings (QEMU's encoding): */
#define VSNG_PACKED_BASE(avail, aw, used, uw) \
	((uint32_t)((avail) | (aw) << 15) | \
	 (uint32_t)((used) | (uw) << 15) << 16)

enum vsng_ring_fmt {
	VSNG_RING_ENV,		/* $VSNG_RING: "packed" or split (default) */
	VSNG_RING_SPLIT,
	VSNG_RING_PACKED,
};

struct vsng_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	uint64_t brk;		/* bump allocator offset */
	uint64_t limit;		/* allocator stops here */
};

struct vsng_mem {
	int nregions;
	struct vsng_region r[VSNG_MAX_REGIONS];
	uint8_t *map;
	size_t map_len;
};

/* A guest-physical buffer piece. */
struct vsng_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;		/* device-writable */
};

struct vsng_dev;
struct vsng_ring_ops;

struct vsng_vq {
	struct vsng_dev *dev;
	unsigned int index;
	unsigned int num;
	bool setup;
	bool packed;		/* VIRTIO_F_RING_PACKED layout */
	const struct vsng_ring_ops *ops;
	/* split ring */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	/* packed ring: descriptors and the two event areas */
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *drv_event;	/* driver writes */
	struct vring_packed_desc_event *dev_event;	/* device writes */
	int kick_fd, call_fd, err_fd;

	uint16_t free_head;	/* split: free descriptors; packed: free ids */
	uint16_t num_free;	/* free descriptors (packed: ring slots) */
	uint16_t avail_idx;	/* buffers made available (split: avail->idx) */
	uint16_t kicked_idx;	/* avail idx at the last kick decision */
	uint16_t last_used;	/* used elements consumed */
	/* packed ring positions (slot and wrap counter) */
	uint16_t next_avail;	/* next descriptor slot the driver fills */
	bool avail_wrap;	/* driver's avail wrap counter */
	uint16_t used_pos;	/* next slot the driver reads a used element */
	bool used_wrap;		/* driver's used wrap counter */
	uint16_t num_added;	/* descriptors added since the last kick test */
	uint16_t *next;		/* shadow free-list links (split: descs, packed: ids) */
	uint16_t *chain_len;	/* descriptors in the ring of the chain at head/id */
	void **cookie;
	struct vring_desc *indir;	/* num tables of VSNG_INDIR_MAX */
	bool event_idx;
	bool no_interrupt;	/* driver asked for no interrupts */
	/*
	 * vsng_vq_wait() returns only when a call eventfd signal came (and
	 * used entries are pending): the used ring is not looked at before
	 * a signal, so a lost interrupt is a timeout, not a slow success.
	 * With EVENT_IDX the one look virtio allows (after publishing
	 * used_event) is kept and counted in irq_less.
	 */
	bool irq_only;
	bool log;		/* VHOST_VRING_F_LOG: the device logs used */
	/*
	 * VIRTIO_F_IN_ORDER: order[] holds the heads / buffer ids in the
	 * order they were made available (order_count from order_first);
	 * one used element stands for every buffer up to and including its
	 * id (batch_last, -1 when no element is being consumed).
	 */
	bool in_order;
	uint16_t *order;
	unsigned int order_first, order_count;
	int batch_last;
	uint32_t batch_len;

	/* Driver-side counters. */
	uint64_t kicks;		/* kick eventfd writes */
	uint64_t kicks_suppressed;
	uint64_t interrupts;	/* sum of call eventfd counts read */
	uint64_t irq_wakeups;	/* reads of the call eventfd returning > 0 */
	uint64_t completions;	/* used entries consumed */
	uint64_t irq_less;	/* irq_only waits ended without a signal */
	uint64_t used_elems;	/* used elements read (IN_ORDER: one a run) */
};

struct vsng_dev_opts {
	const char *path;	/* NULL: $VSNG_DEV or /dev/vhost-scsi */
	uint64_t features;	/* wanted; 0: what a Linux guest acks */
	bool no_event_idx;
	bool no_indirect;
	int nreq;		/* request queues (default 1) */
	bool vring_log;		/* VHOST_VRING_F_LOG on every queue */
	bool in_order;		/* ack VIRTIO_F_IN_ORDER (if offered) */
	enum vsng_ring_fmt ring;	/* VSNG_RING_ENV: $VSNG_RING */
	unsigned int ctl_size, evt_size, req_size;	/* default 128 */
	unsigned int req_sizes[VSNG_MAX_VQS];	/* per request queue, 0: req_size */
};

struct vsng_dev {
	int fd;
	uint64_t offered;
	uint64_t features;
	struct vsng_mem mem;
	int nvqs;
	struct vsng_vq vq[VSNG_MAX_VQS];
	char wwpn[224];
	bool endpoint;
	bool vring_log;		/* new queues get VHOST_VRING_F_LOG */
	bool packed;		/* VIRTIO_F_RING_PACKED negotiated */
	void *log;		/* the bitmap given to SET_LOG_BASE */
};

/* --- device ------------------------------------------------------------ */
const char *vsng_dev_path(void);
int vsng_dev_open(struct vsng_dev *d, const char *path);
int vsng_mem_create(struct vsng_dev *d);
int vsng_mem_set_table(struct vsng_dev *d);
/* Open, SET_OWNER, features, memory table, all queues. */
int vsng_dev_init(struct vsng_dev *d, const struct vsng_dev_opts *o);
int vsng_dev_set_endpoint(struct vsng_dev *d, const char *wwpn);
int vsng_dev_clear_endpoint(struct vsng_dev *d);
void vsng_dev_close(struct vsng_dev *d);
/* Free a queue's driver-side shadow state (free list, chains, cookies). */
void vsng_vq_free_shadow(struct vsng_vq *vq);
int vsng_ioctl(struct vsng_dev *d, unsigned long req, void *arg);
int vsng_abi_version(struct vsng_dev *d, int *ver);
/* Our own stats ioctl: -ENOTTY on in-tree vhost_scsi. */
struct vhost_scsi_ng_vq_stats;
int vsng_vq_stats(struct vsng_dev *d, unsigned int index,
		  struct vhost_scsi_ng_vq_stats *st);
bool vsng_target_is_ours(void);
/* $VSNG_RING asks for packed rings (the default of vsng_dev_init()). */
bool vsng_ring_env_packed(void);
/* "packed" or "split" */
const char *vsng_ring_name(const struct vsng_dev *d);

/* --- guest memory ------------------------------------------------------ */
void *vsng_alloc(struct vsng_dev *d, int region, size_t size, size_t align);
uint64_t vsng_gpa(struct vsng_dev *d, const void *hva);
void *vsng_hva(struct vsng_dev *d, uint64_t gpa, size_t len);
int vsng_gpa_write(struct vsng_dev *d, uint64_t gpa, const void *src,
		   size_t len);
int vsng_gpa_read(struct vsng_dev *d, uint64_t gpa, void *dst, size_t len);
/* Guest-physical address of a buffer of up to 2*VSNG_XREGION_SPAN bytes
 * centred on the R0/R1 seam.
 */
uint64_t vsng_xregion_gpa(struct vsng_dev *d, size_t len);
/* Guarded buffer: guard bytes of pattern 0xa5 on each side. */
void *vsng_alloc_guarded(struct vsng_dev *d, int region, size_t size,
			 size_t guard);
bool vsng_guard_ok(const void *buf, size_t size, size_t guard);

/* --- virtqueues -------------------------------------------------------- */
int vsng_vq_setup(struct vsng_dev *d, unsigned int index, unsigned int num);
int vsng_vq_restart(struct vsng_dev *d, unsigned int index);
/* Add a chain; returns the head index or -ENOSPC / -EINVAL. */
int vsng_vq_add(struct vsng_vq *vq, const struct vsng_seg *segs, int nsegs,
		bool indirect, void *cookie);
/* Split: place a raw head in the avail ring (for hand-made chains). */
void vsng_vq_publish(struct vsng_vq *vq, uint16_t head);
/* Split: take n descriptors off the free list, linked through next; head
 * returned.
 */
int vsng_vq_take_descs(struct vsng_vq *vq, int n, void *cookie);
/*
 * Packed, for hand-made chains: write @n raw descriptors at the driver's
 * next slots (the AVAIL/USED bits of each are the caller's: see
 * vsng_pq_avail_bits()), the head's flags last after a write barrier, and
 * move next_avail / avail_wrap past them.  The ids are not taken from the
 * free list.  Returns the head slot, or -EINVAL if n > num.
 */
int vsng_pq_put_raw(struct vsng_vq *vq, const struct vring_packed_desc *d,
		    int n);
/* The AVAIL/USED bits that make a descriptor available in lap @wrap. */
static inline uint16_t vsng_pq_avail_bits(bool wrap)
{
	return wrap ? VSNG_PD_AVAIL : VSNG_PD_USED;
}
/* Packed: the next used element if there is one (not consumed): 1. */
int vsng_pq_peek_used(struct vsng_vq *vq, uint16_t *id, uint32_t *len);
/* Kick if the device wants one (EVENT_IDX / NO_NOTIFY aware); force: always */
bool vsng_vq_kick(struct vsng_vq *vq, bool force);
/* Consume one used entry: 1 if got one, 0 if none. */
int vsng_vq_get_used(struct vsng_vq *vq, uint32_t *len, void **cookie);
/* Wait for used entries by call eventfd (poll) up to timeout_ms; >0 if
 * some are pending, 0 on timeout.  Does not consume them.  Unless
 * vq->irq_only, the used ring is also looked at every 100 ms.
 */
int vsng_vq_wait(struct vsng_vq *vq, int timeout_ms);
/* Busy-poll the used ring (no eventfd) up to timeout_ms. */
int vsng_vq_poll(struct vsng_vq *vq, int timeout_ms);
/* Read the call eventfd without blocking and add to counters. */
uint64_t vsng_vq_drain_irq(struct vsng_vq *vq);
/* Ask for no interrupts (NO_INTERRUPT flag or used_event far away). */
void vsng_vq_set_no_interrupt(struct vsng_vq *vq, bool on);
/* 1 if the err eventfd fired (non-blocking read), 0 otherwise. */
int vsng_vq_err_fired(struct vsng_vq *vq, int timeout_ms);
/* Completions the device has published (consumed + pending, mod 2^16):
 * split: used->idx; packed: counted on the ring.
 */
uint16_t vsng_vq_used_idx(struct vsng_vq *vq);
/* Does the device's event state ask for a kick for the next request? */
bool vsng_vq_kick_wanted(struct vsng_vq *vq);
/* EVENT_IDX: "interrupt me at the next completion" (used_event / the
 * driver event area at the driver's used position). */
void vsng_vq_arm_event(struct vsng_vq *vq);
/* The SET_VRING_BASE value of the driver's current ring state. */
uint32_t vsng_vq_base(struct vsng_vq *vq);

/*
 * (Re)give the ring addresses with VHOST_VRING_F_LOG set or not, and the
 * used ring's guest-physical address as log_guest_addr, as QEMU does when
 * a migration starts and ends.
 */
int vsng_vq_set_log(struct vsng_vq *vq, bool on);

/* --- dirty log and hand-over (migration) ------------------------------ */
/* A zeroed bitmap for guest pages below VSNG_LOG_TOP (munmap *len bytes). */
void *vsng_log_alloc(size_t *len);
/* VHOST_SET_LOG_BASE; remembered for vsng_dev_reopen(). */
int vsng_log_set_base(struct vsng_dev *d, void *log);
bool vsng_log_test(const void *log, uint64_t gpa);
/* Logged pages among those [gpa, gpa + len) touches. */
int vsng_log_count(const void *log, uint64_t gpa, uint64_t len);
/* Logged pages in the whole bitmap. */
int vsng_log_total(const void *log);
/*
 * Migrate @d to a new device: close the old fd (endpoint cleared), open a
 * new one, give it the same memory, features, log base and rings, each
 * queue at @base[index] (a GET_VRING_BASE value), and set the same endpoint.
 */
int vsng_dev_reopen(struct vsng_dev *d, const uint32_t *base);

/* --- SCSI commands ----------------------------------------------------- */
struct vsng_cmd {
	/* request */
	uint8_t cdb[VIRTIO_SCSI_CDB_SIZE];
	uint8_t target;
	uint16_t lun;
	uint8_t task_attr;
	uint64_t tag;
	uint64_t dout_gpa;
	uint32_t dout_len;
	uint64_t din_gpa;
	uint32_t din_len;
	int dout_split;		/* data-out descriptors (>= 1) */
	int din_split;		/* data-in descriptors (>= 1) */
	bool indirect;
	bool pi;		/* use virtio_scsi_cmd_req_pi */
	uint32_t pi_bytesout, pi_bytesin;
	uint32_t resp_len;	/* 0: sizeof(virtio_scsi_cmd_resp) */
	bool raw_lun;		/* send lun8 as is */
	uint8_t lun8[8];
	/* guest-memory headers, allocated on first submit */
	void *req;
	struct virtio_scsi_cmd_resp *resp;
	/* result */
	bool done;
	uint32_t used_len;
	int head;
	struct virtio_scsi_cmd_resp rsp;
};

void vsng_cmd_init(struct vsng_cmd *c, uint8_t target, uint16_t lun);
int vsng_cmd_submit(struct vsng_vq *vq, struct vsng_cmd *c);
/* Reap every pending used entry on vq, marking commands done; returns count */
int vsng_vq_reap(struct vsng_vq *vq);
/* Submit, kick and wait for this command; -ETIMEDOUT if no answer. */
int vsng_cmd_run(struct vsng_vq *vq, struct vsng_cmd *c, int timeout_ms);
uint8_t vsng_sense_key(const struct virtio_scsi_cmd_resp *r);
uint8_t vsng_sense_asc(const struct virtio_scsi_cmd_resp *r);
uint8_t vsng_sense_ascq(const struct virtio_scsi_cmd_resp *r);
void vsng_lun_encode(uint8_t lun8[8], uint8_t target, uint16_t lun);

/* CDB builders; return the CDB length. */
int vsng_cdb_rw(uint8_t *cdb, int size, bool write, uint64_t lba,
		uint32_t blocks);
int vsng_cdb_inquiry(uint8_t *cdb, bool evpd, uint8_t page, uint16_t alloc);

/* Run a command synchronously; data buffers are guest-physical. */
int vsng_scsi(struct vsng_vq *vq, struct vsng_cmd *c, const uint8_t *cdb,
	      int cdblen, uint64_t dout, uint32_t dout_len, uint64_t din,
	      uint32_t din_len);

/* --- control and event queues ----------------------------------------- */
struct vsng_ctl {
	struct virtio_scsi_ctrl_tmf_req *tmf_req;
	struct virtio_scsi_ctrl_tmf_resp *tmf_resp;
	struct virtio_scsi_ctrl_an_req *an_req;
	struct virtio_scsi_ctrl_an_resp *an_resp;
	bool done;
};

int vsng_tmf_submit(struct vsng_dev *d, struct vsng_ctl *c, uint32_t subtype,
		    uint8_t target, uint16_t lun, uint64_t tag);
int vsng_tmf(struct vsng_dev *d, uint32_t subtype, uint8_t target,
	     uint16_t lun, uint64_t tag, uint8_t *response, int timeout_ms);
int vsng_an(struct vsng_dev *d, uint32_t type, uint8_t target, uint16_t lun,
	    uint32_t requested, uint32_t *actual, uint8_t *response,
	    int timeout_ms);
/* Post n event buffers on the event queue. */
int vsng_evt_post(struct vsng_dev *d, int n);
/* Take one event (0 if none within timeout_ms, 1 if got one). */
int vsng_evt_get(struct vsng_dev *d, struct virtio_scsi_event *ev,
		 int timeout_ms);

/* --- LIO target through configfs ------------------------------------- */
struct vsng_target {
	char fabric[32];
	char wwpn[64];
	char nexus[64];
	uint16_t tpgt;
	char backend[16];	/* rd (default), brd, nullb, fileio */
	char dev_path[64];	/* if set: iblock on this block device */
	uint32_t size_mb;
	char hba[64];
	unsigned int luns_mask;
};

const char *vsng_fabric(void);
/* Fill names from a short unique id (per test program). */
void vsng_target_init(struct vsng_target *t, unsigned int id);
int vsng_target_create(struct vsng_target *t, int nluns);
/* The TPG alone (after removing what was there): no LUN, no nexus. */
int vsng_target_create_tpg(struct vsng_target *t);
int vsng_target_add_lun(struct vsng_target *t, int lun);
int vsng_target_del_lun(struct vsng_target *t, int lun);
int vsng_target_set_nexus(struct vsng_target *t, bool on);
/*
 * An explicit node ACL for the nexus WWN (tpgt_N/acls/<nexus>), with
 * mapped LUN @mapped -> the TPG's LUN @tpg_lun (acls/<nexus>/lun_<mapped>/
 * vsng_map -> lun/lun_<tpg_lun>).  Made before the TPG ever had a nexus,
 * the session uses it alone.  (LIO keeps the dynamic ACL of a nexus that
 * was dropped, and gives it every LUN linked later; an ACL made then
 * takes over that one with all its LUNs.)
 */
int vsng_target_map_lun(struct vsng_target *t, int mapped, int tpg_lun);
/* Best effort: removes everything with t's names (ACLs included),
 * ignores errors. */
void vsng_target_destroy(struct vsng_target *t);
char *vsng_target_tpg_path(struct vsng_target *t, char *buf, size_t len);
/* The configfs directory of LUN @lun's backstore. */
char *vsng_target_dev_path(struct vsng_target *t, int lun, char *buf,
			   size_t len);

/*
 * A null_blk disk made through null_blk's configfs whose every I/O takes
 * delay_ms (timer completion): commands stay in flight long enough for a
 * test to act on them.  The disk is /dev/<name>.  -ENOENT without null_blk.
 */
int vsng_nullb_slow_create(const char *name, unsigned int delay_ms,
			   unsigned int size_mb);
/* The same, keeping what is written when @memory_backed (else reads
 * leave the buffer as it was). */
int vsng_nullb_create(const char *name, unsigned int delay_ms,
		      unsigned int size_mb, bool memory_backed);
void vsng_nullb_slow_destroy(const char *name);
/*
 * Unlink a LUN (port link, LUN dir, backstore) in a child process and wait
 * at most timeout_ms for it.  LIO's unlink waits until every command that
 * references the LUN is released, so a prompt return proves that LIO's
 * command count for the LUN is back to zero.  -ETIMEDOUT if it hangs (the
 * child is then left behind, stuck in the kernel).
 */
int vsng_target_del_lun_timed(struct vsng_target *t, int lun, int timeout_ms);
/* Read the TPG's nexus file: 0 and the name, or a negative errno. */
int vsng_target_get_nexus(struct vsng_target *t, char *buf, size_t len);

/* --- misc -------------------------------------------------------------- */
uint64_t vsng_now_ms(void);
void vsng_fill(void *buf, size_t len, uint32_t seed);
int vsng_sysfs_read(const char *path, char *buf, size_t len);
int vsng_sysfs_write(const char *path, const char *val);

#endif /* VSNG_DRV_H */
