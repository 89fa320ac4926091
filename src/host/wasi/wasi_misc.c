/* SPDX-License-Identifier: Apache-2.0 */
/* WASI calls that touch no descriptor: arguments, environment, clocks,
 * random bytes, sched_yield, proc_exit and proc_raise. */
#include <errno.h>
#include <sched.h>
#include <sys/random.h>
#include <time.h>

#include "host/wasi/wasi_int.h"

/* Writes a pointer array and the NUL-separated block it points into. */
static uint32_t
put_strings(gr_wasi_mem* m,
            uint32_t vec,
            uint32_t buf,
            const char* block,
            size_t size,
            uint32_t count)
{
    uint8_t* pv = gr__wasi_ptr(m, vec, (uint64_t)count * 4);
    uint8_t* pb = gr__wasi_ptr(m, buf, size);
    if (!pv || !pb)
        return GR_WASI_EFAULT;
    size_t off = 0;
    for (uint32_t i = 0; i < count; i++) {
        gr__wasi_st32(pv + 4 * i, (uint32_t)(buf + off));
        off += strlen(block + off) + 1;
    }
    memcpy(pb, block, size);
    return 0;
}

static uint32_t
put_sizes(gr_wasi_mem* m,
          uint32_t count_ptr,
          uint32_t size_ptr,
          uint32_t count,
          size_t size)
{
    uint8_t* pc = gr__wasi_ptr(m, count_ptr, 4);
    uint8_t* ps = gr__wasi_ptr(m, size_ptr, 4);
    if (!pc || !ps)
        return GR_WASI_EFAULT;
    gr__wasi_st32(pc, count);
    gr__wasi_st32(ps, (uint32_t)size);
    return 0;
}

uint32_t
gr_wasi_args_get(gr_wasi* w, gr_wasi_mem* mem, uint32_t argv, uint32_t argv_buf)
{
    return put_strings(mem, argv, argv_buf, w->args, w->args_size, w->argc);
}

uint32_t
gr_wasi_args_sizes_get(gr_wasi* w,
                       gr_wasi_mem* mem,
                       uint32_t argc_ptr,
                       uint32_t size_ptr)
{
    return put_sizes(mem, argc_ptr, size_ptr, w->argc, w->args_size);
}

uint32_t
gr_wasi_environ_get(gr_wasi* w,
                    gr_wasi_mem* mem,
                    uint32_t env,
                    uint32_t env_buf)
{
    return put_strings(mem, env, env_buf, w->env, w->env_size, w->envc);
}

uint32_t
gr_wasi_environ_sizes_get(gr_wasi* w,
                          gr_wasi_mem* mem,
                          uint32_t count_ptr,
                          uint32_t size_ptr)
{
    return put_sizes(mem, count_ptr, size_ptr, w->envc, w->env_size);
}

static int
host_clock(uint32_t id, clockid_t* out)
{
    switch (id) {
        case GR_WASI_CLOCK_REALTIME:
            *out = CLOCK_REALTIME;
            return 1;
        case GR_WASI_CLOCK_MONOTONIC:
            *out = CLOCK_MONOTONIC;
            return 1;
        case GR_WASI_CLOCK_PROCESS_CPUTIME:
            *out = CLOCK_PROCESS_CPUTIME_ID;
            return 1;
        case GR_WASI_CLOCK_THREAD_CPUTIME:
            *out = CLOCK_THREAD_CPUTIME_ID;
            return 1;
        default:
            return 0;
    }
}

uint32_t
gr_wasi_clock_res_get(gr_wasi* w,
                      gr_wasi_mem* mem,
                      uint32_t id,
                      uint32_t res_ptr)
{
    (void)w;
    clockid_t c;
    struct timespec ts;
    if (!host_clock(id, &c))
        return GR_WASI_EINVAL;
    uint8_t* p = gr__wasi_ptr(mem, res_ptr, 8);
    if (!p)
        return GR_WASI_EFAULT;
    if (clock_getres(c, &ts) != 0)
        return gr_wasi_errno_from_host(errno);
    gr__wasi_st64(p,
                  (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
    return 0;
}

uint32_t
gr_wasi_clock_time_get(gr_wasi* w,
                       gr_wasi_mem* mem,
                       uint32_t id,
                       uint64_t precision,
                       uint32_t time_ptr)
{
    (void)w;
    (void)precision; /* we always give the best the host has */
    clockid_t c;
    struct timespec ts;
    if (!host_clock(id, &c))
        return GR_WASI_EINVAL;
    uint8_t* p = gr__wasi_ptr(mem, time_ptr, 8);
    if (!p)
        return GR_WASI_EFAULT;
    if (clock_gettime(c, &ts) != 0)
        return gr_wasi_errno_from_host(errno);
    if (ts.tv_sec < 0)
        return GR_WASI_EOVERFLOW;
    gr__wasi_st64(p,
                  (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
    return 0;
}

uint32_t
gr_wasi_random_get(gr_wasi* w, gr_wasi_mem* mem, uint32_t buf, uint32_t len)
{
    (void)w;
    uint8_t* p = gr__wasi_ptr(mem, buf, len);
    if (!p)
        return GR_WASI_EFAULT;
    /* Straight into guest memory: no host buffer, whatever len is. */
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom(p + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return gr_wasi_errno_from_host(errno);
        }
        done += (size_t)n;
    }
    return 0;
}

uint32_t
gr_wasi_sched_yield(gr_wasi* w, gr_wasi_mem* mem)
{
    (void)w;
    (void)mem;
    sched_yield();
    return 0;
}

uint32_t
gr_wasi_proc_exit(gr_wasi* w, gr_wasi_mem* mem, uint32_t code)
{
    (void)mem;
    w->exited = 1;
    w->exit_code = code;
    return 0;
}

uint32_t
gr_wasi_proc_raise(gr_wasi* w, gr_wasi_mem* mem, uint32_t sig)
{
    /* Signals are gone from later WASI versions and a guest must never
     * signal the host process: unsupported by design. */
    (void)w;
    (void)mem;
    (void)sig;
    return GR_WASI_ENOSYS;
}
