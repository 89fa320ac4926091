# SPDX-License-Identifier: Apache-2.0
# Codegen + object cache half of the engine (included by
# src/engine/CMakeLists.txt). Defines GR_CODEGEN_SOURCES and the static
# library gr_engine_codegen, which tests link without the runtime.
#
# Choices, measured on the 2-vCPU dev VM (gcc 12) with the 1.08 MB module
# of bench/compute/upload_module.sh (7.0 MB of C, 2,129 functions):
# - Flags: -fPIC -fvisibility=hidden -ftls-model=initial-exec -w, wasm's
#   float semantics (-fsignaling-nans -ffp-contract=off) and
#   -fno-strict-aliasing; -DWRT_GUARD_PAGES=0|1 for the memory strategy.
# - The generator splits the C into about one part per core (gcodegen.c);
#   winit.c is table-driven, so it compiles in well under a second.
# - C above 16 MiB (a ~2.4 MB wasm) is built at -O1; below, -O2.
# Knobs (environment, for tests and measurements): GRANARY_CODEGEN_OPT,
# GRANARY_CODEGEN_O1_ABOVE, GRANARY_CODEGEN_SPLIT_MIN (instructions per
# part at least), GRANARY_CODEGEN_TIMEOUT, GRANARY_CODEGEN_KEEP.
# The runtime headers are embedded; the SHA-256 of the generator's sources
# and those headers is computed at build time and is part of the cache key.
set(GR_CODEGEN_EMBED ${CMAKE_CURRENT_BINARY_DIR}/codegen_embed.c)
set(GR_WASM_DIR ${CMAKE_CURRENT_LIST_DIR}/../wasm)
set(GR_EMBED_GRANARY
  gr__codegen_wrt_h=${GR_WASM_DIR}/wrt.h
  gr__codegen_wrt_simd_h=${GR_WASM_DIR}/wrt_simd.h)
string(REPLACE ";" "," GR_EMBED_GRANARY_ARG "${GR_EMBED_GRANARY}")
# What the generated C depends on: the generator and its runtime headers.
set(GR_EMBED_GRANARY_DEPS ${GR_WASM_DIR}/wrt.h ${GR_WASM_DIR}/wrt_simd.h
  ${GR_WASM_DIR}/emit.c ${GR_WASM_DIR}/emit_func.c ${GR_WASM_DIR}/emit_numeric.c
  ${GR_WASM_DIR}/emit_simd.c ${GR_WASM_DIR}/emit_atomic.c
  ${GR_WASM_DIR}/emit_int.h)
string(REPLACE ";" "," GR_HASHED_ARG "${GR_EMBED_GRANARY_DEPS}")
add_custom_command(OUTPUT ${GR_CODEGEN_EMBED}
  COMMAND ${CMAKE_COMMAND} -DOUT=${GR_CODEGEN_EMBED}
          "-DINPUTS=${GR_EMBED_GRANARY_ARG}"
          -DHASH_SYM=gr__codegen_generator_sha256
          "-DHASHED=${GR_HASHED_ARG}"
          -P ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/embed.cmake ${GR_EMBED_GRANARY_DEPS}
  COMMENT "Embedding runtime headers for generated code")

set(GR_CODEGEN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/codegen.c
  ${CMAKE_CURRENT_LIST_DIR}/cache.c
  ${CMAKE_CURRENT_LIST_DIR}/codegen_util.c
  ${CMAKE_CURRENT_LIST_DIR}/gcodegen.c
  ${GR_CODEGEN_EMBED})

add_library(gr_engine_codegen STATIC ${GR_CODEGEN_SOURCES})
target_include_directories(gr_engine_codegen PUBLIC ${PROJECT_SOURCE_DIR}/src
                                                    ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(gr_engine_codegen PUBLIC gr_util gr_wasm)
