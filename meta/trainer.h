#pragma once
// Meta-training: one meta-iteration samples T training tasks, rolls out θ on each,
// adapts all tasks at once (k inner steps, each on fresh rollouts of the current
// adapted policies), rolls out the adapted policies, and updates θ and α on the
// meta-objective with the outer optimiser (Adam, or TRPO: meta/trpo.h). The
// `pretrained` baseline runs the same loop without adaptation: policy gradient on
// rollouts of θ over the whole task distribution. run_training() wraps it into a run
// directory with config.yaml, metrics.csv and checkpoint.pt.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agents/advantages.h"
#include "agents/policy.h"
#include "agents/sampler.h"
#include "envs/batched_env.h"
#include "envs/rng.h"
#include "meta/config.h"
#include "meta/meta_learner.h"
#include "meta/trpo.h"

namespace metarl::meta {

struct IterationMetrics {
  int iteration = 0;          // 1-based
  double return_before = 0;   // mean undiscounted episode return before adaptation
  double return_after = 0;    // ... after the last adaptation step
  double meta_loss = 0;
  double alpha_mean = 0;      // Meta-SGD: over every entry of α; MAML: the fixed α
  double alpha_min = 0;
  double alpha_max = 0;
  double kl = 0;              // TRPO: mean KL of the accepted step; Adam: 0
  int backtracks = 0;         // TRPO: line-search shrinks; -1 when no step was accepted
  double seconds = 0;         // wall-clock time of the iteration (the last column)

  static std::string csv_header();
  std::string csv_row() const;
};

// Seed streams: each consumer of randomness draws from derive_seed(seed, stream), for
// training and evaluation alike.
inline constexpr std::uint64_t kPolicyInitStream = 1;
inline constexpr std::uint64_t kSamplerStream = 2;
inline constexpr std::uint64_t kEnvStream = 3;

// Throws UsageError when tasks × rollouts rows exceed what one batched environment
// holds (10^7): beyond that a typo (10^12 tasks) would only surface as an
// allocation failure. `what` names the options, e.g. "meta_batch x rollouts".
void check_environment_rows(long long tasks, long long rollouts_per_task, const std::string& what);

// The outer step size for meta-iteration `iteration` (0-based) of config.iterations
// under config.outer_lr_decay.
double outer_learning_rate(const TrainConfig& config, int iteration);

// Builds the policy a config describes for an environment.
std::shared_ptr<agents::Policy> make_policy(const TrainConfig& config, const envs::EnvSpec& spec);
agents::AdvantageOptions advantage_options(const TrainConfig& config);
// config.action_space for an environment. Throws UsageError naming the key when
// "normalized" meets discrete actions or an infinite action bound.
agents::ActionSpace action_space(const TrainConfig& config, const envs::EnvSpec& spec);
// The rollout length: config.horizon, or the environment's time limit when 0.
int effective_horizon(const TrainConfig& config, const envs::EnvSpec& spec);

class MetaTrainer {
 public:
  // Validates the config against the environment and device; throws UsageError.
  explicit MetaTrainer(TrainConfig config);

  const TrainConfig& config() const { return config_; }
  int iterations_done() const { return iteration_; }
  MetaLearner& learner() { return *learner_; }
  const MetaLearner& learner() const { return *learner_; }
  const envs::BatchedEnv& env() const { return *env_; }

  // One meta-iteration. Throws std::runtime_error naming what diverged (θ, α,
  // returns, meta-loss, meta-gradient) when something is not finite; the outer
  // step is never applied with a non-finite gradient.
  IterationMetrics run_iteration();

  // θ, α, the optimiser state, every random-number state and the iteration count.
  void save_checkpoint(const std::string& path) const;
  // Continues from a checkpoint written by a trainer with the same config: the
  // following iterations are the ones the original run would have made. Throws
  // UsageError when the checkpoint is unreadable or belongs to another run shape.
  void restore(const std::string& checkpoint_path);

 private:
  // The TRPO outer step: re-adapts from θ, α on `inner_batches` for every evaluation;
  // `adapted` are the parameters that sampled `outer`.
  TrpoStepResult trpo_outer_step(const std::vector<agents::Trajectories>& inner_batches,
                                 const agents::ParameterList& adapted, const agents::Trajectories& outer);

  TrainConfig config_;
  torch::Device device_;
  std::unique_ptr<envs::BatchedEnv> env_;
  std::shared_ptr<agents::Policy> policy_;
  std::unique_ptr<MetaLearner> learner_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;  // Adam; null with TRPO (it keeps no state)
  std::unique_ptr<agents::Sampler> sampler_;
  agents::AdvantageOptions advantages_;
  Rng task_rng_;
  int iteration_ = 0;
};

// "iter 12/300 | return before -45.21 after -20.33 | alpha 0.1012 [0.0931, 0.1101] | 0.31 s/it | ETA 1m31s"
std::string format_progress(const IterationMetrics& metrics, int total_iterations, double mean_seconds);

struct TrainRunOptions {
  std::string out_dir;
  bool force = false;   // overwrite a directory that already holds a run
  bool resume = false;  // continue the run in out_dir from its checkpoint
  // Polled after every iteration; a non-zero signal number stops the run after a
  // checkpoint, with Interrupted.
  std::function<int()> stop_requested;
  // Called after every iteration (after its checkpoint, if one was due).
  std::function<void(const IterationMetrics&, MetaTrainer&)> on_iteration;
};

// Trains into options.out_dir until config.iterations meta-iterations are done.
// Throws UsageError (before anything is written) for a bad config or an occupied run
// directory, Interrupted when stop_requested fired, std::runtime_error on divergence
// (the last good checkpoint stays in place).
void run_training(const TrainConfig& config, const TrainRunOptions& options);

// The config of the run in `run_dir`, read from its checkpoint (the config that run
// was started with). Throws UsageError when there is no readable checkpoint.
TrainConfig resumed_config(const std::string& run_dir);

// A run's config with `iterations` raised, for `metarl train --resume RUN
// --iterations N`: the continued run ends where a run started with N iterations
// would, bit for bit. Throws UsageError naming the key when N is below the run's
// iterations, or when the run's Adam step size decays over its iterations
// (outer_lr_decay linear or cosine): the schedule spans the planned iterations, so
// raising them would change steps the run has already taken.
TrainConfig extended_config(TrainConfig resumed, int iterations);

}  // namespace metarl::meta
