# SPDX-License-Identifier: Apache-2.0
# Codegen + object cache half of the engine (included by
# src/engine/CMakeLists.txt). Defines GR_CODEGEN_SOURCES and the static
# library gr_engine_codegen, which tests link without the runtime.
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
  ${CMAKE_CURRENT_LIST_DIR}/postpass.c
  ${CMAKE_CURRENT_LIST_DIR}/shimgen.c
  ${GR_CODEGEN_EMBED})

add_library(gr_engine_codegen STATIC ${GR_CODEGEN_SOURCES})
target_include_directories(gr_engine_codegen PUBLIC ${PROJECT_SOURCE_DIR}/src
                                                    ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(gr_engine_codegen PUBLIC gr_util)
