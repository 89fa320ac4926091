/* SPDX-License-Identifier: Apache-2.0 */
/* Instance images (see engine.h): a byte copy of the wasm2c instance struct
 * plus copies of its tables, from which instances are re-created or reset
 * without running instantiate. The engine owns the struct layout (through
 * the shim's offsets), so this is the only place that patches it. */
#include <errno.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/instance_int.h"
#include "util/alloc.h"

struct gr_instance_image
{
    const struct gr_shim* shim;
    uint8_t* module;                 /* copy of the instance struct */
    wasm_rt_funcref_table_t* tables; /* deep copies, one per shim table */
    const void* old_module;          /* closure pointer to rewrite */
    const struct gr__gobj* g;        /* granary backend: module relocated */
};

static wasm_rt_funcref_table_t*
table_at(void* module, const struct gr_shim* s, size_t i)
{
    return (wasm_rt_funcref_table_t*)((char*)module + s->table_offsets[i]);
}

int
gr_instance_image_take(const gr_instance* in, gr_instance_image** out)
{
    const struct gr_shim* s = in->obj->shim;
    gr_instance_image* img = gr_calloc(1, sizeof *img);
    if (!img)
        return -ENOMEM;
    img->shim = s;
    if (in->obj->g) {
        /* A relocated copy that owns its own tables. */
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
    }
    img->old_module = in->module;
    img->module = gr_malloc(s->instance_size);
    img->tables = gr_calloc(s->n_tables ? s->n_tables : 1, sizeof *img->tables);
    if (!img->module || !img->tables)
        goto fail;
    memcpy(img->module, in->module, s->instance_size);
    for (size_t i = 0; i < s->n_tables; i++) {
        const wasm_rt_funcref_table_t* t = table_at(in->module, s, i);
        img->tables[i] = *t;
        img->tables[i].data = NULL;
        if (t->size) {
            img->tables[i].data = gr_malloc(t->size * sizeof *t->data);
            if (!img->tables[i].data)
                goto fail;
            memcpy(img->tables[i].data, t->data, t->size * sizeof *t->data);
        }
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
    if (img->g && img->module)
        gr__gobj_drop(img->g, img->module);
    for (size_t i = 0; !img->g && img->tables && i < img->shim->n_tables; i++)
        gr_free(img->tables[i].data);
    gr_free(img->tables);
    gr_free(img->module);
    gr_free(img);
}

/* Copies the image's tables into in's (same sizes), pointing closures that
 * referred to the imaged instance at in's module. */
static int
copy_tables(gr_instance* in, const gr_instance_image* img, int allocate)
{
    const struct gr_shim* s = img->shim;
    for (size_t i = 0; i < s->n_tables; i++) {
        const wasm_rt_funcref_table_t* src = &img->tables[i];
        wasm_rt_funcref_table_t* dst = table_at(in->module, s, i);
        if (allocate || dst->size != src->size) {
            if (!allocate)
                gr_free(dst->data);
            dst->data = NULL;
            dst->size = 0;
            if (src->size) {
                dst->data = gr_malloc(src->size * sizeof *dst->data);
                if (!dst->data)
                    return -ENOMEM;
            }
            dst->size = src->size;
        }
        dst->max_size = src->max_size;
        for (uint32_t j = 0; j < src->size; j++) {
            dst->data[j] = src->data[j];
            if (dst->data[j].module_instance == img->old_module)
                dst->data[j].module_instance = in->module;
        }
    }
    return 0;
}

/* Copies the image's struct bytes into in's module, keeping in's memory and
 * tables, and pointing the import contexts at in. */
static int
copy_struct(gr_instance* in, const gr_instance_image* img)
{
    const struct gr_shim* s = img->shim;
    wasm_rt_memory_t mem;
    if (in->mem)
        mem = *in->mem;
    wasm_rt_funcref_table_t saved[8];
    wasm_rt_funcref_table_t* many = NULL;
    wasm_rt_funcref_table_t* keep = saved;
    if (s->n_tables > 8) {
        many = gr_malloc(s->n_tables * sizeof *many);
        if (!many)
            return -ENOMEM;
        keep = many;
    }
    for (size_t i = 0; i < s->n_tables; i++)
        keep[i] = *table_at(in->module, s, i);
    memcpy(in->module, img->module, s->instance_size);
    if (in->mem)
        *in->mem = mem;
    for (size_t i = 0; i < s->n_tables; i++)
        *table_at(in->module, s, i) = keep[i];
    for (size_t i = 0; i < s->n_import_ctx; i++)
        memcpy(
          (char*)in->module + s->import_ctx_offsets[i], &in, sizeof(void*));
    gr_free(many);
    return 0;
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
    if (o->g) {
        /* Memory fields cleared before anything can fail, so a failed
         * restore never frees the imaged instance's memory. */
        uint32_t max =
          in->mem ? ((const wasm_rt_memory_t*)(img->module + s->memory_offset))
                      ->max_pages
                  : 0;
        rc = gr__gobj_copy_from(
          o->g, in->module, img->module, in, GR_GOBJ_MEM_CLEAR);
        if (rc == 0 && in->mem) {
            gr_rt_set_page_limit(cfg ? cfg->max_pages : 0);
            gr_rt_set_memory_strategy(gr__gobj_strategy(o->g));
            rc = gr_rt_memory_map_fd(in->mem, memfd, pages, max);
            gr_rt_set_memory_strategy(GR_RT_MEM_GUARD);
            gr_rt_set_page_limit(0);
        }
        if (rc)
            goto fail;
        *out = in;
        return 0;
    }
    memcpy(in->module, img->module, s->instance_size);
    for (size_t i = 0; i < s->n_tables; i++) {
        table_at(in->module, s, i)->data = NULL;
        table_at(in->module, s, i)->size = 0;
    }
    for (size_t i = 0; i < s->n_import_ctx; i++)
        memcpy(
          (char*)in->module + s->import_ctx_offsets[i], &in, sizeof(void*));
    if (in->mem) {
        uint32_t max = in->mem->max_pages;
        memset(in->mem, 0, sizeof *in->mem);
        gr_rt_set_page_limit(cfg ? cfg->max_pages : 0);
        rc = gr_rt_memory_map_fd(in->mem, memfd, pages, max);
        gr_rt_set_page_limit(0);
        if (rc)
            goto fail;
    }
    rc = copy_tables(in, img, 1);
    if (rc)
        goto fail;
    *out = in;
    return 0;
fail:
    gr_instance_destroy(in);
    return rc;
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
    if (in->obj->g) {
        gr__gobj_drop(in->obj->g, in->module);
        int rc = gr__gobj_copy_from(
          in->obj->g, in->module, img->module, in, GR_GOBJ_MEM_KEEP);
        if (rc == 0 && in->mem)
            rc = gr_rt_memory_reset(in->mem, memfd, pages, remap, n_remap);
        return rc;
    }
    int rc = copy_struct(in, img);
    if (rc == 0)
        rc = copy_tables(in, img, 0);
    if (rc == 0 && in->mem)
        rc = gr_rt_memory_reset(in->mem, memfd, pages, remap, n_remap);
    return rc;
}
