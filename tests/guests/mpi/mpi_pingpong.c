/* SPDX-License-Identifier: Apache-2.0 */
/* A plain MPI program (built with granary-mpicc): ping-pong between ranks
 * 0 and 1 (8 B and 1 MiB) and MPI_Allreduce (8 B and 1 MiB of doubles),
 * with the results checked; rank 0 prints timings and "pingpong ok". */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double
pingpong(int rank, char* buf, int n, int iters)
{
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++) {
        if (rank == 0) {
            MPI_Send(buf, n, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(buf, n, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(buf, n, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, n, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
        }
    }
    return (MPI_Wtime() - t0) / iters / 2;
}

int
main(int argc, char** argv)
{
    int rank, size, bad = 0;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int iters = argc > 1 ? atoi(argv[1]) : 1000;
    enum
    {
        BIG = 1 << 20
    };
    char* buf = malloc(BIG);
    memset(buf, rank, BIG);
    if (size >= 2) {
        pingpong(rank, buf, 8, iters / 10 + 1);
        double lat = pingpong(rank, buf, 8, iters);
        pingpong(rank, buf, BIG, iters / 100 + 1);
        double big = pingpong(rank, buf, BIG, iters / 10 + 1);
        if (rank == 0)
            printf("pingpong 8 B: %.2f us, 1 MiB: %.1f us = %.0f MB/s\n",
                   lat * 1e6,
                   big * 1e6,
                   BIG / big / 1e6);
    }
    int n = BIG / 8;
    double* v = malloc(BIG);
    double* s = malloc(BIG);
    for (int i = 0; i < n; i++)
        v[i] = rank + i;
    double t0 = MPI_Wtime();
    MPI_Allreduce(v, s, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    double t_big = MPI_Wtime() - t0;
    for (int i = 0; i < n; i++)
        if (s[i] != (double)size * (size - 1) / 2 + (double)size * i)
            bad++;
    long long one = rank + 1, sum = 0;
    t0 = MPI_Wtime();
    for (int k = 0; k < 100; k++)
        MPI_Allreduce(&one, &sum, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    double t_small = (MPI_Wtime() - t0) / 100;
    if (sum != (long long)size * (size + 1) / 2)
        bad++;
    if (bad) {
        printf("rank %d: allreduce wrong (%d)\n", rank, bad);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0)
        printf("allreduce %d ranks: 8 B %.2f us, 1 MiB %.1f us\npingpong ok\n",
               size,
               t_small * 1e6,
               t_big * 1e6);
    free(buf);
    free(v);
    free(s);
    MPI_Finalize();
    return 0;
}
