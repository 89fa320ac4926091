/* SPDX-License-Identifier: Apache-2.0 */
/* Names and signatures of the "granary_mpi" import module (the device of
 * sdk/include/granary/mpi_host.h). The functions are in src/mpi/imports.c;
 * only generated code calls them, so this table is all the host needs. */
#include <stddef.h>

#include "host/host.h"

const struct gr_host_import gr_mpi_imports[] = {
    { "granary_mpi", "world_rank", ">i" },
    { "granary_mpi", "world_size", ">i" },
    { "granary_mpi", "rank_host", "i>i" },
    { "granary_mpi", "host_count", ">i" },
    { "granary_mpi", "host_name", "ii>i" },
    { "granary_mpi", "send", "iiiiii>i" },
    { "granary_mpi", "recv", "iiiiii>i" },
    { "granary_mpi", "isend", "iiiiii>i" },
    { "granary_mpi", "irecv", "iiiii>i" },
    { "granary_mpi", "wait", "ii>i" },
    { "granary_mpi", "test", "ii>i" },
    { "granary_mpi", "waitany", "iiii>i" },
    { "granary_mpi", "testany", "iiii>i" },
    { "granary_mpi", "cancel", "i>i" },
    { "granary_mpi", "probe", "iiiii>i" },
    { "granary_mpi", "mprobe", "iiiiii>i" },
    { "granary_mpi", "mrecv", "iiii>i" },
    { "granary_mpi", "imrecv", "iii>i" },
    { "granary_mpi", "abort", "i>" },
    { "granary_mpi", "finalize", ">i" },
    { NULL, NULL, NULL },
};
