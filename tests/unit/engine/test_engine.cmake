# SPDX-License-Identifier: Apache-2.0
# The whole engine (codegen + runtime + loaded objects), included from this
# directory's CMakeLists.txt.
granary_add_wat_guest(eng_mem4g ../../guests/wat/eng_mem4g.wat)
granary_add_wat_guest(eng_imports ../../guests/wat/eng_imports.wat)
granary_add_test(test_engine SOURCES test_engine.c eng_support.c
                 LIBS gr_engine gr_util Threads::Threads LABELS unit)
add_dependencies(test_engine guest_eng_mem4g guest_eng_imports)
# The granary backend (Granary's own code generator) on its own guests.
granary_add_wat_guest(eng_backend eng_backend.wat)
granary_add_wat_guest(eng_backend_small eng_backend_small.wat)
granary_add_test(test_backend SOURCES test_backend.c eng_support.c
                 LIBS gr_engine gr_util Threads::Threads LABELS unit)
add_dependencies(test_backend guest_eng_backend guest_eng_backend_small)
