# SPDX-License-Identifier: Apache-2.0
# wasi_thread_start(tid, arg) of the cthreads test guest: the first word
# at arg is the top of the new thread's stack.
	.globaltype __stack_pointer, i32
	.functype thread_main (i32, i32) -> ()
	.text
	.globl wasi_thread_start
	.type wasi_thread_start,@function
wasi_thread_start:
	.functype wasi_thread_start (i32, i32) -> ()
	local.get 1
	i32.load 0
	global.set __stack_pointer
	local.get 0
	local.get 1
	call thread_main
	end_function
