// SPDX-License-Identifier: GPL-2.0
/*
 * vsng-mark ID: execute marker ID (0..255) of tools/tcg-insn-plugin.c.
 * vsng-mark ID LOOPS: calibration: marker ID, then a loop of exactly
 *   2 * LOOPS instructions (dec; jnz), then marker ID+1.  The plugin's
 *   count between the two markers must be 2 * LOOPS plus what the rest of
 *   the machine ran meanwhile (scripts/bench-guest.sh checks it).
 * Static, no libc: it runs in the inner guest's busybox initramfs too.
 */
#include "vsng-mark.h"

static long sys_exit(long code)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(60), "D"(code)
			 : "rcx", "r11", "memory");
	return ret;
}

static int parse(const char *p, unsigned long *v)
{
	*v = 0;
	if (!*p)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		*v = *v * 10 + (*p - '0');
	return *p ? -1 : 0;
}

__attribute__((used)) void vsng_mark_main(long argc, char **argv)
{
	unsigned long id = 0, loops = 0;

	if (argc < 2 || parse(argv[1], &id) || id > 255)
		sys_exit(2);
	if (argc < 3) {
		vsng_mark(id);
		sys_exit(0);
	}
	if (parse(argv[2], &loops) || !loops || id > 254)
		sys_exit(2);
	vsng_mark(id);
	__asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(loops) : : "cc");
	vsng_mark(id + 1);
	sys_exit(0);
}

__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"xor %rbp, %rbp\n"
	"mov (%rsp), %rdi\n"
	"lea 8(%rsp), %rsi\n"
	"and $-16, %rsp\n"
	"call vsng_mark_main\n"
	"hlt\n");
