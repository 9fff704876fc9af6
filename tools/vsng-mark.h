/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest side of tools/tcg-insn-plugin.c: vsng_mark(id) executes the marker
 * NOP "nopl 0x5653<id>(%rax,%rax,1)" that makes the plugin log the running
 * instruction total.  The 8-byte NOPs sit in a table of 256 entries (16
 * bytes apart, each followed by a ret), one per id, since the id lives in
 * the instruction itself.  Harmless without the plugin.
 */
#ifndef VSNG_MARK_H
#define VSNG_MARK_H

__asm__(".pushsection .text\n"
	".balign 16\n"
	".globl vsng_mark_table\n"
	".type vsng_mark_table, @function\n"
	"vsng_mark_table:\n"
	".set vsng_mark_i, 0\n"
	".rept 256\n"
	".balign 16\n"
	".byte 0x0f, 0x1f, 0x84, 0x00\n"
	".long 0x56530000 + vsng_mark_i\n"
	"ret\n"
	".set vsng_mark_i, vsng_mark_i + 1\n"
	".endr\n"
	".popsection\n");

void vsng_mark_table(void);

static inline void vsng_mark(unsigned int id)
{
	void (*fn)(void) = (void (*)(void))((char *)vsng_mark_table +
					    16 * (id & 0xff));

	fn();
}

#endif /* VSNG_MARK_H */
