// SPDX-License-Identifier: GPL-2.0
/*
 * tcg-insn-plugin: count the instructions a QEMU TCG machine executes, and
 * log the running total whenever the guest executes a marker instruction.
 *
 *   qemu-system-x86_64 ... -plugin tools/tcg-insn-plugin.so,out=FILE
 *
 * Counting: every translated block adds its instruction count to a per-vCPU
 * counter inline (no helper call), so the overhead is small.  The count is
 * per block: a block left early by an exception counts whole.
 *
 * Markers: the 8-byte NOP  0f 1f 84 00 <imm32>  (nopl imm32(%rax,%rax,1))
 * with imm32 = 0x5653MMMM ("VS" + a 16-bit marker id) is harmless for the
 * guest.  When a vCPU executes one, the plugin appends a line
 *
 *   MARK <id> <total instructions, all vCPUs> <vcpu>
 *
 * to FILE (flushed at once), so a guest program can bracket a benchmark
 * phase with two markers and read the difference.  It works at every level
 * the TCG machine runs: the outer guest's user space and kernel, and a
 * nested KVM guest inside it.  At exit the plugin appends "TOTAL <n>".
 * tools/vsng-mark.h has the guest side.
 *
 * Debian ships no qemu-plugin.h: the few API entry points used are declared
 * here, with the signatures of QEMU 9.1..10.x (API version 2..4).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

/* ---- the QEMU plugin API subset ----------------------------------------- */
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_plugin_scoreboard;

typedef struct {
	struct qemu_plugin_scoreboard *score;
	size_t offset;
} qemu_plugin_u64;

enum qemu_plugin_op {
	QEMU_PLUGIN_INLINE_ADD_U64,
	QEMU_PLUGIN_INLINE_STORE_U64,
};

enum qemu_plugin_cb_flags {
	QEMU_PLUGIN_CB_NO_REGS,
	QEMU_PLUGIN_CB_R_REGS,
	QEMU_PLUGIN_CB_RW_REGS,
};

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id,
					       struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index,
					    void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					qemu_plugin_vcpu_tb_trans_cb_t cb);
extern void qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(
	struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
	qemu_plugin_u64 entry, uint64_t imm);
extern void qemu_plugin_register_vcpu_insn_exec_cb(
	struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
	enum qemu_plugin_cb_flags flags, void *userdata);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
					   qemu_plugin_udata_cb_t cb,
					   void *userdata);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
extern struct qemu_plugin_insn *
qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
extern size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
extern size_t qemu_plugin_insn_data(const struct qemu_plugin_insn *insn,
				    void *dest, size_t len);
extern struct qemu_plugin_scoreboard *qemu_plugin_scoreboard_new(size_t sz);
extern uint64_t qemu_plugin_u64_sum(qemu_plugin_u64 entry);
extern void qemu_plugin_outs(const char *string);

__attribute__((visibility("default"))) int qemu_plugin_version = 2;

/* ---- the plugin ----------------------------------------------------------- */
#define MARK_MAGIC	0x5653u		/* "VS" in the high half of imm32 */

static qemu_plugin_u64 insns;
static FILE *out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;	/* out */

static void mark_exec(unsigned int vcpu, void *udata)
{
	uint64_t total = qemu_plugin_u64_sum(insns);
	unsigned int id = (unsigned int)(uintptr_t)udata;

	pthread_mutex_lock(&out_lock);
	fprintf(out, "MARK %u %" PRIu64 " %u\n", id, total, vcpu);
	fflush(out);
	pthread_mutex_unlock(&out_lock);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(
		tb, QEMU_PLUGIN_INLINE_ADD_U64, insns, n);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint8_t b[8];
		uint32_t imm;

		if (qemu_plugin_insn_size(insn) != 8 ||
		    qemu_plugin_insn_data(insn, b, 8) != 8)
			continue;
		if (b[0] != 0x0f || b[1] != 0x1f || b[2] != 0x84 || b[3] != 0)
			continue;
		memcpy(&imm, b + 4, 4);
		if (imm >> 16 != MARK_MAGIC)
			continue;
		qemu_plugin_register_vcpu_insn_exec_cb(insn, mark_exec,
			QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)(imm & 0xffff));
	}
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	pthread_mutex_lock(&out_lock);
	fprintf(out, "TOTAL %" PRIu64 "\n", qemu_plugin_u64_sum(insns));
	fflush(out);
	pthread_mutex_unlock(&out_lock);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			int argc, char **argv)
{
	const char *path = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
	}
	out = path ? fopen(path, "a") : NULL;
	if (!out) {
		qemu_plugin_outs("tcg-insn-plugin: need out=FILE (writable)\n");
		return -1;
	}
	insns.score = qemu_plugin_scoreboard_new(sizeof(uint64_t));
	insns.offset = 0;
	fprintf(out, "START\n");
	fflush(out);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
