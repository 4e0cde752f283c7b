# Shared settings for every metarl target.

# CMAKE_INSTALL_INCLUDEDIR and friends, for the install interface below.
include(GNUInstallDirs)

set(METARL_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor)
if(METARL_WARNINGS_AS_ERRORS)
  list(APPEND METARL_WARNING_FLAGS -Werror)
endif()

# metarl_target(TARGET [TORCH]): warnings, include root, and for torch users the
# shared precompiled header. The first torch target builds the PCH; every later one
# reuses it, so <torch/torch.h> is parsed once per build instead of once per file.
function(metarl_target target)
  cmake_parse_arguments(ARG "TORCH" "" "" ${ARGN})
  target_compile_options(${target} PRIVATE ${METARL_WARNING_FLAGS})
  # No <target>_EXPORTS define: it would differ per target and void the shared PCH.
  set_target_properties(${target} PROPERTIES DEFINE_SYMBOL "")
  get_target_property(target_type ${target} TYPE)
  if(target_type STREQUAL "EXECUTABLE")
    # Executables compile with -fPIC like the libraries (CMake would pass -fPIE),
    # which GCC requires to reuse the PCH; the code still links into a PIE.
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
  # Sources include "envs/registry.h"; installed headers keep that spelling under
  # include/metarl/ (cmake/metarl_install.cmake), so outside code writes the same.
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/metarl>)
  if(NOT target_type STREQUAL "EXECUTABLE")
    # The public headers need C++17 (inline variables, among others), and those that
    # include LibTorch's what it needs (C++20 from PyTorch 2.13); an outside project
    # linking a metarl library gets at least that.
    if(ARG_TORCH)
      target_compile_features(${target} PUBLIC cxx_std_${METARL_TORCH_CXX_STANDARD})
    else()
      target_compile_features(${target} PUBLIC cxx_std_17)
    endif()
  endif()
  if(ARG_TORCH)
    target_link_libraries(${target} PUBLIC ${TORCH_LIBRARIES})
    if(METARL_USE_PCH)
      get_property(pch_owner GLOBAL PROPERTY METARL_TORCH_PCH_OWNER)
      if(pch_owner)
        target_precompile_headers(${target} REUSE_FROM ${pch_owner})
      else()
        target_precompile_headers(${target} PRIVATE
          ${PROJECT_SOURCE_DIR}/cmake/torch_pch.h)
        set_property(GLOBAL PROPERTY METARL_TORCH_PCH_OWNER ${target})
      endif()
    endif()
  endif()
endfunction()
