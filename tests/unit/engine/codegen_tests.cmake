# SPDX-License-Identifier: Apache-2.0
# Codegen + object cache tests (included from this directory's
# CMakeLists.txt). Guests are .wat files under tests/guests/wat/.
granary_add_wat_guest(cg_basic ../../guests/wat/cg_basic.wat)
granary_add_wat_guest(cg_simd ../../guests/wat/cg_simd.wat)
granary_add_wat_guest(cg_import_mem ../../guests/wat/cg_import_mem.wat)
granary_add_wat_guest(cg_matmul ../../guests/wat/cg_matmul.wat)
granary_add_test(test_codegen SOURCES test_codegen.c
                 LIBS gr_engine gr_util ${CMAKE_DL_LIBS} Threads::Threads
                 LABELS unit)
add_dependencies(test_codegen guest_cg_basic guest_cg_simd guest_cg_import_mem
                 guest_cg_matmul)
