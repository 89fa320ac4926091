/* SPDX-License-Identifier: Apache-2.0 */
/* MPI guest: rank 1 (or 0 alone) calls MPI_Abort(…, 3); the others wait
 * in a receive that never matches. The app must end naming rank and code. */
#include <mpi.h>
#include <stdio.h>

int
main(int argc, char** argv)
{
    int rank, size, v;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank == (size > 1 ? 1 : 0))
        MPI_Abort(MPI_COMM_WORLD, 3);
    MPI_Recv(
      &v, 1, MPI_INT, MPI_ANY_SOURCE, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Finalize();
    return 0;
}
