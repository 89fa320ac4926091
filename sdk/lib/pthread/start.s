# SPDX-License-Identifier: Apache-2.0
# The wasi-threads entry point and the per-thread wasm globals of the
# guest thread library. Nothing here may touch the C stack before it is
# set, or after the thread's C code has handed its stack back.
	.text

	# The calling thread's descriptor; 0 in the main thread. A wasm
	# global, so each thread's instance has its own.
	.globaltype __granary_self, i32
__granary_self:

	.globaltype __stack_pointer, i32
	.functype __wasm_init_tls (i32) -> ()
	.functype __granary_thread_main (i32, i32) -> ()
	.functype __granary_dtors_main () -> ()

	# wasi_thread_start(tid, start_arg): start_arg is the new thread's
	# struct __pthread (offset 0: stack top, 4: TLS block, 8: state).
	.globl wasi_thread_start
	.type wasi_thread_start,@function
	.export_name wasi_thread_start, wasi_thread_start
wasi_thread_start:
	.functype wasi_thread_start (i32, i32) -> ()
	local.get 1
	global.set __granary_self
	local.get 1
	i32.load 0
	global.set __stack_pointer
	local.get 1
	i32.load 4
	call __wasm_init_tls
	local.get 0
	local.get 1
	call __granary_thread_main
	# The thread's C code is over: from here on its stack and descriptor
	# may be freed by a joiner, so only registers and the store below.
	local.get 1
	i32.const 8
	i32.add
	i32.const 2
	i32.atomic.store 0
	local.get 1
	i32.const 8
	i32.add
	i32.const -1
	memory.atomic.notify 0
	drop
	end_function

	# struct __pthread *gr__pt_self_raw(void)
	.globl gr__pt_self_raw
	.type gr__pt_self_raw,@function
gr__pt_self_raw:
	.functype gr__pt_self_raw () -> (i32)
	global.get __granary_self
	end_function

	# In a command, wasm-ld wraps every exported function so that it
	# calls __wasm_call_dtors when it returns: wasi_thread_start too.
	# libc's would run the atexit handlers and flush stdio at each
	# thread's end, after the thread gave its stack back. This one does
	# nothing in a worker (no stack used) and calls the C part in the
	# main thread.
	.globl __wasm_call_dtors
	.type __wasm_call_dtors,@function
__wasm_call_dtors:
	.functype __wasm_call_dtors () -> ()
	global.get __granary_self
	if
	return
	end_if
	call __granary_dtors_main
	end_function
