# SPDX-License-Identifier: Apache-2.0
# Memory strategies of the granary backend (guard pages, bounds checks with
# small reservations): one guest configured with no maximum and with a
# small one (3 pages), included from this directory's CMakeLists.txt.
foreach(v big small)
  if(v STREQUAL "big")
    set(BOUNDS_LIMITS "1")
  else()
    set(BOUNDS_LIMITS "1 3")
  endif()
  set(wat ${CMAKE_CURRENT_BINARY_DIR}/eng_bounds_${v}.wat)
  configure_file(eng_bounds.wat.in ${wat} @ONLY)
  set(out ${GRANARY_GUEST_DIR}/eng_bounds_${v}.wasm)
  add_custom_command(OUTPUT ${out}
    COMMAND ${WAT2WASM} --enable-threads ${wat} -o ${out}
    DEPENDS ${wat} ${CMAKE_CURRENT_SOURCE_DIR}/eng_bounds.wat.in
    COMMENT "wat2wasm eng_bounds_${v}")
  add_custom_target(guest_eng_bounds_${v} DEPENDS ${out})
  add_dependencies(guests guest_eng_bounds_${v})
endforeach()
set(out ${GRANARY_GUEST_DIR}/eng_bounds_shared.wasm)
add_custom_command(OUTPUT ${out}
  COMMAND ${WAT2WASM} --enable-threads
          ${CMAKE_CURRENT_SOURCE_DIR}/eng_bounds_shared.wat -o ${out}
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/eng_bounds_shared.wat
  COMMENT "wat2wasm eng_bounds_shared")
add_custom_target(guest_eng_bounds_shared DEPENDS ${out})
add_dependencies(guests guest_eng_bounds_shared)
granary_add_test(test_bounds SOURCES test_bounds.c eng_support.c
                 LIBS gr_engine gr_util Threads::Threads LABELS unit)
add_dependencies(test_bounds guest_eng_bounds_big guest_eng_bounds_small
                 guest_eng_bounds_shared)
