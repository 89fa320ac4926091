# SPDX-License-Identifier: Apache-2.0
# Imported memories (guests in tests/guests/impmem), included from this
# directory's CMakeLists.txt.
granary_add_test(test_import_memory SOURCES test_import_memory.c eng_support.c
                 LIBS gr_engine gr_util Threads::Threads LABELS unit)
add_dependencies(test_import_memory guest_imp_nomax guest_imp_small
                 guest_imp_shared guest_imp_field guest_imp_badmod
                 guest_imp_two guest_imp_after)
