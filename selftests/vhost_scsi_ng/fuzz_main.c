// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_fuzz: the driver.  See Documentation/fuzzing.md.
 *
 *   vsng_fuzz [--seed N] [--runs N] [--time S] [--corpus DIR]... [--out DIR]
 *             [--cov SIZE:SITES] [--module NAME] [--timeout-ms MS]
 *             [--max-findings N] [--inject KIND] [--no-reuse] [--no-t10pi]
 *             [--no-soft-reset] [--ring split|packed|mixed]
 *   vsng_fuzz --replay FILE... [--expect-finding TEXT]
 *   vsng_fuzz --minimize FILE [--out DIR]     (DIR/minimized.bin)
 *
 * Runs in the test guest (fuzz.sh) with LIO and the target loaded.  Exit
 * status: 0 no finding, 1 findings (saved under --out), 2 setup failure.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define MAX_CORPUS	4096
#define MAX_KEYS	64

const char *fz_inject;

static struct fz_input corpus[MAX_CORPUS];
static int ncorpus;
static char keys[MAX_KEYS][48];
static int nkeys;

static void usage(void)
{
	fprintf(stderr,
		"usage: vsng_fuzz [--seed N] [--runs N] [--time SEC] [--corpus DIR]...\n"
		"                 [--out DIR] [--cov TEXTSIZE_HEX:SITES] [--module NAME]\n"
		"                 [--timeout-ms MS] [--max-findings N] [--inject KIND]\n"
		"                 [--no-reuse] [--no-t10pi] [--no-soft-reset]\n"
		"                 [--ring split|packed|mixed]\n"
		"       vsng_fuzz --replay FILE... [--expect-finding TEXT]\n"
		"       vsng_fuzz --minimize FILE [--out DIR]\n");
	exit(2);
}

static void corpus_add(const uint8_t *buf, size_t len)
{
	struct fz_input *c;

	if (ncorpus == MAX_CORPUS)
		return;
	c = &corpus[ncorpus];
	c->buf = malloc(FZ_MAX_INPUT);
	if (!c->buf)
		return;
	memcpy(c->buf, buf, len);
	c->len = len;
	ncorpus++;
}

static int corpus_load_dir(const char *dir, char ***names)
{
	char cmd[512], line[512];
	FILE *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "ls -1 '%s' 2>/dev/null | sort", dir);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		struct fz_input in;
		char path[1024];

		line[strcspn(line, "\n")] = 0;
		if (!strstr(line, ".bin"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		if (fz_load_file(path, &in))
			continue;
		corpus_add(in.buf, in.len);
		free(in.buf);
		n++;
	}
	pclose(p);
	return n;
}

/* One key per kind of finding (its text up to the first digit or ':'). */
static bool finding_is_new(const char *msg)
{
	char k[48];
	int i;

	snprintf(k, sizeof(k), "%.47s", msg);
	k[strcspn(k, "0123456789:")] = 0;
	for (i = 0; i < nkeys; i++)
		if (!strcmp(keys[i], k))
			return false;
	if (nkeys < MAX_KEYS)
		snprintf(keys[nkeys++], sizeof(keys[0]), "%s", k);
	return true;
}

static void save_finding(struct fz *f, const char *out, const uint8_t *buf,
			 size_t len)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/finding-%llu.bin", out,
		 (unsigned long long)f->st.findings);
	fz_save_file(path, buf, len);
	printf("# FINDING %llu: %s\n#   replay: vsng_fuzz --replay %s\n",
	       (unsigned long long)f->st.findings, f->finding, path);
	snprintf(path, sizeof(path), "%s/finding-%llu.txt", out,
		 (unsigned long long)f->st.findings);
	fp = fopen(path, "w");
	if (fp) {
		fprintf(fp, "%s\n", f->finding);
		fclose(fp);
	}
}

/*
 * Shrink an input while it still gives a finding of the same kind: drop
 * chunks of 64, 16, 4 and 1 bytes, each run alone on a fresh device.
 */
static void minimize(struct fz *f, struct fz_input *in, const char *path)
{
	char key[48], k2[48];
	uint8_t *try = malloc(FZ_MAX_INPUT);
	size_t chunk, pos;
	int tries = 0;

	if (!try)
		return;
	fz_run(f, in->buf, in->len);
	if (!f->finding[0]) {
		printf("not ok 1 minimize %s # no finding to keep\n", path);
		free(try);
		return;
	}
	snprintf(key, sizeof(key), "%.47s", f->finding);
	key[strcspn(key, "0123456789:")] = 0;
	for (chunk = 64; chunk; chunk /= 4) {
		for (pos = 0; pos + chunk <= in->len; ) {
			memcpy(try, in->buf, pos);
			memcpy(try + pos, in->buf + pos + chunk,
			       in->len - pos - chunk);
			fz_run(f, try, in->len - chunk);
			tries++;
			snprintf(k2, sizeof(k2), "%.47s", f->finding);
			k2[strcspn(k2, "0123456789:")] = 0;
			if (f->finding[0] && !strcmp(key, k2)) {
				memcpy(in->buf, try, in->len - chunk);
				in->len -= chunk;
			} else {
				pos += chunk;
			}
		}
	}
	free(try);
	fz_run(f, in->buf, in->len);
	printf("ok 1 minimize %s # %zu bytes after %d tries: %s\n", path,
	       in->len, tries, f->finding);
}

static void summary(struct fz *f, uint64_t t0)
{
	double s = (vsng_now_ms() - t0) / 1000.0;

	printf("# fuzz summary: target %s, runs %llu, requests %llu (hostile %llu, valid read-backs %llu), TMF %llu, AN %llu, event buffers %llu, ioctls %llu, device re-creations %llu, soft resets %llu (setup and teardown %.1f s), queues broken %llu, findings %llu, %.1f s, %.0f requests/s",
	       f->ours ? "ours" : "in-tree",
	       (unsigned long long)f->st.runs,
	       (unsigned long long)f->st.requests,
	       (unsigned long long)f->st.hostile,
	       (unsigned long long)f->st.valid,
	       (unsigned long long)f->st.tmf, (unsigned long long)f->st.an,
	       (unsigned long long)f->st.events,
	       (unsigned long long)f->st.ioctls,
	       (unsigned long long)f->st.reinit,
	       (unsigned long long)f->st.soft, f->st.setup_ms / 1000.0,
	       (unsigned long long)f->st.broken,
	       (unsigned long long)f->st.findings, s,
	       s > 0 ? f->st.requests / s : 0);
	if (fz_kcov_on())
		printf(", coverage %llu of %llu PCs (%.1f%%), corpus %d\n",
		       (unsigned long long)fz_kcov_unique(),
		       (unsigned long long)fz_kcov_sites(),
		       100.0 * fz_kcov_unique() / (fz_kcov_sites() ? fz_kcov_sites() : 1),
		       ncorpus);
	else
		printf(", coverage unavailable (no KCOV), corpus %d\n", ncorpus);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", 1, 0, 's' }, { "runs", 1, 0, 'n' },
		{ "time", 1, 0, 'T' }, { "corpus", 1, 0, 'c' },
		{ "out", 1, 0, 'o' }, { "cov", 1, 0, 'C' },
		{ "module", 1, 0, 'm' }, { "timeout-ms", 1, 0, 't' },
		{ "max-findings", 1, 0, 'F' }, { "replay", 0, 0, 'r' },
		{ "expect-finding", 1, 0, 'e' }, { "inject", 1, 0, 'i' },
		{ "verbose", 0, 0, 'v' }, { "no-reuse", 0, 0, 'R' },
		{ "no-t10pi", 0, 0, 'P' }, { "minimize", 1, 0, 'M' },
		{ "no-soft-reset", 0, 0, 'S' }, { "ring", 1, 0, 'g' }, { 0 }
	};
	const char *corpus_dirs[8], *out = ".", *cov = NULL, *mod = NULL;
	const char *expect = NULL;
	uint64_t seed = 1, runs = 100, tlimit = 0, maxf = 10, t0, rng;
	int ncd = 0, c, i, rc = 0, nseed = 0;
	bool replay = false, reuse = true;
	const char *minpath = NULL;
	static struct vsng_target t;
	static struct fz f;
	struct fz_input in;
	char lastpath[1024];

	f.timeout_ms = 10000;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			runs = strtoull(optarg, NULL, 0);
			break;
		case 'T':
			tlimit = strtoull(optarg, NULL, 0);
			break;
		case 'c':
			if (ncd < 8)
				corpus_dirs[ncd++] = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'C':
			cov = optarg;
			break;
		case 'm':
			mod = optarg;
			break;
		case 't':
			f.timeout_ms = atoi(optarg);
			break;
		case 'F':
			maxf = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			replay = true;
			break;
		case 'e':
			expect = optarg;
			break;
		case 'g':
			f.ring = !strcmp(optarg, "packed") ? FZ_RING_PACKED :
				 !strcmp(optarg, "mixed") ? FZ_RING_MIXED :
				 FZ_RING_SPLIT;
			break;
		case 'i':
			fz_inject = optarg;
			break;
		case 'v':
			f.verbose = true;
			break;
		case 'R':
			reuse = false;
			break;
		case 'M':
			minpath = optarg;
			break;
		case 'P':
			f.mask_features |= VSNG_F_T10_PI;
			break;
		case 'S':
			f.no_soft_reset = true;
			break;
		default:
			usage();
		}
	}
	if (replay && optind >= argc)
		usage();
	mkdir(out, 0755);
	setvbuf(stdout, NULL, _IOLBF, 0);

	f.ours = vsng_target_is_ours();
	if (!mod)
		mod = f.ours ? "vhost_scsi_ng" : "vhost_scsi";
	if (cov) {
		int err = fz_kcov_init(mod, cov);

		printf("# coverage: %s\n", err ? strerror(-err) : "KCOV on");
	} else {
		printf("# coverage: unavailable (no --cov: a kernel without KCOV)\n");
	}

	vsng_target_init(&t, 0xf022);
	if (vsng_target_create(&t, 2)) {
		printf("# fuzz: cannot create the LIO target\n");
		return 2;
	}
	f.t = &t;
	f.d.fd = -1;
	if (fz_mem_init(&f)) {
		printf("# fuzz: cannot map guest memory\n");
		vsng_target_destroy(&t);
		return 2;
	}
	t0 = vsng_now_ms();

	if (minpath) {
		char path[1024];

		if (fz_load_file(minpath, &in))
			return 2;
		minimize(&f, &in, minpath);
		snprintf(path, sizeof(path), "%s/minimized.bin", out);
		fz_save_file(path, in.buf, in.len);
		printf("# minimised input: %s\n", path);
		vsng_target_destroy(&t);
		return 0;
	}
	if (replay) {
		int n = 0;

		for (i = optind; i < argc; i++) {
			bool hit;

			if (fz_load_file(argv[i], &in)) {
				printf("not ok %d replay %s # cannot read\n", ++n, argv[i]);
				rc = 1;
				continue;
			}
			fz_run(&f, in.buf, in.len);
			fz_kcov_collect();
			hit = f.finding[0] && (!expect || strstr(f.finding, expect));
			if (expect ? hit : !f.finding[0]) {
				printf("ok %d replay %s%s%s\n", ++n, argv[i],
				       expect ? " # finding as expected: " : "",
				       expect ? f.finding : "");
			} else {
				printf("not ok %d replay %s # %s\n", ++n, argv[i],
				       f.finding[0] ? f.finding : "no finding");
				rc = 1;
			}
			free(in.buf);
		}
		if (fz_guard_check(&f)) {
			bool hit = expect && strstr(f.finding, expect);

			printf("%s %d guard zones # %s\n", hit ? "ok" : "not ok",
			       ++n, f.finding);
			rc = hit ? 0 : 1;
		}
		summary(&f, t0);
		vsng_target_destroy(&t);
		return rc;
	}

	for (i = 0; i < ncd; i++)
		nseed += corpus_load_dir(corpus_dirs[i], NULL);
	printf("# fuzz: seed %llu, %llu runs, %d seed inputs, target %s\n",
	       (unsigned long long)seed, (unsigned long long)runs, nseed,
	       f.ours ? "ours" : "in-tree");
	snprintf(lastpath, sizeof(lastpath), "%s/last-input.bin", out);
	rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	f.reuse = reuse;
	in.buf = malloc(FZ_MAX_INPUT);
	for (uint64_t r = 0; r < runs; r++) {
		int fresh;

		if ((int)r < nseed) {
			memcpy(in.buf, corpus[r].buf, corpus[r].len);
			in.len = corpus[r].len;
		} else if (ncorpus && fz_rand(&rng) % 4) {
			fz_mutate(&rng, &corpus[fz_rand(&rng) % ncorpus],
				  &corpus[fz_rand(&rng) % ncorpus], &in);
		} else {
			fz_generate(&rng, &in);
		}
		fz_kcov_reset();
		f.finding[0] = 0;
		/* left behind if the kernel dies or hangs in this run */
		fz_save_file(lastpath, in.buf, in.len);
		fz_run(&f, in.buf, in.len);
		fresh = fz_kcov_collect();
		if (fresh && (int)r >= nseed && !f.finding[0]) {
			char path[1024];

			corpus_add(in.buf, in.len);
			snprintf(path, sizeof(path), "%s/corpus", out);
			mkdir(path, 0755);
			snprintf(path, sizeof(path), "%s/corpus/%06llu-%d.bin",
				 out, (unsigned long long)r, fresh);
			fz_save_file(path, in.buf, in.len);
		}
		if (f.finding[0] && finding_is_new(f.finding)) {
			char first[256];

			/* does it reproduce alone, on a fresh device? */
			snprintf(first, sizeof(first), "%s", f.finding);
			fz_dev_down(&f);
			f.reuse = false;
			fz_run(&f, in.buf, in.len);
			f.reuse = reuse;
			printf("# finding %s alone on a fresh device%s%s\n",
			       f.finding[0] ? "reproduces" : "does NOT reproduce",
			       f.finding[0] && strcmp(first, f.finding) ? " as: " : "",
			       f.finding[0] && strcmp(first, f.finding) ? f.finding : "");
			snprintf(f.finding, sizeof(f.finding), "%s", first);
			save_finding(&f, out, in.buf, in.len);
			f.st.findings++;
			rc = 1;
			if (f.st.findings >= maxf)
				break;
		}
		if ((r + 1) % 100 == 0 || f.verbose)
			summary(&f, t0);
		if (tlimit && vsng_now_ms() - t0 > tlimit * 1000)
			break;
	}
	fz_dev_down(&f);
	fz_arena_check(&f);
	if (f.finding[0]) {
		save_finding(&f, out, in.buf, in.len);
		f.st.findings++;
		rc = 1;
	}
	if (fz_guard_check(&f)) {
		save_finding(&f, out, in.buf, 0);
		f.st.findings++;
		rc = 1;
	}
	summary(&f, t0);
	vsng_target_destroy(&t);
	return rc;
}
