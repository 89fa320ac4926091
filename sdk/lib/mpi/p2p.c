/* SPDX-License-Identifier: Apache-2.0 */
/* Point to point: sends, receives, requests and their completion,
 * buffered sends, persistent requests (probes, matched messages and status
 * queries are in p2p_probe.c). Communicator ranks become world
 * ranks here; contiguous data goes straight from/to the user's buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "mpi_int.h"

static req** reqs;
static int nreqs;

MPI_Request
gr__req_new(req** out)
{
    int i;
    for (i = 0; i < nreqs; i++)
        if (!reqs[i])
            break;
    if (i == nreqs) {
        int nn = nreqs * 2 + 32;
        req** n = realloc(reqs, sizeof(*n) * (size_t)nn);
        if (!n)
            return MPI_REQUEST_NULL;
        for (int k = nreqs; k < nn; k++)
            n[k] = NULL;
        reqs = n;
        nreqs = nn;
    }
    req* r = calloc(1, sizeof(req));
    if (!r)
        return MPI_REQUEST_NULL;
    r->dev = -1;
    reqs[i] = r;
    *out = r;
    return (MPI_Request)(H_REQ | (unsigned)i);
}

req*
gr__req_get(MPI_Request h)
{
    if (H_KIND(h) != H_REQ)
        return NULL;
    int i = H_IDX(h);
    return i < nreqs ? reqs[i] : NULL;
}

void
gr__status_empty(MPI_Status* st)
{
    st->MPI_SOURCE = MPI_ANY_SOURCE;
    st->MPI_TAG = MPI_ANY_TAG;
    st->MPI_ERROR = MPI_SUCCESS;
    st->gr_cancelled = 0;
    st->gr_count = 0;
}

MPI_Request
gr__req_done(MPI_Comm comm, int err)
{
    req* r;
    MPI_Request h = gr__req_new(&r);
    if (h == MPI_REQUEST_NULL)
        return h;
    r->state = RQ_DONE;
    r->comm = comm;
    r->err = err;
    gr__status_empty(&r->st);
    return h;
}

void
gr__req_release(MPI_Request h)
{
    req* r = gr__req_get(h);
    if (!r)
        return;
    gr__xbuf_free(&r->x);
    free(r->args);
    for (int i = 0; i < 2; i++)
        if (r->held[i])
            gr__dt_drop(r->held[i]);
    reqs[H_IDX(h)] = NULL;
    free(r);
}

void
gr__req_hold_types(req* r, MPI_Datatype a, MPI_Datatype b)
{
    r->held[0] = a;
    r->held[1] = b;
    gr__dt_hold(a);
    gr__dt_hold(b);
}

static void
status_from_dev(req* r, const gr_mpi_status* ds, int rc)
{
    comm* c = gr__comm_get(r->comm);
    r->st.MPI_SOURCE =
      c && ds->source >= 0 ? gr__comm_from_world(c, ds->source) : ds->source;
    r->st.MPI_TAG = ds->tag;
    r->st.gr_cancelled = ds->cancelled;
    r->st.gr_count = ds->bytes;
    r->err = rc < 0 ? gr__dev_err(rc) : 0;
    if (r->is_recv && !ds->cancelled && r->st.gr_count > r->x.len)
        r->err = MPI_ERR_TRUNCATE;
    r->st.MPI_ERROR = r->err;
}

static void
finish_dev(req* r, const gr_mpi_status* ds, int rc)
{
    status_from_dev(r, ds, rc);
    r->dev = -1;
    r->state = RQ_DONE;
    if (r->is_recv) {
        dtype* t = gr__dt_get(r->udt);
        if (t && !ds->cancelled)
            gr__xbuf_finish_recv(&r->x, r->ubuf, r->ucount, t, ds->bytes);
        else
            gr__xbuf_free(&r->x);
    } else {
        gr__xbuf_free(&r->x);
    }
}

/* Drives r towards completion; returns 1 once it is RQ_DONE. */
static int
req_poll(req* r, int blocking)
{
    if (r->state == RQ_ACTIVE) {
        gr_mpi_status ds = { 0 };
        int rc;
        if (blocking) {
            rc = gr__pwait(r->dev, &ds);
        } else {
            rc = gr_mpi_test(r->dev, &ds);
            if (rc == 0)
                return 0;
            if (rc == 1)
                rc = ds.error;
        }
        finish_dev(r, &ds, rc);
        return 1;
    }
    if (r->state == RQ_SCHED)
        return r->progress(r, blocking);
    return r->state == RQ_DONE;
}

/* Requests the user freed while active (MPI_Request_free). */
static MPI_Request* orphans;
static int norphans, corphans;

static void
copy_status(MPI_Status* out, const MPI_Status* st)
{
    if (out && out != MPI_STATUS_IGNORE) {
        int e = out->MPI_ERROR;
        *out = *st;
        out->MPI_ERROR = e;
    }
}

/* Completes a DONE request: copies its status, frees or deactivates it.
 * Returns its error. */
static int
req_complete(MPI_Request* h, MPI_Status* status)
{
    req* r = gr__req_get(*h);
    int err = r->err;
    copy_status(status, &r->st);
    if (r->persistent) {
        r->state = RQ_INACTIVE;
    } else {
        gr__req_release(*h);
        *h = MPI_REQUEST_NULL;
    }
    return err;
}

static int
is_inactive(MPI_Request h)
{
    if (h == MPI_REQUEST_NULL)
        return 1;
    req* r = gr__req_get(h);
    return !r || r->state == RQ_INACTIVE;
}

/* ---- starting operations ---- */

int
gr__check_comm_rank(comm* c, int rank, int any_ok)
{
    int n = c->inter ? c->rsize : c->size;
    if (rank == MPI_PROC_NULL || (any_ok && rank == MPI_ANY_SOURCE))
        return 0;
    return rank >= 0 && rank < n ? 0 : MPI_ERR_RANK;
}

static int
start_send(req* r,
           const void* buf,
           int count,
           MPI_Datatype dt,
           int dest,
           int tag,
           MPI_Comm ch,
           int mode)
{
    comm* c = gr__comm_get(ch);
    dtype* t = gr__dt_get(dt);
    if (!c)
        return MPI_ERR_COMM;
    if (!t)
        return MPI_ERR_TYPE;
    if (count < 0)
        return MPI_ERR_COUNT;
    if (tag < 0 || tag > GR_MPI_TAG_UB)
        return MPI_ERR_TAG;
    int rc = gr__check_comm_rank(c, dest, 0);
    if (rc)
        return rc;
    r->comm = ch;
    r->is_recv = 0;
    gr__status_empty(&r->st);
    r->err = 0;
    if (dest == MPI_PROC_NULL) {
        r->state = RQ_DONE;
        r->st.MPI_SOURCE = MPI_PROC_NULL;
        return 0;
    }
    if ((rc = gr__xbuf_send(&r->x, buf, count, t)))
        return rc;
    int d = gr_mpi_isend(r->x.p,
                         (int32_t)r->x.len,
                         gr__peer_world(c, dest),
                         tag,
                         c->ctx + CTX_P2P,
                         mode);
    if (d < 0) {
        gr__xbuf_free(&r->x);
        return gr__dev_err(d);
    }
    r->dev = d;
    r->state = RQ_ACTIVE;
    return 0;
}

/* Starts a receive into r; with blocking set, completes it (one device
 * call instead of irecv + wait). */
static int
start_recv(req* r,
           void* buf,
           int count,
           MPI_Datatype dt,
           int src,
           int tag,
           MPI_Comm ch,
           int blocking)
{
    comm* c = gr__comm_get(ch);
    dtype* t = gr__dt_get(dt);
    if (!c)
        return MPI_ERR_COMM;
    if (!t)
        return MPI_ERR_TYPE;
    if (count < 0)
        return MPI_ERR_COUNT;
    if (tag != MPI_ANY_TAG && (tag < 0 || tag > GR_MPI_TAG_UB))
        return MPI_ERR_TAG;
    int rc = gr__check_comm_rank(c, src, 1);
    if (rc)
        return rc;
    r->comm = ch;
    r->is_recv = 1;
    r->ubuf = buf;
    r->ucount = count;
    r->udt = dt;
    r->err = 0;
    gr__status_empty(&r->st);
    if (src == MPI_PROC_NULL) {
        r->state = RQ_DONE;
        r->st.MPI_SOURCE = MPI_PROC_NULL;
        r->st.MPI_TAG = MPI_ANY_TAG;
        r->x.len = 0;
        return 0;
    }
    if ((rc = gr__xbuf_recv(&r->x, buf, count, t)))
        return rc;
    int32_t wsrc =
      src == MPI_ANY_SOURCE ? GR_MPI_ANY_SOURCE : gr__peer_world(c, src);
    int32_t wtag = tag == MPI_ANY_TAG ? GR_MPI_ANY_TAG : tag;
    /* with schedules pending, a receive blocked in the device could not
     * move them (one of them may be what the sender waits for): irecv and
     * the caller's progressing wait instead */
    if (blocking && !gr__nbc_any_active()) {
        gr_mpi_status ds = { 0 };
        rc = gr_mpi_recv(
          r->x.p, (int32_t)r->x.len, wsrc, wtag, c->ctx + CTX_P2P, &ds);
        finish_dev(r, &ds, rc);
        return 0;
    }
    int d =
      gr_mpi_irecv(r->x.p, (int32_t)r->x.len, wsrc, wtag, c->ctx + CTX_P2P);
    if (d < 0) {
        gr__xbuf_free(&r->x);
        return gr__dev_err(d);
    }
    r->dev = d;
    r->state = RQ_ACTIVE;
    return 0;
}

/* ---- buffered sends ---- */

static char* battach;
static int battach_size;
static int bused;
typedef struct bpend
{
    MPI_Request r;
    int len;
} bpend;
static bpend* bp;
static int nbp, capbp;

static void
bsend_reap(int blocking)
{
    int k = 0;
    for (int i = 0; i < nbp; i++) {
        req* r = gr__req_get(bp[i].r);
        if (req_poll(r, blocking)) {
            bused -= bp[i].len;
            gr__req_release(bp[i].r);
        } else {
            bp[k++] = bp[i];
        }
    }
    nbp = k;
}

static int
bsend_start(const void* buf,
            int count,
            MPI_Datatype dt,
            int dest,
            int tag,
            MPI_Comm ch)
{
    dtype* t = gr__dt_get(dt);
    if (!t)
        return MPI_ERR_TYPE;
    if (dest == MPI_PROC_NULL)
        return 0;
    bsend_reap(0);
    int len = (int)gr__dt_packed(t, count) + MPI_BSEND_OVERHEAD;
    if (bused + len > battach_size)
        return MPI_ERR_BUFFER;
    if (nbp == capbp) {
        bpend* n = realloc(bp, sizeof(bpend) * (size_t)(capbp * 2 + 8));
        if (!n)
            return MPI_ERR_NO_MEM;
        bp = n;
        capbp = capbp * 2 + 8;
    }
    req* r;
    MPI_Request h = gr__req_new(&r);
    if (h == MPI_REQUEST_NULL)
        return MPI_ERR_NO_MEM;
    /* the data is copied now (as into the attached buffer): the send
     * completes locally whatever the receiver does. */
    r->x.len = gr__dt_packed(t, count);
    r->x.tmp = gr__malloc((size_t)r->x.len);
    if (!r->x.tmp) {
        gr__req_release(h);
        return MPI_ERR_NO_MEM;
    }
    gr__dt_pack(t, buf, count, r->x.tmp);
    r->x.p = r->x.tmp;
    comm* c = gr__comm_get(ch);
    int d = gr_mpi_isend(r->x.p,
                         (int32_t)r->x.len,
                         gr__peer_world(c, dest),
                         tag,
                         c->ctx + CTX_P2P,
                         GR_MPI_MODE_STANDARD);
    if (d < 0) {
        gr__req_release(h);
        return gr__dev_err(d);
    }
    r->dev = d;
    r->state = RQ_ACTIVE;
    r->comm = ch;
    bp[nbp].r = h;
    bp[nbp].len = len;
    nbp++;
    bused += len;
    return 0;
}

int
MPI_Buffer_attach(void* buffer, int size)
{
    if (battach)
        return ERR(MPI_COMM_WORLD, MPI_ERR_BUFFER);
    battach = buffer;
    battach_size = size;
    return 0;
}

int
MPI_Buffer_detach(void* buffer_addr, int* size)
{
    bsend_reap(1);
    while (nbp)
        bsend_reap(1);
    memcpy(buffer_addr, &battach, sizeof battach);
    *size = battach_size;
    battach = NULL;
    battach_size = 0;
    return 0;
}

/* ---- blocking ---- */

static int
send_mode(const void* buf,
          int count,
          MPI_Datatype dt,
          int dest,
          int tag,
          MPI_Comm ch,
          int mode)
{
    comm* c = gr__comm_get(ch);
    dtype* t = gr__dt_get(dt);
    if (!c)
        return MPI_ERR_COMM;
    if (!t)
        return MPI_ERR_TYPE;
    if (count < 0)
        return MPI_ERR_COUNT;
    if (tag < 0 || tag > GR_MPI_TAG_UB)
        return MPI_ERR_TAG;
    int rc = gr__check_comm_rank(c, dest, 0);
    if (rc || dest == MPI_PROC_NULL)
        return rc;
    xbuf x;
    if ((rc = gr__xbuf_send(&x, buf, count, t)))
        return rc;
    rc = gr__psend(x.p,
                   (int32_t)x.len,
                   gr__peer_world(c, dest),
                   tag,
                   c->ctx + CTX_P2P,
                   mode);
    gr__xbuf_free(&x);
    return gr__dev_err(rc);
}

int
MPI_Send(const void* buf,
         int count,
         MPI_Datatype dt,
         int dest,
         int tag,
         MPI_Comm comm)
{
    CHECK_INIT();
    return ERR(
      comm, send_mode(buf, count, dt, dest, tag, comm, GR_MPI_MODE_STANDARD));
}

int
MPI_Ssend(const void* buf,
          int count,
          MPI_Datatype dt,
          int dest,
          int tag,
          MPI_Comm comm)
{
    CHECK_INIT();
    return ERR(comm,
               send_mode(buf, count, dt, dest, tag, comm, GR_MPI_MODE_SYNC));
}

int
MPI_Rsend(const void* buf,
          int count,
          MPI_Datatype dt,
          int dest,
          int tag,
          MPI_Comm comm)
{
    CHECK_INIT();
    return ERR(comm,
               send_mode(buf, count, dt, dest, tag, comm, GR_MPI_MODE_READY));
}

int
MPI_Bsend(const void* buf,
          int count,
          MPI_Datatype dt,
          int dest,
          int tag,
          MPI_Comm comm)
{
    CHECK_INIT();
    if (!gr__comm_get(comm))
        return ERR(comm, MPI_ERR_COMM);
    return ERR(comm, bsend_start(buf, count, dt, dest, tag, comm));
}

int
MPI_Recv(void* buf,
         int count,
         MPI_Datatype dt,
         int src,
         int tag,
         MPI_Comm ch,
         MPI_Status* status)
{
    CHECK_INIT();
    req r;
    memset(&r, 0, sizeof r);
    int rc = start_recv(&r, buf, count, dt, src, tag, ch, 1);
    if (rc)
        return ERR(ch, rc);
    req_poll(&r, 1);
    copy_status(status, &r.st);
    return ERR(ch, r.err);
}

/* ---- non-blocking ---- */

static int
isend_mode(const void* buf,
           int count,
           MPI_Datatype dt,
           int dest,
           int tag,
           MPI_Comm ch,
           MPI_Request* out,
           int mode)
{
    CHECK_INIT();
    req* r;
    MPI_Request h = gr__req_new(&r);
    if (h == MPI_REQUEST_NULL)
        return ERR(ch, MPI_ERR_NO_MEM);
    int rc = start_send(r, buf, count, dt, dest, tag, ch, mode);
    if (rc) {
        gr__req_release(h);
        *out = MPI_REQUEST_NULL;
        return ERR(ch, rc);
    }
    *out = h;
    return 0;
}

int
MPI_Isend(const void* buf,
          int count,
          MPI_Datatype dt,
          int dest,
          int tag,
          MPI_Comm comm,
          MPI_Request* r)
{
    return isend_mode(buf, count, dt, dest, tag, comm, r, GR_MPI_MODE_STANDARD);
}

int
MPI_Issend(const void* buf,
           int count,
           MPI_Datatype dt,
           int dest,
           int tag,
           MPI_Comm comm,
           MPI_Request* r)
{
    return isend_mode(buf, count, dt, dest, tag, comm, r, GR_MPI_MODE_SYNC);
}

int
MPI_Irsend(const void* buf,
           int count,
           MPI_Datatype dt,
           int dest,
           int tag,
           MPI_Comm comm,
           MPI_Request* r)
{
    return isend_mode(buf, count, dt, dest, tag, comm, r, GR_MPI_MODE_READY);
}

int
MPI_Ibsend(const void* buf,
           int count,
           MPI_Datatype dt,
           int dest,
           int tag,
           MPI_Comm comm,
           MPI_Request* r)
{
    CHECK_INIT();
    int rc = bsend_start(buf, count, dt, dest, tag, comm);
    *r = gr__req_done(comm, 0);
    return ERR(comm, rc);
}

int
MPI_Irecv(void* buf,
          int count,
          MPI_Datatype dt,
          int src,
          int tag,
          MPI_Comm ch,
          MPI_Request* out)
{
    CHECK_INIT();
    req* r;
    MPI_Request h = gr__req_new(&r);
    if (h == MPI_REQUEST_NULL)
        return ERR(ch, MPI_ERR_NO_MEM);
    int rc = start_recv(r, buf, count, dt, src, tag, ch, 0);
    if (rc) {
        gr__req_release(h);
        *out = MPI_REQUEST_NULL;
        return ERR(ch, rc);
    }
    *out = h;
    return 0;
}

/* ---- persistent ---- */

enum
{
    P_SEND = 1,
    P_BSEND,
    P_SSEND,
    P_RSEND,
    P_RECV
};

static int
pinit(const void* buf,
      int count,
      MPI_Datatype dt,
      int peer,
      int tag,
      MPI_Comm ch,
      MPI_Request* out,
      int kind)
{
    CHECK_INIT();
    comm* c = gr__comm_get(ch);
    if (!c)
        return ERR(ch, MPI_ERR_COMM);
    if (!gr__dt_get(dt))
        return ERR(ch, MPI_ERR_TYPE);
    if (gr__check_comm_rank(c, peer, kind == P_RECV))
        return ERR(ch, MPI_ERR_RANK);
    req* r;
    MPI_Request h = gr__req_new(&r);
    if (h == MPI_REQUEST_NULL)
        return ERR(ch, MPI_ERR_NO_MEM);
    r->persistent = 1;
    r->state = RQ_INACTIVE;
    r->pbuf = buf;
    r->pcount = count;
    r->pdt = dt;
    gr__req_hold_types(r, dt, 0);
    r->peer = peer;
    r->tag = tag;
    r->comm = ch;
    r->mode = kind;
    r->is_recv = kind == P_RECV;
    gr__status_empty(&r->st);
    *out = h;
    return 0;
}

int
MPI_Send_init(const void* buf,
              int count,
              MPI_Datatype dt,
              int dest,
              int tag,
              MPI_Comm comm,
              MPI_Request* r)
{
    return pinit(buf, count, dt, dest, tag, comm, r, P_SEND);
}

int
MPI_Bsend_init(const void* buf,
               int count,
               MPI_Datatype dt,
               int dest,
               int tag,
               MPI_Comm comm,
               MPI_Request* r)
{
    return pinit(buf, count, dt, dest, tag, comm, r, P_BSEND);
}

int
MPI_Ssend_init(const void* buf,
               int count,
               MPI_Datatype dt,
               int dest,
               int tag,
               MPI_Comm comm,
               MPI_Request* r)
{
    return pinit(buf, count, dt, dest, tag, comm, r, P_SSEND);
}

int
MPI_Rsend_init(const void* buf,
               int count,
               MPI_Datatype dt,
               int dest,
               int tag,
               MPI_Comm comm,
               MPI_Request* r)
{
    return pinit(buf, count, dt, dest, tag, comm, r, P_RSEND);
}

int
MPI_Recv_init(void* buf,
              int count,
              MPI_Datatype dt,
              int src,
              int tag,
              MPI_Comm comm,
              MPI_Request* r)
{
    return pinit(buf, count, dt, src, tag, comm, r, P_RECV);
}

int
MPI_Start(MPI_Request* h)
{
    CHECK_INIT();
    req* r = gr__req_get(*h);
    if (!r || !r->persistent || r->state != RQ_INACTIVE)
        return ERR(MPI_COMM_WORLD, MPI_ERR_REQUEST);
    int rc;
    if (r->start) {
        rc = r->start(r);
    } else if (r->mode == P_RECV) {
        rc = start_recv(
          r, (void*)r->pbuf, r->pcount, r->pdt, r->peer, r->tag, r->comm, 0);
    } else if (r->mode == P_BSEND) {
        rc = bsend_start(r->pbuf, r->pcount, r->pdt, r->peer, r->tag, r->comm);
        r->state = RQ_DONE;
        r->err = rc;
        gr__status_empty(&r->st);
    } else {
        int mode = r->mode == P_SSEND   ? GR_MPI_MODE_SYNC
                   : r->mode == P_RSEND ? GR_MPI_MODE_READY
                                        : GR_MPI_MODE_STANDARD;
        rc = start_send(
          r, r->pbuf, r->pcount, r->pdt, r->peer, r->tag, r->comm, mode);
    }
    return ERR(r->comm, rc);
}

int
MPI_Startall(int count, MPI_Request reqv[])
{
    for (int i = 0; i < count; i++) {
        int rc = MPI_Start(&reqv[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- completion ---- */

static MPI_Comm
req_comm(MPI_Request h)
{
    req* r = gr__req_get(h);
    return r ? r->comm : MPI_COMM_WORLD;
}

int
MPI_Wait(MPI_Request* h, MPI_Status* status)
{
    if (is_inactive(*h)) {
        if (*h != MPI_REQUEST_NULL && !gr__req_get(*h))
            return ERR(MPI_COMM_WORLD, MPI_ERR_REQUEST);
        if (status != MPI_STATUS_IGNORE)
            gr__status_empty(status);
        return 0;
    }
    req* r = gr__req_get(*h);
    MPI_Comm c = r->comm;
    req_poll(r, 1);
    return ERR(c, req_complete(h, status));
}

int
MPI_Test(MPI_Request* h, int* flag, MPI_Status* status)
{
    gr__progress();
    if (is_inactive(*h)) {
        *flag = 1;
        if (status != MPI_STATUS_IGNORE)
            gr__status_empty(status);
        return 0;
    }
    req* r = gr__req_get(*h);
    MPI_Comm c = r->comm;
    *flag = req_poll(r, 0);
    if (!*flag)
        return 0;
    return ERR(c, req_complete(h, status));
}

int
MPI_Request_get_status(MPI_Request h, int* flag, MPI_Status* status)
{
    gr__progress();
    if (is_inactive(h)) {
        *flag = 1;
        if (status != MPI_STATUS_IGNORE)
            gr__status_empty(status);
        return 0;
    }
    req* r = gr__req_get(h);
    *flag = req_poll(r, 0);
    if (*flag)
        copy_status(status, &r->st);
    return 0;
}

int
MPI_Waitall(int count, MPI_Request hv[], MPI_Status sv[])
{
    int err = 0;
    MPI_Comm c = MPI_COMM_WORLD;
    for (int i = 0; i < count; i++) {
        if (!is_inactive(hv[i]))
            c = req_comm(hv[i]);
        MPI_Status s;
        int rc;
        if (is_inactive(hv[i])) {
            gr__status_empty(&s);
            rc = 0;
        } else {
            req_poll(gr__req_get(hv[i]), 1);
            rc = req_complete(&hv[i], &s);
        }
        s.MPI_ERROR = rc;
        if (sv != MPI_STATUSES_IGNORE)
            sv[i] = s;
        if (rc)
            err = MPI_ERR_IN_STATUS;
    }
    return ERR(c, err);
}

int
MPI_Testall(int count, MPI_Request hv[], int* flag, MPI_Status sv[])
{
    gr__progress();
    *flag = 1;
    for (int i = 0; i < count; i++)
        if (!is_inactive(hv[i]) && !req_poll(gr__req_get(hv[i]), 0))
            *flag = 0;
    if (!*flag)
        return 0;
    return MPI_Waitall(count, hv, sv);
}

/* Waits for (or tests) any of hv; *index gets MPI_UNDEFINED when none is
 * active. Returns 1 when something completed or none is active. */
static int
anyof(int count, MPI_Request hv[], int* index, int blocking)
{
    int active = 0;
    for (int i = 0; i < count; i++) {
        if (is_inactive(hv[i]))
            continue;
        active++;
        req* r = gr__req_get(hv[i]);
        if (r->state == RQ_DONE) {
            *index = i;
            return 1;
        }
    }
    if (!active) {
        *index = MPI_UNDEFINED;
        return 1;
    }
    for (;;) {
        gr__progress();
        /* device requests: one waitany/testany over them */
        int32_t* dv = gr__malloc(sizeof(int32_t) * (size_t)count);
        int sched = 0;
        for (int i = 0; i < count; i++) {
            dv[i] = -1;
            if (is_inactive(hv[i]))
                continue;
            req* r = gr__req_get(hv[i]);
            if (r->state == RQ_ACTIVE)
                dv[i] = r->dev;
            else if (r->state == RQ_SCHED)
                sched = 1;
        }
        for (int i = 0; i < count && sched; i++) {
            if (is_inactive(hv[i]))
                continue;
            req* r = gr__req_get(hv[i]);
            if (r->state == RQ_SCHED && req_poll(r, 0)) {
                free(dv);
                *index = i;
                return 1;
            }
        }
        int32_t idx = -1;
        gr_mpi_status ds = { 0 };
        int rc = blocking ? gr__progress_waitany(dv, count, &idx, &ds)
                          : gr_mpi_testany(dv, count, &idx, &ds);
        free(dv);
        if (blocking && idx == -2)
            continue;
        int waited = blocking;
        if (idx >= 0 && (waited || rc == 1)) {
            finish_dev(gr__req_get(hv[idx]), &ds, waited ? rc : ds.error);
            *index = idx;
            return 1;
        }
        if (rc < 0) {
            *index = MPI_UNDEFINED;
            return 1;
        }
        if (!blocking)
            return 0;
    }
}

int
MPI_Waitany(int count, MPI_Request hv[], int* index, MPI_Status* status)
{
    anyof(count, hv, index, 1);
    if (*index == MPI_UNDEFINED) {
        if (status != MPI_STATUS_IGNORE)
            gr__status_empty(status);
        return 0;
    }
    MPI_Comm c = req_comm(hv[*index]);
    return ERR(c, req_complete(&hv[*index], status));
}

int
MPI_Testany(int count,
            MPI_Request hv[],
            int* index,
            int* flag,
            MPI_Status* status)
{
    *flag = anyof(count, hv, index, 0);
    if (!*flag) {
        *index = MPI_UNDEFINED;
        return 0;
    }
    if (*index == MPI_UNDEFINED) {
        if (status != MPI_STATUS_IGNORE)
            gr__status_empty(status);
        return 0;
    }
    MPI_Comm c = req_comm(hv[*index]);
    return ERR(c, req_complete(&hv[*index], status));
}

static int
some(int n, MPI_Request hv[], int* outcount, int idx[], MPI_Status sv[], int b)
{
    int index;
    int any = anyof(n, hv, &index, b);
    if (any && index == MPI_UNDEFINED) {
        *outcount = MPI_UNDEFINED;
        return 0;
    }
    int k = 0, err = 0;
    MPI_Comm c = MPI_COMM_WORLD;
    for (int i = 0; i < n; i++) {
        if (is_inactive(hv[i]))
            continue;
        req* r = gr__req_get(hv[i]);
        if (!req_poll(r, 0))
            continue;
        c = r->comm;
        MPI_Status s;
        int rc = req_complete(&hv[i], &s);
        s.MPI_ERROR = rc;
        if (rc)
            err = MPI_ERR_IN_STATUS;
        idx[k] = i;
        if (sv != MPI_STATUSES_IGNORE)
            sv[k] = s;
        k++;
    }
    *outcount = k;
    return ERR(c, err);
}

int
MPI_Waitsome(int n, MPI_Request hv[], int* outcount, int idx[], MPI_Status sv[])
{
    return some(n, hv, outcount, idx, sv, 1);
}

int
MPI_Testsome(int n, MPI_Request hv[], int* outcount, int idx[], MPI_Status sv[])
{
    return some(n, hv, outcount, idx, sv, 0);
}

int
MPI_Request_free(MPI_Request* h)
{
    req* r = gr__req_get(*h);
    if (!r)
        return ERR(MPI_COMM_WORLD, MPI_ERR_REQUEST);
    if ((r->state == RQ_ACTIVE || r->state == RQ_SCHED) && !req_poll(r, 0)) {
        /* the operation still runs (a send must still deliver, a receive
         * still lands): it is released once complete (gr__reap_freed),
         * and freeing never waits (an Issend nobody has matched yet may
         * be freed) */
        if (norphans == corphans) {
            int nc = corphans ? corphans * 2 : 16;
            MPI_Request* n = realloc(orphans, sizeof(*n) * (size_t)nc);
            if (!n)
                return ERR(r->comm, MPI_ERR_NO_MEM);
            orphans = n;
            corphans = nc;
        }
        orphans[norphans++] = *h;
        *h = MPI_REQUEST_NULL;
        return 0;
    }
    gr__req_release(*h);
    *h = MPI_REQUEST_NULL;
    return 0;
}

void
gr__reap_freed(void)
{
    static int reaping; /* req_poll of a schedule may progress (and so
                           come back here) */
    if (reaping)
        return;
    reaping = 1;
    for (int i = 0; i < norphans;) {
        req* r = gr__req_get(orphans[i]);
        if (r && !req_poll(r, 0)) {
            i++;
            continue;
        }
        gr__req_release(orphans[i]);
        orphans[i] = orphans[--norphans];
    }
    reaping = 0;
}

int
MPI_Cancel(MPI_Request* h)
{
    req* r = gr__req_get(*h);
    if (!r)
        return ERR(MPI_COMM_WORLD, MPI_ERR_REQUEST);
    if (r->state == RQ_ACTIVE && r->is_recv) {
        int rc = gr_mpi_cancel(r->dev);
        if (rc < 0)
            return ERR(r->comm, gr__dev_err(rc));
    }
    /* Sends are not cancelled: the send then completes normally and
     * MPI_Test_cancelled reports false, which MPI allows. */
    return 0;
}

int
MPI_Test_cancelled(const MPI_Status* status, int* flag)
{
    *flag = status->gr_cancelled;
    return 0;
}

/* ---- combined ---- */

int
MPI_Sendrecv(const void* sbuf,
             int scount,
             MPI_Datatype stype,
             int dest,
             int stag,
             void* rbuf,
             int rcount,
             MPI_Datatype rtype,
             int src,
             int rtag,
             MPI_Comm comm,
             MPI_Status* status)
{
    CHECK_INIT();
    /* small sends first (see SEND_FIRST_MAX), when the receive's
     * arguments are valid (an invalid one fails before anything is sent) */
    dtype* st = gr__dt_get(stype);
    struct comm* c = gr__comm_get(comm);
    if (st && c && scount >= 0 && gr__dt_packed(st, scount) <= SEND_FIRST_MAX &&
        gr__dt_get(rtype) && rcount >= 0 && !gr__check_comm_rank(c, src, 1) &&
        (rtag == MPI_ANY_TAG || (rtag >= 0 && rtag <= GR_MPI_TAG_UB))) {
        int rc = MPI_Send(sbuf, scount, stype, dest, stag, comm);
        int rc2 = MPI_Recv(rbuf, rcount, rtype, src, rtag, comm, status);
        return rc ? rc : rc2;
    }
    MPI_Request r;
    int rc = MPI_Irecv(rbuf, rcount, rtype, src, rtag, comm, &r);
    if (rc)
        return rc;
    rc = MPI_Send(sbuf, scount, stype, dest, stag, comm);
    int rc2 = MPI_Wait(&r, status);
    return rc ? rc : rc2;
}

int
MPI_Sendrecv_replace(void* buf,
                     int count,
                     MPI_Datatype dt,
                     int dest,
                     int stag,
                     int src,
                     int rtag,
                     MPI_Comm comm,
                     MPI_Status* status)
{
    CHECK_INIT();
    dtype* t = gr__dt_get(dt);
    if (!t)
        return ERR(comm, MPI_ERR_TYPE);
    xbuf x;
    int rc = gr__xbuf_send(&x, buf, count, t);
    if (rc)
        return ERR(comm, rc);
    /* the outgoing data is copied so the buffer can take the message */
    void* copy = gr__malloc((size_t)x.len);
    if (!copy) {
        gr__xbuf_free(&x);
        return ERR(comm, MPI_ERR_NO_MEM);
    }
    memcpy(copy, x.p, (size_t)x.len);
    gr__xbuf_free(&x);
    MPI_Request r;
    rc = MPI_Irecv(buf, count, dt, src, rtag, comm, &r);
    if (!rc) {
        rc = MPI_Send(copy, (int)x.len, MPI_BYTE, dest, stag, comm);
        int rc2 = MPI_Wait(&r, status);
        rc = rc ? rc : rc2;
    }
    free(copy);
    return rc;
}

/* ---- MPI-4 non-blocking send-receive: a receive and a send request
 * under one request ---- */

typedef struct srpair
{
    MPI_Request rr, sr;
    void* copy; /* Isendrecv_replace: the outgoing data */
} srpair;

static int
srpair_progress(req* r, int blocking)
{
    srpair* p = r->args;
    MPI_Status rs;
    int rc;
    if (blocking) {
        rc = MPI_Waitall(1, &p->sr, MPI_STATUSES_IGNORE);
        int rc2 = MPI_Wait(&p->rr, &rs);
        rc = rc ? rc : rc2;
    } else {
        MPI_Request both[2] = { p->rr, p->sr };
        int flag = 0;
        if (!req_poll(gr__req_get(p->rr), 0) ||
            (p->sr != MPI_REQUEST_NULL && !req_poll(gr__req_get(p->sr), 0)))
            return 0;
        (void)both;
        (void)flag;
        rc = MPI_Wait(&p->sr, MPI_STATUS_IGNORE);
        int rc2 = MPI_Wait(&p->rr, &rs);
        rc = rc ? rc : rc2;
    }
    r->st = rs;
    r->err = rc;
    r->st.MPI_ERROR = rc;
    free(p->copy);
    p->copy = NULL;
    r->state = RQ_DONE;
    return 1;
}

static int
isendrecv(const void* sbuf,
          int scount,
          MPI_Datatype stype,
          int dest,
          int stag,
          void* rbuf,
          int rcount,
          MPI_Datatype rtype,
          int src,
          int rtag,
          MPI_Comm comm,
          void* copy,
          MPI_Request* out)
{
    srpair* p = calloc(1, sizeof(srpair));
    if (!p) {
        free(copy);
        return MPI_ERR_NO_MEM;
    }
    p->copy = copy;
    p->rr = p->sr = MPI_REQUEST_NULL;
    int rc = MPI_Irecv(rbuf, rcount, rtype, src, rtag, comm, &p->rr);
    if (!rc)
        rc = MPI_Isend(sbuf, scount, stype, dest, stag, comm, &p->sr);
    if (rc) {
        if (p->rr != MPI_REQUEST_NULL)
            MPI_Request_free(&p->rr);
        free(p->copy);
        free(p);
        return rc;
    }
    req* r;
    MPI_Request h = gr__req_new(&r);
    if (h == MPI_REQUEST_NULL)
        return MPI_ERR_NO_MEM;
    r->state = RQ_SCHED;
    r->comm = comm;
    r->args = p;
    r->progress = srpair_progress;
    gr__status_empty(&r->st);
    *out = h;
    return 0;
}

int
MPI_Isendrecv(const void* sbuf,
              int scount,
              MPI_Datatype stype,
              int dest,
              int stag,
              void* rbuf,
              int rcount,
              MPI_Datatype rtype,
              int src,
              int rtag,
              MPI_Comm comm,
              MPI_Request* out)
{
    CHECK_INIT();
    return ERR(comm,
               isendrecv(sbuf,
                         scount,
                         stype,
                         dest,
                         stag,
                         rbuf,
                         rcount,
                         rtype,
                         src,
                         rtag,
                         comm,
                         NULL,
                         out));
}

int
MPI_Isendrecv_replace(void* buf,
                      int count,
                      MPI_Datatype dt,
                      int dest,
                      int stag,
                      int src,
                      int rtag,
                      MPI_Comm comm,
                      MPI_Request* out)
{
    CHECK_INIT();
    dtype* t = gr__dt_get(dt);
    if (!t)
        return ERR(comm, MPI_ERR_TYPE);
    MPI_Count len = gr__dt_packed(t, count);
    void* copy = gr__malloc(len ? (size_t)len : 1);
    if (!copy)
        return ERR(comm, MPI_ERR_NO_MEM);
    gr__dt_pack(t, buf, count, copy);
    return ERR(comm,
               isendrecv(copy,
                         (int)len,
                         MPI_PACKED,
                         dest,
                         stag,
                         buf,
                         count,
                         dt,
                         src,
                         rtag,
                         comm,
                         copy,
                         out));
}
