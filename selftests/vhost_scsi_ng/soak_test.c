// SPDX-License-Identifier: GPL-2.0
/*
 * Chaos under load (issue 15): several owner processes, each with a TPG
 * of its own (a TPG serves one device), keep writing and reading back
 * blocks on two LUNs over two request queues, while everything around them changes at random:
 *
 *   parent:  SIGKILL an owner (and start a new one on the same blocks),
 *            every other time dropping and recreating its TPG's nexus
 *            in between; unlink and relink LUN 1 (the backstore and its
 *            data stay); flip our TPG attributes (ours only; in-tree: a
 *            nexus drop with the endpoint set, which must be refused);
 *   owners:  a control thread clears and sets the endpoint with I/O in
 *            flight, and sends ABORT TASK / LUN RESET.
 *
 * Every block's history lives in memory shared with the parent: the
 * sequence number of the last write answered GOOD and the writes whose
 * fate is unknown (answered with an error, aborted, or in flight when the
 * owner died).  A read answered GOOD must give, sector by sector, the
 * last good write or one of the unknown ones; so must the final pass
 * over every block, made after the chaos stops.  An owner that makes no
 * progress for 60 s with commands in flight is a hang.
 *
 * VSNG_SOAK_TIME (seconds of chaos, default 60), VSNG_SOAK_OWNERS
 * (default 3); VSNG_SOAK_INJECT=1 flips one byte of the first block read
 * back, to show that the check catches it (the test must then fail).  make soak runs it for 10 minutes (scripts/soak.sh).
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vsng_test.h"

#define MAX_OWNERS	8
#define NBLK		64	/* blocks per owner: 32 per LUN */
#define BLK_SECT	8	/* 4 KiB */
#define BLK_BYTES	(BLK_SECT * VSNG_BLK)
#define NUNK		4	/* unknown writes remembered per block */
#define QD		4	/* per request queue */
#define NQ		2
#define HANG_MS		60000

enum { OP_KILL, OP_LUN, OP_ATTR, OP_NEXUS, OP_NEXUS_BUSY, OP_EP, OP_TMF,
       NOPS };
static const char *const op_names[NOPS] = {
	"owner kills", "LUN 1 relinks", "attribute flips", "nexus cycles",
	"nexus drops refused", "endpoint cycles", "TMFs",
};

struct blk {
	uint32_t good;			/* 0: never written (zeroes) */
	uint32_t unk[NUNK];		/* 0: empty slot */
	uint8_t lost;			/* more unknowns than slots: unchecked */
};

struct slot {
	struct blk b[NBLK];
	uint32_t seq;			/* last sequence number used */
	uint64_t writes_ok, writes_err, reads_ok, reads_err, checked;
	uint64_t mismatches, progress_ms, inflight;
	uint64_t final_checked, final_bad, final_lost;
	uint64_t tags_seen;		/* last tag submitted (for ABORT) */
	pid_t pid;
	int ctl_state;			/* what the control thread is doing */
	int endpoint;			/* the owner's endpoint is set */
	uint16_t avail[NQ], used[NQ];	/* ring indexes, for a hang report */
	uint64_t ep_fail;		/* SET_ENDPOINT refused after a CLEAR */
	int ep_errno;			/* the first refusal's errno */
};

static const char *const ctl_names[] = {
	"idle", "CLEAR_ENDPOINT", "SET_ENDPOINT", "ABORT TASK", "LUN RESET",
	"waiting for the lock",
};

struct shared {
	struct slot s[MAX_OWNERS];
	uint64_t ops[NOPS];
	volatile int phase;		/* 0 chaos, 1 drain, 2 final check */
	char first_bad[256];
};

static struct shared *sh;
static bool inject;
static struct vsng_target tgt[MAX_OWNERS];

static uint16_t blk_lun(int b)
{
	return b & 1;
}

static uint64_t blk_lba(int slot, int b)
{
	return ((uint64_t)slot * NBLK / 2 + b / 2) * BLK_SECT;
}

/* Sector contents of write @seq: a header, then a seeded fill. */
static void pattern(uint8_t *p, int slot, int b, int sect, uint32_t seq)
{
	uint32_t h[4] = { 0x50414b53, slot, b * BLK_SECT + sect, seq };

	if (!seq) {
		memset(p, 0, VSNG_BLK);
		return;
	}
	vsng_fill(p, VSNG_BLK, seq * 131 + sect);
	memcpy(p, h, sizeof(h));
}

static bool sector_ok(const uint8_t *p, int slot, int b, int sect,
		      const struct blk *st)
{
	uint8_t want[VSNG_BLK];
	int i;

	if (st->lost)
		return true;
	pattern(want, slot, b, sect, st->good);
	if (!memcmp(p, want, VSNG_BLK))
		return true;
	for (i = 0; i < NUNK; i++) {
		if (!st->unk[i])
			continue;
		pattern(want, slot, b, sect, st->unk[i]);
		if (!memcmp(p, want, VSNG_BLK))
			return true;
	}
	return false;
}

/* Returns the number of bad sectors of a block read back. */
static int check_block(int slot, int b, const uint8_t *data)
{
	struct blk *st = &sh->s[slot].b[b];
	int sect, bad = 0;

	for (sect = 0; sect < BLK_SECT; sect++)
		if (!sector_ok(data + sect * VSNG_BLK, slot, b, sect, st))
			bad++;
	if (bad && !sh->first_bad[0])
		snprintf(sh->first_bad, sizeof(sh->first_bad),
			 "owner %d block %d (LUN %u LBA %llu): %d of %d sectors match neither write %u nor an unknown one",
			 slot, b, blk_lun(b),
			 (unsigned long long)blk_lba(slot, b), bad, BLK_SECT,
			 st->good);
	return bad;
}

static void unknown_add(struct blk *st, uint32_t seq)
{
	int i;

	for (i = 0; i < NUNK; i++) {
		if (!st->unk[i]) {
			st->unk[i] = seq;
			return;
		}
	}
	st->lost = 1;
}

static void unknown_del(struct blk *st, uint32_t seq)
{
	int i;

	for (i = 0; i < NUNK; i++)
		if (st->unk[i] == seq)
			st->unk[i] = 0;
}

/*
 * Did the answer say the command was never executed?  BAD_TARGET (never
 * handed to LIO), BUSY / TASK SET FULL, and CHECK CONDITION with ILLEGAL
 * REQUEST (no such LUN) or UNIT ATTENTION (reported instead of running).
 */
static bool not_executed(const struct vsng_cmd *c)
{
	if (!c->done)
		return false;
	if (c->rsp.response == VIRTIO_SCSI_S_BAD_TARGET)
		return true;
	if (c->rsp.response != VIRTIO_SCSI_S_OK)
		return false;
	if (c->rsp.status == 0x08 || c->rsp.status == 0x28)
		return true;
	return c->rsp.status == 0x02 &&
	       (vsng_sense_key(&c->rsp) == 5 || vsng_sense_key(&c->rsp) == 6);
}

/* ---- an owner --------------------------------------------------------- */

struct owner {
	int slot;
	struct vsng_dev d;
	pthread_mutex_t lock;	/* d.endpoint and the control queue */
	volatile int stop;
};

struct io {
	struct vsng_cmd c;
	int b;			/* block, -1: free */
	bool write;
	uint32_t seq;
	uint8_t *buf;
	uint64_t sent_ms;
};

static void *owner_ctl(void *arg)
{
	struct owner *o = arg;
	struct slot *s = &sh->s[o->slot];
	unsigned int r = o->slot * 7919 + getpid();
	int err;

	while (!o->stop && sh->phase == 0) {
		usleep(150000 + rand_r(&r) % 350000);
		if (o->stop || sh->phase)
			break;
		s->ctl_state = 5;
		pthread_mutex_lock(&o->lock);
		if (rand_r(&r) % 2) {
			s->ctl_state = 1;
			if (!vsng_dev_clear_endpoint(&o->d)) {
				s->endpoint = 0;
				usleep(rand_r(&r) % 50000);
				s->ctl_state = 2;
				while ((err = vsng_dev_set_endpoint(&o->d,
							tgt[o->slot].wwpn))) {
					if (!s->ep_fail++)
						s->ep_errno = -err;
					usleep(10000);
				}
				s->endpoint = 1;
				__atomic_add_fetch(&sh->ops[OP_EP], 1,
						   __ATOMIC_RELAXED);
			}
		} else if (o->d.endpoint) {
			uint8_t resp = 0xff;
			uint32_t f = rand_r(&r) % 4 ?
				VIRTIO_SCSI_T_TMF_ABORT_TASK :
				VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET;

			s->ctl_state = f == VIRTIO_SCSI_T_TMF_ABORT_TASK ? 3 : 4;
			vsng_tmf(&o->d, f, VSNG_TPGT, rand_r(&r) % 2,
				 s->tags_seen - rand_r(&r) % 8, &resp, 5000);
			__atomic_add_fetch(&sh->ops[OP_TMF], 1,
					   __ATOMIC_RELAXED);
		}
		pthread_mutex_unlock(&o->lock);
		s->ctl_state = 0;
	}
	return NULL;
}

static int io_submit(struct owner *o, struct vsng_vq *vq, struct io *io,
		     int b, bool write, uint64_t tag)
{
	struct slot *s = &sh->s[o->slot];
	int sect;

	vsng_cmd_init(&io->c, VSNG_TPGT, blk_lun(b));
	io->c.tag = tag;
	io->b = b;
	io->write = write;
	if (write) {
		io->seq = ++s->seq;
		for (sect = 0; sect < BLK_SECT; sect++)
			pattern(io->buf + sect * VSNG_BLK, o->slot, b, sect,
				io->seq);
		/* unknown until answered: the owner may die first */
		unknown_add(&s->b[b], io->seq);
	} else {
		memset(io->buf, 0xa5, BLK_BYTES);
	}
	vsng_cdb_rw(io->c.cdb, 10, write, blk_lba(o->slot, b), BLK_SECT);
	if (write) {
		io->c.dout_gpa = vsng_gpa(&o->d, io->buf);
		io->c.dout_len = BLK_BYTES;
	} else {
		io->c.din_gpa = vsng_gpa(&o->d, io->buf);
		io->c.din_len = BLK_BYTES;
	}
	io->sent_ms = vsng_now_ms();
	s->tags_seen = tag;
	return vsng_cmd_submit(vq, &io->c);
}

static void io_done(struct owner *o, struct io *io)
{
	struct slot *s = &sh->s[o->slot];
	struct blk *st = &s->b[io->b];
	bool good = RESP_OK(&io->c) && io->c.rsp.status == 0;

	if (io->write && good) {
		st->good = io->seq;
		memset(st->unk, 0, sizeof(st->unk));
		st->lost = 0;
		s->writes_ok++;
	} else if (io->write) {
		s->writes_err++;
		/* answers that say the write never ran; others stay unknown */
		if (not_executed(&io->c))
			unknown_del(st, io->seq);
	} else if (good) {
		if (inject && !s->reads_ok && !o->slot)
			io->buf[100] ^= 1;
		s->reads_ok++;
		s->checked++;
		if (check_block(o->slot, io->b, io->buf))
			s->mismatches++;
	} else {
		s->reads_err++;
	}
	io->b = -1;
	s->progress_ms = vsng_now_ms();
}

static bool blk_busy(struct io (*ios)[QD], int b)
{
	int q, i;

	for (q = 0; q < NQ; q++)
		for (i = 0; i < QD; i++)
			if (ios[q][i].b == b)
				return true;
	return false;
}

/* One owner: I/O until the drain phase, then a check of every block. */
static int owner_main(int slot)
{
	static const struct vsng_dev_opts opts = { .nreq = NQ };
	struct owner o = { .slot = slot };
	struct slot *s = &sh->s[slot];
	struct io ios[NQ][QD];
	unsigned int r = slot * 104729 + getpid();
	uint64_t tag = (uint64_t)getpid() << 20;
	pthread_t ctl;
	int q, i, b, n;

	pthread_mutex_init(&o.lock, NULL);
	s->inflight = 0;
	s->progress_ms = vsng_now_ms();
	if (vsng_dev_init(&o.d, &opts))
		return 2;
	while (vsng_dev_set_endpoint(&o.d, tgt[slot].wwpn)) {
		if (sh->phase)
			return 3;
		usleep(100000);
	}
	for (q = 0; q < NQ; q++)
		for (i = 0; i < QD; i++) {
			ios[q][i].b = -1;
			ios[q][i].buf = vsng_alloc(&o.d, 0, BLK_BYTES, 4096);
			if (!ios[q][i].buf)
				return 4;
		}
	s->progress_ms = vsng_now_ms();
	s->endpoint = 1;
	pthread_create(&ctl, NULL, owner_ctl, &o);

	while (sh->phase < 1) {
		for (q = 0; q < NQ; q++) {
			struct vsng_vq *vq = &o.d.vq[VSNG_VQ_REQ + q];

			for (i = 0; i < QD; i++) {
				if (ios[q][i].b >= 0)
					continue;
				b = rand_r(&r) % NBLK;
				if (blk_busy(ios, b))
					continue;
				if (!io_submit(&o, vq, &ios[q][i], b,
					       rand_r(&r) % 3, ++tag))
					s->inflight++;
				else
					ios[q][i].b = -1;
			}
			vsng_vq_kick(vq, true);
			s->avail[q] = vq->avail_idx;
			s->used[q] = vsng_vq_used_idx(vq);
			if (vsng_vq_wait(vq, 20) > 0) {
				vsng_vq_reap(vq);
				for (i = 0; i < QD; i++)
					if (ios[q][i].b >= 0 &&
					    ios[q][i].c.done) {
						io_done(&o, &ios[q][i]);
						s->inflight--;
					}
			}
		}
	}
	o.stop = 1;
	pthread_join(ctl, NULL);
	if (!o.d.endpoint)
		vsng_dev_set_endpoint(&o.d, tgt[slot].wwpn);

	/* drain: every command still out gets its answer */
	for (q = 0; q < NQ; q++) {
		struct vsng_vq *vq = &o.d.vq[VSNG_VQ_REQ + q];
		uint64_t end = vsng_now_ms() + HANG_MS;

		for (;;) {
			n = 0;
			vsng_vq_reap(vq);
			for (i = 0; i < QD; i++) {
				if (ios[q][i].b < 0)
					continue;
				if (ios[q][i].c.done) {
					io_done(&o, &ios[q][i]);
					s->inflight--;
				} else {
					n++;
				}
			}
			if (!n)
				break;
			if (vsng_now_ms() > end)
				return 5;
			vsng_vq_wait(vq, 100);
		}
	}
	while (sh->phase < 2)
		usleep(20000);

	/* final pass: every block, retried past unit attentions */
	for (b = 0; b < NBLK; b++) {
		struct io *io = &ios[0][0];

		for (i = 0; i < 5; i++) {
			io_submit(&o, &o.d.vq[VSNG_VQ_REQ], io, b, false,
				  ++tag);
			vsng_vq_kick(&o.d.vq[VSNG_VQ_REQ], true);
			if (vsng_vq_wait(&o.d.vq[VSNG_VQ_REQ], HANG_MS) <= 0)
				return 6;
			vsng_vq_reap(&o.d.vq[VSNG_VQ_REQ]);
			if (RESP_OK(&io->c) && io->c.rsp.status == 0)
				break;
		}
		if (i == 5)
			return 7;
		s->final_checked++;
		s->final_lost += s->b[b].lost;
		if (check_block(slot, b, io->buf))
			s->final_bad++;
		io->b = -1;
	}
	vsng_dev_clear_endpoint(&o.d);
	vsng_dev_close(&o.d);
	return 0;
}

/* ---- the parent: chaos ------------------------------------------------ */

/* Print what a stuck owner and its threads (vhost workers too) are doing. */
static void hang_report(pid_t pid, const struct slot *s)
{
	char p[320], buf[4096];
	struct dirent *de;
	DIR *d;
	int q;

	ksft_print_msg("hang: control thread %s, endpoint %s\n",
		       ctl_names[s->ctl_state], s->endpoint ? "set" : "clear");
	for (q = 0; q < NQ; q++)
		ksft_print_msg("hang: request queue %d: avail %u used %u\n", q,
			       s->avail[q], s->used[q]);
	snprintf(p, sizeof(p), "/proc/%d/task", pid);
	d = opendir(p);
	while (d && (de = readdir(d))) {
		char *l, *save;
		FILE *f;
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/comm", pid, de->d_name);
		f = fopen(p, "r");
		n = f ? fread(buf, 1, 64, f) : 0;
		if (f)
			fclose(f);
		buf[n] = 0;
		ksft_print_msg("hang: task %s %s", de->d_name, buf);
		snprintf(p, sizeof(p), "/proc/%d/task/%s/stack", pid, de->d_name);
		f = fopen(p, "r");
		n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = 0;
		for (l = strtok_r(buf, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save))
			ksft_print_msg("hang:   %s\n", l);
	}
	if (d)
		closedir(d);
}

/* Wait at most @ms for a child: false if it is stuck (in the kernel). */
static bool reap(pid_t pid, int *st, int ms)
{
	uint64_t end = vsng_now_ms() + ms;

	while (waitpid(pid, st, WNOHANG) == 0) {
		if (vsng_now_ms() > end)
			return false;
		usleep(20000);
	}
	return true;
}

static pid_t spawn(int slot)
{
	pid_t p = fork();

	if (!p)
		_exit(owner_main(slot));
	return p;
}

static int lun_link(struct vsng_target *t, int lun, bool on)
{
	char tpg[256], p[384], dev[384];

	vsng_target_tpg_path(t, tpg, sizeof(tpg));
	snprintf(p, sizeof(p), "%s/lun/lun_%d/vsng_port", tpg, lun);
	if (!on) {
		if (unlink(p))
			return -errno;
		snprintf(p, sizeof(p), "%s/lun/lun_%d", tpg, lun);
		return rmdir(p) ? -errno : 0;
	}
	snprintf(dev, sizeof(dev), "%s/lun/lun_%d", tpg, lun);
	if (mkdir(dev, 0755) && errno != EEXIST)
		return -errno;
	vsng_target_dev_path(t, lun, dev, sizeof(dev));
	return symlink(dev, p) ? -errno : 0;
}

static void attr_flip(struct vsng_target *t, unsigned int *r)
{
	static const char *const names[] = {
		"poll_usecs", "kick_hold_usecs", "coalesce_usecs",
		"coalesce_max",
	};
	static const char *const vals[] = { "0", "1", "20", "100" };
	char tpg[256], p[512];

	vsng_target_tpg_path(t, tpg, sizeof(tpg));
	snprintf(p, sizeof(p), "%s/attrib/%s", tpg, names[rand_r(r) % 4]);
	if (!vsng_sysfs_write(p, vals[rand_r(r) % 4]))
		sh->ops[OP_ATTR]++;
}

/*
 * With no device on it (its owner just killed): drop and recreate the
 * TPG's nexus, which LIO allows only with no LUN linked, so both LUNs
 * are unlinked and relinked around it (their backstores and data stay).
 */
static void nexus_cycle(struct __test_metadata *_metadata,
			struct vsng_target *t, bool *lun1)
{
	EXPECT_EQ(0, lun_link(t, 0, false));
	if (*lun1)
		EXPECT_EQ(0, lun_link(t, 1, false));
	if (vsng_target_set_nexus(t, false)) {
		sh->ops[OP_NEXUS_BUSY]++;
	} else {
		EXPECT_EQ(0, vsng_target_set_nexus(t, true));
		sh->ops[OP_NEXUS]++;
	}
	EXPECT_EQ(0, lun_link(t, 0, true));
	EXPECT_EQ(0, lun_link(t, 1, true));
	*lun1 = true;
}

FIXTURE(soak) {
	int nown;
	int secs;
};

FIXTURE_SETUP(soak)
{
	const char *e;
	int i;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	e = getenv("VSNG_SOAK_TIME");
	self->secs = e && *e ? atoi(e) : 60;
	e = getenv("VSNG_SOAK_INJECT");
	inject = e && *e == '1';
	e = getenv("VSNG_SOAK_OWNERS");
	self->nown = e && *e ? atoi(e) : 3;
	if (self->nown < 1 || self->nown > MAX_OWNERS)
		self->nown = 3;
	/* one TPG per owner (a TPG serves one device), two LUNs each */
	for (i = 0; i < self->nown; i++) {
		vsng_target_init(&tgt[i], vsng_test_id() + i);
		ASSERT_EQ(0, vsng_target_create(&tgt[i], 2));
	}
}

FIXTURE_TEARDOWN(soak)
{
	int i;

	for (i = 0; i < self->nown; i++)
		vsng_target_destroy(&tgt[i]);
}

TEST_F_TIMEOUT(soak, chaos, 7200)
{
	pid_t pid[MAX_OWNERS];
	unsigned int r = 1;
	uint64_t end, w_ok = 0, w_err = 0, rd = 0, rd_err = 0, chk = 0;
	uint64_t bad = 0, fchk = 0, fbad = 0, flost = 0, epf = 0;
	int eperr = 0;
	bool lun1[MAX_OWNERS], hang = false;
	int i, st, failed_exits = 0;

	for (i = 0; i < self->nown; i++) {
		lun1[i] = true;
		pid[i] = spawn(i);
	}
	end = vsng_now_ms() + self->secs * 1000ULL;
	while (vsng_now_ms() < end && !hang) {
		usleep(100000 + rand_r(&r) % 300000);
		i = rand_r(&r) % self->nown;
		switch (rand_r(&r) % 4) {
		case 0:
		case 3:
			/* kill; every other time the nexus goes with it */
			kill(pid[i], SIGKILL);
			if (!reap(pid[i], &st, HANG_MS)) {
				TH_LOG("owner %d: not gone %d s after SIGKILL",
				       i, HANG_MS / 1000);
				hang = true;
				break;
			}
			sh->ops[OP_KILL]++;
			if (rand_r(&r) % 2)
				nexus_cycle(_metadata, &tgt[i], &lun1[i]);
			pid[i] = spawn(i);
			break;
		case 1:
			if (!lun_link(&tgt[i], 1, !lun1[i])) {
				lun1[i] = !lun1[i];
				sh->ops[OP_LUN] += lun1[i];
			}
			break;
		case 2:
			if (vsng_target_is_ours())
				attr_flip(&tgt[i], &r);
			else if (vsng_target_set_nexus(&tgt[i], false))
				sh->ops[OP_NEXUS_BUSY]++;
			break;
		}
		for (i = 0; i < self->nown; i++)
			if (sh->s[i].inflight && sh->s[i].progress_ms &&
			    vsng_now_ms() - sh->s[i].progress_ms > HANG_MS) {
				TH_LOG("owner %d: no progress for %d s with %llu commands in flight",
				       i, HANG_MS / 1000,
				       (unsigned long long)sh->s[i].inflight);
				hang_report(pid[i], &sh->s[i]);
				hang = true;
			}
	}
	for (i = 0; i < self->nown; i++) {
		if (!lun1[i])
			EXPECT_EQ(0, lun_link(&tgt[i], 1, true));
		vsng_target_set_nexus(&tgt[i], true);
	}
	sh->phase = 1;
	usleep(500000);
	sh->phase = 2;
	for (i = 0; i < self->nown; i++) {
		/* longer than an owner's own 60 s wait for one answer */
		if (!reap(pid[i], &st, 3 * HANG_MS)) {
			TH_LOG("owner %d: no end to the final check", i);
			kill(pid[i], SIGKILL);
			failed_exits++;
			continue;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			/* 5: drain, 6: final read unanswered for 60 s,
			 * 7: final read failing 5 times
			 */
			TH_LOG("owner %d ended with status %#x", i, st);
			failed_exits++;
		}
	}
	for (i = 0; i < self->nown; i++) {
		struct slot *s = &sh->s[i];

		w_ok += s->writes_ok;
		w_err += s->writes_err;
		rd += s->reads_ok;
		rd_err += s->reads_err;
		chk += s->checked;
		bad += s->mismatches;
		fchk += s->final_checked;
		fbad += s->final_bad;
		flost += s->final_lost;
		epf += s->ep_fail;
		if (s->ep_fail && !eperr)
			eperr = s->ep_errno;
	}
	ksft_print_msg("soak: %d s, %d owners: writes %llu good, %llu failed; reads %llu good (all checked), %llu failed; mismatches %llu; final check %llu blocks, %llu bad, %llu with too many unknown writes to judge\n",
		       self->secs, self->nown, (unsigned long long)w_ok,
		       (unsigned long long)w_err, (unsigned long long)rd,
		       (unsigned long long)rd_err, (unsigned long long)bad,
		       (unsigned long long)fchk, (unsigned long long)fbad,
		       (unsigned long long)flost);
	for (i = 0; i < NOPS; i++)
		ksft_print_msg("soak: %s %llu\n", op_names[i],
			       (unsigned long long)sh->ops[i]);
	ksft_print_msg("soak: SET_ENDPOINT refused right after a CLEAR_ENDPOINT %llu times%s%s\n",
		       (unsigned long long)epf, epf ? ", first: " : "",
		       epf ? strerror(eperr) : "");
	if (sh->first_bad[0])
		TH_LOG("first mismatch: %s", sh->first_bad);
	EXPECT_FALSE(hang);
	EXPECT_EQ(0, epf);
	EXPECT_EQ(0, failed_exits);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, fbad);
	EXPECT_EQ(self->nown * NBLK, fchk);
	EXPECT_LT(0, w_ok);
	EXPECT_LT(0, rd);
	EXPECT_LT(0, sh->ops[OP_KILL] + sh->ops[OP_LUN] + sh->ops[OP_EP]);
	(void)chk;
}

TEST_HARNESS_MAIN
