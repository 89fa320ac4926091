/* SPDX-License-Identifier: Apache-2.0 */
/* OpenMP test guest for failures inside a team: `omp_fault trap` makes a
 * worker thread (thread 1 of a 2-thread team) trap while the master waits
 * at the barrier; `omp_fault spin` spins in every thread of a parallel
 * region forever (for call timeouts). Either way "done" is never printed.
 */
#include <omp.h>
#include <stdio.h>
#include <string.h>

static volatile int forever = 1;

int
main(int argc, char** argv)
{
    const char* what = argc > 1 ? argv[1] : "trap";
    printf("start %s\n", what);
    fflush(stdout);
#pragma omp parallel num_threads(2)
    {
        if (!strcmp(what, "trap") && omp_get_thread_num() == 1)
            __builtin_trap();
        while (!strcmp(what, "spin") && forever)
            ;
    }
    printf("done\n");
    return 0;
}
