#pragma once
// Training configuration and its schema (see config_schema.h): the table of keys
// behind YAML files, `--set`, the `metarl train` flags and the saved config.yaml.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "agents/options.h"
#include "envs/registry.h"
#include "meta/schema/config_schema.h"
#include "meta/options.h"
#include "meta/step_options.h"

namespace metarl::meta {

// Every field has its one default here (the option structs' own); the enums are
// parsed once, at the config boundary (the schema below), and the code reads enums.
struct TrainConfig {
  std::string env = "point-nav";
  // A mixture's family weights (env "a,b"): each family's share of a meta-batch. Empty:
  // equal shares.
  std::vector<double> env_weights;
  // Task parameters whose ranges this run sets in place of the environment's (empty:
  // the environment's distribution). Training, eval_every and `metarl eval` of the run
  // draw their train, test and held-out tasks from the result.
  std::vector<envs::TaskRangeOverride> task_ranges;
  // How a task moves from one round to the next (envs/task_process.h; empty: stationary
  // tasks). Training for continuous adaptation: each meta-batch draws round-1 tasks, the
  // data of adaptation step j comes from round j's tasks and the outer objective from
  // round inner_steps + 1's, so the meta-gradient runs back through the whole chain of
  // rounds (Al-Shedivat et al., ICLR 2018). `metarl eval --rounds` of the run uses it.
  std::vector<envs::TaskProcessTerm> task_process;
  // Online adaptation within an episode (Nagabandi et al., ICLR 2019), m steps: 0 → off
  // (each adaptation stage rolls out whole episodes from a reset). m > 0 → a stage's
  // rollouts are the next m steps of the same episodes (agents::Sampler::continue_episodes):
  // adaptation step j learns from segment j (steps (j−1)·m … j·m − 1) and the outer
  // objective is segment inner_steps + 1's, so the episode's first (inner_steps + 1)·m
  // steps are rolled out. With a task_process the task moves between segments, within the
  // episode. Needs (inner_steps + 1)·m ≤ the episode (the horizon, at most the
  // environment's time limit), CPU stepping and an adapting algo.
  // What the meta-gradient leaves out: segment j + 1 starts where segment j's policy left
  // the state, and how that start depends on θ is not differentiated (each segment's
  // score terms cover its own actions only); a segment's returns to go stop at its end
  // (no bootstrap), and the linear baseline's time feature counts from the segment's start.
  int adapt_every = 0;
  // With adapt_every and a task_process: where inside a segment the next round's task
  // takes effect (envs::TaskChangeStep): segment_start, or random (a step drawn uniformly
  // per task sequence and segment, from the task-process stream, so the adaptation after
  // it learns from steps of both tasks).
  envs::TaskChangeStep task_change_step = envs::TaskChangeStep::kSegmentStart;
  Algorithm algo = Algorithm::kMetaSgd;  // meta-sgd | maml | pretrained (random needs no training)
  int iterations = 300;                // meta-iterations
  int meta_batch = 20;                 // tasks per meta-iteration, T
  int rollouts = 20;                   // rollouts per task and adaptation step, R
  int horizon = 0;                     // steps per rollout, H; 0 → the environment's time limit
  // environment | normalized: the policy acts in [-1, 1] mapped onto the env's bounds
  // (agents::ActionSpace; MAML's point experiments ran normalized).
  agents::ActionSpace action_space = agents::ActionSpace::kEnvironment;
  double action_normalization_scale = 1.0;  // normalized actions: the policy acts in [-s, s]
  int inner_steps = 1;                 // adaptation steps k
  double inner_lr = 0.1;               // MAML's α; Meta-SGD's initial α
  bool first_order = false;            // drop second-order terms of the meta-gradient
  // Truncated back-propagation through the adaptation chain (Al-Shedivat et al., ICLR
  // 2018; MetaLearner::set_backprop_steps): the meta-gradient runs back through the last
  // b of the inner_steps adaptation steps only, the parameters before them held as θ plus
  // a constant. 0 → through every step (the exact meta-gradient); 1 ≤ b ≤ inner_steps.
  // Long chains of rounds (a task_process with many inner steps) then cost the memory
  // and backward time of b steps; the rollouts and inner steps are unchanged.
  int backprop_steps = 0;
  // Inner-loss form: plain | dice | lvc (agents/surrogate.h).
  agents::Estimator estimator = agents::Estimator::kLvc;
  // analytic | autograd: how the inner loss's Hessian products and the KL's curvature
  // are computed (agents::Kernels); the same numbers to float rounding.
  agents::Kernels kernels = agents::Kernels::kAnalytic;
  // Outer step, by its name in the registry of meta/outer_step.h: adam | trpo | promp.
  std::string optimizer = "adam";
  double outer_lr = 0.01;              // Adam's step size (adam, promp) for θ and α at the first iteration
  OuterLrDecay outer_lr_decay = OuterLrDecay::kNone;  // none | linear | cosine: to 0 over `iterations`
  // Meta-SGD: α's Adam step size as a multiple of θ's (adam, promp). α starts at
  // inner_lr and has to travel to its per-parameter values; θ's step suits θ.
  double alpha_lr_scale = 1.0;
  // Each outer step's own options (TrpoOptions under "trpo", PrompOptions under
  // "promp"), set by the keys its registry entry declares.
  OuterStepOptions step_options;
  agents::MlpOptions policy;           // hidden sizes, activation, initial log σ
  agents::AdvantageOptions advantages; // γ, GAE λ, normalisation
  std::uint64_t seed = 1;
  TrainingRuntime runtime;             // device, env_on_device, threads, blas_kernels, workers, env_threads
  TrainingEvaluation evaluation;       // eval_every, eval_split, eval_tasks, eval_rollouts, eval_steps
  RunBookkeeping bookkeeping;          // checkpoint_every, keep_checkpoints, tensorboard
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
// The config `metarl train --env ENV` starts from: TrainConfig's defaults with the
// environment's training defaults (envs::EnvEntry::training_defaults) on top; the
// user's --config, flags and --set come after. An environment the registry does not
// know gets TrainConfig's defaults (the run's own check names it). UsageError naming
// the environment when its defaults are not valid config keys or try to set `env`.
TrainConfig environment_default_config(const std::string& env,
                                       const envs::EnvRegistry& registry = envs::EnvRegistry::global());
// A config given as YAML and key = value overrides (the Python API's file or text and
// keyword arguments): the environment they name (or TrainConfig's) with that
// environment's training defaults, then the YAML's keys, then the overrides, as
// `metarl train --config FILE --set ...` layers them.
TrainConfig config_from_yaml(const std::string& yaml_text, const std::string& origin,
                             const std::vector<std::pair<std::string, std::string>>& overrides = {});
// The effective config as YAML; load_config_yaml() reads it back to the same config.
std::string to_yaml(const TrainConfig& config);

// The adaptation steps the meta-gradient runs back through: backprop_steps when it
// truncates the chain, else every inner step (bench's work estimates).
inline int differentiated_inner_steps(const TrainConfig& config) {
  return config.backprop_steps > 0 && config.backprop_steps < config.inner_steps ? config.backprop_steps
                                                                                 : config.inner_steps;
}

}  // namespace metarl::meta
