#pragma once
// Training configuration and its schema (see config_schema.h): the table of keys
// behind YAML files, `--set`, the `metarl train` flags and the saved config.yaml.

#include <cstdint>
#include <string>
#include <vector>

#include "meta/config_schema.h"

namespace metarl::meta {

struct TrainConfig {
  std::string env = "point-nav";
  std::string algo = "meta-sgd";       // meta-sgd | maml | pretrained (random needs no training)
  int iterations = 300;                // meta-iterations
  int meta_batch = 20;                 // tasks per meta-iteration, T
  int rollouts = 20;                   // rollouts per task and adaptation step, R
  int horizon = 0;                     // steps per rollout, H; 0 → the environment's time limit
  // environment | normalized: the policy acts in [-1, 1] mapped onto the env's bounds
  // (agents::ActionSpace; MAML's point experiments ran normalized).
  std::string action_space = "environment";
  int inner_steps = 1;                 // adaptation steps k
  double inner_lr = 0.1;               // MAML's α; Meta-SGD's initial α
  bool first_order = false;            // drop second-order terms of the meta-gradient
  std::string estimator = "lvc";       // inner-loss form: plain | dice | lvc (agents/surrogate.h)
  std::string optimizer = "adam";      // outer optimiser: adam | trpo
  double outer_lr = 0.01;              // Adam step size for θ and α at the first iteration
  // TRPO (optimizer: trpo), defaults of MAML and pytorch-maml-rl.
  double max_kl = 0.01;                // trust region: mean KL(π'_old ‖ π'_new) on post-adaptation states
  int cg_iterations = 10;              // conjugate-gradient iterations for H⁻¹g
  double cg_damping = 1e-5;            // H + damping·I
  int line_search_steps = 15;          // backtracking steps before giving up on the iteration
  double line_search_ratio = 0.8;      // step shrink factor per backtracking step
  std::string outer_lr_decay = "none"; // none | linear | cosine: decay to 0 over `iterations`
  std::vector<std::int64_t> hidden_sizes{100, 100};
  std::string activation = "relu";     // relu | tanh
  double init_log_std = 0.0;           // initial log σ of the Gaussian policy
  double gamma = 0.99;                 // discount
  double gae_lambda = 1.0;             // GAE λ
  bool normalize_advantages = true;
  std::uint64_t seed = 1;
  std::string device = "cpu";          // cpu | cuda | cuda:N
  // Torch intra-op threads; 0 → one per core. 1 by default: at the paper's sizes a
  // meta-iteration took 0.50 s with 1 thread and 0.88 s with 2 on the 2-core
  // reference machine (OpenMP hand-offs dominate these small ops; docs/benchmarks.md).
  int threads = 1;
  // CPU threads that each take a group of tasks in the TRPO curvature products (tasks
  // are independent there); 0 → one per core. Results are identical for a given
  // value; the groups' sums are added in a fixed order.
  int workers = 0;
  // Threads that share an environment step over row ranges, when a step takes long
  // enough to pay for it (envs::BatchedEnv::set_step_threads); 0 → one per core.
  // Rollouts do not depend on it.
  int env_threads = 0;
  int checkpoint_every = 10;           // iterations between checkpoints (and one at the end)
};

const ConfigSchema<TrainConfig>& train_config_schema();
const std::vector<ConfigKey<TrainConfig>>& train_config_keys();

// Sets one key; throws UsageError for an unknown key (with a suggestion) or a bad value.
void set_config_value(TrainConfig& config, const std::string& key, const std::string& value);
// "key=value" as given to --set.
void apply_override(TrainConfig& config, const std::string& assignment);
// Applies every key of a YAML mapping file on top of `config`. Errors name the file
// and the key.
void load_config_file(TrainConfig& config, const std::string& path);
// Same, from YAML text; `origin` names the source in messages.
void load_config_yaml(TrainConfig& config, const std::string& yaml_text, const std::string& origin);
// The effective config as YAML; load_config_yaml() reads it back to the same config.
std::string to_yaml(const TrainConfig& config);

}  // namespace metarl::meta
