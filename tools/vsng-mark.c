// SPDX-License-Identifier: GPL-2.0
/*
 * vsng-mark ID: execute marker ID (0..255) of tools/tcg-insn-plugin.c.
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

__attribute__((used)) void vsng_mark_main(long argc, char **argv)
{
	unsigned int id = 0;
	const char *p;

	if (argc < 2)
		sys_exit(2);
	for (p = argv[1]; *p >= '0' && *p <= '9'; p++)
		id = id * 10 + (*p - '0');
	if (*p || id > 255)
		sys_exit(2);
	vsng_mark(id);
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
