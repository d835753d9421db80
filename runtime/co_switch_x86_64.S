/*
 * runtime/co_switch_x86_64.S: the coroutine stack switch of runtime/co.c
 * on x86-64 (System V).  Only the callee-saved integer registers are
 * saved: the caller of ak__co_switch() has given up every other one, and
 * the floating-point control words (MXCSR, x87 CW) belong to the thread,
 * which a coroutine shares with its poller (ak_co(3) says so).
 *
 *   void ak__co_switch(void **save_sp, void *to_sp);
 *	pushes rbp rbx r12-r15, stores rsp in *save_sp, loads to_sp, pops
 *	the same six and returns into the other side.
 *   ak__co_boot: where a fresh stack first returns to (runtime/co.c lays
 *	out the frame: r12 = the coroutine); calls ak__co_main(co), which
 *	never returns.
 *
 * Built only on x86-64 without AK_CO_UCONTEXT (make CO_SWITCH=ucontext).
 */
#if defined(__x86_64__) && !defined(AK_CO_UCONTEXT)
	.text
	.globl	ak__co_switch
	.hidden	ak__co_switch
	.type	ak__co_switch, @function
	.p2align 4
ak__co_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	ak__co_switch, .-ak__co_switch

	.globl	ak__co_boot
	.hidden	ak__co_boot
	.type	ak__co_boot, @function
	.p2align 4
ak__co_boot:
	.cfi_startproc
	.cfi_undefined rip
	movq	%r12, %rdi
	call	ak__co_main
	ud2
	.cfi_endproc
	.size	ak__co_boot, .-ak__co_boot
#endif
	.section .note.GNU-stack, "", @progbits
