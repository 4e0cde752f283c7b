#pragma once
// Config schemas: one table of keys per config struct drives every way a value gets
// in or out — YAML files, `--set key=value`, the generated command-line flags,
// validation, and the effective config printed or saved. A key added to a table is
// available everywhere at once. Errors are UsageError naming the key, the value and
// what was expected.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "envs/enum_names.h"
#include "envs/errors.h"
#include "envs/task_distribution.h"
#include "envs/task_process.h"

namespace metarl::meta {

template <typename Config>
struct ConfigKey {
  std::string name;      // snake_case, as in YAML; the CLI flag is --name-with-dashes
  std::string help;      // with units and the allowed values
  bool is_flag = false;  // a boolean: the CLI takes --name / --no-name without a value
  // Parses and range-checks `value`, then stores it.
  std::function<void(Config&, const std::string& value)> set;
  std::function<std::string(const Config&)> get;
  // The value's kind in --help: INT, REAL, NAME, LIST, ... (metarl train --help).
  std::string type_name = "TEXT";
};

// Value parsing shared by every schema; each throws UsageError naming `key`.
namespace config_values {
// "config key '<key>': value '<value>' is invalid; expected <expected>", the one
// wording of a bad value, for parsers of keys of their own (evaluation's lists).
[[noreturn]] void bad_value(const std::string& key, const std::string& value, const std::string& expected);
long long parse_integer(const std::string& key, const std::string& value, long long low, long long high);
double parse_real(const std::string& key, const std::string& value, double low, double high);
bool parse_bool(const std::string& key, const std::string& value);
std::string parse_choice(const std::string& key, const std::string& value, const std::vector<std::string>& choices);
std::string parse_name(const std::string& key, const std::string& value);
// An environment: a name (parse_name) or a mixture of families, comma-separated
// ("cartpole, pendulum" → "cartpole,pendulum"); UsageError for an empty family, one
// family listed twice, or fewer than two.
std::string parse_environment(const std::string& key, const std::string& value);
// Non-negative finite reals, comma-separated (a YAML list arrives comma-joined), e.g.
// "2, 1"; empty (or []): none.
std::vector<double> parse_weights(const std::string& key, const std::string& value);
std::string format_weights(const std::vector<double>& weights);
std::string parse_device(const std::string& key, const std::string& value);
std::vector<std::int64_t> parse_layer_sizes(const std::string& key, const std::string& value);
// Task parameters' ranges, comma-separated (a YAML list arrives comma-joined), each
//   NAME=V                  held fixed at V
//   NAME=LOW..HIGH          training range; held-out range the same (no extrapolation)
//   NAME=LOW..HIGH/LOW..HIGH  training range / held-out range
// e.g. "mass=0.5, target_angle=-0.78..0.78/-0.9..0.9". Empty (or []): none. Which
// names exist is the environment's to check (envs::TaskDistribution::with_ranges).
std::vector<envs::TaskRangeOverride> parse_task_ranges(const std::string& key, const std::string& value);
// The list in that syntax, shortest form per entry: "[mass=0.5, target_angle=...]".
std::string format_task_ranges(const std::vector<envs::TaskRangeOverride>& ranges);
// Task processes (envs/task_process.h), comma-separated, each NAME=KIND(VALUE) with KIND
// walk, switch, drift or scale, e.g. "goal_x=walk(0.05), mass=scale(0.9)". Empty (or []):
// none. Which names exist and which values each kind allows is the environment's
// distribution's to check (envs::TaskProcess).
std::vector<envs::TaskProcessTerm> parse_task_process(const std::string& key, const std::string& value);
// The list in that syntax: "[goal_x=walk(0.05), mass=scale(0.9)]".
std::string format_task_process(const std::vector<envs::TaskProcessTerm>& terms);
// The shortest decimal that reads back to exactly `value` (0.2, not 0.2000…01), whole
// numbers below 10^17 in digits (100000, not 1e+05).
std::string format_real(double value);
std::string format_layer_sizes(const std::vector<std::int64_t>& sizes);
}  // namespace config_values

// Schema-independent pieces, defined once in config_schema.cpp.
namespace config_detail {
// Calls apply(key, value) for each entry of a YAML mapping; sequences of scalars
// arrive comma-joined. UsageError (naming `origin`) for malformed YAML or shapes.
void for_each_yaml_entry(const std::string& yaml_text, const std::string& origin,
                         const std::function<void(const std::string&, const std::string&)>& apply);
// The text of a config file: a regular file of at most kMaxConfigBytes. UsageError
// otherwise, naming the file and, for a system error, its reason.
inline constexpr long long kMaxConfigBytes = 1 << 20;
std::string read_text_file(const std::string& path);
// The closest of `names` to `unknown` by edit distance, or "" when none is close.
std::string closest_name(const std::string& unknown, const std::vector<std::string>& names);
std::string trim(const std::string& s);
}  // namespace config_detail

template <typename Config>
class ConfigSchema {
 public:
  ConfigSchema(std::string what, std::vector<ConfigKey<Config>> keys) : what_(std::move(what)), keys_(std::move(keys)) {}

  const std::vector<ConfigKey<Config>>& keys() const { return keys_; }

  const ConfigKey<Config>* find(const std::string& name) const {
    for (const auto& key : keys_) {
      if (key.name == name) return &key;
    }
    return nullptr;
  }

  std::string suggest(const std::string& unknown) const {
    std::vector<std::string> names;
    for (const auto& key : keys_) names.push_back(key.name);
    return config_detail::closest_name(unknown, names);
  }

  // Sets one key; UsageError for an unknown key (with a suggestion) or a bad value.
  void set(Config& config, const std::string& key, const std::string& value) const {
    const auto* entry = find(key);
    if (!entry) {
      const std::string suggestion = suggest(key);
      throw UsageError("unknown " + what_ + " key '" + quoted_value(key) + "'" +
                       (suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)"));
    }
    entry->set(config, value);
  }

  // "key=value", as given to --set.
  void apply_override(Config& config, const std::string& assignment) const {
    const auto equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw UsageError("--set '" + quoted_value(assignment) + "': expected key=value");
    }
    set(config, config_detail::trim(assignment.substr(0, equals)), assignment.substr(equals + 1));
  }

  // Applies every key of a YAML mapping on top of `config`; `origin` names the source.
  void load_yaml(Config& config, const std::string& yaml_text, const std::string& origin) const {
    config_detail::for_each_yaml_entry(yaml_text, origin, [&](const std::string& key, const std::string& value) {
      try {
        set(config, key, value);
      } catch (const UsageError& e) {
        throw UsageError(origin + ": " + e.what());
      }
    });
  }

  void load_file(Config& config, const std::string& path) const {
    load_yaml(config, config_detail::read_text_file(path), path);
  }

  // The config as YAML; load_yaml() reads it back to the same config.
  std::string to_yaml(const Config& config) const {
    std::string out = "# metarl effective " + what_ + "; `--config` reads it back.\n";
    for (const auto& key : keys_) {
      // An empty value (an optional name) is written as "": a bare `key:` would read
      // back as YAML null, which is not a value.
      const std::string value = key.get(config);
      out += key.name + ": " + (value.empty() ? "\"\"" : value) + "\n";
    }
    return out;
  }

 private:
  std::string what_;
  std::vector<ConfigKey<Config>> keys_;
};

// Where a key's value lives in its config: a member, or a member of a member (the
// option structs TrainConfig holds, e.g. field(&TrainConfig::policy,
// &MlpOptions::hidden_sizes)). `read`, when set, reads a const config without writing
// it (an outer step's options: meta/step_options.h); otherwise `access` does both.
template <typename Config, typename T>
struct FieldRef {
  std::function<T&(Config&)> access;
  std::function<const T&(const Config&)> read = {};
  T& operator()(Config& config) const { return access(config); }
  const T& operator()(const Config& config) const {
    return read ? read(config) : access(const_cast<Config&>(config));
  }
};

template <typename Config, typename T>
FieldRef<Config, T> field(T Config::*member) {
  return {[member](Config& c) -> T& { return c.*member; }};
}

// `Owner` is `Part` or a base of it (TrainingRuntime's RuntimeOptions members).
template <typename Config, typename Part, typename Owner, typename T>
FieldRef<Config, T> field(Part Config::*part, T Owner::*member) {
  return {[part, member](Config& c) -> T& { return (c.*part).*member; }};
}

// A member of a section's section (TrainConfig::evaluation's protocol).
template <typename Config, typename Part, typename Section, typename T>
FieldRef<Config, T> field(Part Config::*part, Section Part::*section, T Section::*member) {
  return {[part, section, member](Config& c) -> T& { return ((c.*part).*section).*member; }};
}

// Key makers: each binds a config field to its parser and range.
template <typename Config>
ConfigKey<Config> int_key(const std::string& name, std::string help, FieldRef<Config, int> field, int low, int high) {
  return {name, std::move(help), false,
          [name, field, low, high](Config& c, const std::string& v) {
            field(c) = static_cast<int>(config_values::parse_integer(name, v, low, high));
          },
          [field](const Config& c) { return std::to_string(field(c)); }, "INT"};
}

template <typename Config>
ConfigKey<Config> int_key(const std::string& name, std::string help, int Config::*member, int low, int high) {
  return int_key<Config>(name, std::move(help), field(member), low, high);
}

template <typename Config>
ConfigKey<Config> seed_key(const std::string& name, std::string help, std::uint64_t Config::*member) {
  return {name, std::move(help), false,
          [name, member](Config& c, const std::string& v) {
            c.*member = static_cast<std::uint64_t>(config_values::parse_integer(name, v, 0, INT64_MAX));
          },
          [member](const Config& c) { return std::to_string(c.*member); }, "UINT64"};
}

template <typename Config>
ConfigKey<Config> real_key(const std::string& name, std::string help, FieldRef<Config, double> field, double low,
                           double high) {
  return {name, std::move(help), false,
          [name, field, low, high](Config& c, const std::string& v) {
            field(c) = config_values::parse_real(name, v, low, high);
          },
          [field](const Config& c) { return config_values::format_real(field(c)); }, "REAL"};
}

template <typename Config>
ConfigKey<Config> real_key(const std::string& name, std::string help, double Config::*member, double low,
                           double high) {
  return real_key<Config>(name, std::move(help), field(member), low, high);
}

template <typename Config>
ConfigKey<Config> bool_key(const std::string& name, std::string help, FieldRef<Config, bool> field) {
  return {name, std::move(help), true,
          [name, field](Config& c, const std::string& v) { field(c) = config_values::parse_bool(name, v); },
          [field](const Config& c) { return std::string(field(c) ? "true" : "false"); }, "BOOL"};
}

template <typename Config>
ConfigKey<Config> bool_key(const std::string& name, std::string help, bool Config::*member) {
  return bool_key<Config>(name, std::move(help), field(member));
}

template <typename Config>
ConfigKey<Config> choice_key(const std::string& name, std::string help, FieldRef<Config, std::string> field,
                             std::vector<std::string> choices) {
  return {name, std::move(help), false,
          [name, field, choices](Config& c, const std::string& v) {
            field(c) = config_values::parse_choice(name, v, choices);
          },
          [field](const Config& c) { return field(c); }, "CHOICE"};
}

template <typename Config>
ConfigKey<Config> choice_key(const std::string& name, std::string help, std::string Config::*member,
                             std::vector<std::string> choices) {
  return choice_key<Config>(name, std::move(help), field(member), std::move(choices));
}

// An enum, by the names of its one table (envs/enum_names.h); `excluded` values are
// not accepted here (the `random` algorithm trains nothing).
template <typename Config, typename Enum>
ConfigKey<Config> enum_key(const std::string& name, std::string help, FieldRef<Config, Enum> field,
                           const EnumNames<Enum>& names, std::vector<Enum> excluded = {}) {
  EnumNames<Enum> allowed;
  for (const auto& entry : names) {
    if (std::find(excluded.begin(), excluded.end(), entry.first) == excluded.end()) allowed.push_back(entry);
  }
  std::vector<std::string> choices;
  for (const auto& entry : allowed) choices.push_back(entry.second);
  return {name, std::move(help), false,
          [name, field, allowed, choices](Config& c, const std::string& v) {
            const std::string chosen = config_values::parse_choice(name, v, choices);
            field(c) = parse_enum(allowed, name, chosen);
          },
          [field, names](const Config& c) { return enum_name(names, field(c)); }, "CHOICE"};
}

template <typename Config, typename Enum>
ConfigKey<Config> enum_key(const std::string& name, std::string help, Enum Config::*member,
                           const EnumNames<Enum>& names, std::vector<Enum> excluded = {}) {
  return enum_key<Config, Enum>(name, std::move(help), field(member), names, std::move(excluded));
}

template <typename Config>
ConfigKey<Config> name_key(const std::string& name, std::string help, std::string Config::*member) {
  return {name, std::move(help), false,
          [name, member](Config& c, const std::string& v) { c.*member = config_values::parse_name(name, v); },
          [member](const Config& c) { return c.*member; }, "NAME"};
}

// `task_process`: a list of per-parameter processes (config_values::parse_task_process).
template <typename Config>
ConfigKey<Config> task_process_key(std::string help, std::vector<envs::TaskProcessTerm> Config::*member) {
  return {"task_process", std::move(help), false,
          [member](Config& c, const std::string& v) { c.*member = config_values::parse_task_process("task_process", v); },
          [member](const Config& c) { return config_values::format_task_process(c.*member); }, "LIST"};
}

template <typename Config>
ConfigKey<Config> device_key(const std::string& name, std::string help, FieldRef<Config, std::string> field) {
  return {name, std::move(help), false,
          [name, field](Config& c, const std::string& v) { field(c) = config_values::parse_device(name, v); },
          [field](const Config& c) { return field(c); }, "DEVICE"};
}

template <typename Config>
ConfigKey<Config> layer_sizes_key(const std::string& name, std::string help,
                                  FieldRef<Config, std::vector<std::int64_t>> field) {
  return {name, std::move(help), false,
          [name, field](Config& c, const std::string& v) { field(c) = config_values::parse_layer_sizes(name, v); },
          [field](const Config& c) { return config_values::format_layer_sizes(field(c)); }, "SIZES"};
}

}  // namespace metarl::meta
