#include "meta/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "envs/errors.h"

namespace metarl::meta {

namespace {

[[noreturn]] void bad_value(const std::string& key, const std::string& value, const std::string& expected) {
  throw UsageError("config key '" + key + "': value '" + value + "' is invalid; expected " + expected);
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

long long parse_integer(const std::string& key, const std::string& value, long long low, long long high) {
  const std::string expected = "an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "]";
  const std::string text = trim(value);
  if (text.empty()) bad_value(key, value, expected);
  char* end = nullptr;
  errno = 0;
  const long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0' || parsed < low || parsed > high) bad_value(key, value, expected);
  return parsed;
}

double parse_real(const std::string& key, const std::string& value, double low, double high) {
  std::ostringstream expected;
  expected << "a number in [" << low << ", " << high << "]";
  const std::string text = trim(value);
  if (text.empty()) bad_value(key, value, expected.str());
  char* end = nullptr;
  errno = 0;
  const double parsed = std::strtod(text.c_str(), &end);
  if (errno == ERANGE || *end != '\0' || !std::isfinite(parsed) || parsed < low || parsed > high) {
    bad_value(key, value, expected.str());
  }
  return parsed;
}

bool parse_bool(const std::string& key, const std::string& value) {
  const std::string text = trim(value);
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  bad_value(key, value, "true or false");
}

// The shortest decimal that reads back to exactly `value` (0.2, not 0.2000…01).
std::string format_real(double value) {
  for (int precision = 1; precision < std::numeric_limits<double>::max_digits10; ++precision) {
    std::ostringstream out;
    out.precision(precision);
    out << value;
    if (std::strtod(out.str().c_str(), nullptr) == value) return out.str();
  }
  std::ostringstream out;
  out.precision(std::numeric_limits<double>::max_digits10);
  out << value;
  return out.str();
}

// Key makers: each binds a TrainConfig field to its parser and range.
ConfigKey int_key(std::string name, std::string help, int TrainConfig::*field, int low, int high) {
  return {name, std::move(help), false,
          [name, field, low, high](TrainConfig& c, const std::string& v) {
            c.*field = static_cast<int>(parse_integer(name, v, low, high));
          },
          [field](const TrainConfig& c) { return std::to_string(c.*field); }};
}

ConfigKey real_key(std::string name, std::string help, double TrainConfig::*field, double low, double high) {
  return {name, std::move(help), false,
          [name, field, low, high](TrainConfig& c, const std::string& v) { c.*field = parse_real(name, v, low, high); },
          [field](const TrainConfig& c) { return format_real(c.*field); }};
}

ConfigKey bool_key(std::string name, std::string help, bool TrainConfig::*field) {
  return {name, std::move(help), true,
          [name, field](TrainConfig& c, const std::string& v) { c.*field = parse_bool(name, v); },
          [field](const TrainConfig& c) { return std::string(c.*field ? "true" : "false"); }};
}

ConfigKey choice_key(std::string name, std::string help, std::string TrainConfig::*field,
                     std::vector<std::string> choices) {
  return {name, std::move(help), false,
          [name, field, choices](TrainConfig& c, const std::string& v) {
            const std::string text = trim(v);
            if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
              std::string expected = "one of:";
              for (const auto& choice : choices) expected += " " + choice;
              bad_value(name, v, expected);
            }
            c.*field = text;
          },
          [field](const TrainConfig& c) { return c.*field; }};
}

ConfigKey text_key(std::string name, std::string help, std::string TrainConfig::*field) {
  return {name, std::move(help), false,
          [name, field](TrainConfig& c, const std::string& v) {
            const std::string text = trim(v);
            if (text.empty()) bad_value(name, v, "a non-empty name");
            c.*field = text;
          },
          [field](const TrainConfig& c) { return c.*field; }};
}

// "100,100", "[100, 100]" or "100 100" → {100, 100}.
ConfigKey layer_sizes_key(std::string name, std::string help, std::vector<std::int64_t> TrainConfig::*field) {
  return {name, std::move(help), false,
          [name, field](TrainConfig& c, const std::string& v) {
            std::string text = v;
            std::replace_if(text.begin(), text.end(), [](char ch) { return ch == ',' || ch == '[' || ch == ']'; }, ' ');
            std::istringstream in(text);
            std::vector<std::int64_t> sizes;
            std::string item;
            const std::string expected = "a list of 1 to 8 layer sizes in [1, 4096], e.g. 100,100";
            while (in >> item) {
              try {
                sizes.push_back(parse_integer(name, item, 1, 4096));
              } catch (const UsageError&) {
                bad_value(name, v, expected);
              }
            }
            if (sizes.empty() || sizes.size() > 8) bad_value(name, v, expected);
            c.*field = sizes;
          },
          [field](const TrainConfig& c) {
            std::string out = "[";
            for (size_t i = 0; i < (c.*field).size(); ++i) out += (i ? ", " : "") + std::to_string((c.*field)[i]);
            return out + "]";
          }};
}

std::vector<ConfigKey> make_keys() {
  constexpr int kMaxCount = 1'000'000;
  std::vector<ConfigKey> keys;
  keys.push_back(text_key("env", "environment name (see `metarl envs`)", &TrainConfig::env));
  keys.push_back(choice_key("algo", "meta-learner: meta-sgd (learned per-parameter step α) or maml (fixed scalar α)",
                            &TrainConfig::algo, {"meta-sgd", "maml"}));
  keys.push_back(int_key("iterations", "meta-iterations to run", &TrainConfig::iterations, 1, kMaxCount));
  keys.push_back(int_key("meta_batch", "tasks per meta-iteration (T)", &TrainConfig::meta_batch, 1, 100000));
  keys.push_back(int_key("rollouts", "rollouts per task and adaptation step (R)", &TrainConfig::rollouts, 1, 100000));
  keys.push_back(int_key("horizon", "steps per rollout (H); 0 = the environment's time limit", &TrainConfig::horizon,
                         0, 100000));
  keys.push_back(int_key("inner_steps", "adaptation steps per task (k)", &TrainConfig::inner_steps, 1, 100));
  keys.push_back(real_key("inner_lr", "inner step size: MAML's fixed α, Meta-SGD's initial α", &TrainConfig::inner_lr,
                          0.0, 1e3));
  keys.push_back(bool_key("first_order", "drop the second-order terms of the meta-gradient", &TrainConfig::first_order));
  keys.push_back(choice_key("optimizer", "outer optimiser over θ and α", &TrainConfig::optimizer, {"adam"}));
  keys.push_back(real_key("outer_lr", "outer (Adam) step size at the first iteration", &TrainConfig::outer_lr, 1e-8,
                          10.0));
  keys.push_back(choice_key("outer_lr_decay", "outer step-size schedule over the run: none, or linear/cosine decay to 0",
                            &TrainConfig::outer_lr_decay, {"none", "linear", "cosine"}));
  keys.push_back(layer_sizes_key("hidden_sizes", "policy hidden layer sizes, e.g. 100,100", &TrainConfig::hidden_sizes));
  keys.push_back(choice_key("activation", "hidden-layer activation", &TrainConfig::activation, {"relu", "tanh"}));
  keys.push_back(real_key("init_log_std", "initial log standard deviation of the Gaussian policy",
                          &TrainConfig::init_log_std, -10.0, 5.0));
  keys.push_back(real_key("gamma", "discount factor", &TrainConfig::gamma, 0.0, 1.0));
  keys.push_back(real_key("gae_lambda", "GAE lambda (1 = Monte-Carlo returns minus the baseline)",
                          &TrainConfig::gae_lambda, 0.0, 1.0));
  keys.push_back(bool_key("normalize_advantages", "normalise advantages per task", &TrainConfig::normalize_advantages));
  keys.push_back({"seed", "random seed: same seed, same run", false,
                  [](TrainConfig& c, const std::string& v) {
                    c.seed = static_cast<std::uint64_t>(
                        parse_integer("seed", v, 0, std::numeric_limits<long long>::max()));
                  },
                  [](const TrainConfig& c) { return std::to_string(c.seed); }});
  keys.push_back({"device", "where the policy and meta-learner run: cpu, cuda or cuda:N", false,
                  [](TrainConfig& c, const std::string& v) {
                    const std::string text = trim(v);
                    const bool cuda_index = text.rfind("cuda:", 0) == 0 && text.size() > 5 &&
                                            text.find_first_not_of("0123456789", 5) == std::string::npos;
                    if (text != "cpu" && text != "cuda" && !cuda_index) bad_value("device", v, "cpu, cuda or cuda:N");
                    c.device = text;
                  },
                  [](const TrainConfig& c) { return c.device; }});
  keys.push_back(int_key("threads", "torch intra-op threads (0 = one per core; 1 is fastest at small sizes)", &TrainConfig::threads, 0, 1024));
  keys.push_back(int_key("checkpoint_every", "iterations between checkpoints", &TrainConfig::checkpoint_every, 1,
                         kMaxCount));
  return keys;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

const std::vector<ConfigKey>& train_config_keys() {
  static const std::vector<ConfigKey> keys = make_keys();
  return keys;
}

const ConfigKey* find_train_config_key(const std::string& name) {
  for (const auto& key : train_config_keys()) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

std::string suggest_train_config_key(const std::string& unknown) {
  std::string normalized = unknown;
  std::replace(normalized.begin(), normalized.end(), '-', '_');
  std::string best;
  size_t best_distance = std::max<size_t>(3, normalized.size() / 3) + 1;
  for (const auto& key : train_config_keys()) {
    const size_t d = edit_distance(normalized, key.name);
    if (d < best_distance) {
      best_distance = d;
      best = key.name;
    }
  }
  return best;
}

void set_config_value(TrainConfig& config, const std::string& key, const std::string& value) {
  const ConfigKey* entry = find_train_config_key(key);
  if (!entry) {
    const std::string suggestion = suggest_train_config_key(key);
    throw UsageError("unknown config key '" + key + "'" +
                     (suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)"));
  }
  entry->set(config, value);
}

void apply_override(TrainConfig& config, const std::string& assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw UsageError("--set '" + assignment + "': expected key=value");
  }
  set_config_value(config, trim(assignment.substr(0, equals)), assignment.substr(equals + 1));
}

void load_config_yaml(TrainConfig& config, const std::string& yaml_text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw UsageError(origin + ": malformed YAML: " + e.what());
  }
  if (root.IsNull()) return;  // an empty file changes nothing
  if (!root.IsMap()) throw UsageError(origin + ": expected a mapping of config keys to values");
  for (const auto& item : root) {
    const std::string key = item.first.as<std::string>();
    const YAML::Node& node = item.second;
    std::string value;
    if (node.IsScalar()) {
      value = node.Scalar();
    } else if (node.IsSequence()) {
      for (const auto& element : node) {
        if (!element.IsScalar()) throw UsageError(origin + ": key '" + key + "': nested lists are not allowed");
        value += (value.empty() ? "" : ",") + element.Scalar();
      }
    } else {
      throw UsageError(origin + ": key '" + key + "': expected a value, got " +
                       (node.IsMap() ? "a mapping" : "nothing"));
    }
    try {
      set_config_value(config, key, value);
    } catch (const UsageError& e) {
      throw UsageError(origin + ": " + e.what());
    }
  }
}

void load_config_file(TrainConfig& config, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("config file '" + path + "' cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  load_config_yaml(config, text.str(), path);
}

std::string to_yaml(const TrainConfig& config) {
  std::string out = "# metarl effective training config; `metarl train --config` reads it back.\n";
  for (const auto& key : train_config_keys()) out += key.name + ": " + key.get(config) + "\n";
  return out;
}

}  // namespace metarl::meta
