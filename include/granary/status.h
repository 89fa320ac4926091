/* SPDX-License-Identifier: Apache-2.0 */
/* Granary status codes: every fallible function returns 0, a negative errno,
 * or one of the GR_E* codes below (all below -4000). */
#ifndef GRANARY_STATUS_H
#define GRANARY_STATUS_H

enum gr_status
{
    GR_OK = 0,
    GR_EINVALID_MODULE = -4001, /* the wasm failed validation */
    GR_ECOMPILE = -4002,        /* wasm2c or the C compiler failed */
    GR_EIMPORT = -4003,         /* the module imports something we lack */
    GR_ELOAD = -4004,           /* dlopen or shim lookup failed */
    GR_ETRAP = -4005,           /* the guest trapped */
    GR_EEXIT = -4006,           /* the guest called proc_exit */
    GR_ENOEXPORT = -4007,       /* no export of that name and type */
    GR_ELIMIT = -4008,          /* a configured limit was reached */
    GR_ETIMEOUT = -4009,        /* the call ran past its deadline */
    GR_ETOOLCHAIN = -4010,      /* a required external tool is missing */
    GR_ERESTARTED = -4011, /* the server restarted before the call finished */
};

/* Returns a static description of a status code (0, -errno or GR_E*);
 * never NULL. Thread-safe. */
const char* gr_strerror(int status);

#endif
