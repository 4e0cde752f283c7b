#include "meta/config.h"


namespace metarl::meta {

const std::vector<ConfigKey<TrainConfig>>& train_config_keys() { return train_config_schema().keys(); }

void set_config_value(TrainConfig& config, const std::string& key, const std::string& value) {
  train_config_schema().set(config, key, value);
}

void apply_override(TrainConfig& config, const std::string& assignment) {
  train_config_schema().apply_override(config, assignment);
}

void load_config_yaml(TrainConfig& config, const std::string& yaml_text, const std::string& origin) {
  train_config_schema().load_yaml(config, yaml_text, origin);
}

void load_config_file(TrainConfig& config, const std::string& path) { train_config_schema().load_file(config, path); }

std::string to_yaml(const TrainConfig& config) { return train_config_schema().to_yaml(config); }

TrainConfig environment_default_config(const std::string& env, const envs::EnvRegistry& registry) {
  TrainConfig config;
  const envs::EnvEntry* entry = registry.find(env);
  if (!entry || entry->training_defaults.empty()) return config;
  const std::string origin = "environment '" + env + "''s training defaults";
  config_detail::for_each_yaml_entry(entry->training_defaults, origin, [&](const std::string& key, const std::string&) {
    if (key == "env") throw UsageError(origin + ": key 'env' is not a training default; expected settings such as outer_lr");
  });
  train_config_schema().load_yaml(config, entry->training_defaults, origin);
  config.env = env;
  return config;
}

TrainConfig config_from_yaml(const std::string& yaml_text, const std::string& origin,
                             const std::vector<std::pair<std::string, std::string>>& overrides) {
  // The sources once to learn the environment, then again on top of its defaults.
  auto layered = [&](TrainConfig config) {
    load_config_yaml(config, yaml_text, origin);
    for (const auto& [key, value] : overrides) set_config_value(config, key, value);
    return config;
  };
  return layered(environment_default_config(layered(TrainConfig{}).env));
}

}  // namespace metarl::meta
