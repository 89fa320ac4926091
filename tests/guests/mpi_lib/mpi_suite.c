/* SPDX-License-Identifier: Apache-2.0 */
/* MPI guest for `granary mpirun -np N`: matching order, wildcards, probe,
 * collectives on split communicators, derived datatypes, user ops and
 * non-blocking collectives. Prints "mpi_suite: rank R ok" per rank, or
 * "FAIL ..." and exits 1.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size, fails;

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            printf("FAIL rank %d line %d: %s\n", rank, __LINE__, #c);          \
            fails++;                                                           \
        }                                                                      \
    } while (0)

static void
user_max_abs(void* in, void* inout, int* len, MPI_Datatype* dt)
{
    (void)dt;
    int* a = in;
    int* b = inout;
    for (int i = 0; i < *len; i++)
        if (abs(a[i]) > abs(b[i]))
            b[i] = a[i];
}

/* non-commutative: string-like concatenation order check (b = a*10+b
 * style on digits keeps rank order) */
static void
user_concat(void* in, void* inout, int* len, MPI_Datatype* dt)
{
    (void)dt;
    long long* a = in;
    long long* b = inout;
    for (int i = 0; i < *len; i++) {
        long long m = 1;
        while (m <= b[i])
            m *= 10;
        b[i] = a[i] * m + b[i];
    }
}

static void
test_p2p(void)
{
    if (size < 2)
        return;
    /* non-overtaking: three messages same tag arrive in order */
    if (rank == 0) {
        for (int i = 0; i < 3; i++)
            MPI_Send(&i, 1, MPI_INT, 1, 5, MPI_COMM_WORLD);
        int t = 42;
        MPI_Send(&t, 1, MPI_INT, 1, 9, MPI_COMM_WORLD);
    } else if (rank == 1) {
        int v;
        MPI_Status st;
        /* tag 9 first: tag matching skips the older tag-5 messages */
        MPI_Recv(&v, 1, MPI_INT, 0, 9, MPI_COMM_WORLD, &st);
        CHECK(v == 42 && st.MPI_TAG == 9 && st.MPI_SOURCE == 0);
        for (int i = 0; i < 3; i++) {
            MPI_Recv(
              &v, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            CHECK(v == i && st.MPI_TAG == 5);
        }
    }
    /* probe then receive with the probed size */
    if (rank == 0) {
        double d[7] = { 1, 2, 3, 4, 5, 6, 7 };
        MPI_Send(d, 7, MPI_DOUBLE, 1, 3, MPI_COMM_WORLD);
    } else if (rank == 1) {
        MPI_Status st;
        MPI_Probe(MPI_ANY_SOURCE, 3, MPI_COMM_WORLD, &st);
        int n;
        MPI_Get_count(&st, MPI_DOUBLE, &n);
        CHECK(n == 7);
        double d[7];
        MPI_Recv(d, n, MPI_DOUBLE, st.MPI_SOURCE, 3, MPI_COMM_WORLD, &st);
        CHECK(d[6] == 7);
    }
    /* ring with isend/irecv/waitall */
    int right = (rank + 1) % size, left = (rank + size - 1) % size, got = -1;
    MPI_Request r[2];
    MPI_Irecv(&got, 1, MPI_INT, left, 1, MPI_COMM_WORLD, &r[0]);
    MPI_Isend(&rank, 1, MPI_INT, right, 1, MPI_COMM_WORLD, &r[1]);
    MPI_Waitall(2, r, MPI_STATUSES_IGNORE);
    CHECK(got == left);
    /* PROC_NULL */
    MPI_Status st;
    MPI_Recv(&got, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &st);
    CHECK(st.MPI_SOURCE == MPI_PROC_NULL);
    /* single-completion calls leave the status' error field alone, also
     * for MPI_PROC_NULL (MPICH's mprobe test checks this) */
    int pflag;
    MPI_Message pm;
    st.MPI_ERROR = MPI_ERR_DIMS;
    MPI_Probe(MPI_PROC_NULL, 0, MPI_COMM_WORLD, &st);
    CHECK(st.MPI_ERROR == MPI_ERR_DIMS && st.MPI_TAG == MPI_ANY_TAG);
    MPI_Iprobe(MPI_PROC_NULL, 0, MPI_COMM_WORLD, &pflag, &st);
    CHECK(pflag && st.MPI_ERROR == MPI_ERR_DIMS);
    MPI_Mprobe(MPI_PROC_NULL, 0, MPI_COMM_WORLD, &pm, &st);
    CHECK(pm == MPI_MESSAGE_NO_PROC && st.MPI_ERROR == MPI_ERR_DIMS);
    MPI_Improbe(MPI_PROC_NULL, 0, MPI_COMM_WORLD, &pflag, &pm, &st);
    CHECK(pflag && st.MPI_ERROR == MPI_ERR_DIMS);
    /* cancel an unmatched receive */
    MPI_Request cr;
    MPI_Irecv(&got, 1, MPI_INT, MPI_ANY_SOURCE, 999, MPI_COMM_WORLD, &cr);
    MPI_Cancel(&cr);
    MPI_Wait(&cr, &st);
    int flag;
    MPI_Test_cancelled(&st, &flag);
    CHECK(flag);
}

static void
test_datatypes(void)
{
    /* a column of a 4x4 matrix with a vector type */
    MPI_Datatype col;
    MPI_Type_vector(4, 1, 4, MPI_INT, &col);
    MPI_Type_commit(&col);
    int sz;
    MPI_Aint lb, ext;
    MPI_Type_size(col, &sz);
    MPI_Type_get_extent(col, &lb, &ext);
    CHECK(sz == 16 && lb == 0 && ext == 13 * 4);
    int m[16], c[4];
    for (int i = 0; i < 16; i++)
        m[i] = i;
    int pos = 0;
    char packed[64];
    MPI_Pack(m + 1, 1, col, packed, sizeof packed, &pos, MPI_COMM_WORLD);
    CHECK(pos == 16);
    memcpy(c, packed, 16);
    CHECK(c[0] == 1 && c[3] == 13);
    if (size >= 2) {
        if (rank == 0)
            MPI_Send(m + 2, 1, col, 1, 7, MPI_COMM_WORLD);
        else if (rank == 1) {
            MPI_Status st;
            MPI_Recv(c, 4, MPI_INT, 0, 7, MPI_COMM_WORLD, &st);
            CHECK(c[0] == 2 && c[1] == 6 && c[3] == 14);
            int n;
            MPI_Get_elements(&st, MPI_INT, &n);
            CHECK(n == 4);
        }
    }
    /* struct with a gap */
    struct s
    {
        char a;
        double b;
        int c;
    } v = { 'x', 2.5, 9 }, w;
    int bl[3] = { 1, 1, 1 };
    MPI_Aint d[3] = { offsetof(struct s, a),
                      offsetof(struct s, b),
                      offsetof(struct s, c) };
    MPI_Datatype ty[3] = { MPI_CHAR, MPI_DOUBLE, MPI_INT }, st, rs;
    MPI_Type_create_struct(3, bl, d, ty, &st);
    MPI_Type_create_resized(st, 0, sizeof(struct s), &rs);
    MPI_Type_commit(&rs);
    MPI_Type_size(rs, &sz);
    CHECK(sz == 13);
    MPI_Type_get_extent(rs, &lb, &ext);
    CHECK(ext == sizeof(struct s));
    memset(&w, 0, sizeof w);
    if (rank == 0)
        w = v;
    MPI_Bcast(&w, 1, rs, 0, MPI_COMM_WORLD);
    CHECK(w.a == 'x' && w.b == 2.5 && w.c == 9);
    MPI_Type_free(&rs);
    MPI_Type_free(&st);
    MPI_Type_free(&col);
    /* subarray */
    int sizes[2] = { 4, 4 }, subs[2] = { 2, 2 }, starts[2] = { 1, 1 };
    MPI_Datatype sa;
    MPI_Type_create_subarray(2, sizes, subs, starts, MPI_ORDER_C, MPI_INT, &sa);
    MPI_Type_commit(&sa);
    pos = 0;
    MPI_Pack(m, 1, sa, packed, sizeof packed, &pos, MPI_COMM_WORLD);
    memcpy(c, packed, 16);
    CHECK(pos == 16 && c[0] == 5 && c[1] == 6 && c[2] == 9 && c[3] == 10);
    MPI_Type_free(&sa);
}

static void
test_collectives(MPI_Comm comm)
{
    int r, n;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &n);
    MPI_Barrier(comm);
    int v = r + 1, s = 0;
    MPI_Allreduce(&v, &s, 1, MPI_INT, MPI_SUM, comm);
    CHECK(s == n * (n + 1) / 2);
    MPI_Reduce(&v, &s, 1, MPI_INT, MPI_MAX, n - 1, comm);
    if (r == n - 1)
        CHECK(s == n);
    int b = r == 0 ? 77 : 0;
    MPI_Bcast(&b, 1, MPI_INT, 0, comm);
    CHECK(b == 77);
    int* all = malloc(sizeof(int) * (size_t)n * 2);
    MPI_Allgather(&r, 1, MPI_INT, all, 1, MPI_INT, comm);
    for (int i = 0; i < n; i++)
        CHECK(all[i] == i);
    MPI_Gather(&r, 1, MPI_INT, all, 1, MPI_INT, 0, comm);
    if (r == 0)
        for (int i = 0; i < n; i++)
            CHECK(all[i] == i);
    int x = -1;
    MPI_Scatter(all, 1, MPI_INT, &x, 1, MPI_INT, 0, comm);
    CHECK(x == r);
    int* sb = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++)
        sb[i] = r * 100 + i;
    MPI_Alltoall(sb, 1, MPI_INT, all, 1, MPI_INT, comm);
    for (int i = 0; i < n; i++)
        CHECK(all[i] == i * 100 + r);
    MPI_Scan(&v, &s, 1, MPI_INT, MPI_SUM, comm);
    CHECK(s == (r + 1) * (r + 2) / 2);
    MPI_Exscan(&v, &s, 1, MPI_INT, MPI_SUM, comm);
    if (r > 0)
        CHECK(s == r * (r + 1) / 2);
    for (int i = 0; i < n; i++)
        sb[i] = i + r;
    MPI_Reduce_scatter_block(sb, &s, 1, MPI_INT, MPI_SUM, comm);
    CHECK(s == n * r + n * (n - 1) / 2);
    /* in place */
    s = v;
    MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_INT, MPI_PROD, comm);
    int f = 1;
    for (int i = 1; i <= n; i++)
        f *= i;
    CHECK(s == f);
    /* MINLOC */
    struct
    {
        double v;
        int i;
    } in = { (double)((r * 7) % n), r }, out;
    MPI_Allreduce(&in, &out, 1, MPI_DOUBLE_INT, MPI_MINLOC, comm);
    CHECK(out.v == 0 && out.i == 0);
    /* user ops */
    MPI_Op op;
    MPI_Op_create(user_max_abs, 1, &op);
    int u = r % 2 ? -(r + 10) : r;
    MPI_Allreduce(&u, &s, 1, MPI_INT, op, comm);
    int want = 0;
    for (int i = 0; i < n; i++) {
        int c = i % 2 ? -(i + 10) : i;
        if (abs(c) > abs(want))
            want = c;
    }
    CHECK(s == want);
    MPI_Op_free(&op);
    MPI_Op_create(user_concat, 0, &op);
    long long dig = r + 1, res = 0;
    MPI_Allreduce(&dig, &res, 1, MPI_LONG_LONG, op, comm);
    long long exp = 0;
    for (int i = 1; i <= n; i++)
        exp = exp * 10 + i;
    CHECK(n > 9 || res == exp);
    MPI_Reduce(&dig, &res, 1, MPI_LONG_LONG, op, 0, comm);
    if (r == 0)
        CHECK(n > 9 || res == exp);
    MPI_Op_free(&op);
    /* a large all-reduce (ring path) */
    int big = 40000;
    double* bd = malloc(sizeof(double) * (size_t)big);
    for (int i = 0; i < big; i++)
        bd[i] = i + r;
    MPI_Allreduce(MPI_IN_PLACE, bd, big, MPI_DOUBLE, MPI_SUM, comm);
    CHECK(bd[0] == n * (n - 1) / 2 &&
          bd[big - 1] == (double)(big - 1) * n + n * (n - 1) / 2);
    free(bd);
    /* non-blocking collectives */
    MPI_Request rq[2];
    int ib = r == 0 ? 5 : 0, ia = 0;
    MPI_Ibcast(&ib, 1, MPI_INT, 0, comm, &rq[0]);
    MPI_Iallreduce(&v, &ia, 1, MPI_INT, MPI_SUM, comm, &rq[1]);
    MPI_Waitall(2, rq, MPI_STATUSES_IGNORE);
    CHECK(ib == 5 && ia == n * (n + 1) / 2);
    MPI_Request br;
    MPI_Ibarrier(comm, &br);
    MPI_Wait(&br, MPI_STATUS_IGNORE);
    free(sb);
    free(all);
}

int
main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    test_p2p();
    test_datatypes();
    test_collectives(MPI_COMM_WORLD);
    MPI_Comm half, dup;
    MPI_Comm_split(MPI_COMM_WORLD, rank % 2, -rank, &half);
    int hr, hn;
    MPI_Comm_rank(half, &hr);
    MPI_Comm_size(half, &hn);
    CHECK(hn == (size + 1 - rank % 2) / 2);
    test_collectives(half);
    MPI_Comm_dup(half, &dup);
    test_collectives(dup);
    MPI_Comm_free(&dup);
    MPI_Comm_free(&half);
    printf("mpi_suite: rank %d %s\n", rank, fails ? "FAILED" : "ok");
    MPI_Finalize();
    return fails ? 1 : 0;
}
