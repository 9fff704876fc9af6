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
 * Profile (issue 19), option prof=DIR [prof_mark=ID, default 10]: between
 * marker ID and marker ID+1 (the window vsng-load --mark ID brackets), the
 * instructions of every translated block are also counted per block start
 * address, on all vCPUs, kernel and user space alike.  Marker ID clears the
 * counts and starts the window; marker ID+1 ends it, writes
 * DIR/prof-<seq>.txt (a header line "# prof <seq> mark <ID> blocks <n>
 * insns <sum>", then "<vaddr-hex> <insns>" per block start with a non-zero
 * count) and appends "PROF <ID> <seq> <sum>" to FILE.  scripts/insn-profile.py
 * maps the addresses to symbols and categories.  Outside the window a
 * block pays one inline compare (a conditional callback on a per-vCPU flag);
 * inside it, one helper call and an atomic add.  Addresses are virtual:
 * user-space blocks of different processes, and a nested guest's kernel,
 * share one address space here, so use it where only the outer kernel and
 * the load generator run (the target level).
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

enum qemu_plugin_cond {
	QEMU_PLUGIN_COND_NEVER,
	QEMU_PLUGIN_COND_ALWAYS,
	QEMU_PLUGIN_COND_EQ,
	QEMU_PLUGIN_COND_NE,
	QEMU_PLUGIN_COND_LT,
	QEMU_PLUGIN_COND_LE,
	QEMU_PLUGIN_COND_GT,
	QEMU_PLUGIN_COND_GE,
};

extern void qemu_plugin_register_vcpu_tb_exec_cond_cb(
	struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
	enum qemu_plugin_cb_flags flags, enum qemu_plugin_cond cond,
	qemu_plugin_u64 entry, uint64_t imm, void *userdata);
extern uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
extern void qemu_plugin_u64_set(qemu_plugin_u64 entry, unsigned int vcpu_index,
				uint64_t v);
extern int qemu_plugin_num_vcpus(void);

__attribute__((visibility("default"))) int qemu_plugin_version = 2;

/* ---- the plugin ----------------------------------------------------------- */
#define MARK_MAGIC	0x5653u		/* "VS" in the high half of imm32 */

static qemu_plugin_u64 insns;
static FILE *out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;	/* out */

/* ---- the profile (prof=DIR) ---------------------------------------------- */
struct prof_ent {		/* one (block start, block length) */
	uint64_t vaddr;
	uint64_t n;		/* instructions in the block */
	uint64_t count;		/* instructions executed in the window */
};

static const char *prof_dir;
static unsigned int prof_mark = 10;
static qemu_plugin_u64 prof_on;		/* per vCPU: 1 inside the window */
static bool prof_active;		/* under prof_lock */
static unsigned int prof_seq;
static struct prof_ent **prof_tab;	/* open addressing, under prof_lock */
static size_t prof_size, prof_used;
static pthread_mutex_t prof_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t prof_hash(uint64_t vaddr, uint64_t n)
{
	uint64_t h = (vaddr ^ (n << 56)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 20);
}

static void prof_insert(struct prof_ent *e)
{
	size_t i = prof_hash(e->vaddr, e->n) & (prof_size - 1);

	while (prof_tab[i])
		i = (i + 1) & (prof_size - 1);
	prof_tab[i] = e;
	prof_used++;
}

/* The entry of (vaddr, n), created if new; NULL if out of memory. */
static struct prof_ent *prof_get(uint64_t vaddr, uint64_t n)
{
	struct prof_ent *e = NULL;
	size_t i;

	pthread_mutex_lock(&prof_lock);
	if (2 * (prof_used + 1) > prof_size) {
		struct prof_ent **old = prof_tab;
		size_t j, osize = prof_size;
		size_t nsize = osize ? 2 * osize : 1 << 16;
		struct prof_ent **nt = calloc(nsize, sizeof(*nt));

		if (!nt)
			goto out;
		prof_tab = nt;
		prof_size = nsize;
		prof_used = 0;
		for (j = 0; j < osize; j++)
			if (old[j])
				prof_insert(old[j]);
		free(old);
	}
	for (i = prof_hash(vaddr, n) & (prof_size - 1); prof_tab[i];
	     i = (i + 1) & (prof_size - 1)) {
		if (prof_tab[i]->vaddr == vaddr && prof_tab[i]->n == n) {
			e = prof_tab[i];
			goto out;
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto out;
	e->vaddr = vaddr;
	e->n = n;
	prof_insert(e);
out:
	pthread_mutex_unlock(&prof_lock);
	return e;
}

static void prof_exec(unsigned int vcpu, void *udata)
{
	struct prof_ent *e = udata;

	__atomic_fetch_add(&e->count, e->n, __ATOMIC_RELAXED);
}

static void prof_set_all(uint64_t v)
{
	int i, n = qemu_plugin_num_vcpus();

	for (i = 0; i < n; i++)
		qemu_plugin_u64_set(prof_on, i, v);
}

/*
 * Start the window.  The counts are zero here (cleared after each dump), so
 * this only raises the flags: the caller reads the plain counter right
 * after, and the other vCPU runs for as short a time as possible between
 * the two.
 */
static void prof_start(void)
{
	pthread_mutex_lock(&prof_lock);
	prof_active = true;
	prof_set_all(1);
	pthread_mutex_unlock(&prof_lock);
}

/* End the window; returns the sequence number of the file written, or -1. */
static int prof_stop(uint64_t *sum)
{
	char path[4096];
	FILE *f;
	size_t i, blocks = 0;
	int seq = -1;

	*sum = 0;
	pthread_mutex_lock(&prof_lock);
	if (!prof_active)
		goto out;
	prof_active = false;
	seq = (int)++prof_seq;
	for (i = 0; i < prof_size; i++) {
		if (prof_tab[i] && prof_tab[i]->count) {
			blocks++;
			*sum += prof_tab[i]->count;
		}
	}
	snprintf(path, sizeof(path), "%s/prof-%d.txt", prof_dir, seq);
	f = fopen(path, "w");
	if (!f) {
		seq = -1;
		goto out;
	}
	fprintf(f, "# prof %d mark %u blocks %zu insns %" PRIu64 "\n", seq,
		prof_mark, blocks, *sum);
	for (i = 0; i < prof_size; i++) {
		struct prof_ent *e = prof_tab[i];

		if (e && e->count)
			fprintf(f, "%" PRIx64 " %" PRIu64 "\n", e->vaddr,
				e->count);
	}
	fclose(f);
out:
	for (i = 0; i < prof_size; i++)
		if (prof_tab[i])
			prof_tab[i]->count = 0;
	pthread_mutex_unlock(&prof_lock);
	return seq;
}

/*
 * The plain counter is read, and the profile's flags raised or dropped,
 * back to back, so that the profile's sum matches the counter's difference
 * between the two markers (up to what the other vCPU runs in between).
 */
static void mark_exec(unsigned int vcpu, void *udata)
{
	unsigned int id = (unsigned int)(uintptr_t)udata;
	uint64_t total, sum;
	int seq;

	if (prof_dir && id == prof_mark)
		prof_start();
	total = qemu_plugin_u64_sum(insns);
	if (prof_dir && id == prof_mark + 1)
		prof_set_all(0);
	pthread_mutex_lock(&out_lock);
	fprintf(out, "MARK %u %" PRIu64 " %u\n", id, total, vcpu);
	fflush(out);
	pthread_mutex_unlock(&out_lock);
	if (prof_dir && id == prof_mark + 1) {
		seq = prof_stop(&sum);
		pthread_mutex_lock(&out_lock);
		fprintf(out, "PROF %u %d %" PRIu64 "\n", prof_mark, seq, sum);
		fflush(out);
		pthread_mutex_unlock(&out_lock);
	}
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(
		tb, QEMU_PLUGIN_INLINE_ADD_U64, insns, n);
	if (prof_dir) {
		struct prof_ent *e = prof_get(qemu_plugin_tb_vaddr(tb), n);

		if (e)
			qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, prof_exec,
				QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_COND_NE,
				prof_on, 0, e);
	}
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
		else if (!strncmp(argv[i], "prof=", 5))
			prof_dir = argv[i] + 5;
		else if (!strncmp(argv[i], "prof_mark=", 10))
			prof_mark = (unsigned int)strtoul(argv[i] + 10, NULL, 0);
	}
	out = path ? fopen(path, "a") : NULL;
	if (!out) {
		qemu_plugin_outs("tcg-insn-plugin: need out=FILE (writable)\n");
		return -1;
	}
	insns.score = qemu_plugin_scoreboard_new(sizeof(uint64_t));
	insns.offset = 0;
	if (prof_dir) {
		if (prof_mark > 254) {
			qemu_plugin_outs("tcg-insn-plugin: prof_mark must be 0..254\n");
			return -1;
		}
		prof_on.score = qemu_plugin_scoreboard_new(sizeof(uint64_t));
		prof_on.offset = 0;
	}
	if (prof_dir)
		fprintf(out, "START prof=%s prof_mark=%u\n", prof_dir, prof_mark);
	else
		fprintf(out, "START\n");
	fflush(out);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
