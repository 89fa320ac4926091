/* SPDX-License-Identifier: Apache-2.0 */
/* The wasi_snapshot_preview1 ABI as seen from the host: errno values, rights
 * bits, flags and the byte layout of every structure the guest exchanges with
 * us. Values follow the WASI preview 1 specification (witx). */
#ifndef GR_HOST_WASI_ABI_H
#define GR_HOST_WASI_ABI_H

#include <stdint.h>

/* errno */
enum
{
    GR_WASI_ESUCCESS = 0,
    GR_WASI_E2BIG = 1,
    GR_WASI_EACCES = 2,
    GR_WASI_EADDRINUSE = 3,
    GR_WASI_EADDRNOTAVAIL = 4,
    GR_WASI_EAFNOSUPPORT = 5,
    GR_WASI_EAGAIN = 6,
    GR_WASI_EALREADY = 7,
    GR_WASI_EBADF = 8,
    GR_WASI_EBADMSG = 9,
    GR_WASI_EBUSY = 10,
    GR_WASI_ECANCELED = 11,
    GR_WASI_ECHILD = 12,
    GR_WASI_ECONNABORTED = 13,
    GR_WASI_ECONNREFUSED = 14,
    GR_WASI_ECONNRESET = 15,
    GR_WASI_EDEADLK = 16,
    GR_WASI_EDESTADDRREQ = 17,
    GR_WASI_EDOM = 18,
    GR_WASI_EDQUOT = 19,
    GR_WASI_EEXIST = 20,
    GR_WASI_EFAULT = 21,
    GR_WASI_EFBIG = 22,
    GR_WASI_EHOSTUNREACH = 23,
    GR_WASI_EIDRM = 24,
    GR_WASI_EILSEQ = 25,
    GR_WASI_EINPROGRESS = 26,
    GR_WASI_EINTR = 27,
    GR_WASI_EINVAL = 28,
    GR_WASI_EIO = 29,
    GR_WASI_EISCONN = 30,
    GR_WASI_EISDIR = 31,
    GR_WASI_ELOOP = 32,
    GR_WASI_EMFILE = 33,
    GR_WASI_EMLINK = 34,
    GR_WASI_EMSGSIZE = 35,
    GR_WASI_EMULTIHOP = 36,
    GR_WASI_ENAMETOOLONG = 37,
    GR_WASI_ENETDOWN = 38,
    GR_WASI_ENETRESET = 39,
    GR_WASI_ENETUNREACH = 40,
    GR_WASI_ENFILE = 41,
    GR_WASI_ENOBUFS = 42,
    GR_WASI_ENODEV = 43,
    GR_WASI_ENOENT = 44,
    GR_WASI_ENOEXEC = 45,
    GR_WASI_ENOLCK = 46,
    GR_WASI_ENOLINK = 47,
    GR_WASI_ENOMEM = 48,
    GR_WASI_ENOMSG = 49,
    GR_WASI_ENOPROTOOPT = 50,
    GR_WASI_ENOSPC = 51,
    GR_WASI_ENOSYS = 52,
    GR_WASI_ENOTCONN = 53,
    GR_WASI_ENOTDIR = 54,
    GR_WASI_ENOTEMPTY = 55,
    GR_WASI_ENOTRECOVERABLE = 56,
    GR_WASI_ENOTSOCK = 57,
    GR_WASI_ENOTSUP = 58,
    GR_WASI_ENOTTY = 59,
    GR_WASI_ENXIO = 60,
    GR_WASI_EOVERFLOW = 61,
    GR_WASI_EOWNERDEAD = 62,
    GR_WASI_EPERM = 63,
    GR_WASI_EPIPE = 64,
    GR_WASI_EPROTO = 65,
    GR_WASI_EPROTONOSUPPORT = 66,
    GR_WASI_EPROTOTYPE = 67,
    GR_WASI_ERANGE = 68,
    GR_WASI_EROFS = 69,
    GR_WASI_ESPIPE = 70,
    GR_WASI_ESRCH = 71,
    GR_WASI_ESTALE = 72,
    GR_WASI_ETIMEDOUT = 73,
    GR_WASI_ETXTBSY = 74,
    GR_WASI_EXDEV = 75,
    GR_WASI_ENOTCAPABLE = 76,
};

/* rights (u64 bit set) */
#define GR_WASI_RIGHT(n) ((uint64_t)1 << (n))
#define GR_WASI_R_FD_DATASYNC GR_WASI_RIGHT(0)
#define GR_WASI_R_FD_READ GR_WASI_RIGHT(1)
#define GR_WASI_R_FD_SEEK GR_WASI_RIGHT(2)
#define GR_WASI_R_FD_FDSTAT_SET_FLAGS GR_WASI_RIGHT(3)
#define GR_WASI_R_FD_SYNC GR_WASI_RIGHT(4)
#define GR_WASI_R_FD_TELL GR_WASI_RIGHT(5)
#define GR_WASI_R_FD_WRITE GR_WASI_RIGHT(6)
#define GR_WASI_R_FD_ADVISE GR_WASI_RIGHT(7)
#define GR_WASI_R_FD_ALLOCATE GR_WASI_RIGHT(8)
#define GR_WASI_R_PATH_CREATE_DIRECTORY GR_WASI_RIGHT(9)
#define GR_WASI_R_PATH_CREATE_FILE GR_WASI_RIGHT(10)
#define GR_WASI_R_PATH_LINK_SOURCE GR_WASI_RIGHT(11)
#define GR_WASI_R_PATH_LINK_TARGET GR_WASI_RIGHT(12)
#define GR_WASI_R_PATH_OPEN GR_WASI_RIGHT(13)
#define GR_WASI_R_FD_READDIR GR_WASI_RIGHT(14)
#define GR_WASI_R_PATH_READLINK GR_WASI_RIGHT(15)
#define GR_WASI_R_PATH_RENAME_SOURCE GR_WASI_RIGHT(16)
#define GR_WASI_R_PATH_RENAME_TARGET GR_WASI_RIGHT(17)
#define GR_WASI_R_PATH_FILESTAT_GET GR_WASI_RIGHT(18)
#define GR_WASI_R_PATH_FILESTAT_SET_SIZE GR_WASI_RIGHT(19)
#define GR_WASI_R_PATH_FILESTAT_SET_TIMES GR_WASI_RIGHT(20)
#define GR_WASI_R_FD_FILESTAT_GET GR_WASI_RIGHT(21)
#define GR_WASI_R_FD_FILESTAT_SET_SIZE GR_WASI_RIGHT(22)
#define GR_WASI_R_FD_FILESTAT_SET_TIMES GR_WASI_RIGHT(23)
#define GR_WASI_R_PATH_SYMLINK GR_WASI_RIGHT(24)
#define GR_WASI_R_PATH_REMOVE_DIRECTORY GR_WASI_RIGHT(25)
#define GR_WASI_R_PATH_UNLINK_FILE GR_WASI_RIGHT(26)
#define GR_WASI_R_POLL_FD_READWRITE GR_WASI_RIGHT(27)
#define GR_WASI_R_SOCK_SHUTDOWN GR_WASI_RIGHT(28)
#define GR_WASI_R_SOCK_ACCEPT GR_WASI_RIGHT(29)
#define GR_WASI_R_ALL (GR_WASI_RIGHT(30) - 1)

/* filetype (u8) */
enum
{
    GR_WASI_FT_UNKNOWN = 0,
    GR_WASI_FT_BLOCK_DEVICE = 1,
    GR_WASI_FT_CHARACTER_DEVICE = 2,
    GR_WASI_FT_DIRECTORY = 3,
    GR_WASI_FT_REGULAR_FILE = 4,
    GR_WASI_FT_SOCKET_DGRAM = 5,
    GR_WASI_FT_SOCKET_STREAM = 6,
    GR_WASI_FT_SYMBOLIC_LINK = 7,
};

/* fdflags (u16) */
#define GR_WASI_FDFLAG_APPEND 0x1u
#define GR_WASI_FDFLAG_DSYNC 0x2u
#define GR_WASI_FDFLAG_NONBLOCK 0x4u
#define GR_WASI_FDFLAG_RSYNC 0x8u
#define GR_WASI_FDFLAG_SYNC 0x10u

/* oflags (u16) */
#define GR_WASI_O_CREAT 0x1u
#define GR_WASI_O_DIRECTORY 0x2u
#define GR_WASI_O_EXCL 0x4u
#define GR_WASI_O_TRUNC 0x8u

/* lookupflags (u32) */
#define GR_WASI_LOOKUP_SYMLINK_FOLLOW 0x1u

/* fstflags (u16) */
#define GR_WASI_FST_ATIM 0x1u
#define GR_WASI_FST_ATIM_NOW 0x2u
#define GR_WASI_FST_MTIM 0x4u
#define GR_WASI_FST_MTIM_NOW 0x8u

/* whence (u8) */
enum
{
    GR_WASI_WHENCE_SET = 0,
    GR_WASI_WHENCE_CUR = 1,
    GR_WASI_WHENCE_END = 2,
};

/* clockid (u32) */
enum
{
    GR_WASI_CLOCK_REALTIME = 0,
    GR_WASI_CLOCK_MONOTONIC = 1,
    GR_WASI_CLOCK_PROCESS_CPUTIME = 2,
    GR_WASI_CLOCK_THREAD_CPUTIME = 3,
};

/* advice (u8) */
enum
{
    GR_WASI_ADVICE_NORMAL = 0,
    GR_WASI_ADVICE_SEQUENTIAL = 1,
    GR_WASI_ADVICE_RANDOM = 2,
    GR_WASI_ADVICE_WILLNEED = 3,
    GR_WASI_ADVICE_DONTNEED = 4,
    GR_WASI_ADVICE_NOREUSE = 5,
};

/* eventtype (u8), event/subscription flags */
enum
{
    GR_WASI_EVENT_CLOCK = 0,
    GR_WASI_EVENT_FD_READ = 1,
    GR_WASI_EVENT_FD_WRITE = 2,
};
#define GR_WASI_EVENTRW_HANGUP 0x1u
#define GR_WASI_SUBCLOCK_ABSTIME 0x1u

/* sockets */
#define GR_WASI_RI_RECV_PEEK 0x1u
#define GR_WASI_RI_RECV_WAITALL 0x2u
#define GR_WASI_RO_RECV_DATA_TRUNCATED 0x1u
#define GR_WASI_SD_RD 0x1u
#define GR_WASI_SD_WR 0x2u

#define GR_WASI_PREOPENTYPE_DIR 0

/* Structure sizes in guest memory (little endian). Field offsets:
 * iovec:        buf u32 @0, buf_len u32 @4
 * fdstat:       filetype u8 @0, flags u16 @2, rights_base u64 @8,
 *               rights_inheriting u64 @16
 * filestat:     dev @0, ino @8, filetype u8 @16, nlink @24, size @32,
 *               atim @40, mtim @48, ctim @56 (u64 unless noted)
 * prestat:      tag u8 @0, name_len u32 @4
 * dirent:       next u64 @0, ino u64 @8, namlen u32 @16, type u8 @20,
 *               then the name (not NUL-terminated)
 * subscription: userdata u64 @0, tag u8 @8; clock: id u32 @16,
 *               timeout u64 @24, precision u64 @32, flags u16 @40;
 *               fd_read/fd_write: fd u32 @16
 * event:        userdata u64 @0, error u16 @8, type u8 @10,
 *               nbytes u64 @16, flags u16 @24 */
#define GR_WASI_IOVEC_SIZE 8u
#define GR_WASI_FDSTAT_SIZE 24u
#define GR_WASI_FILESTAT_SIZE 64u
#define GR_WASI_PRESTAT_SIZE 8u
#define GR_WASI_DIRENT_SIZE 24u
#define GR_WASI_SUBSCRIPTION_SIZE 48u
#define GR_WASI_EVENT_SIZE 32u

#endif
