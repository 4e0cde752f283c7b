#include "meta/experiment.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <new>
#include <numeric>

#include "agents/mixed_head_policy.h"
#include "envs/conformance.h"
#include "envs/errors.h"
#include "envs/registry.h"
#include "meta/parallel/runtime.h"
#include "meta/schema/config_schema.h"

namespace metarl::meta {

void check_environment_rows(long long tasks, long long rollouts_per_task, const std::string& what) {
  constexpr long long kMaxEnvRows = 10'000'000;
  const long long rows = tasks * rollouts_per_task;
  if (rows > kMaxEnvRows) {
    throw UsageError(what + " = " + std::to_string(rows) + " environment rows; at most " +
                     std::to_string(kMaxEnvRows) + " fit one batch");
  }
}

std::shared_ptr<agents::Policy> make_policy(const TrainConfig& config, const envs::EnvSpec& spec) {
  if (!spec.families.empty()) {
    return std::make_shared<agents::MixedHeadMlpPolicy>(spec.observation_dim, spec.families, config.policy);
  }
  if (spec.discrete_actions) {
    return std::make_shared<agents::CategoricalMlpPolicy>(spec.observation_dim, spec.num_actions, config.policy);
  }
  return std::make_shared<agents::GaussianMlpPolicy>(spec.observation_dim, spec.action_dim, config.policy);
}

agents::ActionSpace action_space(const TrainConfig& config, const envs::EnvSpec& spec) {
  if (config.action_space != agents::ActionSpace::kNormalized) {
    if (config.action_normalization_scale != 1.0) {
      throw UsageError("config key 'action_normalization_scale': value '" +
                       config_values::format_real(config.action_normalization_scale) +
                       "' applies to normalized actions; action_space is '" + agents::to_string(config.action_space) +
                       "' (set action_space: normalized, or remove the key)");
    }
    return config.action_space;
  }
  const std::string unsupported = agents::normalized_actions_unsupported(spec);
  if (!unsupported.empty()) {
    throw UsageError("action_space 'normalized' needs " + unsupported + " (use action_space: environment)");
  }
  return config.action_space;
}

int effective_horizon(const TrainConfig& config, const envs::EnvSpec& spec) {
  return config.horizon > 0 ? config.horizon : spec.max_episode_steps;
}

int segment_horizon(const TrainConfig& config, const envs::EnvSpec& spec) {
  return config.adapt_every > 0 ? config.adapt_every : effective_horizon(config, spec);
}

void check_segments_fit(const TrainConfig& config, const envs::EnvSpec& spec, int segments,
                        const std::string& segments_what) {
  if (config.adapt_every <= 0) return;
  // A horizon past the time limit rolls out the next episodes' steps as padding.
  const int episode = std::min(effective_horizon(config, spec), spec.max_episode_steps);
  if (static_cast<long long>(segments) * config.adapt_every > episode) {
    throw UsageError("config key 'adapt_every': value '" + std::to_string(config.adapt_every) + "' is invalid: " +
                     segments_what + " = " + std::to_string(segments) + " segments of " +
                     std::to_string(config.adapt_every) + " steps need " +
                     std::to_string(static_cast<long long>(segments) * config.adapt_every) +
                     " steps of one episode, and its episodes last " + std::to_string(episode) +
                     " steps (the smaller of the horizon, " + std::to_string(effective_horizon(config, spec)) +
                     ", and the time limit of environment '" + spec.name + "', " +
                     std::to_string(spec.max_episode_steps) + "); expected at most " +
                     std::to_string(episode / segments));
  }
  if (config.runtime.env_on_device) {
    throw UsageError("config key 'env_on_device': value 'true' is invalid with adapt_every " +
                     std::to_string(config.adapt_every) +
                     ": the device twin starts every rollout from a reset, and online segments continue one "
                     "episode; expected env_on_device: false");
  }
}

std::unique_ptr<envs::BatchedEnv> make_environment(const TrainConfig& config, int rows, std::uint64_t seed) {
  auto env = envs::EnvRegistry::global().make(config.env, rows, seed);
  if (!config.env_weights.empty()) {
    if (!env->task_distribution().is_mixture()) {
      throw UsageError("config key 'env_weights': value '" + config_values::format_weights(config.env_weights) +
                       "' weighs the families of a mixture; env '" + config.env +
                       "' is one environment (expected env: [family, family, ...], or no env_weights)");
    }
    try {
      env->set_family_weights(config.env_weights);
    } catch (const UsageError& e) {
      throw UsageError("config key 'env_weights': value '" + config_values::format_weights(config.env_weights) +
                       "': " + e.what());
    }
  }
  if (!config.task_ranges.empty()) {
    try {
      env->set_task_ranges(config.task_ranges);
    } catch (const UsageError& e) {
      throw UsageError("config key 'task_ranges': value '" + config_values::format_task_ranges(config.task_ranges) +
                       "': " + e.what());
    }
  }
  env->set_step_threads(threads_or_cores(config.runtime.env_threads));
  return env;
}

std::unique_ptr<agents::Sampler> make_sampler(const TrainConfig& config, envs::BatchedEnv& env,
                                              const agents::Policy& policy, int tasks, int rollouts,
                                              const torch::Device& device, std::uint64_t seed) {
  if (config.runtime.env_on_device && !agents::make_device_environment(env.spec().name)) {
    throw UsageError("config key 'env_on_device': environment '" + env.spec().name +
                     "' has no device twin (point-nav, cartpole and pendulum have one); set env_on_device: false");
  }
  return std::make_unique<agents::Sampler>(env, policy, tasks, rollouts, segment_horizon(config, env.spec()), device,
                                           seed, action_space(config, env.spec()), config.runtime.env_on_device,
                                           config.action_normalization_scale);
}

std::unique_ptr<MetaLearner> make_learner(const TrainConfig& config, std::shared_ptr<const agents::Policy> policy,
                                          const torch::Device& device, std::uint64_t init_seed) {
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto learner = std::make_unique<MetaLearner>(std::move(policy), config.algo, config.inner_lr, init_seed, options,
                                               config.estimator, config.kernels);
  learner->set_backprop_steps(config.backprop_steps);
  return learner;
}

envs::EnvSpec check_environment_at_start(const std::string& name) {
  // UsageError naming the known ones, for an unknown name.
  const envs::EnvSpec spec = envs::EnvRegistry::global().make(name, 1, 0)->spec();
  const auto result = envs::check_spec_shapes_and_bounds(name);
  if (!result.passed) {
    throw std::runtime_error("environment '" + name + "' breaks its contract: " + result.message +
                             " (" + envs::conformance_command(name) + " runs every check)");
  }
  return spec;
}

IterationMemory iteration_memory(const TrainConfig& config, const envs::EnvSpec& spec, int tasks) {
  IterationMemory memory;
  memory.tasks = tasks;
  memory.rollouts = config.rollouts;
  memory.horizon = segment_horizon(config, spec);
  memory.stages = config.inner_steps + 1;
  memory.samples = static_cast<double>(tasks) * memory.rollouts * memory.horizon * memory.stages;
  const double hidden = std::accumulate(config.policy.hidden_sizes.begin(), config.policy.hidden_sizes.end(), 0.0);
  // Each hidden unit twice (its pre-activation and activation are kept for backward).
  memory.floats_per_sample = spec.observation_dim + spec.action_dim + 2.0 + 2.0 * hidden;
  memory.bytes = memory.samples * memory.floats_per_sample * sizeof(float);
  return memory;
}

std::string IterationMemory::describe() const {
  char gigabytes[32];
  std::snprintf(gigabytes, sizeof(gigabytes), "%.3g", bytes / 1e9);
  char sample_count[32];
  std::snprintf(sample_count, sizeof(sample_count), "%.6g", samples);
  return std::to_string(tasks) + " tasks x " + std::to_string(rollouts) + " rollouts x " + std::to_string(horizon) +
         " steps x " + std::to_string(stages) + " stages = " + sample_count +
         " samples of " + std::to_string(static_cast<long long>(floats_per_sample)) + " floats, at least " +
         gigabytes + " GB";
}

void check_iteration_fits_in_memory(const TrainConfig& config, const envs::EnvSpec& spec, int tasks,
                                    const torch::Device& device) {
  if (!device.is_cpu()) return;  // a GPU's memory is reported by its allocator when it runs out
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return;
  const double physical = static_cast<double>(pages) * static_cast<double>(page_size);
  const IterationMemory memory = iteration_memory(config, spec, tasks);
  if (memory.bytes > physical) {
    char machine[32];
    std::snprintf(machine, sizeof(machine), "%.3g", physical / 1e9);
    throw UsageError("one meta-iteration holds " + memory.describe() +
                     ", more than this machine's " + machine +
                     " GB of memory; reduce meta_batch, rollouts or horizon (or share the tasks among machines: "
                     "docs/distributed.md)");
  }
}

std::string allocation_failure_text(const std::exception& error) {
  if (dynamic_cast<const std::bad_alloc*>(&error)) return "out of memory (std::bad_alloc)";
  std::string text = error.what();
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error)) text = torch_error->what_without_backtrace();
  const bool allocation = text.find("can't allocate memory") != std::string::npos ||
                          text.find("out of memory") != std::string::npos;
  if (!allocation) return "";
  return text.substr(0, text.find('\n'));
}

ShardRollouts make_shard_rollouts(const TrainConfig& config, const agents::Policy& policy, const TaskShard& shard,
                                  int rollouts, const torch::Device& device, std::uint64_t seed) {
  ShardRollouts out;
  const std::uint64_t env_seed = derive_seed(seed, kEnvStream);
  out.env = make_environment(config, shard.tasks * rollouts, env_seed);
  use_row_streams(*out.env, env_seed, static_cast<std::int64_t>(shard.first_task) * rollouts);
  out.sampler = make_sampler(config, *out.env, policy, shard.tasks, rollouts, device, derive_seed(seed, kSamplerStream));
  out.sampler->set_task_shard(shard.first_task, shard.total_tasks);
  return out;
}

void use_row_streams(envs::BatchedEnv& env, std::uint64_t seed, std::int64_t first_row) {
  if (first_row == 0) return;  // the constructor's streams already
  std::vector<std::uint64_t> states;
  states.reserve(static_cast<size_t>(env.batch_size()) * 4);
  for (int r = 0; r < env.batch_size(); ++r) {
    const auto state = Rng(derive_seed(seed, static_cast<std::uint64_t>(first_row + r))).state();
    states.insert(states.end(), state.begin(), state.end());
  }
  env.set_rng_states(states);
}

Experiment::Experiment(TrainConfig config_in, const Collectives& collectives)
    : config(std::move(config_in)), device(resolve_device(config.runtime.device)), task_rng(0) {
  check_environment_rows(config.meta_batch, config.rollouts, "meta_batch x rollouts");
  if (config.algo == Algorithm::kRandom) {
    throw UsageError("algo 'random' is the untrained baseline and needs no training; evaluate it with "
                     "`metarl eval --random`");
  }
  if (config.meta_batch < collectives.world_size()) {
    throw UsageError("config key 'meta_batch': value '" + std::to_string(config.meta_batch) +
                     "' is invalid; expected at least one task per process (" +
                     std::to_string(collectives.world_size()) + " processes)");
  }
  const envs::EnvSpec spec = check_environment_at_start(config.env);
  if (config.adapt_every > 0 && config.algo == Algorithm::kPretrained) {
    throw UsageError("config key 'adapt_every': value '" + std::to_string(config.adapt_every) +
                     "' is invalid with algo pretrained, which does not adapt in training (its policy gradient "
                     "takes whole episodes); expected algo meta-sgd or maml, or adapt_every: 0");
  }
  // Pretrained first: it has no chain to truncate, whatever inner_steps says.
  if (config.backprop_steps > 0 && config.algo == Algorithm::kPretrained) {
    throw UsageError("config key 'backprop_steps': value '" + std::to_string(config.backprop_steps) +
                     "' is invalid with algo pretrained, which does not adapt in training; expected algo meta-sgd "
                     "or maml, or backprop_steps: 0");
  }
  if (config.backprop_steps > config.inner_steps) {
    throw UsageError("config key 'backprop_steps': value '" + std::to_string(config.backprop_steps) +
                     "' is invalid with inner_steps " + std::to_string(config.inner_steps) +
                     "; expected 0 (every step) or 1 to " + std::to_string(config.inner_steps) + " (inner_steps)");
  }
  check_segments_fit(config, spec, config.inner_steps + 1, "inner_steps + 1");
  const auto [begin, end] = shard(config.meta_batch, collectives.rank(), collectives.world_size());
  first_task = begin;
  local_tasks = end - begin;
  // Before any batch-sized buffer exists: the sizes must fit at all.
  check_iteration_fits_in_memory(config, spec, local_tasks, device);
  policy = make_policy(config, spec);
  learner = make_learner(config, policy, device, derive_seed(config.seed, kPolicyInitStream));
  auto rollouts = make_shard_rollouts(config, *policy, {first_task, local_tasks, config.meta_batch}, config.rollouts,
                                      device, config.seed);
  env = std::move(rollouts.env);
  sampler = std::move(rollouts.sampler);
  // eval_every's evaluation comes after the first checkpoints: refuse now what it would.
  if (config.evaluation.every > 0 && config.evaluation.protocol.split == envs::Split::kHeldOut && !env->task_distribution().has_heldout()) {
    throw UsageError("config key 'eval_split': value 'heldout' is invalid for this run: task_ranges " +
                     config_values::format_task_ranges(config.task_ranges) +
                     " leaves no held-out tasks (every held-out range equals its training range); expected train "
                     "or test, or held-out ranges wider than the training ranges");
  }
  if (!config.task_process.empty() && config.algo == Algorithm::kPretrained) {
    throw UsageError("config key 'task_process': value '" + config_values::format_task_process(config.task_process) +
                     "' is invalid with algo pretrained, which does not adapt in training (its rollouts are all "
                     "round 1's: the stationary mixture); expected algo meta-sgd or maml, or no task_process");
  }
  if (config.task_change_step != envs::TaskChangeStep::kSegmentStart &&
      (config.adapt_every == 0 || config.task_process.empty())) {
    throw UsageError("config key 'task_change_step': value '" +
                     enum_name(envs::task_change_step_names(), config.task_change_step) +
                     "' needs online segments and a moving task (adapt_every " + std::to_string(config.adapt_every) +
                     ", task_process " + config_values::format_task_process(config.task_process) +
                     "); expected adapt_every > 0 and a task_process, or task_change_step: segment_start");
  }
  task_process.emplace(env->task_distribution(), config.task_process, envs::Split::kTrain);
  horizon = effective_horizon(config, env->spec());
  task_rng.reseed(derive_seed(config.seed, envs::split_stream(envs::Split::kTrain)));
}

}  // namespace metarl::meta
