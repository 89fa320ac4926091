/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshots (see snapshot.h): memfd memory images + engine instance images. */
#include "faaslet/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/alloc.h"

struct gr_snapshot
{
    atomic_int refs;
    gr_object* obj;
    gr_instance_image* image;
    int fd;
    uint32_t pages;
};

static int
page_is_zero(const uint8_t* p, size_t n)
{
    const uint64_t* w = (const uint64_t*)p;
    for (size_t i = 0; i < n / 8; i++)
        if (w[i])
            return 0;
    return 1;
}

/* Writes the non-zero 4 KiB pages of data[0..len) into fd (sized len), so
 * zero pages stay holes that cost no memory. */
static int
write_sparse(int fd, const uint8_t* data, size_t len)
{
    if (ftruncate(fd, (off_t)len) < 0)
        return -errno;
    const size_t page = 4096;
    for (size_t off = 0; off < len;) {
        if (page_is_zero(data + off, page)) {
            off += page;
            continue;
        }
        size_t end = off + page;
        while (end < len && !page_is_zero(data + end, page))
            end += page;
        for (size_t done = off; done < end;) {
            ssize_t w = pwrite(fd, data + done, end - done, (off_t)done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return w < 0 ? -errno : -EIO;
            done += (size_t)w;
        }
        off = end;
    }
    return 0;
}

int
gr_snapshot_take(const gr_instance* in, gr_snapshot** out)
{
    gr_snapshot* s = gr_calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    atomic_init(&s->refs, 1);
    s->fd = -1;
    int rc = gr_instance_image_take(in, &s->image);
    if (rc)
        goto fail;
    const wasm_rt_memory_t* mem = gr_instance_memory(in);
    if (mem) {
        s->pages = mem->pages;
        s->fd =
          memfd_create("granary-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (s->fd < 0) {
            rc = -errno;
            goto fail;
        }
        rc = write_sparse(s->fd, mem->data, mem->size);
        if (rc)
            goto fail;
        /* Sealed: nothing may change the image that instances map. */
        if (fcntl(s->fd,
                  F_ADD_SEALS,
                  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) <
            0) {
            rc = -errno;
            goto fail;
        }
    }
    s->obj = gr_object_ref(gr_instance_object(in));
    *out = s;
    return 0;
fail:
    if (s->fd >= 0)
        close(s->fd);
    gr_instance_image_destroy(s->image);
    gr_free(s);
    return rc;
}

gr_snapshot*
gr_snapshot_ref(gr_snapshot* s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void
gr_snapshot_unref(gr_snapshot* s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    if (s->fd >= 0)
        close(s->fd);
    gr_instance_image_destroy(s->image);
    gr_object_unref(s->obj);
    gr_free(s);
}

int
gr_snapshot_restore(gr_snapshot* s,
                    const gr_instance_config* cfg,
                    gr_instance** out)
{
    return gr_instance_create_from_image(
      s->obj, s->image, s->fd, s->pages, cfg, out);
}

int
gr_snapshot_reset(gr_snapshot* s,
                  gr_instance* in,
                  const uint64_t (*remap)[2],
                  size_t n_remap)
{
    return gr_instance_reset_to_image(
      in, s->image, s->fd, s->pages, remap, n_remap);
}

uint32_t
gr_snapshot_pages(const gr_snapshot* s)
{
    return s->pages;
}

int
gr_snapshot_fd(const gr_snapshot* s)
{
    return s->fd;
}

gr_object*
gr_snapshot_object(const gr_snapshot* s)
{
    return s->obj;
}
