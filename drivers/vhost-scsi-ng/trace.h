/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-scsi-ng tracepoints: kick, submit, complete and batch flush.
 *
 *   echo 1 > /sys/kernel/tracing/events/vhost_scsi_ng/enable
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vhost_scsi_ng

#if !defined(_VSNG_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VSNG_TRACE_H

#include <linux/tracepoint.h>

/* The guest kicked queue @vq of device @dev_id (kick eventfd woke us). */
TRACE_EVENT(vsng_kick,
	    TP_PROTO(unsigned int dev_id, unsigned int vq),
	    TP_ARGS(dev_id, vq),
	    TP_STRUCT__entry(__field(unsigned int, dev_id)
			     __field(unsigned int, vq)),
	    TP_fast_assign(__entry->dev_id = dev_id;
			   __entry->vq = vq;),
	    TP_printk("dev=%u vq=%u", __entry->dev_id, __entry->vq)
);

/*
 * A SCSI command taken from the ring is handed to LIO.  (Parameters are not
 * called "head": the perf glue has a local of that name.)
 */
TRACE_EVENT(vsng_submit,
	    TP_PROTO(unsigned int vq, u16 desc_head, u8 cdb0, u64 lun,
		     u32 data_len),
	    TP_ARGS(vq, desc_head, cdb0, lun, data_len),
	    TP_STRUCT__entry(__field(unsigned int, vq)
			     __field(u16, head)
			     __field(u8, cdb0)
			     __field(u64, lun)
			     __field(u32, data_len)),
	    TP_fast_assign(__entry->vq = vq;
			   __entry->head = desc_head;
			   __entry->cdb0 = cdb0;
			   __entry->lun = lun;
			   __entry->data_len = data_len;),
	    TP_printk("vq=%u head=%u cdb0=0x%02x lun=%llu len=%u",
		      __entry->vq, __entry->head, __entry->cdb0,
		      (unsigned long long)__entry->lun, __entry->data_len)
);

/* A command's response was written; its used entry is pending. */
TRACE_EVENT(vsng_complete,
	    TP_PROTO(unsigned int vq, u16 desc_head, u8 status, u32 resid),
	    TP_ARGS(vq, desc_head, status, resid),
	    TP_STRUCT__entry(__field(unsigned int, vq)
			     __field(u16, head)
			     __field(u8, status)
			     __field(u32, resid)),
	    TP_fast_assign(__entry->vq = vq;
			   __entry->head = desc_head;
			   __entry->status = status;
			   __entry->resid = resid;),
	    TP_printk("vq=%u head=%u status=0x%02x resid=%u",
		      __entry->vq, __entry->head, __entry->status,
		      __entry->resid)
);

/* @nr_used used entries were published with one used->idx write. */
TRACE_EVENT(vsng_flush,
	    TP_PROTO(unsigned int vq, u16 nr_used, bool signalled),
	    TP_ARGS(vq, nr_used, signalled),
	    TP_STRUCT__entry(__field(unsigned int, vq)
			     __field(u16, nr_used)
			     __field(bool, signalled)),
	    TP_fast_assign(__entry->vq = vq;
			   __entry->nr_used = nr_used;
			   __entry->signalled = signalled;),
	    TP_printk("vq=%u nr_used=%u signalled=%d",
		      __entry->vq, __entry->nr_used, __entry->signalled)
);

#endif /* _VSNG_TRACE_H */

/* Out of tree: the header is found through -I$(src)/drivers/vhost-scsi-ng. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
