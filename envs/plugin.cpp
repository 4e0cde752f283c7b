#include "envs/plugin.h"

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "envs/errors.h"

namespace metarl::envs {

namespace {

namespace fs = std::filesystem;

using AbiVersionFn = int (*)();
using VersionFn = const char* (*)();
using Cxx11AbiFn = int (*)();
using RegisterFn = int (*)(EnvRegistry*, char*, std::size_t);

// A plug-in accepted into some registry; the registry tells a later clash whom the
// name belongs to.
struct Accepted {
  const EnvRegistry* registry;
  std::string canonical_path;
  LoadedPlugin plugin;
};

std::mutex& loaded_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<Accepted>& accepted() {
  static std::vector<Accepted> plugins;
  return plugins;
}

// Everything the loader says starts with the path as the user gave it.
[[noreturn]] void refuse(const std::string& path, const std::string& problem) {
  throw UsageError("plug-in '" + path + "' " + problem);
}

std::string major_minor(const std::string& version) {
  const auto first = version.find('.');
  if (first == std::string::npos) return version;
  return version.substr(0, version.find('.', first + 1));
}

std::string abi_name(int cxx11_abi) {
  return cxx11_abi < 0 ? "not libstdc++" : "_GLIBCXX_USE_CXX11_ABI=" + std::to_string(cxx11_abi);
}

// Closes a library whose C++ code never ran. One whose register function ran is
// never closed: it may have left objects behind (std::function targets in the scratch
// registry, exception or typeinfo data, atexit handlers) that point into its code.
struct Handle {
  void* library = nullptr;
  bool keep = false;
  ~Handle() {
    if (library && !keep) ::dlclose(library);
  }
};

void* entry_point(void* library, const char* symbol) {
  ::dlerror();  // clear a stale message
  return ::dlsym(library, symbol);
}

}  // namespace

LoadedPlugin load_plugin(const std::string& path, EnvRegistry& registry) {
  // A name without a slash would make dlopen search the library path, loading some
  // other file than the one the user named; an absolute path loads exactly it.
  std::error_code error;
  const fs::path file = fs::absolute(path, error);
  if (error || !fs::exists(file, error)) {
    refuse(path, "does not exist; expected the path of a shared library built with METARL_PLUGIN (envs/plugin.h)");
  }
  if (!fs::is_regular_file(file, error)) {
    refuse(path, "is not a file; expected a shared library built with METARL_PLUGIN");
  }
  const std::string canonical = fs::weakly_canonical(file, error).string();
  {
    std::lock_guard<std::mutex> lock(loaded_mutex());
    for (const auto& a : accepted()) {
      if (a.registry == &registry && a.canonical_path == canonical) {
        refuse(path, "is already loaded (given twice?)");
      }
    }
  }

  Handle handle;
  handle.library = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle.library) {
    const char* reason = ::dlerror();
    refuse(path, std::string("is not a loadable shared library (") + (reason ? reason : "dlopen failed") +
                     "); expected a .so built with METARL_PLUGIN against this metarl");
  }

  const auto abi_version =
      reinterpret_cast<AbiVersionFn>(entry_point(handle.library, "metarl_plugin_abi_version"));
  if (!abi_version) {
    refuse(path, "has no metarl entry point (metarl_plugin_abi_version); expected a library that uses "
                 "METARL_PLUGIN(register_function) from envs/plugin.h");
  }
  // Only the ABI version is read before it is known to match: the other entry points
  // may mean something else in another ABI.
  const int plugin_abi = abi_version();
  if (plugin_abi != kPluginAbiVersion) {
    refuse(path, "was built for plug-in ABI version " + std::to_string(plugin_abi) + ", expected " +
                     std::to_string(kPluginAbiVersion) + " (metarl " METARL_VERSION
                     "); rebuild it against this metarl");
  }
  const auto version = reinterpret_cast<VersionFn>(entry_point(handle.library, "metarl_plugin_metarl_version"));
  const auto cxx11_abi = reinterpret_cast<Cxx11AbiFn>(entry_point(handle.library, "metarl_plugin_cxx11_abi"));
  const auto register_envs = reinterpret_cast<RegisterFn>(entry_point(handle.library, "metarl_plugin_register"));
  if (!version || !cxx11_abi || !register_envs) {
    refuse(path, "has an incomplete metarl entry point (metarl_plugin_metarl_version, metarl_plugin_cxx11_abi, "
                 "metarl_plugin_register); expected a library that uses METARL_PLUGIN from envs/plugin.h");
  }
  const std::string plugin_version = version() ? version() : "";
  if (major_minor(plugin_version) != major_minor(METARL_VERSION)) {
    refuse(path, "was built against metarl " + plugin_version + ", expected " + major_minor(METARL_VERSION) +
                     ".x (this is metarl " METARL_VERSION "); rebuild it against this metarl");
  }
  if (cxx11_abi() != METARL_PLUGIN_CXX11_ABI) {
    refuse(path, "was built with the std::string ABI " + abi_name(cxx11_abi()) + ", expected " +
                     abi_name(METARL_PLUGIN_CXX11_ABI) + " (the one LibTorch and metarl use)");
  }

  EnvRegistry scratch;
  std::array<char, 1024> message{};
  handle.keep = true;  // from here on the library's code has run
  if (register_envs(&scratch, message.data(), message.size()) != 0) {
    refuse(path, std::string("failed in its register function: ") + message.data());
  }
  const std::vector<std::string> names = scratch.names();
  if (names.empty()) refuse(path, "registers no environment; expected its register function to call registry.add()");

  std::lock_guard<std::mutex> lock(loaded_mutex());
  for (const auto& name : names) {
    if (!registry.find(name)) continue;
    std::string owner = "a built-in environment";
    for (const auto& a : accepted()) {
      const auto& taken = a.plugin.environments;
      if (a.registry == &registry && std::find(taken.begin(), taken.end(), name) != taken.end()) {
        owner = "registered by plug-in '" + a.plugin.path + "'";
      }
    }
    refuse(path, "registers environment '" + name + "', which is already taken (" + owner +
                     "); expected names that are not registered yet");
  }
  registry.merge(std::move(scratch));
  LoadedPlugin plugin{path, plugin_version, names};
  accepted().push_back({&registry, canonical, plugin});
  return plugin;
}

std::vector<LoadedPlugin> loaded_plugins() {
  std::lock_guard<std::mutex> lock(loaded_mutex());
  std::vector<LoadedPlugin> out;
  for (const auto& a : accepted()) out.push_back(a.plugin);
  return out;
}

}  // namespace metarl::envs
