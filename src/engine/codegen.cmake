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
set(GR_CODEGEN_EMBED ${CMAKE_CURRENT_BINARY_DIR}/codegen_embed.c)
add_custom_command(OUTPUT ${GR_CODEGEN_EMBED}
  COMMAND ${CMAKE_COMMAND} -DOUT=${GR_CODEGEN_EMBED}
          "-DINPUTS=gr__codegen_wasm_rt_h=${CMAKE_CURRENT_LIST_DIR}/wasm-rt.h,gr__codegen_shim_h=${CMAKE_CURRENT_LIST_DIR}/shim.h"
          -P ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
          ${CMAKE_CURRENT_LIST_DIR}/wasm-rt.h ${CMAKE_CURRENT_LIST_DIR}/shim.h
  COMMENT "Embedding runtime headers for generated code")

set(GR_CODEGEN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/codegen.c
  ${CMAKE_CURRENT_LIST_DIR}/cache.c
  ${CMAKE_CURRENT_LIST_DIR}/datasec.c
  ${CMAKE_CURRENT_LIST_DIR}/postpass.c
  ${CMAKE_CURRENT_LIST_DIR}/shimgen.c
  ${GR_CODEGEN_EMBED})

add_library(gr_engine_codegen STATIC ${GR_CODEGEN_SOURCES})
target_include_directories(gr_engine_codegen PUBLIC ${PROJECT_SOURCE_DIR}/src
                                                    ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(gr_engine_codegen PUBLIC gr_util)
