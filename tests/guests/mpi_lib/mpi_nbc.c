/* SPDX-License-Identifier: Apache-2.0 */
/* Non-blocking collectives that need progress while the program does
 * point to point (an Ibarrier based sparse data exchange), persistent
 * collectives started in different orders on different ranks, a blocking
 * receive while a collective is pending, persistent requests whose
 * datatype was freed, MPI_Isendrecv, Cartesian
 * topologies and neighbourhood collectives. Prints
 * "mpi_nbc: rank R ok" or "FAIL ..." lines. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

static int fails, rank, size;

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            printf("FAIL rank %d line %d: %s\n", rank, __LINE__, #c);          \
            fails++;                                                           \
        }                                                                      \
    } while (0)

/* Each rank Issends to its two ring neighbours, then receives whatever
 * arrives while testing an Ibarrier started once its own sends are done
 * (the NBX pattern): needs the Ibarrier to progress inside Iprobe/Test. */
static void
sparse_exchange(void)
{
    int to[2] = { (rank + 1) % size, (rank + size - 1) % size };
    int val[2] = { rank * 10 + 1, rank * 10 + 2 };
    MPI_Request sr[2];
    for (int i = 0; i < 2; i++)
        MPI_Issend(&val[i], 1, MPI_INT, to[i], 7, MPI_COMM_WORLD, &sr[i]);
    MPI_Request bar = MPI_REQUEST_NULL;
    int done = 0, got = 0, sum = 0;
    while (!done) {
        int flag;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, 7, MPI_COMM_WORLD, &flag, &st);
        if (flag) {
            int v;
            MPI_Recv(&v,
                     1,
                     MPI_INT,
                     st.MPI_SOURCE,
                     7,
                     MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            got++;
            sum += v;
        }
        if (bar == MPI_REQUEST_NULL) {
            int sent;
            MPI_Testall(2, sr, &sent, MPI_STATUSES_IGNORE);
            if (sent)
                MPI_Ibarrier(MPI_COMM_WORLD, &bar);
        } else {
            MPI_Test(&bar, &done, MPI_STATUS_IGNORE);
        }
    }
    int l = (rank + size - 1) % size, r = (rank + 1) % size;
    int want = size == 1   ? 3
               : size == 2 ? l * 10 + 1 + r * 10 + 2
                           : l * 10 + 1 + r * 10 + 2;
    CHECK(got == 2);
    CHECK(sum == want);
}

/* Rank 0 blocks in MPI_Recv from rank 1 while an Iallreduce is pending;
 * rank 1 only sends once its Iallreduce completed. */
static void
recv_while_pending(void)
{
    if (size < 2)
        return;
    int in = rank + 1, out = 0;
    MPI_Request r;
    MPI_Iallreduce(&in, &out, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r);
    if (rank == 0) {
        int v = 0;
        MPI_Recv(&v, 1, MPI_INT, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(v == 99);
        MPI_Wait(&r, MPI_STATUS_IGNORE);
    } else {
        MPI_Wait(&r, MPI_STATUS_IGNORE);
        if (rank == 1) {
            int v = 99;
            MPI_Send(&v, 1, MPI_INT, 0, 3, MPI_COMM_WORLD);
        }
    }
    CHECK(out == size * (size + 1) / 2);
}

/* Rank 0 blocks in MPI_Recv from rank 2 while an Ibarrier is pending;
 * rank 2 sends once its barrier completed, which (dissemination, two
 * rounds on 3 or 4 ranks) needs rank 0's second round: the blocked
 * receive must keep the schedule moving. */
static void
recv_while_barrier(void)
{
    if (size < 3)
        return;
    MPI_Request r;
    int v = 0;
    /* the last rank joins late (50 ms after rank 1 did), so rank 0 is
     * blocked in its receive before its first round can end */
    if (rank == size - 1 && rank != 1)
        MPI_Recv(&v, 1, MPI_INT, 1, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Ibarrier(MPI_COMM_WORLD, &r);
    if (rank == 1 && size - 1 != 1) {
        double t0 = MPI_Wtime();
        while (MPI_Wtime() - t0 < 0.05)
            ;
        MPI_Send(&v, 1, MPI_INT, size - 1, 5, MPI_COMM_WORLD);
    }
    if (rank == 0) {
        MPI_Recv(&v, 1, MPI_INT, 2, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(v == 98);
        MPI_Wait(&r, MPI_STATUS_IGNORE);
    } else {
        MPI_Wait(&r, MPI_STATUS_IGNORE);
        if (rank == 2) {
            v = 98;
            MPI_Send(&v, 1, MPI_INT, 0, 4, MPI_COMM_WORLD);
        }
    }
}

/* Persistent bcast and barrier started in opposite orders. */
static void
persistent_order(void)
{
    int a = -1;
    MPI_Request q[2];
    MPI_Bcast_init(&a, 1, MPI_INT, 0, MPI_COMM_WORLD, MPI_INFO_NULL, &q[0]);
    MPI_Barrier_init(MPI_COMM_WORLD, MPI_INFO_NULL, &q[1]);
    for (int it = 0; it < 3; it++) {
        a = rank == 0 ? 42 + it : -1;
        if (rank == 0) {
            MPI_Start(&q[0]);
            MPI_Start(&q[1]);
        } else {
            MPI_Start(&q[1]);
            MPI_Start(&q[0]);
        }
        MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
        CHECK(a == 42 + it);
    }
    MPI_Request_free(&q[0]);
    MPI_Request_free(&q[1]);
}

static void
nb_collectives(void)
{
    int n = size;
    int sb[16], rb[16], ex[16];
    for (int i = 0; i < n; i++)
        sb[i] = rank * 100 + i;
    MPI_Request r[4];
    int red = 0, scan = 0, mine = rank + 1;
    MPI_Ialltoall(sb, 1, MPI_INT, rb, 1, MPI_INT, MPI_COMM_WORLD, &r[0]);
    MPI_Iallgather(&mine, 1, MPI_INT, ex, 1, MPI_INT, MPI_COMM_WORLD, &r[1]);
    MPI_Ireduce(&mine, &red, 1, MPI_INT, MPI_SUM, n - 1, MPI_COMM_WORLD, &r[2]);
    MPI_Iscan(&mine, &scan, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[3]);
    MPI_Waitall(4, r, MPI_STATUSES_IGNORE);
    for (int i = 0; i < n; i++) {
        CHECK(rb[i] == i * 100 + rank);
        CHECK(ex[i] == i + 1);
    }
    if (rank == n - 1)
        CHECK(red == n * (n + 1) / 2);
    CHECK(scan == (rank + 1) * (rank + 2) / 2);
}

static void
user_sum(void* in, void* inout, int* len, MPI_Datatype* dt)
{
    (void)dt;
    for (int i = 0; i < *len; i++)
        ((int*)inout)[i] += ((int*)in)[i];
}

/* MPI allows freeing an op or a datatype while an operation using it is
 * pending: the operation still completes with it. */
static void
free_while_pending(void)
{
    MPI_Op op;
    MPI_Op_create(user_sum, 1, &op);
    MPI_Datatype vec, dup;
    MPI_Type_vector(2, 1, 2, MPI_INT, &vec);
    MPI_Type_dup(vec, &dup);
    MPI_Type_free(&vec);
    MPI_Type_commit(&dup);
    int in = rank + 1, out = 0, buf[3] = { -1, -1, -1 };
    if (rank == 0) {
        buf[0] = 5;
        buf[2] = 6;
    }
    MPI_Request r[2];
    MPI_Iallreduce(&in, &out, 1, MPI_INT, op, MPI_COMM_WORLD, &r[0]);
    MPI_Ibcast(buf, 1, dup, 0, MPI_COMM_WORLD, &r[1]);
    MPI_Op_free(&op);
    MPI_Type_free(&dup);
    MPI_Waitall(2, r, MPI_STATUSES_IGNORE);
    CHECK(out == size * (size + 1) / 2);
    CHECK(buf[0] == 5 && buf[2] == 6);
    CHECK(buf[1] == -1);
}

/* A persistent send, receive and collective keep their derived datatypes
 * usable after MPI_Type_free, for every MPI_Start until the request is
 * freed. */
static void
persistent_keeps_type(void)
{
    int to = (rank + 1) % size, from = (rank + size - 1) % size;
    MPI_Datatype vec;
    MPI_Type_vector(3, 1, 2, MPI_INT, &vec);
    MPI_Type_commit(&vec);
    int out[5], in[5], bc[5];
    MPI_Request r[3];
    MPI_Send_init(out, 1, vec, to, 11, MPI_COMM_WORLD, &r[0]);
    MPI_Recv_init(in, 1, vec, from, 11, MPI_COMM_WORLD, &r[1]);
    MPI_Bcast_init(bc, 1, vec, 0, MPI_COMM_WORLD, MPI_INFO_NULL, &r[2]);
    MPI_Type_free(&vec);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 5; i++) {
            out[i] = 100 * round + 10 * rank + i;
            in[i] = -1;
            bc[i] = rank == 0 ? 7 * round + i : -1;
        }
        MPI_Startall(3, r);
        MPI_Waitall(3, r, MPI_STATUSES_IGNORE);
        for (int i = 0; i < 5; i++) {
            CHECK(in[i] == (i % 2 ? -1 : 100 * round + 10 * from + i));
            CHECK(bc[i] ==
                  (i % 2 ? (rank == 0 ? 7 * round + i : -1) : 7 * round + i));
        }
    }
    for (int i = 0; i < 3; i++)
        MPI_Request_free(&r[i]);
}

/* MPI_Request_free never waits: an Issend to self that nothing has
 * matched yet is freed, and a later receive still gets its data. */
static void
free_active(void)
{
    int v = rank + 40, got = -1;
    MPI_Request r;
    MPI_Issend(&v, 1, MPI_INT, 0, 77, MPI_COMM_SELF, &r);
    MPI_Request_free(&r);
    CHECK(r == MPI_REQUEST_NULL);
    MPI_Recv(&got, 1, MPI_INT, 0, 77, MPI_COMM_SELF, MPI_STATUS_IGNORE);
    CHECK(got == rank + 40);
}

/* The large-count alltoallv (MPI-4), with a gap between blocks. */
static void
alltoallv_c(void)
{
    MPI_Count cnt[16];
    MPI_Aint dis[16];
    int sb[48], rb[48];
    for (int i = 0; i < size; i++) {
        cnt[i] = 1;
        dis[i] = 3 * i;
        sb[3 * i] = 100 * rank + i;
        rb[3 * i] = -1;
    }
    CHECK(MPI_Alltoallv_c(
            sb, cnt, dis, MPI_INT, rb, cnt, dis, MPI_INT, MPI_COMM_WORLD) ==
          MPI_SUCCESS);
    for (int i = 0; i < size; i++)
        CHECK(rb[3 * i] == 100 * i + rank);
}

static void
isendrecv(void)
{
    int to = (rank + 1) % size, from = (rank + size - 1) % size;
    int out = rank, in = -1, rep = rank * 2;
    MPI_Request r[2];
    MPI_Status st;
    MPI_Isendrecv(
      &out, 1, MPI_INT, to, 5, &in, 1, MPI_INT, from, 5, MPI_COMM_WORLD, &r[0]);
    MPI_Isendrecv_replace(
      &rep, 1, MPI_INT, to, 6, from, 6, MPI_COMM_WORLD, &r[1]);
    MPI_Wait(&r[0], &st);
    CHECK(in == from);
    CHECK(st.MPI_SOURCE == from);
    MPI_Wait(&r[1], MPI_STATUS_IGNORE);
    CHECK(rep == from * 2);
}

static void
cartesian(void)
{
    int dims[2] = { 0, 0 }, periods[2] = { 1, 0 };
    MPI_Dims_create(size, 2, dims);
    CHECK(dims[0] * dims[1] == size && dims[0] >= dims[1]);
    MPI_Comm cart;
    MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart);
    int st, nd, co[2], r2, d2[2], p2[2];
    MPI_Topo_test(cart, &st);
    CHECK(st == MPI_CART);
    MPI_Cartdim_get(cart, &nd);
    CHECK(nd == 2);
    MPI_Cart_coords(cart, rank, 2, co);
    MPI_Cart_rank(cart, co, &r2);
    CHECK(r2 == rank);
    CHECK(co[0] == rank / dims[1] && co[1] == rank % dims[1]);
    MPI_Cart_get(cart, 2, d2, p2, co);
    CHECK(d2[0] == dims[0] && p2[0] == 1 && p2[1] == 0);
    int src, dst;
    MPI_Cart_shift(cart, 0, 1, &src, &dst);
    CHECK(dst == ((co[0] + 1) % dims[0]) * dims[1] + co[1]);
    MPI_Cart_shift(cart, 1, 1, &src, &dst);
    CHECK(dst == (co[1] + 1 < dims[1] ? rank + 1 : MPI_PROC_NULL));
    CHECK(src == (co[1] > 0 ? rank - 1 : MPI_PROC_NULL));
    /* neighbour allgather: 4 blocks (dim 0 -, +, dim 1 -, +) */
    int nbv[4] = { -7, -7, -7, -7 };
    MPI_Neighbor_allgather(&rank, 1, MPI_INT, nbv, 1, MPI_INT, cart);
    int s0, d0, s1, d1;
    MPI_Cart_shift(cart, 0, 1, &s0, &d0);
    MPI_Cart_shift(cart, 1, 1, &s1, &d1);
    CHECK(nbv[0] == s0 && nbv[1] == d0);
    CHECK(nbv[2] == (s1 == MPI_PROC_NULL ? -7 : s1));
    CHECK(nbv[3] == (d1 == MPI_PROC_NULL ? -7 : d1));
    /* neighbour alltoall: block k sent to neighbour k carries (rank, k) */
    int sbk[4], rbk[4] = { -1, -1, -1, -1 };
    for (int k = 0; k < 4; k++)
        sbk[k] = rank * 10 + k;
    MPI_Neighbor_alltoall(sbk, 1, MPI_INT, rbk, 1, MPI_INT, cart);
    /* from the - neighbour of dim 0 comes its + block (index 1) */
    CHECK(rbk[0] == s0 * 10 + 1 && rbk[1] == d0 * 10 + 0);
    MPI_Comm row;
    int remain[2] = { 0, 1 };
    MPI_Cart_sub(cart, remain, &row);
    int rs;
    MPI_Comm_size(row, &rs);
    CHECK(rs == dims[1]);
    MPI_Comm_free(&row);
    MPI_Comm_free(&cart);
    /* a directed ring as a distributed graph */
    int dnext = (rank + 1) % size, dprev = (rank + size - 1) % size;
    MPI_Comm g;
    MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD,
                                   1,
                                   &dprev,
                                   MPI_UNWEIGHTED,
                                   1,
                                   &dnext,
                                   MPI_UNWEIGHTED,
                                   MPI_INFO_NULL,
                                   0,
                                   &g);
    int got = -1;
    MPI_Neighbor_allgather(&rank, 1, MPI_INT, &got, 1, MPI_INT, g);
    CHECK(got == dprev);
    int indeg, outdeg, w;
    MPI_Dist_graph_neighbors_count(g, &indeg, &outdeg, &w);
    CHECK(indeg == 1 && outdeg == 1 && !w);
    MPI_Comm_free(&g);
}

int
main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    sparse_exchange();
    recv_while_pending();
    recv_while_barrier();
    persistent_order();
    nb_collectives();
    free_while_pending();
    persistent_keeps_type();
    free_active();
    alltoallv_c();
    isendrecv();
    cartesian();
    if (!fails)
        printf("mpi_nbc: rank %d ok\n", rank);
    MPI_Finalize();
    return 0;
}
