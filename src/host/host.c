/* SPDX-License-Identifier: Apache-2.0 */
/* Import vetting: the list of host-function tables Granary provides. A new
 * host module (env/faas, mpi, omp) adds its table to `tables` below. */
#include "host/host.h"

#include <stddef.h>
#include <string.h>

#include "host/faas/faas.h"
#include "host/wasi/wasi.h"

static const struct gr_host_import* const tables[] = {
    gr_wasi_imports,
    gr_faas_imports,
    gr_mpi_imports,
    gr_thread_imports,
};

int
gr_host_import_check(const char* module, const char* name, const char* sig)
{
    if (!module || !name || !sig)
        return 0;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (const struct gr_host_import* i = tables[t]; i->name; i++) {
            if (strcmp(i->module, module) == 0 && strcmp(i->name, name) == 0)
                return strcmp(i->sig, sig) == 0;
        }
    }
    return 0;
}

const char*
gr_host_import_sig(const char* module, const char* name)
{
    if (!module || !name)
        return NULL;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const struct gr_host_import* i = tables[t]; i->name; i++)
            if (strcmp(i->module, module) == 0 && strcmp(i->name, name) == 0)
                return i->sig;
    return NULL;
}
