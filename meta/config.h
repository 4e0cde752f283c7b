#pragma once
// Training configuration. One table of keys (train_config_keys()) drives every way
// a value gets in or out: YAML files, `--set key=value`, the generated command-line
// flags, validation, and the effective config saved in the run directory. A key
// added to the table is therefore available everywhere at once.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace metarl::meta {

struct TrainConfig {
  std::string env = "point-nav";
  std::string algo = "meta-sgd";       // meta-sgd | maml
  int iterations = 300;                // meta-iterations
  int meta_batch = 20;                 // tasks per meta-iteration, T
  int rollouts = 20;                   // rollouts per task and adaptation step, R
  int horizon = 0;                     // steps per rollout, H; 0 → the environment's time limit
  int inner_steps = 1;                 // adaptation steps k
  double inner_lr = 0.1;               // MAML's α; Meta-SGD's initial α
  bool first_order = false;            // drop second-order terms of the meta-gradient
  std::string optimizer = "adam";      // outer optimiser
  double outer_lr = 0.01;              // Adam step size for θ and α at the first iteration
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
  int checkpoint_every = 10;           // iterations between checkpoints (and one at the end)
};

struct ConfigKey {
  std::string name;   // snake_case, as in YAML; the CLI flag is --name-with-dashes
  std::string help;   // with units and the allowed values
  bool is_flag = false;  // a boolean: the CLI takes --name without a value
  // Parses and range-checks `value`, then stores it. Throws UsageError naming the
  // key, the value and what was expected.
  std::function<void(TrainConfig&, const std::string& value)> set;
  std::function<std::string(const TrainConfig&)> get;
};

const std::vector<ConfigKey>& train_config_keys();
// nullptr when unknown.
const ConfigKey* find_train_config_key(const std::string& name);
// The closest known key by edit distance, or "" when none is close.
std::string suggest_train_config_key(const std::string& unknown);

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
