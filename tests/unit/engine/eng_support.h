/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the engine tests (test_engine, test_backend,
 * test_bounds): an engine on a private cache folder, guests loaded from
 * the built guest folder, and calls of i32 exports through the engine's
 * frames. Include after <cmocka.h>. */
#ifndef GRANARY_TESTS_ENG_SUPPORT_H
#define GRANARY_TESTS_ENG_SUPPORT_H

#include <stdint.h>

#include "engine/engine.h"

/* An engine with base's configuration (all defaults if NULL), its
 * cache_dir set to cache_dir where base leaves it unset; fails the test
 * when it cannot be created. */
gr_engine* eng_engine(const gr_engine_config* base, const char* cache_dir);

/* The guest GRANARY_GUEST_DIR/<name>.wasm loaded by e; fails the test
 * with the engine's message when it cannot be loaded. */
gr_object* eng_load_guest(gr_engine* e, const char* name);

/* Calls export name of in with nargs (0 to 2) i32 arguments a, b and an
 * i32 result, with a deadline of timeout_ns (0: none). Returns the code of
 * gr_instance_call_timeout, the result in *ret (if ret is not NULL) and the
 * trap in *t. Fails the test when the export is missing. */
int eng_call(gr_instance* in,
             const char* name,
             int nargs,
             uint32_t a,
             uint32_t b,
             uint32_t* ret,
             gr_trap* t,
             uint64_t timeout_ns);

#endif
