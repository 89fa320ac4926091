/* SPDX-License-Identifier: Apache-2.0 */
/* OpenMP test guest of thread scheduling (tests/unit/sched/
 * test_sched_threads.c): one parallel region, of the default size or of
 * num_threads(W) when a second number W > 0 follows on stdin; the master
 * holds the team for the milliseconds read first from stdin, then prints
 * "team=N max=M sum=S" (the team size, omp_get_max_threads() and a
 * reduction over the team that checks every member ran). */
#include <omp.h>
#include <stdio.h>
#include <time.h>

int
main(void)
{
    int hold = 0, want = 0;
    if (scanf("%d", &hold) != 1)
        return 2;
    if (scanf("%d", &want) != 1 || want < 1)
        want = omp_get_max_threads();
    int team = 0, sum = 0;
#pragma omp parallel num_threads(want) reduction(+ : sum)
    {
        sum += omp_get_thread_num() + 1;
#pragma omp master
        {
            team = omp_get_num_threads();
            struct timespec ts = { hold / 1000,
                                   (long)(hold % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    printf("team=%d max=%d sum=%d\n", team, omp_get_max_threads(), sum);
    return sum == team * (team + 1) / 2 ? 0 : 1;
}
