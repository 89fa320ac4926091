/* SPDX-License-Identifier: Apache-2.0 */
/* Host (Linux) errno to WASI errno. WASI numbers its errors alphabetically,
 * so the mapping is a table, not arithmetic. */
#include <errno.h>

#include "host/wasi/wasi_int.h"

uint32_t
gr_wasi_errno_from_host(int err)
{
    switch (err) {
        case 0: return GR_WASI_ESUCCESS;
        case E2BIG: return GR_WASI_E2BIG;
        case EACCES: return GR_WASI_EACCES;
        case EADDRINUSE: return GR_WASI_EADDRINUSE;
        case EADDRNOTAVAIL: return GR_WASI_EADDRNOTAVAIL;
        case EAFNOSUPPORT: return GR_WASI_EAFNOSUPPORT;
        case EAGAIN: return GR_WASI_EAGAIN;
        case EALREADY: return GR_WASI_EALREADY;
        case EBADF: return GR_WASI_EBADF;
        case EBADMSG: return GR_WASI_EBADMSG;
        case EBUSY: return GR_WASI_EBUSY;
        case ECANCELED: return GR_WASI_ECANCELED;
        case ECHILD: return GR_WASI_ECHILD;
        case ECONNABORTED: return GR_WASI_ECONNABORTED;
        case ECONNREFUSED: return GR_WASI_ECONNREFUSED;
        case ECONNRESET: return GR_WASI_ECONNRESET;
        case EDEADLK: return GR_WASI_EDEADLK;
        case EDESTADDRREQ: return GR_WASI_EDESTADDRREQ;
        case EDOM: return GR_WASI_EDOM;
        case EDQUOT: return GR_WASI_EDQUOT;
        case EEXIST: return GR_WASI_EEXIST;
        case EFAULT: return GR_WASI_EFAULT;
        case EFBIG: return GR_WASI_EFBIG;
        case EHOSTUNREACH: return GR_WASI_EHOSTUNREACH;
        case EIDRM: return GR_WASI_EIDRM;
        case EILSEQ: return GR_WASI_EILSEQ;
        case EINPROGRESS: return GR_WASI_EINPROGRESS;
        case EINTR: return GR_WASI_EINTR;
        case EINVAL: return GR_WASI_EINVAL;
        case EIO: return GR_WASI_EIO;
        case EISCONN: return GR_WASI_EISCONN;
        case EISDIR: return GR_WASI_EISDIR;
        case ELOOP: return GR_WASI_ELOOP;
        case EMFILE: return GR_WASI_EMFILE;
        case EMLINK: return GR_WASI_EMLINK;
        case EMSGSIZE: return GR_WASI_EMSGSIZE;
        case EMULTIHOP: return GR_WASI_EMULTIHOP;
        case ENAMETOOLONG: return GR_WASI_ENAMETOOLONG;
        case ENETDOWN: return GR_WASI_ENETDOWN;
        case ENETRESET: return GR_WASI_ENETRESET;
        case ENETUNREACH: return GR_WASI_ENETUNREACH;
        case ENFILE: return GR_WASI_ENFILE;
        case ENOBUFS: return GR_WASI_ENOBUFS;
        case ENODEV: return GR_WASI_ENODEV;
        case ENOENT: return GR_WASI_ENOENT;
        case ENOEXEC: return GR_WASI_ENOEXEC;
        case ENOLCK: return GR_WASI_ENOLCK;
        case ENOLINK: return GR_WASI_ENOLINK;
        case ENOMEM: return GR_WASI_ENOMEM;
        case ENOMSG: return GR_WASI_ENOMSG;
        case ENOPROTOOPT: return GR_WASI_ENOPROTOOPT;
        case ENOSPC: return GR_WASI_ENOSPC;
        case ENOSYS: return GR_WASI_ENOSYS;
        case ENOTCONN: return GR_WASI_ENOTCONN;
        case ENOTDIR: return GR_WASI_ENOTDIR;
        case ENOTEMPTY: return GR_WASI_ENOTEMPTY;
        case ENOTRECOVERABLE: return GR_WASI_ENOTRECOVERABLE;
        case ENOTSOCK: return GR_WASI_ENOTSOCK;
        case ENOTSUP: return GR_WASI_ENOTSUP; /* == EOPNOTSUPP on Linux */
        case ENOTTY: return GR_WASI_ENOTTY;
        case ENXIO: return GR_WASI_ENXIO;
        case EOVERFLOW: return GR_WASI_EOVERFLOW;
        case EOWNERDEAD: return GR_WASI_EOWNERDEAD;
        case EPERM: return GR_WASI_EPERM;
        case EPIPE: return GR_WASI_EPIPE;
        case EPROTO: return GR_WASI_EPROTO;
        case EPROTONOSUPPORT: return GR_WASI_EPROTONOSUPPORT;
        case EPROTOTYPE: return GR_WASI_EPROTOTYPE;
        case ERANGE: return GR_WASI_ERANGE;
        case EROFS: return GR_WASI_EROFS;
        case ESPIPE: return GR_WASI_ESPIPE;
        case ESRCH: return GR_WASI_ESRCH;
        case ESTALE: return GR_WASI_ESTALE;
        case ETIMEDOUT: return GR_WASI_ETIMEDOUT;
        case ETXTBSY: return GR_WASI_ETXTBSY;
        case EXDEV: return GR_WASI_EXDEV;
        /* Linux-only values with a close WASI meaning. */
        case ENOTBLK: return GR_WASI_ENOTSUP;
        case ENOMEDIUM: return GR_WASI_ENODEV;
        case EREMOTEIO: return GR_WASI_EIO;
        case ENOKEY: return GR_WASI_ENOENT;
        case ESHUTDOWN: return GR_WASI_EPIPE;
        case ETOOMANYREFS: return GR_WASI_ENFILE;
        case EHOSTDOWN: return GR_WASI_EHOSTUNREACH;
        case ESOCKTNOSUPPORT: return GR_WASI_ENOTSUP;
        case EPFNOSUPPORT: return GR_WASI_EAFNOSUPPORT;
        case ENOSR: return GR_WASI_ENOMEM;
        case ENOSTR: return GR_WASI_ENOTSUP;
        case ETIME: return GR_WASI_ETIMEDOUT;
        case EUSERS: return GR_WASI_EMFILE;
        case ECHRNG: return GR_WASI_ERANGE;
        default: return GR_WASI_EIO;
    }
}
