/* SPDX-License-Identifier: Apache-2.0 */
/* OpenMP guest for the runtime fixes found by outside suites (LLVM's
 * OpenMP runtime tests, ParRes): one case per argument, printing what it
 * checks; tests/integration/test_omp_abi.c runs it under granary run. */
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A parallel region capturing 40 variables: its outlined function takes 42
 * arguments, so the runtime calls it through the wide invoker, which
 * granary-cc links only for objects that need it. */
static int
case_wide(void)
{
    int v0 = 0, v1 = 1, v2 = 2, v3 = 3, v4 = 4, v5 = 5, v6 = 6, v7 = 7;
    int v8 = 8, v9 = 9, v10 = 10, v11 = 11, v12 = 12, v13 = 13, v14 = 14;
    int v15 = 15, v16 = 16, v17 = 17, v18 = 18, v19 = 19, v20 = 20;
    int v21 = 21, v22 = 22, v23 = 23, v24 = 24, v25 = 25, v26 = 26;
    int v27 = 27, v28 = 28, v29 = 29, v30 = 30, v31 = 31, v32 = 32;
    int v33 = 33, v34 = 34, v35 = 35, v36 = 36, v37 = 37, v38 = 38;
    int v39 = 39;
    long sum = 0;
    int team = 0;
#pragma omp parallel reduction(+ : sum) shared(team)
    {
        sum += v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7 + v8 + v9 + v10 + v11 +
               v12 + v13 + v14 + v15 + v16 + v17 + v18 + v19 + v20 + v21 + v22 +
               v23 + v24 + v25 + v26 + v27 + v28 + v29 + v30 + v31 + v32 + v33 +
               v34 + v35 + v36 + v37 + v38 + v39;
#pragma omp single
        team = omp_get_num_threads();
    }
    printf("wide: %ld per thread, %s\n",
           sum / team,
           sum == 780L * team ? "ok" : "WRONG");
    return sum == 780L * team ? 0 : 1;
}

/* One thread polls a volatile flag (no atomics, as legacy code and LLVM's
 * omp_for_nowait test do) until another sets it 50 ms later: wasm has no
 * volatile, so without granary-cc's -fms-volatile the load could be kept
 * in a register and the loop would never end. */
static volatile int flag;

static int
case_volatile(void)
{
    int seen = 0, team = 0;
#pragma omp parallel num_threads(2) shared(seen, team)
    {
        if (omp_get_thread_num() == 0) {
            team = omp_get_num_threads();
            if (team == 2) {
                struct timespec ts = { 0, 50 * 1000 * 1000 };
                nanosleep(&ts, NULL);
            }
            flag = 1;
        } else {
            while (flag == 0)
                ;
            seen = 1;
        }
    }
    printf("volatile: team %d, %s\n", team, seen || team < 2 ? "ok" : "WRONG");
    return seen || team < 2 ? 0 : 1;
}

int
main(int argc, char** argv)
{
    const char* c = argc > 1 ? argv[1] : "";
    if (!strcmp(c, "wide"))
        return case_wide();
    if (!strcmp(c, "volatile"))
        return case_volatile();
    fprintf(stderr, "usage: omp_abi CASE\n");
    return 2;
}
