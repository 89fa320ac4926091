// SPDX-License-Identifier: Apache-2.0
// MPI micro-benchmarks, one plain MPI C source built twice: with
// granary-mpicc (run by granary mpirun) and with Open MPI's mpicc (run by
// mpirun). bench/mpi/bench_mpi.sh runs both and compares.
//
//   mpi_bench pingpong   (2 ranks) half round-trip latency of 0 B, 8 B,
//                        1 KiB, 64 KiB and 1 MiB, and streaming bandwidth
//                        of 1 MiB messages
//   mpi_bench allreduce  (any size) MPI_Allreduce(MPI_SUM) latency of 1
//                        and 131072 doubles (8 B, 1 MiB)
//   mpi_bench ... SCALE  iteration counts times SCALE (a float, default 1)
//
// Rank 0 prints one line per figure:
//   pingpong <bytes> <median half round trip, us>
//   bandwidth <bytes> <median MB/s (1e6 bytes/s)>
//   allreduce <bytes> <median us>
// then "verified". Every received byte pattern and reduction result is
// checked; a mismatch prints the reason and calls MPI_Abort(3).
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BW_WINDOW 8

static int rank;
static int nranks;
static double scale = 1.0;

static void
fail(const char* what, long a, long b)
{
    fprintf(stderr, "mpi_bench: rank %d: %s (%ld vs %ld)\n", rank, what, a, b);
    MPI_Abort(MPI_COMM_WORLD, 3);
}

static void*
xmalloc(size_t n)
{
    void* p = malloc(n ? n : 1);

    if (!p)
        fail("out of memory", (long)n, 0);
    return p;
}

static int
cmp_double(const void* a, const void* b)
{
    double x = *(const double*)a;
    double y = *(const double*)b;

    return (x > y) - (x < y);
}

static double
median(double* v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int
iters(int base)
{
    int n = (int)(base * scale);

    return n < 5 ? 5 : n;
}

static unsigned char
pattern(size_t i, int it)
{
    return (unsigned char)(i * 31u + 7u + (unsigned)it * 13u);
}

// Stamps iteration it into a few positions of buf (n >= 1) so each round
// trip is checked cheaply; the whole buffer is checked after the last.
static void
stamp(unsigned char* buf, size_t n, int it)
{
    if (n == 0)
        return;
    buf[0] = pattern(0, it);
    buf[n / 2] = pattern(n / 2, it);
    buf[n - 1] = pattern(n - 1, it);
}

static void
check_stamp(const unsigned char* buf, size_t n, int it)
{
    if (n == 0)
        return;
    if (buf[0] != pattern(0, it) || buf[n / 2] != pattern(n / 2, it) ||
        buf[n - 1] != pattern(n - 1, it))
        fail("ping-pong data mismatch at iteration", it, (long)n);
}

static void
pingpong(size_t n, int warm, int timed)
{
    unsigned char* buf = xmalloc(n);
    double* lat = xmalloc(sizeof(double) * (size_t)timed);
    int peer = 1 - rank;
    MPI_Status st;

    for (size_t i = 0; i < n; i++)
        buf[i] = pattern(i, 0);
    MPI_Barrier(MPI_COMM_WORLD);
    for (int it = 0; it < warm + timed; it++) {
        if (rank == 0) {
            stamp(buf, n, it);
            double t0 = MPI_Wtime();
            MPI_Send(buf, (int)n, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
            MPI_Recv(buf, (int)n, MPI_BYTE, peer, 1, MPI_COMM_WORLD, &st);
            double t1 = MPI_Wtime();
            if (it >= warm)
                lat[it - warm] = (t1 - t0) / 2;
            check_stamp(buf, n, it);
        } else {
            MPI_Recv(buf, (int)n, MPI_BYTE, peer, 1, MPI_COMM_WORLD, &st);
            MPI_Send(buf, (int)n, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
        }
        int count;
        MPI_Get_count(&st, MPI_BYTE, &count);
        if ((size_t)count != n)
            fail("ping-pong received count", count, (long)n);
    }
    // The unstamped bytes went there and back every time: check them all.
    int last = warm + timed - 1;
    for (size_t i = 0; i < n; i++)
        if (buf[i] !=
            pattern(i, (i == 0 || i == n / 2 || i == n - 1) ? last : 0))
            fail("ping-pong payload mismatch at byte", (long)i, (long)n);
    if (rank == 0)
        printf("pingpong %zu %.3f\n", n, median(lat, timed) * 1e6);
    free(lat);
    free(buf);
}

// Streaming bandwidth (as OSU's osu_bw): rank 0 sends BW_WINDOW messages
// of n bytes back to back (Isend), rank 1 has posted BW_WINDOW receives
// into distinct buffers and answers with a 0-byte message once all have
// arrived; one window's bytes / its time, median over windows.
static void
bandwidth(size_t n, int warm, int timed)
{
    unsigned char* sbuf = xmalloc(n);
    unsigned char* rbuf = xmalloc(n * BW_WINDOW);
    double* rate = xmalloc(sizeof(double) * (size_t)timed);
    MPI_Request req[BW_WINDOW];
    int peer = 1 - rank;

    for (size_t i = 0; i < n; i++)
        sbuf[i] = pattern(i, 1);
    memset(rbuf, 0, n * BW_WINDOW);
    MPI_Barrier(MPI_COMM_WORLD);
    for (int it = 0; it < warm + timed; it++) {
        if (rank == 0) {
            double t0 = MPI_Wtime();
            for (int w = 0; w < BW_WINDOW; w++)
                MPI_Isend(
                  sbuf, (int)n, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &req[w]);
            MPI_Waitall(BW_WINDOW, req, MPI_STATUSES_IGNORE);
            MPI_Recv(
              NULL, 0, MPI_BYTE, peer, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            double t1 = MPI_Wtime();
            if (it >= warm)
                rate[it - warm] = (double)n * BW_WINDOW / (t1 - t0) / 1e6;
        } else {
            for (int w = 0; w < BW_WINDOW; w++)
                MPI_Irecv(rbuf + n * (size_t)w,
                          (int)n,
                          MPI_BYTE,
                          peer,
                          2,
                          MPI_COMM_WORLD,
                          &req[w]);
            MPI_Waitall(BW_WINDOW, req, MPI_STATUSES_IGNORE);
            MPI_Send(NULL, 0, MPI_BYTE, peer, 3, MPI_COMM_WORLD);
        }
    }
    if (rank == 1)
        for (size_t i = 0; i < n * BW_WINDOW; i++)
            if (rbuf[i] != pattern(i % n, 1))
                fail("bandwidth payload mismatch at byte", (long)i, (long)n);
    if (rank == 0)
        printf("bandwidth %zu %.1f\n", n, median(rate, timed));
    free(rate);
    free(rbuf);
    free(sbuf);
}

// MPI_Allreduce(MPI_SUM) of count doubles after a barrier. Every rank
// times each call; the per-call maximum over ranks is taken, then the
// median over calls.
// Inputs are small integers (exact in double); every result is checked.
static void
allreduce(int count, int warm, int timed)
{
    double* in = xmalloc(sizeof(double) * (size_t)count);
    double* out = xmalloc(sizeof(double) * (size_t)count);
    double* lat = xmalloc(sizeof(double) * (size_t)timed);
    double* maxlat = xmalloc(sizeof(double) * (size_t)timed);
    // sum over ranks r of (r + 1 + k) = n(n+1)/2 + n*k
    double base = (double)nranks * (nranks + 1) / 2;

    MPI_Barrier(MPI_COMM_WORLD);
    for (int it = 0; it < warm + timed; it++) {
        int k0 = it % 5;
        for (int i = 0; i < count; i++)
            in[i] = rank + 1 + (i + k0) % 7;
        // as osu_allreduce: ranks start each timed call together, so no
        // rank's time includes waiting for another's (untimed) checking
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(in, out, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        double t1 = MPI_Wtime();
        if (it >= warm)
            lat[it - warm] = t1 - t0;
        for (int i = 0; i < count; i++)
            if (out[i] != base + (double)nranks * ((i + k0) % 7))
                fail("allreduce result mismatch at element", i, count);
    }
    MPI_Reduce(lat, maxlat, timed, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("allreduce %zu %.3f\n",
               sizeof(double) * (size_t)count,
               median(maxlat, timed) * 1e6);
    free(maxlat);
    free(lat);
    free(out);
    free(in);
}

int
main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (argc < 2) {
        if (rank == 0)
            fprintf(stderr, "usage: mpi_bench pingpong|allreduce [SCALE]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (argc > 2)
        scale = atof(argv[2]);
    if (!(scale > 0))
        scale = 1.0;
    if (strcmp(argv[1], "pingpong") == 0) {
        if (nranks != 2) {
            if (rank == 0)
                fprintf(stderr,
                        "mpi_bench: pingpong needs 2 ranks, not %d\n",
                        nranks);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        pingpong(0, iters(2000), iters(20000));
        pingpong(8, iters(2000), iters(20000));
        pingpong(1024, iters(2000), iters(20000));
        pingpong(64 * 1024, iters(500), iters(5000));
        pingpong(1024 * 1024, iters(50), iters(500));
        bandwidth(1024 * 1024, iters(10), iters(100));
    } else if (strcmp(argv[1], "allreduce") == 0) {
        allreduce(1, iters(2000), iters(20000));
        allreduce(1024 * 1024 / 8, iters(20), iters(200));
    } else {
        if (rank == 0)
            fprintf(stderr, "mpi_bench: unknown benchmark %s\n", argv[1]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0)
        printf("verified\n");
    MPI_Finalize();
    return 0;
}
