/* SPDX-License-Identifier: Apache-2.0 */
/* Test guest for MPI apps started through the API (granary serve and the
 * planner: tests/integration/test_serve_mpi.c, tests/cluster): rank 0
 * reads "SCENARIO [VICTIM]" from stdin (the call's input) and broadcasts
 * it. "sum": every rank prints its rank, rank 0 the all-reduced sum of
 * the ranks and a 1 MiB message round trip; "trap", "abort", "exit": the
 * victim fails after 200 ms while the others block in a receive; "block":
 * every rank blocks in a receive (to be killed). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int
main(int argc, char** argv)
{
    int rank, size;
    char cmd[64] = "sum";
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank == 0) {
        size_t n = fread(cmd, 1, sizeof cmd - 1, stdin);
        cmd[n] = '\0';
        if (!n)
            strcpy(cmd, "sum");
    }
    MPI_Bcast(cmd, sizeof cmd, MPI_CHAR, 0, MPI_COMM_WORLD);
    char what[32] = "";
    int victim = -1;
    sscanf(cmd, "%31s %d", what, &victim);
    if (strcmp(what, "sum") == 0) {
        int sum = 0;
        MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        printf("rank %d of %d\n", rank, size);
        static char big[1 << 20];
        if (size > 1 && rank == 0) {
            memset(big, 7, sizeof big);
            MPI_Send(big, sizeof big, MPI_CHAR, size - 1, 1, MPI_COMM_WORLD);
            memset(big, 0, sizeof big);
            MPI_Recv(big,
                     sizeof big,
                     MPI_CHAR,
                     size - 1,
                     2,
                     MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            int ok = 1;
            for (size_t i = 0; i < sizeof big; i++)
                ok &= big[i] == 8;
            printf("round trip %s\n", ok ? "ok" : "BAD");
        } else if (size > 1 && rank == size - 1) {
            MPI_Recv(big,
                     sizeof big,
                     MPI_CHAR,
                     0,
                     1,
                     MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            for (size_t i = 0; i < sizeof big; i++)
                big[i]++;
            MPI_Send(big, sizeof big, MPI_CHAR, 0, 2, MPI_COMM_WORLD);
        }
        if (rank == 0)
            printf("sum %d\n", sum);
    } else if (rank == victim) {
        sleep_ms(200);
        fprintf(stderr, "rank %d fails: %s\n", rank, what);
        if (strcmp(what, "trap") == 0) {
            volatile int zero = 0;
            printf("%d\n", 7 / zero);
        } else if (strcmp(what, "abort") == 0) {
            MPI_Abort(MPI_COMM_WORLD, 3);
        } else {
            exit(4);
        }
    } else {
        int x;
        MPI_Recv(
          &x, 1, MPI_INT, MPI_ANY_SOURCE, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    MPI_Finalize();
    return 0;
}
