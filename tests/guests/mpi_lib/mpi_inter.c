/* SPDX-License-Identifier: Apache-2.0 */
/* Intercommunicators: MPI_COMM_WORLD split into a low group (world ranks
 * below size / 2 + 1... see below) and a high group joined by
 * Intercomm_create; every collective on it, blocking and non-blocking,
 * with the results checked against what the other group sent; then split
 * and create of the intercommunicator, merge, and dup. Groups are unequal
 * for odd world sizes. Prints "mpi_inter: rank R ok" per rank, or FAIL
 * lines. Needs at least 2 ranks. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int wrank, wsize, fails;

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            printf("FAIL rank %d line %d: %s\n", wrank, __LINE__, #c);         \
            fails++;                                                           \
        }                                                                      \
    } while (0)

/* The value process r of group g contributes at element i. */
static int
val(int g, int r, int i)
{
    return 1000 * g + 10 * r + i;
}

static void
rooted(MPI_Comm ic, int low, int r, int n, int rn)
{
    int g = !low, rg = low;
    /* bcast from low rank 0 to the high group */
    int b = -1;
    if (low)
        b = r == 0 ? 77 : -1;
    MPI_Bcast(
      &b, 1, MPI_INT, low ? (r == 0 ? MPI_ROOT : MPI_PROC_NULL) : 0, ic);
    CHECK(low ? b == (r == 0 ? 77 : -1) : b == 77);

    /* gather to high rank 0 from the low group */
    int* all = malloc(sizeof(int) * 64);
    for (int i = 0; i < 64; i++)
        all[i] = -1;
    int mine = val(g, r, 0);
    int root = low ? 0 : (r == 0 ? MPI_ROOT : MPI_PROC_NULL);
    MPI_Gather(&mine, 1, MPI_INT, all, 1, MPI_INT, root, ic);
    if (!low && r == 0)
        for (int j = 0; j < rn; j++)
            CHECK(all[j] == val(rg, j, 0));

    /* gatherv with displacements, every remote rank j sends j + 1 ints */
    int send[8];
    for (int i = 0; i < 8; i++)
        send[i] = val(g, r, i);
    int rcs[16], dis[16], at = 0;
    for (int j = 0; j < rn; j++) {
        rcs[j] = j + 1;
        dis[j] = at;
        at += j + 2;
    }
    for (int i = 0; i < 64; i++)
        all[i] = -1;
    MPI_Gatherv(send, r + 1, MPI_INT, all, rcs, dis, MPI_INT, root, ic);
    if (!low && r == 0)
        for (int j = 0; j < rn; j++)
            for (int i = 0; i <= j; i++)
                CHECK(all[dis[j] + i] == val(rg, j, i));

    /* scatter from low rank 0 */
    int got = -1;
    int* src = malloc(sizeof(int) * 64);
    for (int j = 0; j < 64; j++)
        src[j] = 500 + j;
    MPI_Scatter(src,
                1,
                MPI_INT,
                &got,
                1,
                MPI_INT,
                low ? (r == 0 ? MPI_ROOT : MPI_PROC_NULL) : 0,
                ic);
    if (!low)
        CHECK(got == 500 + r);

    /* reduce to high rank 0: sum of the low group's values */
    int sum = -1, want = 0;
    for (int j = 0; j < rn; j++)
        want += val(rg, j, 0);
    MPI_Reduce(&mine, &sum, 1, MPI_INT, MPI_SUM, root, ic);
    if (!low && r == 0)
        CHECK(sum == want);
    (void)n;
    free(all);
    free(src);
}

static void
alls(MPI_Comm ic, int low, int r, int n, int rn)
{
    int g = !low, rg = low;
    int mine = val(g, r, 0);
    int all[64];
    MPI_Allgather(&mine, 1, MPI_INT, all, 1, MPI_INT, ic);
    for (int j = 0; j < rn; j++)
        CHECK(all[j] == val(rg, j, 0));

    /* allreduce: the other group's sum, and a non-commutative check
     * through MPI_MAX of (value, rank) pairs */
    int sum = 0, want = 0;
    for (int j = 0; j < rn; j++)
        want += val(rg, j, 0);
    MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, ic);
    CHECK(sum == want);

    /* alltoall: element j goes to remote rank j */
    int out[64], in[64];
    for (int j = 0; j < rn; j++)
        out[j] = val(g, r, j);
    MPI_Alltoall(out, 1, MPI_INT, in, 1, MPI_INT, ic);
    for (int j = 0; j < rn; j++)
        CHECK(in[j] == val(rg, j, r));

    /* reduce_scatter_block: count = n * 2 on both sides when the groups
     * have the same size; use reduce_scatter with counts summing to 6 on
     * both sides instead (works for unequal groups) */
    int rsc[16], total = 6;
    for (int i = 0; i < n; i++)
        rsc[i] = total / n + (i < total % n);
    int vec[6], res[6] = { -1, -1, -1, -1, -1, -1 };
    for (int i = 0; i < total; i++)
        vec[i] = val(g, r, i);
    MPI_Reduce_scatter(vec, res, rsc, MPI_INT, MPI_SUM, ic);
    int lo = 0;
    for (int i = 0; i < r; i++)
        lo += rsc[i];
    for (int i = 0; i < rsc[r]; i++) {
        int w = 0;
        for (int j = 0; j < rn; j++)
            w += val(rg, j, lo + i);
        CHECK(res[i] == w);
    }

    /* non-blocking forms with a barrier in between */
    MPI_Request rq[3];
    int s2 = 0, ag[64];
    MPI_Iallreduce(&mine, &s2, 1, MPI_INT, MPI_SUM, ic, &rq[0]);
    MPI_Ibarrier(ic, &rq[1]);
    MPI_Iallgather(&mine, 1, MPI_INT, ag, 1, MPI_INT, ic, &rq[2]);
    MPI_Waitall(3, rq, MPI_STATUSES_IGNORE);
    CHECK(s2 == want);
    for (int j = 0; j < rn; j++)
        CHECK(ag[j] == val(rg, j, 0));
    MPI_Barrier(ic);

    /* scan is not defined on intercommunicators */
    MPI_Comm_set_errhandler(ic, MPI_ERRORS_RETURN);
    int x = 0;
    CHECK(MPI_Scan(&mine, &x, 1, MPI_INT, MPI_SUM, ic) != MPI_SUCCESS);
    MPI_Comm_set_errhandler(ic, MPI_ERRORS_ARE_FATAL);
}

static void
derived(MPI_Comm ic, int low, int r, int n, int rn)
{
    /* split by parity of the local rank: a color present on one side only
     * gives MPI_COMM_NULL */
    MPI_Comm sc;
    MPI_Comm_split(ic, r % 2, -r, &sc);
    int lsame = (n + 1 - r % 2) / 2, rsame = (rn + 1 - r % 2) / 2;
    if (rsame == 0) {
        CHECK(sc == MPI_COMM_NULL);
    } else {
        int flag = 0, s = 0, rs = 0, sr = -1;
        MPI_Comm_test_inter(sc, &flag);
        MPI_Comm_size(sc, &s);
        MPI_Comm_remote_size(sc, &rs);
        MPI_Comm_rank(sc, &sr);
        CHECK(flag && s == lsame && rs == rsame);
        /* key -r: reversed order */
        CHECK(sr == lsame - 1 - r / 2);
        int one = 1, cnt = 0;
        MPI_Allreduce(&one, &cnt, 1, MPI_INT, MPI_SUM, sc);
        CHECK(cnt == rsame);
        MPI_Comm_free(&sc);
    }

    /* create without local rank 0 on each side (when that leaves some) */
    MPI_Group gall, gsub;
    MPI_Comm_group(ic, &gall);
    int zero = 0;
    MPI_Group_excl(gall, 1, &zero, &gsub);
    MPI_Comm cc;
    MPI_Comm_create(ic, gsub, &cc);
    if (r == 0 || rn == 1) {
        CHECK(cc == MPI_COMM_NULL);
    } else {
        int s = 0, rs = 0;
        MPI_Comm_size(cc, &s);
        MPI_Comm_remote_size(cc, &rs);
        CHECK(s == n - 1 && rs == rn - 1);
        int b = low ? 0 : 5;
        MPI_Bcast(
          &b, 1, MPI_INT, low ? (r == 1 ? MPI_ROOT : MPI_PROC_NULL) : 0, cc);
        if (!low)
            CHECK(b == 0);
        MPI_Comm_free(&cc);
    }
    MPI_Group_free(&gall);
    MPI_Group_free(&gsub);

    /* dup keeps both groups; merge puts the low group first */
    MPI_Comm dc, mc;
    MPI_Comm_dup(ic, &dc);
    int res = -1;
    MPI_Comm_compare(ic, dc, &res);
    CHECK(res == MPI_CONGRUENT);
    int mine = r, sum = 0, want = 0;
    for (int j = 0; j < rn; j++)
        want += j;
    MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, dc);
    CHECK(sum == want);
    MPI_Intercomm_merge(dc, !low, &mc);
    int mr = -1, ms = 0;
    MPI_Comm_rank(mc, &mr);
    MPI_Comm_size(mc, &ms);
    CHECK(ms == wsize && mr == wrank);
    MPI_Comm_free(&mc);
    MPI_Comm_free(&dc);
}

int
main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    /* low group: world ranks [0, half), high: [half, size) */
    int half = wsize / 2, low = wrank < half;
    MPI_Comm local, ic;
    MPI_Comm_split(MPI_COMM_WORLD, low, wrank, &local);
    MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, low ? half : 0, 42, &ic);
    int r, n, rn;
    MPI_Comm_rank(ic, &r);
    MPI_Comm_size(ic, &n);
    MPI_Comm_remote_size(ic, &rn);
    CHECK(n == (low ? half : wsize - half) && rn == wsize - n);
    rooted(ic, low, r, n, rn);
    alls(ic, low, r, n, rn);
    derived(ic, low, r, n, rn);
    MPI_Comm_free(&ic);
    MPI_Comm_free(&local);
    if (!fails)
        printf("mpi_inter: rank %d ok\n", wrank);
    MPI_Finalize();
    return fails != 0;
}
