# CTest python.installed: `cmake --install` into a scratch prefix puts a package that
# imports (finding metarl's libraries through its relative RUNPATH), and the default
# destination under /usr/local is on the interpreter's own path (Debian's python3
# imports /usr/local/lib/python3.X/dist-packages), so the real install needs nothing set.
# -DBUILD_DIR -DPREFIX -DPYTHON -DPACKAGE_DIR (the install directory of the package,
# relative to the prefix)
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX}
                RESULT_VARIABLE status OUTPUT_QUIET)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "cmake --install failed: ${status}")
endif()
get_filename_component(site ${PREFIX}/${PACKAGE_DIR} DIRECTORY)
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env PYTHONPATH=${site} ${PYTHON} -c
          "import metarl, sys; assert metarl.__file__.startswith('${site}'), metarl.__file__; env = metarl.make_env('cartpole', 2); env.reset(); print('imported', metarl.__version__, 'from', metarl.__file__)"
  WORKING_DIRECTORY ${PREFIX}  # not the build tree, whose metarl/ would be imported instead
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
message(STATUS "${output}${errors}")
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the installed package does not import")
endif()
get_filename_component(default_site /usr/local/${PACKAGE_DIR} DIRECTORY)
execute_process(COMMAND ${PYTHON} -c "import sys; print('\\n'.join(sys.path))" OUTPUT_VARIABLE path)
string(FIND "${path}" "${default_site}" found)
if(found EQUAL -1)
  message(FATAL_ERROR "${default_site} (where a /usr/local install puts metarl) is not on ${PYTHON}'s path:\n${path}")
endif()
