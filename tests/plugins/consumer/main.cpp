// Uses the whole installed library: a training config (meta/), an environment from
// the registry (envs/). No <torch/torch.h> here, which keeps this test quick; linking
// metarl::metarl still pulls in LibTorch through the package's dependencies.

#include <cstdio>
#include <string>

#include "envs/registry.h"
#include "envs/version.h"
#include "meta/config.h"

int main() {
  metarl::meta::TrainConfig config;
  metarl::meta::set_config_value(config, "iterations", "3");
  const std::string yaml = metarl::meta::to_yaml(config);
  const auto env = metarl::envs::EnvRegistry::global().make(config.env, 2, 0);
  std::printf("metarl %s: %s, observation %d, config of %zu bytes\n", METARL_VERSION, env->spec().name.c_str(),
              env->spec().observation_dim, yaml.size());
  return yaml.find("iterations: 3") == std::string::npos ? 1 : 0;
}
