# SPDX-License-Identifier: Apache-2.0
# Building guest modules (test guests, examples, benchmarks) during the build.
#   granary_add_wat_guest(<name> <file.wat>)
#   granary_add_guest(<name> SOURCES <c files...> [REACTOR] [MPI] [THREADS] [OPENMP]
#                     [OPT <-Ox>] [CFLAGS ...] [LDFLAGS ...] [DEPENDS ...])
# MPI builds with sdk/bin/granary-mpicc against the guest MPI library
# (sdk/lib/mpi, target granary_mpi_lib). THREADS builds with -pthread
# against the guest thread library (sdk/lib/pthread, granary_pthread_lib);
# OPENMP with -fopenmp against it and the OpenMP runtime (sdk/lib/omp).
# Both produce ${GRANARY_GUEST_DIR}/<name>.wasm and a target guest_<name>;
# the target `guests` depends on all of them. C guests are built with
# sdk/bin/granary-cc (docs/toolchain.md); set GRANARY_CLANG in the
# environment or as a cache variable to choose the clang it uses.
set(GRANARY_GUEST_DIR ${CMAKE_BINARY_DIR}/guests)
file(MAKE_DIRECTORY ${GRANARY_GUEST_DIR})
find_program(WAT2WASM wat2wasm REQUIRED)
set(GRANARY_CC ${PROJECT_SOURCE_DIR}/sdk/bin/granary-cc)
set(GRANARY_CLANG "$ENV{GRANARY_CLANG}" CACHE STRING
    "clang used by granary-cc for guests (empty: granary-cc's default)")
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

function(granary_add_guest name)
  cmake_parse_arguments(G "REACTOR;MPI;THREADS;OPENMP" "OPT" "SOURCES;CFLAGS;LDFLAGS;DEPENDS"
                        ${ARGN})
  if(NOT G_SOURCES)
    message(FATAL_ERROR "granary_add_guest(${name}): no SOURCES")
  endif()
  set(out ${GRANARY_GUEST_DIR}/${name}.wasm)
  set(srcs)
  foreach(s ${G_SOURCES})
    get_filename_component(abs ${s} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND srcs ${abs})
  endforeach()
  set(model)
  if(G_REACTOR)
    set(model -mexec-model=reactor)
  endif()
  if(NOT G_OPT)
    set(G_OPT -O2)
  endif()
  set(env)
  set(cc ${GRANARY_CC})
  set(extra_deps)
  if(G_MPI)
    set(cc ${PROJECT_SOURCE_DIR}/sdk/bin/granary-mpicc)
    set(env ${CMAKE_COMMAND} -E env GRANARY_MPI_LIB=${GRANARY_MPI_LIB})
    set(extra_deps ${GRANARY_MPI_LIB} granary_mpi_lib ${cc})
  endif()
  if(G_THREADS)
    if(NOT env)
      set(env ${CMAKE_COMMAND} -E env)
    endif()
    list(APPEND env GRANARY_PTHREAD_LIB=${GRANARY_PTHREAD_LIB})
    list(APPEND G_CFLAGS -pthread)
    list(APPEND extra_deps ${GRANARY_PTHREAD_LIB} granary_pthread_lib
         ${PROJECT_SOURCE_DIR}/sdk/lib/pthread/wrap.list)
  endif()
  if(G_OPENMP)
    if(NOT env)
      set(env ${CMAKE_COMMAND} -E env)
    endif()
    list(APPEND env GRANARY_PTHREAD_LIB=${GRANARY_PTHREAD_LIB}
         GRANARY_OMP_LIB=${GRANARY_OMP_LIB})
    list(APPEND G_CFLAGS -fopenmp)
    list(APPEND extra_deps ${GRANARY_PTHREAD_LIB} granary_pthread_lib
         ${GRANARY_OMP_LIB} granary_omp_lib
         ${PROJECT_SOURCE_DIR}/sdk/lib/pthread/wrap.list)
  endif()
  if(GRANARY_CLANG)
    if(NOT env)
      set(env ${CMAKE_COMMAND} -E env)
    endif()
    list(APPEND env GRANARY_CLANG=${GRANARY_CLANG})
  endif()
  # Header dependencies: granary-cc -MD would write one .d per source; keep
  # it simple and depend on the SDK headers and the sources' directories'
  # headers listed by the caller in DEPENDS.
  file(GLOB_RECURSE sdk_headers ${PROJECT_SOURCE_DIR}/sdk/include/*.h)
  add_custom_command(OUTPUT ${out}
    COMMAND ${env} ${cc} ${model} ${G_OPT} ${G_CFLAGS}
            -o ${out} ${srcs} ${G_LDFLAGS}
    DEPENDS ${srcs} ${GRANARY_CC} ${sdk_headers} ${G_DEPENDS} ${extra_deps}
    COMMENT "granary-cc ${name}"
    VERBATIM)
  add_custom_target(guest_${name} DEPENDS ${out})
  add_dependencies(guests guest_${name})
endfunction()
