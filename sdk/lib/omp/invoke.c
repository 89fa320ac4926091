/* SPDX-License-Identifier: Apache-2.0 */
/* Calls an outlined parallel region (a microtask) with its captured
 * arguments. A microtask has a fixed arity (two thread-number pointers
 * and argc pointer-sized arguments), and wasm call_indirect checks the
 * signature, so each arity is called through a pointer of its own type.
 * Up to OMP_SMALL_MICROTASK_ARGS here; wider regions (up to 255) go to
 * invoke_wide.c, which is most of the code of an OpenMP guest: granary-cc
 * links it only when an object defines a function that wide (docs/openmp.md),
 * so it is a weak reference here. */
#include "invoke_args.h"

#define OMP_SMALL_MICROTASK_ARGS 32
#define OMP_MAX_MICROTASK_ARGS 255

void
omp__invoke(kmpc_micro fn, int32_t* gtid, int32_t* tid, int argc, void** a)
{
    switch (argc) {
        case 0:
            ((void (*)(int32_t*, int32_t*))fn)(gtid, tid);
            break;
            OMP__CALL(1)
            OMP__CALL(2)
            OMP__CALL(3)
            OMP__CALL(4)
            OMP__CALL(5)
            OMP__CALL(6)
            OMP__CALL(7)
            OMP__CALL(8)
            OMP__CALL(9)
            OMP__CALL(10)
            OMP__CALL(11)
            OMP__CALL(12)
            OMP__CALL(13)
            OMP__CALL(14)
            OMP__CALL(15)
            OMP__CALL(16)
            OMP__CALL(17)
            OMP__CALL(18)
            OMP__CALL(19)
            OMP__CALL(20)
            OMP__CALL(21)
            OMP__CALL(22)
            OMP__CALL(23)
            OMP__CALL(24)
            OMP__CALL(25)
            OMP__CALL(26)
            OMP__CALL(27)
            OMP__CALL(28)
            OMP__CALL(29)
            OMP__CALL(30)
            OMP__CALL(31)
            OMP__CALL(32)
        default:
            if (argc <= OMP_MAX_MICROTASK_ARGS && omp__invoke_wide) {
                omp__invoke_wide(fn, gtid, tid, argc, a);
                break;
            }
            omp__fatal("a parallel region with %d captured variables (at most "
                       "%d are supported, more than %d only when granary-cc "
                       "links the wide invoker, see docs/openmp.md)",
                       argc,
                       OMP_MAX_MICROTASK_ARGS,
                       OMP_SMALL_MICROTASK_ARGS);
    }
}
