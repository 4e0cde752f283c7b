#pragma once
// One experiment setup: the one place that turns a config into the environment,
// the policy, the sampler, the learner and the random streams they draw from.
// Training (meta/trainer.h), evaluation (meta/eval/evaluation.h), `metarl bench`
// (meta/bench/throughput.h) and the bench/ tools all build from here, so a seed means the
// same thing to each of them.
//
// Seed streams: each consumer of randomness draws from derive_seed(seed, stream) —
// the policy's initial θ, the sampler's actions, the environment rows' resets, and
// the tasks (envs::split_stream(split) per split). Evaluation derives the streams of
// each task batch from its own seed the same way (meta/eval/evaluation.h).

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "agents/policy.h"
#include "agents/sampler.h"
#include "envs/batched_env.h"
#include "envs/task_process.h"
#include "envs/rng.h"
#include "meta/parallel/collectives.h"
#include "meta/config.h"
#include "meta/meta_learner.h"

namespace metarl::meta {

inline constexpr std::uint64_t kPolicyInitStream = 1;
inline constexpr std::uint64_t kSamplerStream = 2;
inline constexpr std::uint64_t kEnvStream = 3;
// The task process's walks and switches of iteration i (0-based) draw from
// derive_seed(derive_seed(seed, kTaskProcessStream), i): a resume needs no state for it.
inline constexpr std::uint64_t kTaskProcessStream = 4;

// Throws UsageError when tasks × rollouts rows exceed what one batched environment
// holds (10^7): beyond that a typo (10^12 tasks) would only surface as an
// allocation failure. `what` names the options, e.g. "meta_batch x rollouts".
void check_environment_rows(long long tasks, long long rollouts_per_task, const std::string& what);

// The policy a config describes for an environment (config.policy's MLP; Gaussian for
// continuous actions, categorical for discrete ones).
std::shared_ptr<agents::Policy> make_policy(const TrainConfig& config, const envs::EnvSpec& spec);
// config.action_space for an environment. Throws UsageError naming the key when
// "normalized" meets discrete actions or an infinite action bound.
agents::ActionSpace action_space(const TrainConfig& config, const envs::EnvSpec& spec);
// The rollout length: config.horizon, or the environment's time limit when 0.
int effective_horizon(const TrainConfig& config, const envs::EnvSpec& spec);
// What one sampler call rolls out: config.adapt_every steps (a segment of an episode)
// when set, else effective_horizon.
int segment_horizon(const TrainConfig& config, const envs::EnvSpec& spec);
// Throws UsageError naming the keys when `segments` segments of config.adapt_every steps
// do not fit in the episode — the smaller of effective_horizon and the environment's time
// limit, past which every row has ended and a segment would be all padding — or
// config.runtime.env_on_device is set (the device twin starts every rollout from a
// reset). `segments_what` says where the count comes from ("inner_steps + 1", "rounds").
// Nothing to check when adapt_every is 0.
void check_segments_fit(const TrainConfig& config, const envs::EnvSpec& spec, int segments,
                        const std::string& segments_what);

// config.env with `rows` rows seeded with `seed`, its task distribution with
// config.task_ranges, its steps split over config.runtime.env_threads. UsageError for an
// unknown environment or task ranges it does not have or allow.
std::unique_ptr<envs::BatchedEnv> make_environment(const TrainConfig& config, int rows, std::uint64_t seed);
// Rollouts of `tasks` × `rollouts` on `env` (which has that many rows) for the
// config's horizon and action space, actions drawn from `seed`.
std::unique_ptr<agents::Sampler> make_sampler(const TrainConfig& config, envs::BatchedEnv& env,
                                              const agents::Policy& policy, int tasks, int rollouts,
                                              const torch::Device& device, std::uint64_t seed);
// θ from policy.initial_parameters(init_seed), α = config.inner_lr, the config's
// algorithm and estimator, float32 on `device`.
std::unique_ptr<MetaLearner> make_learner(const TrainConfig& config, std::shared_ptr<const agents::Policy> policy,
                                          const torch::Device& device, std::uint64_t init_seed);

// `env`'s rows as rows [first_row, first_row + batch size) of an environment seeded
// with `seed`: their streams are the ones those rows would have (derive_seed(seed,
// row)), so a process holding part of a batch draws what one process would.
void use_row_streams(envs::BatchedEnv& env, std::uint64_t seed, std::int64_t first_row);

// One process's share of a batch of total_tasks tasks: [first_task, first_task + tasks).
struct TaskShard {
  int first_task = 0;
  int tasks = 0;
  int total_tasks = 0;
};

// A shard's rollouts, `rollouts` per task: config.env with tasks × rollouts rows whose
// random streams are those rows' in one process holding the whole batch
// (use_row_streams), and its sampler, which knows its tasks' place in the batch. The
// environment draws from derive_seed(seed, kEnvStream), the actions from
// derive_seed(seed, kSamplerStream). Training, evaluation and the oracles build theirs
// here, so a process's share draws what one process would.
struct ShardRollouts {
  std::unique_ptr<envs::BatchedEnv> env;
  std::unique_ptr<agents::Sampler> sampler;  // steps `env`: declared after it, destroyed before it
};
ShardRollouts make_shard_rollouts(const TrainConfig& config, const agents::Policy& policy, const TaskShard& shard,
                                  int rollouts, const torch::Device& device, std::uint64_t seed);

// The memory one meta-iteration of `tasks` tasks holds at least: its samples over every
// adaptation stage (observation, action, reward, mask) and the policy's activations kept
// for the meta-gradient, float32. A lower bound (the autograd graph holds more).
struct IterationMemory {
  int tasks = 0;
  int rollouts = 0;
  int horizon = 0;  // effective_horizon
  int stages = 0;   // inner_steps + 1
  double samples = 0.0;  // tasks × rollouts × horizon × stages
  double floats_per_sample = 0.0;
  double bytes = 0.0;
  // "4 tasks x 20 rollouts x 100 steps x 2 stages = 16000 samples of 406 floats, at least 0.03 GB"
  std::string describe() const;
};
IterationMemory iteration_memory(const TrainConfig& config, const envs::EnvSpec& spec, int tasks);

// Throws UsageError, naming the sizes and the memory, when a CPU meta-iteration of this
// process's `tasks` tasks could not fit in the machine's physical memory even at the
// lower bound above — instead of an allocation failure minutes into the run.
void check_iteration_fits_in_memory(const TrainConfig& config, const envs::EnvSpec& spec, int tasks,
                                    const torch::Device& device);

// What an allocation failure (LibTorch's "can't allocate memory", CUDA's "out of
// memory", std::bad_alloc) is, without LibTorch's backtrace; empty for other errors.
std::string allocation_failure_text(const std::exception& error);

// The start-up guard of training and evaluation: environment `name` passes the
// conformance check spec_shapes_and_bounds (envs/conformance.h: its spec carries the
// registered name, flags are 0 or 1, rewards and observations stay finite and inside
// the declared bounds over two episodes of random actions) — the check-env guard a
// plug-in must pass before metarl trusts it with a run. Throws std::runtime_error
// naming the environment and what failed; returns its spec.
envs::EnvSpec check_environment_at_start(const std::string& name);

// What one training process holds, built from a config and the streams of its seed.
// With several processes (meta/parallel/collectives.h) it holds tasks [first_task, first_task +
// local_tasks) of every meta-batch: the environment rows and action noise of those
// tasks, the same θ and α as every other process, and the same task stream.
struct Experiment {
  // Validates the config against the environment and device (UsageError, nothing
  // built half-way), then builds every part.
  explicit Experiment(TrainConfig config, const Collectives& collectives = single_process());

  TrainConfig config;
  torch::Device device;
  int first_task = 0;                         // this process's share of the meta-batch
  int local_tasks = 0;
  std::unique_ptr<envs::BatchedEnv> env;      // local_tasks × rollouts rows, stream kEnvStream
  std::shared_ptr<agents::Policy> policy;
  std::unique_ptr<MetaLearner> learner;       // θ from stream kPolicyInitStream
  std::unique_ptr<agents::Sampler> sampler;   // actions from stream kSamplerStream
  int horizon = 0;                            // effective_horizon
  Rng task_rng;                               // training tasks: stream split_stream(kTrain)
  // config.task_process on the training split; stationary when the config has none.
  std::optional<envs::TaskProcess> task_process;
};

}  // namespace metarl::meta
