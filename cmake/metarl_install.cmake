# Installation: the libraries, their public headers, the metarl command line and a
# CMake package, so that an outside project (a plug-in environment, a program that
# trains) builds against an installed metarl:
#
#   find_package(metarl 0.1 REQUIRED)                  # metarl::metarl (needs LibTorch), metarl::envs
#   find_package(metarl 0.1 REQUIRED COMPONENTS envs)  # metarl::envs alone, no LibTorch
#
# Layout under the prefix (GNUInstallDirs):
#   bin/metarl
#   lib/libmetarl_{envs,agents,meta}.so.0.1.0 (+ soname links)
#   include/metarl/{envs,agents,meta}/*.h   outside code writes #include "envs/registry.h" too
#   lib/cmake/metarl/                       metarlConfig.cmake, its version file, two export sets
#   share/metarl/mujoco/*.xml               the MuJoCo models of halfcheetah-* and the ants
#
# Two export sets, because a plug-in environment needs envs alone: metarlEnvsTargets
# (metarl::envs, torch-free) and metarlTargets (metarl::agents, metarl::meta,
# metarl::metarl), which the package config loads only when asked for LibTorch users.

option(METARL_INSTALL "Generate the install rules and the CMake package" ${METARL_IS_TOP_LEVEL})
if(NOT METARL_INSTALL)
  return()
endif()

include(CMakePackageConfigHelpers)

set(METARL_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/metarl)
set(metarl_libraries metarl_envs metarl_agents metarl_meta)

# Exported as metarl::envs, metarl::agents, metarl::meta, the names of the aliases the
# build tree has; metarl_library is metarl::metarl (meta/CMakeLists.txt).
set_target_properties(metarl_envs PROPERTIES EXPORT_NAME envs)
set_target_properties(metarl_agents PROPERTIES EXPORT_NAME agents)
set_target_properties(metarl_meta PROPERTIES EXPORT_NAME meta)

# A torch-free user of metarl::envs shares std::string with code built under
# LibTorch's string ABI (in the build tree CMAKE_CXX_FLAGS carries it; metarl::metarl
# users get it from the torch target), so the installed metarl::envs says which.
if(NOT METARL_TORCH_CXX11_ABI STREQUAL "")
  target_compile_definitions(metarl_envs INTERFACE $<INSTALL_INTERFACE:_GLIBCXX_USE_CXX11_ABI=${METARL_TORCH_CXX11_ABI}>)
endif()

# Sonames carry major.minor, the same compatibility rule as the package version file
# and the plug-in loader (0.x: a minor release may break the ABI).
set_target_properties(${metarl_libraries} PROPERTIES
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})

# RPATH of the installed files: relative, so the prefix can move. The libraries find
# each other beside them, the executable finds them in ../lib; directories of linked
# libraries outside the build tree (a LibTorch under /opt) are kept, system ones are not.
file(RELATIVE_PATH metarl_bin_to_lib /${CMAKE_INSTALL_BINDIR} /${CMAKE_INSTALL_LIBDIR})
set_target_properties(${metarl_libraries} PROPERTIES
  INSTALL_RPATH "$ORIGIN"
  INSTALL_RPATH_USE_LINK_PATH ON)

install(TARGETS metarl_envs EXPORT metarlEnvsTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS metarl_agents metarl_meta metarl_library EXPORT metarlTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
if(TARGET metarl)
  set_target_properties(metarl PROPERTIES
    INSTALL_RPATH "$ORIGIN/${metarl_bin_to_lib}"
    INSTALL_RPATH_USE_LINK_PATH ON)
  install(TARGETS metarl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# Every header of the three libraries is public: they include one another by the
# same paths, so a partial set would not compile.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/envs ${PROJECT_SOURCE_DIR}/agents ${PROJECT_SOURCE_DIR}/meta
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/metarl
  FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/generated/envs/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/metarl/envs)
# The MuJoCo models, for reading and for MuJoCo's own tools (simulate, compile). The
# library does not read them: it carries the same text (envs/CMakeLists.txt).
install(FILES ${PROJECT_SOURCE_DIR}/envs/mujoco/half_cheetah.xml ${PROJECT_SOURCE_DIR}/envs/mujoco/ant.xml
  DESTINATION ${CMAKE_INSTALL_DATADIR}/metarl/mujoco)

install(EXPORT metarlEnvsTargets NAMESPACE metarl:: DESTINATION ${METARL_INSTALL_CMAKEDIR})
install(EXPORT metarlTargets NAMESPACE metarl:: DESTINATION ${METARL_INSTALL_CMAKEDIR})

# The package config finds LibTorch where this build found it, unless the outside
# project says otherwise (Torch_DIR, CMAKE_PREFIX_PATH).
set(METARL_TORCH_DIR "${Torch_DIR}")
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/metarlConfig.cmake.in
  ${PROJECT_BINARY_DIR}/metarlConfig.cmake
  INSTALL_DESTINATION ${METARL_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/metarlConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/metarlConfig.cmake ${PROJECT_BINARY_DIR}/metarlConfigVersion.cmake
  DESTINATION ${METARL_INSTALL_CMAKEDIR})
