# SPDX-License-Identifier: Apache-2.0
# Building guest modules (test guests, examples, benchmarks) during the build.
#   granary_add_wat_guest(<name> <file.wat>)
#   granary_add_guest(<name> SOURCES <c files...> [REACTOR] [CFLAGS ...] [LDFLAGS ...])
# Both produce ${GRANARY_GUEST_DIR}/<name>.wasm and a target guest_<name>;
# the target `guests` depends on all of them.
set(GRANARY_GUEST_DIR ${CMAKE_BINARY_DIR}/guests)
file(MAKE_DIRECTORY ${GRANARY_GUEST_DIR})
find_program(WAT2WASM wat2wasm REQUIRED)
if(NOT TARGET guests)
  add_custom_target(guests ALL)
endif()

function(granary_add_wat_guest name wat)
  set(out ${GRANARY_GUEST_DIR}/${name}.wasm)
  add_custom_command(OUTPUT ${out}
    COMMAND ${WAT2WASM} ${CMAKE_CURRENT_SOURCE_DIR}/${wat} -o ${out}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${wat}
    COMMENT "wat2wasm ${name}")
  add_custom_target(guest_${name} DEPENDS ${out})
  add_dependencies(guests guest_${name})
endfunction()

# granary_add_guest: see sdk/bin/granary-cc (filled in by the toolchain work).
function(granary_add_guest name)
  cmake_parse_arguments(G "REACTOR" "" "SOURCES;CFLAGS;LDFLAGS" ${ARGN})
  set(out ${GRANARY_GUEST_DIR}/${name}.wasm)
  set(srcs)
  foreach(s ${G_SOURCES})
    list(APPEND srcs ${CMAKE_CURRENT_SOURCE_DIR}/${s})
  endforeach()
  set(model)
  if(G_REACTOR)
    set(model -mexec-model=reactor)
  endif()
  add_custom_command(OUTPUT ${out}
    COMMAND ${PROJECT_SOURCE_DIR}/sdk/bin/granary-cc ${model} -O2 ${G_CFLAGS}
            -o ${out} ${srcs} ${G_LDFLAGS}
    DEPENDS ${srcs} ${PROJECT_SOURCE_DIR}/sdk/bin/granary-cc
    COMMENT "granary-cc ${name}")
  add_custom_target(guest_${name} DEPENDS ${out})
  add_dependencies(guests guest_${name})
endfunction()
