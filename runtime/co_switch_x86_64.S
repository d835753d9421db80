/*
 * runtime/co_switch_x86_64.S: where a fresh coroutine stack of
 * runtime/co.c starts on x86-64 (System V).  The switch itself is inline
 * asm, ak__co_switch() in include/awaitkit/co.h: a call whose return
 * crosses a switch would make the return-address predictor miss.
 *
 *   ak__co_boot: the resume address of a fresh stack (runtime/co.c lays
 *	out the frame: the coroutine is at the top of the stack once the
 *	switch has popped this address); ends the frame-pointer chain
 *	(rbp is still the poller's), then calls ak__co_main(co), which never
 *	returns.
 *
 * Built only on x86-64 without AK_CO_UCONTEXT (make CO_SWITCH=ucontext).
 */
#if defined(__x86_64__) && !defined(AK_CO_UCONTEXT)
	.text
	.globl	ak__co_boot
	.hidden	ak__co_boot
	.type	ak__co_boot, @function
	.p2align 4
ak__co_boot:
	.cfi_startproc
	.cfi_undefined rip
	movq	(%rsp), %rdi
	xorl	%ebp, %ebp
	call	ak__co_main
	ud2
	.cfi_endproc
	.size	ak__co_boot, .-ak__co_boot
#endif
	.section .note.GNU-stack, "", @progbits
