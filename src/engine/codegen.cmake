# SPDX-License-Identifier: Apache-2.0
# Codegen + object cache half of the engine (included by
# src/engine/CMakeLists.txt). Defines GR_CODEGEN_SOURCES and the static
# library gr_engine_codegen, which tests link without the runtime.
#
# Choices, measured on the 2-vCPU dev VM (gcc 12, wasm2c 1.0.32):
# - Flags: -O2 -fPIC -fvisibility=hidden -ftls-model=initial-exec -w, plus
#   -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1 (0 with explicit_bounds). No
#   -fno-strict-aliasing: generated code reaches guest memory only through
#   memcpy, so it is alias-clean.
# - Memory-base post-pass (postpass.c), 512x512 double matmul from clang-19
#   -O2, thread CPU time, best of 7: ~90 ms with the pass vs ~121 ms
#   without (native gcc -O2 93-115 ms on the same noisy host).
# - Split compile of a 1.14 MB wasm (11.9 MB of C, 2600 functions): serial
#   82.7 s wall; 2 parts on 2 cores 47.8 s (70.7 s CPU); 2 parts at -O1
#   20.1 s. C above 4 MiB is therefore built at -O1 (the matmul kernel at
#   -O1 with the post-pass: ~95 ms, within noise of -O2).
# Knobs (environment, for tests and measurements): GRANARY_CODEGEN_OPT,
# GRANARY_CODEGEN_O1_ABOVE, GRANARY_CODEGEN_SPLIT_MIN,
# GRANARY_CODEGEN_NO_POSTPASS, GRANARY_CODEGEN_TIMEOUT, GRANARY_CODEGEN_KEEP.
# The granary backend (gcodegen.c) also embeds src/wasm's runtime headers
# and the generator's sources (hashed into its cache key).
set(GR_CODEGEN_EMBED ${CMAKE_CURRENT_BINARY_DIR}/codegen_embed.c)
set(GR_WASM_DIR ${CMAKE_CURRENT_LIST_DIR}/../wasm)
set(GR_EMBED_GRANARY
  gr__codegen_wrt_h=${GR_WASM_DIR}/wrt.h
  gr__codegen_wrt_simd_h=${GR_WASM_DIR}/wrt_simd.h
  gr__codegen_emit_c=${GR_WASM_DIR}/emit.c
  gr__codegen_emit_func_c=${GR_WASM_DIR}/emit_func.c
  gr__codegen_emit_numeric_c=${GR_WASM_DIR}/emit_numeric.c
  gr__codegen_emit_simd_c=${GR_WASM_DIR}/emit_simd.c
  gr__codegen_emit_atomic_c=${GR_WASM_DIR}/emit_atomic.c
  gr__codegen_emit_int_h=${GR_WASM_DIR}/emit_int.h)
string(REPLACE ";" "," GR_EMBED_GRANARY_ARG "${GR_EMBED_GRANARY}")
set(GR_EMBED_GRANARY_DEPS ${GR_WASM_DIR}/wrt.h ${GR_WASM_DIR}/wrt_simd.h
  ${GR_WASM_DIR}/emit.c ${GR_WASM_DIR}/emit_func.c ${GR_WASM_DIR}/emit_numeric.c
  ${GR_WASM_DIR}/emit_simd.c ${GR_WASM_DIR}/emit_atomic.c
  ${GR_WASM_DIR}/emit_int.h)
add_custom_command(OUTPUT ${GR_CODEGEN_EMBED}
  COMMAND ${CMAKE_COMMAND} -DOUT=${GR_CODEGEN_EMBED}
          "-DINPUTS=gr__codegen_wasm_rt_h=${CMAKE_CURRENT_LIST_DIR}/wasm-rt.h,gr__codegen_shim_h=${CMAKE_CURRENT_LIST_DIR}/shim.h,${GR_EMBED_GRANARY_ARG}"
          -P ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
          ${CMAKE_CURRENT_LIST_DIR}/wasm-rt.h ${CMAKE_CURRENT_LIST_DIR}/shim.h
          ${GR_EMBED_GRANARY_DEPS}
  COMMENT "Embedding runtime headers for generated code")

set(GR_CODEGEN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/codegen.c
  ${CMAKE_CURRENT_LIST_DIR}/cache.c
  ${CMAKE_CURRENT_LIST_DIR}/datasec.c
  ${CMAKE_CURRENT_LIST_DIR}/postpass.c
  ${CMAKE_CURRENT_LIST_DIR}/shimgen.c
  ${CMAKE_CURRENT_LIST_DIR}/gcodegen.c
  ${GR_CODEGEN_EMBED})

add_library(gr_engine_codegen STATIC ${GR_CODEGEN_SOURCES})
target_include_directories(gr_engine_codegen PUBLIC ${PROJECT_SOURCE_DIR}/src
                                                    ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(gr_engine_codegen PUBLIC gr_util gr_wasm)
