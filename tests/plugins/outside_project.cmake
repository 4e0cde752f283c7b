# CTest's hands for the install tests (tests/plugins/CMakeLists.txt), run as
#   cmake -DSTEP=... [-D...] -P outside_project.cmake
#
# STEP=install  install the metarl build tree BUILD_DIR into PREFIX, emptied first so
#               that nothing from an earlier run can make a broken install pass.
# STEP=build    configure and build the outside CMake project SOURCE_DIR in BINARY_DIR
#               against the installed metarl, the way a user does: PREFIX_PATH is the
#               CMAKE_PREFIX_PATH, '|'-separated (a ';' would split the CTest command);
#               GENERATOR, BUILD_TYPE, CXX_COMPILER, and when set LAUNCHER (ccache),
#               TORCH_DIR, CXX_FLAGS and LINKER_FLAGS (sanitizers), are those metarl was
#               built with. RUN, when set, is a program of the built project to run
#               afterwards.

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${status}): ${command}")
  endif()
endfunction()

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE "${PREFIX}")
  run_step(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}" --config "${BUILD_TYPE}")
elseif(STEP STREQUAL "build")
  string(REPLACE "|" ";" prefix_path "${PREFIX_PATH}")
  set(options
    -G "${GENERATOR}"
    "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    "-DCMAKE_PREFIX_PATH=${prefix_path}")
  if(LAUNCHER)
    list(APPEND options "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
  endif()
  if(TORCH_DIR)
    list(APPEND options "-DTorch_DIR=${TORCH_DIR}")
  endif()
  if(CXX_FLAGS)
    list(APPEND options "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
  endif()
  if(LINKER_FLAGS)
    foreach(kind EXE SHARED MODULE)
      list(APPEND options "-DCMAKE_${kind}_LINKER_FLAGS=${LINKER_FLAGS}")
    endforeach()
  endif()
  # A fresh configure each time (the objects stay): find_package must find the
  # staging prefix now, not what an earlier configure cached.
  file(REMOVE "${BINARY_DIR}/CMakeCache.txt")
  run_step(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${BINARY_DIR}" ${options})
  run_step(${CMAKE_COMMAND} --build "${BINARY_DIR}")
  if(RUN)
    run_step("${BINARY_DIR}/${RUN}")
  endif()
else()
  message(FATAL_ERROR "STEP must be install or build, got '${STEP}'")
endif()
