/* SPDX-License-Identifier: Apache-2.0 */
/* Point to point, second part: probes (Probe, Iprobe, Mprobe, Improbe),
 * matched messages (Mrecv, Imrecv) and status queries (Get_count,
 * Get_elements, Status_set_*). Requests and sends are in p2p.c. */
#include <stdlib.h>
#include <string.h>

#include "mpi_int.h"

/* ---- probe ---- */

static int
probe(int src, int tag, MPI_Comm ch, int blocking, int* flag, MPI_Status* st)
{
    comm* c = gr__comm_get(ch);
    if (!c)
        return MPI_ERR_COMM;
    int rc = gr__check_comm_rank(c, src, 1);
    if (rc)
        return rc;
    if (src == MPI_PROC_NULL) {
        *flag = 1;
        if (st != MPI_STATUS_IGNORE) {
            /* a single-completion call leaves the error field alone */
            int e = st->MPI_ERROR;
            gr__status_empty(st);
            st->MPI_SOURCE = MPI_PROC_NULL;
            st->MPI_ERROR = e;
        }
        return 0;
    }
    gr_mpi_status ds = { 0 };
    int32_t wsrc =
      src == MPI_ANY_SOURCE ? GR_MPI_ANY_SOURCE : gr__peer_world(c, src);
    int32_t wtag = tag == MPI_ANY_TAG ? GR_MPI_ANY_TAG : tag;
    gr__progress();
    if (blocking)
        rc = gr__pprobe(wsrc, wtag, c->ctx + CTX_P2P, NULL, &ds);
    else
        rc = gr_mpi_probe(wsrc, wtag, c->ctx + CTX_P2P, 0, &ds);
    if (rc < 0)
        return gr__dev_err(rc);
    *flag = rc == 1;
    if (*flag && st != MPI_STATUS_IGNORE) {
        st->MPI_SOURCE = gr__comm_from_world(c, ds.source);
        st->MPI_TAG = ds.tag;
        st->gr_count = ds.bytes;
        st->gr_cancelled = 0;
    }
    return 0;
}

int
MPI_Probe(int src, int tag, MPI_Comm comm, MPI_Status* status)
{
    CHECK_INIT();
    int flag;
    return ERR(comm, probe(src, tag, comm, 1, &flag, status));
}

int
MPI_Iprobe(int src, int tag, MPI_Comm comm, int* flag, MPI_Status* status)
{
    CHECK_INIT();
    return ERR(comm, probe(src, tag, comm, 0, flag, status));
}

/* Matched messages: MPI_Message = H_MSG | slot; the slot keeps the device
 * message and the communicator (to translate the source). */
typedef struct msg
{
    int used;
    int dev;
    MPI_Comm comm;
} msg;
static msg msgs[256];

static int
mprobe(int src,
       int tag,
       MPI_Comm ch,
       int blocking,
       int* flag,
       MPI_Message* m,
       MPI_Status* st)
{
    comm* c = gr__comm_get(ch);
    if (!c)
        return MPI_ERR_COMM;
    int rc = gr__check_comm_rank(c, src, 1);
    if (rc)
        return rc;
    if (src == MPI_PROC_NULL) {
        *flag = 1;
        *m = MPI_MESSAGE_NO_PROC;
        if (st != MPI_STATUS_IGNORE) {
            /* a single-completion call leaves the error field alone */
            int e = st->MPI_ERROR;
            gr__status_empty(st);
            st->MPI_SOURCE = MPI_PROC_NULL;
            st->MPI_ERROR = e;
        }
        return 0;
    }
    int slot;
    for (slot = 0; slot < 256 && msgs[slot].used; slot++)
        ;
    if (slot == 256)
        return MPI_ERR_NO_MEM;
    gr_mpi_status ds = { 0 };
    int32_t dm = -1;
    int32_t wsrc =
      src == MPI_ANY_SOURCE ? GR_MPI_ANY_SOURCE : gr__peer_world(c, src);
    int32_t wtag = tag == MPI_ANY_TAG ? GR_MPI_ANY_TAG : tag;
    gr__progress();
    if (blocking)
        rc = gr__pprobe(wsrc, wtag, c->ctx + CTX_P2P, &dm, &ds);
    else
        rc = gr_mpi_mprobe(wsrc, wtag, c->ctx + CTX_P2P, 0, &dm, &ds);
    if (rc < 0)
        return gr__dev_err(rc);
    *flag = rc == 1;
    if (!*flag)
        return 0;
    msgs[slot].used = 1;
    msgs[slot].dev = dm;
    msgs[slot].comm = ch;
    *m = (MPI_Message)(H_MSG | (unsigned)slot);
    if (st != MPI_STATUS_IGNORE) {
        st->MPI_SOURCE = gr__comm_from_world(c, ds.source);
        st->MPI_TAG = ds.tag;
        st->gr_count = ds.bytes;
        st->gr_cancelled = 0;
    }
    return 0;
}

int
MPI_Mprobe(int src, int tag, MPI_Comm comm, MPI_Message* m, MPI_Status* st)
{
    CHECK_INIT();
    int flag;
    return ERR(comm, mprobe(src, tag, comm, 1, &flag, m, st));
}

int
MPI_Improbe(int src,
            int tag,
            MPI_Comm comm,
            int* flag,
            MPI_Message* m,
            MPI_Status* st)
{
    CHECK_INIT();
    return ERR(comm, mprobe(src, tag, comm, 0, flag, m, st));
}

static int
start_mrecv(req* r, void* buf, int count, MPI_Datatype dt, MPI_Message* m)
{
    dtype* t = gr__dt_get(dt);
    if (!t)
        return MPI_ERR_TYPE;
    r->is_recv = 1;
    r->ubuf = buf;
    r->ucount = count;
    r->udt = dt;
    gr__status_empty(&r->st);
    if (*m == MPI_MESSAGE_NO_PROC) {
        r->state = RQ_DONE;
        r->st.MPI_SOURCE = MPI_PROC_NULL;
        r->comm = MPI_COMM_WORLD;
        *m = MPI_MESSAGE_NULL;
        return 0;
    }
    if (H_KIND(*m) != H_MSG || H_IDX(*m) >= 256 || !msgs[H_IDX(*m)].used)
        return MPI_ERR_REQUEST;
    msg* s = &msgs[H_IDX(*m)];
    r->comm = s->comm;
    int rc = gr__xbuf_recv(&r->x, buf, count, t);
    if (rc)
        return rc;
    int d = gr_mpi_imrecv(r->x.p, (int32_t)r->x.len, s->dev);
    s->used = 0;
    *m = MPI_MESSAGE_NULL;
    if (d < 0) {
        gr__xbuf_free(&r->x);
        return gr__dev_err(d);
    }
    r->dev = d;
    r->state = RQ_ACTIVE;
    return 0;
}

int
MPI_Imrecv(void* buf,
           int count,
           MPI_Datatype dt,
           MPI_Message* m,
           MPI_Request* out)
{
    CHECK_INIT();
    req* r;
    MPI_Request h = gr__req_new(&r);
    if (h == MPI_REQUEST_NULL)
        return ERR(MPI_COMM_WORLD, MPI_ERR_NO_MEM);
    int rc = start_mrecv(r, buf, count, dt, m);
    if (rc) {
        gr__req_release(h);
        *out = MPI_REQUEST_NULL;
        return ERR(MPI_COMM_WORLD, rc);
    }
    *out = h;
    return 0;
}

int
MPI_Mrecv(void* buf,
          int count,
          MPI_Datatype dt,
          MPI_Message* m,
          MPI_Status* status)
{
    MPI_Request h;
    int rc = MPI_Imrecv(buf, count, dt, m, &h);
    if (rc)
        return rc;
    return MPI_Wait(&h, status);
}

/* ---- status queries ---- */

int
MPI_Get_count(const MPI_Status* st, MPI_Datatype dt, int* count)
{
    dtype* t = gr__dt_get(dt);
    if (!t)
        return ERR(MPI_COMM_WORLD, MPI_ERR_TYPE);
    if (t->size == 0)
        *count = 0;
    else if (st->gr_count % t->size)
        *count = MPI_UNDEFINED;
    else
        *count = (int)(st->gr_count / t->size);
    return 0;
}

int
MPI_Get_elements_x(const MPI_Status* st, MPI_Datatype dt, MPI_Count* count)
{
    dtype* t = gr__dt_get(dt);
    if (!t)
        return ERR(MPI_COMM_WORLD, MPI_ERR_TYPE);
    if (t->size == 0) {
        *count = 0;
        return 0;
    }
    MPI_Count full = st->gr_count / t->size;
    MPI_Count rem = st->gr_count % t->size;
    MPI_Count n = full * t->nelem;
    for (int k = 0; k < t->nblk && rem > 0; k++) {
        MPI_Count l = t->blk[k].len < rem ? t->blk[k].len : rem;
        n += l / t->blk[k].esize;
        if (l % t->blk[k].esize) {
            *count = MPI_UNDEFINED;
            return 0;
        }
        rem -= l;
    }
    *count = n;
    return 0;
}

int
MPI_Get_elements(const MPI_Status* st, MPI_Datatype dt, int* count)
{
    MPI_Count c;
    int rc = MPI_Get_elements_x(st, dt, &c);
    if (!rc)
        *count = c > 0x7fffffff ? MPI_UNDEFINED : (int)c;
    return rc;
}

int
MPI_Status_set_elements_x(MPI_Status* st, MPI_Datatype dt, MPI_Count count)
{
    dtype* t = gr__dt_get(dt);
    if (!t)
        return ERR(MPI_COMM_WORLD, MPI_ERR_TYPE);
    MPI_Count esz = t->nelem ? t->size / t->nelem : 0;
    st->gr_count = count * esz;
    return 0;
}

int
MPI_Status_set_elements(MPI_Status* st, MPI_Datatype dt, int count)
{
    return MPI_Status_set_elements_x(st, dt, count);
}

int
MPI_Status_set_cancelled(MPI_Status* st, int flag)
{
    st->gr_cancelled = flag != 0;
    return 0;
}

MPI_Fint
MPI_Message_c2f(MPI_Message m)
{
    return (MPI_Fint)m;
}

MPI_Message
MPI_Message_f2c(MPI_Fint m)
{
    return (MPI_Message)m;
}

MPI_Fint
PMPI_Message_c2f(MPI_Message m)
{
    return MPI_Message_c2f(m);
}

MPI_Message
PMPI_Message_f2c(MPI_Fint m)
{
    return MPI_Message_f2c(m);
}
