#pragma once
// Plug-in environments: a shared library, built against an installed metarl, that
// adds environments at run time:
//
//   metarl --plugin path/to/libmyenv.so train --env my-env ...
//
// docs/plugins.md walks through one from start to end. A plug-in defines one register
// function and names it once, at global scope:
//
//   void register_envs(metarl::envs::EnvRegistry& registry) {
//     registry.add({"my-env", "one line for `metarl envs`",
//                   [](int batch_size, std::uint64_t seed) { return std::make_unique<MyEnv>(batch_size, seed); }});
//   }
//   METARL_PLUGIN(register_envs)
//
// The boundary is four extern "C" functions, so that the loader can ask a library
// what it was built against before it calls any of the library's C++ code:
//
//   int         metarl_plugin_abi_version(void);     // kPluginAbiVersion; this signature never changes
//   const char* metarl_plugin_metarl_version(void);  // METARL_VERSION, e.g. "0.1.0"
//   int         metarl_plugin_cxx11_abi(void);       // _GLIBCXX_USE_CXX11_ABI: 0 or 1; -1 without libstdc++
//   int         metarl_plugin_register(EnvRegistry* registry, char* error, size_t error_size);  // 0: success
//
// The loader accepts a plug-in whose plug-in ABI version equals its own, whose metarl
// version has the same major.minor and whose std::string ABI is the same, and refuses
// anything else with a message before the register function runs: a BatchedEnv or an
// EnvRegistry of another layout would corrupt memory rather than throw. The register
// entry catches every exception on the plug-in's side and returns its text, so no C++
// exception crosses the library boundary.

#include <cstddef>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "envs/registry.h"
#include "envs/version.h"

// The plug-in ABI version. Bump it whenever a type that crosses the boundary changes
// its layout or its virtual functions — EnvSpec, TaskParameter, TaskBatch,
// TaskDistribution, Rng, BatchedEnv, EnvEntry, EnvRegistry — or when the entry points
// change meaning. A release changes METARL_VERSION too; this number also catches the
// changes between releases, when a plug-in is built against one checkout and loaded by
// another.
#define METARL_PLUGIN_ABI_VERSION 3

// The libstdc++ std::string/std::list ABI of this translation unit (LibTorch fixes it
// for all of metarl); std::string crosses the boundary in EnvSpec and EnvEntry.
#if defined(_GLIBCXX_USE_CXX11_ABI)
#define METARL_PLUGIN_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#else
#define METARL_PLUGIN_CXX11_ABI (-1)
#endif

#define METARL_PLUGIN_EXPORT __attribute__((visibility("default")))

// Defines the entry points of a plug-in whose environments `register_function`
// (a `void(metarl::envs::EnvRegistry&)`) adds. Use once per library, at global scope.
#define METARL_PLUGIN(register_function) \
  METARL_PLUGIN_DECLARE(register_function, METARL_PLUGIN_ABI_VERSION, METARL_VERSION, METARL_PLUGIN_CXX11_ABI)

// What METARL_PLUGIN expands to, with the three build facts spelled out. Plug-ins use
// METARL_PLUGIN; the tests use this to build plug-ins that claim another ABI.
#define METARL_PLUGIN_DECLARE(register_function, abi_version, metarl_version, cxx11_abi)                     \
  extern "C" METARL_PLUGIN_EXPORT int metarl_plugin_abi_version() { return (abi_version); }                  \
  extern "C" METARL_PLUGIN_EXPORT const char* metarl_plugin_metarl_version() { return (metarl_version); }    \
  extern "C" METARL_PLUGIN_EXPORT int metarl_plugin_cxx11_abi() { return (cxx11_abi); }                      \
  extern "C" METARL_PLUGIN_EXPORT int metarl_plugin_register(::metarl::envs::EnvRegistry* registry,          \
                                                             char* error, std::size_t error_size) {          \
    return ::metarl::envs::plugin_detail::call_register(register_function, registry, error, error_size);     \
  }

namespace metarl::envs {

inline constexpr int kPluginAbiVersion = METARL_PLUGIN_ABI_VERSION;

// A plug-in the loader accepted.
struct LoadedPlugin {
  std::string path;                       // as given (e.g. on the command line)
  std::string metarl_version;             // the metarl it was built against
  std::vector<std::string> environments;  // the names it registered, sorted
};

// Loads the plug-in at `path` (dlopen with RTLD_NOW | RTLD_LOCAL) and adds its
// environments to `registry`, all or nothing: the register function fills a scratch
// registry, which is merged only when none of its names is taken. Throws UsageError
// naming the path and what was expected when the file does not exist or is not a
// loadable shared library, has no metarl entry point, was built for another plug-in
// ABI, metarl version or std::string ABI, its register function throws or registers
// nothing, or one of its names is already registered (built in, or by a plug-in loaded
// earlier). An accepted library stays loaded for the life of the process: its
// factories are code inside it.
LoadedPlugin load_plugin(const std::string& path, EnvRegistry& registry = EnvRegistry::global());

// Every plug-in accepted so far in this process, in load order.
std::vector<LoadedPlugin> loaded_plugins();

namespace plugin_detail {

// Runs a plug-in's register function; an exception becomes text in `error`. Inline,
// so it compiles into the plug-in and the try/catch sits on the plug-in's side.
inline int call_register(void (*register_function)(EnvRegistry&), EnvRegistry* registry, char* error,
                         std::size_t error_size) noexcept {
  const char* what = "an exception that is not a std::exception";
  try {
    register_function(*registry);
    return 0;
  } catch (const std::exception& e) {
    if (error && error_size) std::snprintf(error, error_size, "%s", e.what());
    return 1;
  } catch (...) {
  }
  if (error && error_size) std::snprintf(error, error_size, "%s", what);
  return 1;
}

}  // namespace plugin_detail
}  // namespace metarl::envs
