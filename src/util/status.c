/* SPDX-License-Identifier: Apache-2.0 */
/* Descriptions of Granary status codes. */
#include <granary/status.h>

#include <string.h>

const char*
gr_strerror(int status)
{
    switch (status) {
        case GR_OK:
            return "success";
        case GR_EINVALID_MODULE:
            return "invalid WebAssembly module";
        case GR_ECOMPILE:
            return "compilation failed";
        case GR_EIMPORT:
            return "module imports a function Granary does not provide";
        case GR_ELOAD:
            return "could not load compiled object";
        case GR_ETRAP:
            return "guest trapped";
        case GR_EEXIT:
            return "guest exited";
        case GR_ENOEXPORT:
            return "no such export";
        case GR_ELIMIT:
            return "limit exceeded";
        case GR_ETIMEOUT:
            return "timed out";
        case GR_ETOOLCHAIN:
            return "required tool missing";
        case GR_ERESTARTED:
            return "server restarted before the call finished";
        default:
            break;
    }
    if (status < 0 && status > -4000)
        return strerror(-status); /* glibc's strerror returns static text */
    return "unknown error";
}
