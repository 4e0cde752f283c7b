#pragma once
// Environments by name. `metarl train --env NAME` looks names up here, so built-in
// and plugged-in environments are found the same way.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "envs/batched_env.h"

namespace metarl::envs {

using EnvFactory = std::function<std::unique_ptr<BatchedEnv>(int batch_size, std::uint64_t seed)>;

// An environment's name is written into configs, reports and --print-config bare: no
// control bytes, nothing YAML reads as structure. True for names of at most 200
// letters, digits and . _ - + / (kPlainNameRule); registration and the config's `env`
// key both hold names to it.
bool is_plain_name(const std::string& name);
inline constexpr const char* kPlainNameRule = "at most 200 letters, digits and . _ - + /";

struct EnvEntry {
  std::string name;
  std::string summary;  // one line for `metarl envs`
  EnvFactory make;
  // The training settings this environment's documented results were reached with, as
  // a YAML mapping of `metarl train` config keys (outer_lr: 0.003, ...); "" for none.
  // `metarl train --env NAME` starts from them: TrainConfig's defaults, then these,
  // then --config, flags and --set (meta::environment_default_config checks the keys).
  std::string training_defaults;
  // One line: what those settings were tuned for, shown by `metarl envs`.
  std::string training_defaults_note;
  // Registered by metarl.register_env in a Python process: the `metarl` command line
  // (check-env, train, eval) does not know it, so messages point to the Python calls.
  bool registered_from_python = false;
};

class EnvRegistry {
 public:
  // The process-wide registry, holding the built-in environments.
  static EnvRegistry& global();

  // Throws std::invalid_argument when the name is empty, not plain (is_plain_name) or
  // taken, or the factory is empty.
  void add(EnvEntry entry);
  // Moves every entry of `other` here, all or nothing: throws std::invalid_argument
  // naming the first name both hold, and then changes neither. The plug-in loader
  // (envs/plugin.h) lets a plug-in register into a scratch registry, then merges it.
  void merge(EnvRegistry&& other);
  // nullptr when unknown.
  const EnvEntry* find(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  // Throws UsageError naming the known environments when `name` is unknown.
  std::unique_ptr<BatchedEnv> make(const std::string& name, int batch_size, std::uint64_t seed) const;

 private:
  std::map<std::string, EnvEntry> entries_;
};

// How a user runs the conformance checks on `name`, for a message: "`metarl check-env
// NAME`", or metarl.check_env for an environment registered from Python.
std::string conformance_command(const std::string& name, const EnvRegistry& registry = EnvRegistry::global());

// Adds point-nav and the other environments shipped with metarl.
void register_builtin_envs(EnvRegistry& registry);

}  // namespace metarl::envs

namespace metarl::envs {

// A human-readable description of one environment: spec, task parameters with
// units, training and held-out ranges, and what the held-out split means.
std::string describe_environment(const std::string& name, const EnvRegistry& registry = EnvRegistry::global());

}  // namespace metarl::envs
