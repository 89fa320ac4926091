/* SPDX-License-Identifier: Apache-2.0 */
/* Granary's own declaration of the runtime interface that wasm2c 1.0.32
 * generated code compiles against. The types and function names are fixed by
 * the generated code; the implementation is src/engine/rt.c. Differences from
 * wabt's reference runtime: guard-page mode is always on, the call-depth
 * counter is thread-local, and trap frames are per thread (see rt.h). */
#ifndef WASM_RT_H_
#define WASM_RT_H_

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C"
{
#endif

/* Linear memory always lives in an 8 GiB reservation with guard pages, so
 * generated loads and stores carry no bounds checks. Granary builds objects
 * with the value 1; 0 (explicit checks) is kept for valgrind runs. */
#ifndef WASM_RT_MEMCHECK_SIGNAL_HANDLER
#define WASM_RT_MEMCHECK_SIGNAL_HANDLER 1
#endif
#define WASM_RT_SKIP_SIGNAL_RECOVERY 0
#define WASM_RT_SIGNAL_RECOVERY_SUPPORTED 1

/* With guard pages a native stack overflow is caught on the thread's stack
 * guard, so no call-depth counting is needed. In explicit-check mode we count
 * depth per thread, with a limit far above wabt's default of 500. */
#if WASM_RT_MEMCHECK_SIGNAL_HANDLER
#define WASM_RT_USE_STACK_DEPTH_COUNT 0
#else
#define WASM_RT_USE_STACK_DEPTH_COUNT 1
#endif
#ifndef WASM_RT_MAX_CALL_STACK_DEPTH
#define WASM_RT_MAX_CALL_STACK_DEPTH 20000
#endif
#define WASM_RT_MERGED_OOB_AND_EXHAUSTION_TRAPS 0
#define WASM_RT_NO_RETURN __attribute__((noreturn))

/* Branch hints used by the generated code. */
#ifndef LIKELY
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#endif

#if WASM_RT_USE_STACK_DEPTH_COUNT
    extern _Thread_local uint32_t wasm_rt_call_stack_depth;
#endif

    /* Trap reasons raised by generated code. */
    typedef enum
    {
        WASM_RT_TRAP_NONE,
        WASM_RT_TRAP_OOB,
        WASM_RT_TRAP_INT_OVERFLOW,
        WASM_RT_TRAP_DIV_BY_ZERO,
        WASM_RT_TRAP_INVALID_CONVERSION,
        WASM_RT_TRAP_UNREACHABLE,
        WASM_RT_TRAP_CALL_INDIRECT,
        WASM_RT_TRAP_UNCAUGHT_EXCEPTION,
        WASM_RT_TRAP_EXHAUSTION,
    } wasm_rt_trap_t;

    /* Value types, used when registering function signatures. */
    typedef enum
    {
        WASM_RT_I32,
        WASM_RT_I64,
        WASM_RT_F32,
        WASM_RT_F64,
        WASM_RT_FUNCREF,
        WASM_RT_EXTERNREF,
    } wasm_rt_type_t;

    /* Untyped function pointer; callers cast to the real C signature. */
    typedef void (*wasm_rt_function_ptr_t)(void);

    /* A table entry: the function, its registered signature id and the module
     * instance it closes over (passed as its first argument). */
    typedef struct
    {
        uint32_t func_type;
        wasm_rt_function_ptr_t func;
        void* module_instance;
    } wasm_rt_funcref_t;

    static const wasm_rt_funcref_t wasm_rt_funcref_null_value = { 0,
                                                                  NULL,
                                                                  NULL };

    typedef void* wasm_rt_externref_t;
    static const wasm_rt_externref_t wasm_rt_externref_null_value = NULL;

    /* A linear memory. data never moves for the life of the memory; size is
     * pages * 64 KiB (64 bits wide: 65536 pages are 4 GiB, one more than a
     * u32 holds); max_pages is the effective limit (declared maximum
     * clamped by the Faaslet's memory limit). */
    typedef struct
    {
        uint8_t* data;
        uint32_t pages, max_pages;
        uint64_t size;
    } wasm_rt_memory_t;

    /* The current size of mem in bytes. Other threads of the instance may
     * grow a shared memory meanwhile: wasm_rt_grow_memory stores size
     * atomically (release), so host code reads it here, never plainly. */
    static inline uint64_t gr_rt_memory_size(const wasm_rt_memory_t* mem)
    {
        return __atomic_load_n(&mem->size, __ATOMIC_ACQUIRE);
    }

    /* Whether guest bytes [ptr, ptr + len) lie inside mem (false for a NULL
     * mem). 64-bit arithmetic: ptr + len cannot wrap. */
    static inline bool gr_rt_memory_range_ok(const wasm_rt_memory_t* mem,
                                             uint64_t ptr,
                                             uint64_t len)
    {
        uint64_t size = mem ? gr_rt_memory_size(mem) : 0;
        return len <= size && ptr <= size - len;
    }

    typedef struct
    {
        wasm_rt_funcref_t* data;
        uint32_t max_size;
        uint32_t size;
    } wasm_rt_funcref_table_t;

    typedef struct
    {
        wasm_rt_externref_t* data;
        uint32_t max_size;
        uint32_t size;
    } wasm_rt_externref_table_t;

    void wasm_rt_init(void);
    bool wasm_rt_is_initialized(void);
    void wasm_rt_free(void);

    /* Leaves the current guest call through this thread's trap frame. */
    WASM_RT_NO_RETURN void wasm_rt_trap(wasm_rt_trap_t trap);
    const char* wasm_rt_strerror(wasm_rt_trap_t trap);

    /* Interns a function signature (params then results, as wasm_rt_type_t
     * varargs) and returns its process-wide id. Thread-safe. */
    uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...);

    /* Exception-handling entry points (referenced only by modules that use the
     * exceptions proposal; Granary traps on throw). */
    uint32_t wasm_rt_register_tag(uint32_t size);
    void wasm_rt_load_exception(uint32_t tag,
                                uint32_t size,
                                const void* values);
    WASM_RT_NO_RETURN void wasm_rt_throw(void);
#define WASM_RT_UNWIND_TARGET jmp_buf
    WASM_RT_UNWIND_TARGET* wasm_rt_get_unwind_target(void);
    void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET* target);
    uint32_t wasm_rt_exception_tag(void);
    uint32_t wasm_rt_exception_size(void);
    void* wasm_rt_exception(void);
#define WASM_RT_SETJMP(buf) sigsetjmp(buf, 0)
#define wasm_rt_try(target) WASM_RT_SETJMP(target)

    /* Memories and tables. Allocation failures trap (the instantiate call runs
     * under a trap frame). grow returns the old page count or UINT32_MAX. */
    void wasm_rt_allocate_memory(wasm_rt_memory_t* mem,
                                 uint32_t initial_pages,
                                 uint32_t max_pages);
    uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* mem, uint32_t delta_pages);
    void wasm_rt_free_memory(wasm_rt_memory_t* mem);

    void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* t,
                                        uint32_t elements,
                                        uint32_t max_elements);
    void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* t);
    void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* t,
                                          uint32_t elements,
                                          uint32_t max_elements);
    void wasm_rt_free_externref_table(wasm_rt_externref_table_t* t);
    uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* t,
                                        uint32_t delta,
                                        wasm_rt_funcref_t init);
    uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* t,
                                          uint32_t delta,
                                          wasm_rt_externref_t init);

#define wasm_rt_memcpy memcpy

#ifdef __cplusplus
}
#endif

#endif
