/* SPDX-License-Identifier: Apache-2.0 */
/* Instance images (see engine.h): a relocated copy of an instance block
 * (the generated instance struct, its tables and element arrays, its
 * import functions), from which instances are re-created or reset without
 * running instantiate. The generated relocate() (gobject.c) does the
 * patching; memory comes from the snapshot's memfd. */
#include <errno.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/instance_int.h"
#include "util/alloc.h"

struct gr_instance_image
{
    const struct gr_shim* shim;
    uint8_t* module;          /* relocated copy owning its own tables */
    const struct gr__gobj* g; /* the object's loader */
};

int
gr_instance_image_take(const gr_instance* in, gr_instance_image** out)
{
    const struct gr_shim* s = in->obj->shim;
    gr_instance_image* img = gr_calloc(1, sizeof *img);
    if (!img)
        return -ENOMEM;
    img->shim = s;
    img->g = in->obj->g;
    img->module = gr_malloc(s->instance_size);
    if (!img->module)
        goto fail;
    if (gr__gobj_copy_from(
          img->g, img->module, in->module, NULL, GR_GOBJ_MEM_COPY)) {
        gr__gobj_drop(img->g, img->module);
        gr_free(img->module);
        img->module = NULL;
        goto fail;
    }
    *out = img;
    return 0;
fail:
    gr_instance_image_destroy(img);
    return -ENOMEM;
}

void
gr_instance_image_destroy(gr_instance_image* img)
{
    if (!img)
        return;
    if (img->module)
        gr__gobj_drop(img->g, img->module);
    gr_free(img->module);
    gr_free(img);
}

int
gr_instance_create_from_image(gr_object* o,
                              const gr_instance_image* img,
                              int memfd,
                              uint32_t pages,
                              const gr_instance_config* cfg,
                              gr_instance** out)
{
    const struct gr_shim* s = o->shim;
    if (img->shim != s)
        return -EINVAL;
    gr_instance* in;
    int rc = gr__instance_alloc(o, cfg, &in);
    if (rc)
        return rc;
    /* Memory fields cleared before anything can fail, so a failed restore
     * never frees the imaged instance's memory. */
    uint32_t max =
      in->mem
        ? ((const wasm_rt_memory_t*)(img->module + s->memory_offset))->max_pages
        : 0;
    rc =
      gr__gobj_copy_from(o->g, in->module, img->module, in, GR_GOBJ_MEM_CLEAR);
    if (rc == 0 && in->mem) {
        gr_rt_set_page_limit(cfg ? cfg->max_pages : 0);
        gr_rt_set_memory_strategy(gr__gobj_strategy(o->g));
        rc = gr_rt_memory_map_fd(in->mem, memfd, pages, max);
        gr_rt_set_memory_strategy(GR_RT_MEM_GUARD);
        gr_rt_set_page_limit(0);
    }
    if (rc) {
        gr_instance_destroy(in);
        return rc;
    }
    *out = in;
    return 0;
}

int
gr_instance_reset_to_image(gr_instance* in,
                           const gr_instance_image* img,
                           int memfd,
                           uint32_t pages,
                           const uint64_t (*remap)[2],
                           size_t n_remap)
{
    if (img->shim != in->obj->shim)
        return -EINVAL;
    gr__gobj_drop(in->obj->g, in->module);
    int rc = gr__gobj_copy_from(
      in->obj->g, in->module, img->module, in, GR_GOBJ_MEM_KEEP);
    if (rc == 0 && in->mem)
        rc = gr_rt_memory_reset(in->mem, memfd, pages, remap, n_remap);
    return rc;
}
