#pragma once
// The command-line face of a config schema, shared by `train` and `eval`: one flag
// per key (meta_batch → --meta-batch; booleans as --name / --no-name), --config FILE,
// --set key=value and --print-config. Values apply in the order: defaults, --config,
// flags, --set; a flag given twice keeps its last value. A list key may also take
// positional arguments (`metarl eval RUN_DIR ...`), which count as its flag.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "meta/schema/config_schema.h"

namespace metarl::apps {

inline std::string flag_name(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

template <typename Config>
class ConfigFlags {
 public:
  explicit ConfigFlags(const meta::ConfigSchema<Config>& schema) : schema_(schema) {}

  // Registers the flags on `command`; this object must outlive the parse.
  void add_to(CLI::App& command) {
    command.add_option("--config", config_file_, "YAML file of config keys")->check(CLI::ExistingFile);
    command.add_option("--set", overrides_, "Override a config key: --set key=value (repeatable)");
    command.add_flag("--print-config", print_config_, "Print the effective config as YAML and exit");
    static const Config defaults;  // the built-in values --help shows
    for (const auto& key : schema_.keys()) {
      const std::string flag = flag_name(key.name);
      if (key.is_flag) {
        bool_values_[key.name] = false;
        command.add_flag(flag + ",!--no-" + flag.substr(2), bool_values_[key.name], key.help);
      } else {
        values_[key.name] = "";
        // --help shows the value's kind and the built-in default (a --config file's
        // values come on top of it).
        const std::string default_value = key.get(defaults);
        command.add_option(flag, values_[key.name], key.help)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
            ->type_name(key.type_name)
            ->default_str(default_value.empty() ? "" : default_value);
      }
    }
  }

  // Positional arguments that give the list key `key` (comma-joined, as a YAML list
  // arrives) at flag precedence; `name` is their placeholder in --help (RUN_DIR).
  void add_positional(CLI::App& command, const std::string& name, const std::string& key, const std::string& help) {
    positional_name_ = name;
    positional_key_ = key;
    command.add_option(name, positional_values_, help);
  }

  // Every config source the user gave (--config, --set, key flags), by name.
  std::vector<std::string> given(const CLI::App& command) const {
    std::vector<std::string> names;
    if (!config_file_.empty()) names.push_back("--config");
    if (!overrides_.empty()) names.push_back("--set");
    if (!positional_values_.empty()) names.push_back(positional_name_);
    for (const auto& key : schema_.keys()) {
      if (given_flag(command, key)) names.push_back(flag_name(key.name));
    }
    return names;
  }

  Config effective(const CLI::App& command, Config config = Config{}) const {
    if (!config_file_.empty()) schema_.load_file(config, config_file_);
    for (const auto& key : schema_.keys()) {
      if (!given_flag(command, key)) continue;
      key.set(config, key.is_flag ? (bool_values_.at(key.name) ? "true" : "false") : values_.at(key.name));
    }
    if (!positional_values_.empty()) {
      const auto* key = schema_.find(positional_key_);
      if (given_flag(command, *key)) {
        throw UsageError(positional_name_ + " arguments and " + flag_name(key->name) +
                         " both give the " + key->name + " list; use one of them");
      }
      std::string joined;
      for (const auto& value : positional_values_) joined += (joined.empty() ? "" : ",") + value;
      key->set(config, joined);
    }
    for (const auto& assignment : overrides_) schema_.apply_override(config, assignment);
    return config;
  }

  // Whether the user set `key` by its flag or by --set.
  bool sets(const CLI::App& command, const std::string& key) const {
    const auto* entry = schema_.find(key);
    if (entry && given_flag(command, *entry)) return true;
    for (const auto& assignment : overrides_) {
      const auto equals = assignment.find('=');
      if (equals != std::string::npos && meta::config_detail::trim(assignment.substr(0, equals)) == key) return true;
    }
    return false;
  }

  bool print_config() const { return print_config_; }
  std::string to_yaml(const Config& config) const { return schema_.to_yaml(config); }

 private:
  static bool given_flag(const CLI::App& command, const meta::ConfigKey<Config>& key) {
    const std::string flag = flag_name(key.name);
    return command.count(flag) > 0 || (key.is_flag && command.count("--no-" + flag.substr(2)) > 0);
  }

  const meta::ConfigSchema<Config>& schema_;
  std::string config_file_;
  std::vector<std::string> overrides_;
  bool print_config_ = false;
  std::map<std::string, std::string> values_;  // key → value given as a flag
  std::map<std::string, bool> bool_values_;    // key → value of a boolean flag
  std::string positional_name_;                // e.g. RUN_DIR; "" without positional arguments
  std::string positional_key_;
  std::vector<std::string> positional_values_;
};

}  // namespace metarl::apps
