#include "agents/sampler.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace metarl::agents {

std::string normalized_actions_unsupported(const envs::EnvSpec& spec) {
  if (spec.discrete_actions) return "continuous actions; environment '" + spec.name + "' has discrete ones";
  if (!spec.families.empty()) {
    return "one environment; the mixture '" + spec.name + "' already maps its continuous actions from [-1, 1] onto "
           "each family's box";
  }
  for (int d = 0; d < spec.action_dim; ++d) {
    if (!std::isfinite(spec.action_low[d]) || !std::isfinite(spec.action_high[d])) {
      return "finite action bounds; environment '" + spec.name + "' has [" + std::to_string(spec.action_low[d]) +
             ", " + std::to_string(spec.action_high[d]) + "] on action dimension " + std::to_string(d);
    }
  }
  return "";
}

Sampler::Sampler(envs::BatchedEnv& env, const Policy& policy, int num_tasks, int rollouts_per_task, int horizon,
                 torch::Device device, std::uint64_t seed, ActionSpace action_space, bool env_on_device,
                 double normalization_scale)
    : env_(env),
      policy_(policy),
      num_tasks_(num_tasks),
      rollouts_per_task_(rollouts_per_task),
      horizon_(horizon),
      device_(device),
      generator_(at::detail::createCPUGenerator(seed)),
      action_space_(action_space),
      total_tasks_(num_tasks) {
  if (num_tasks <= 0 || rollouts_per_task <= 0 || horizon <= 0) {
    throw std::invalid_argument("Sampler: tasks, rollouts and horizon must be positive");
  }
  if (env.batch_size() != num_tasks * rollouts_per_task) {
    throw std::invalid_argument("Sampler: environment batch " + std::to_string(env.batch_size()) + " != " +
                                std::to_string(num_tasks) + " tasks x " + std::to_string(rollouts_per_task) +
                                " rollouts");
  }
  const auto& spec = env.spec();
  if (policy.observation_dim() != spec.observation_dim || policy.action_dim() != spec.action_dim) {
    throw std::invalid_argument("Sampler: policy sizes (obs " + std::to_string(policy.observation_dim()) + ", act " +
                                std::to_string(policy.action_dim()) + ") do not match environment '" + spec.name +
                                "' (obs " + std::to_string(spec.observation_dim) + ", act " +
                                std::to_string(spec.action_dim) + ")");
  }
  const int64_t rows = env.batch_size();
  if (action_space == ActionSpace::kNormalized) {
    const std::string unsupported = normalized_actions_unsupported(spec);
    if (!unsupported.empty()) throw std::invalid_argument("Sampler: normalized actions need " + unsupported);
    if (!(normalization_scale > 0.0) || !std::isfinite(normalization_scale)) {
      throw std::invalid_argument("Sampler: normalization_scale must be positive and finite");
    }
    for (int d = 0; d < spec.action_dim; ++d) {
      // a ∈ [-s, s] → low + (a + s)/(2s) · (high − low) = offset + scale · a.
      action_scale_.push_back(
          static_cast<float>(0.5 * (spec.action_high[d] - spec.action_low[d]) / normalization_scale));
      action_offset_.push_back(0.5f * (spec.action_high[d] + spec.action_low[d]));
    }
    env_actions_.resize(static_cast<size_t>(rows) * spec.action_dim);
  }
  if (env_on_device) {
    device_env_ = make_device_environment(spec.name);
    if (!device_env_) {
      throw std::invalid_argument("Sampler: environment '" + spec.name +
                                  "' has no device twin (point-nav, cartpole and pendulum have one)");
    }
    return;  // its buffers live on the device, per rollout
  }
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  observations_ = torch::empty({horizon, rows, spec.observation_dim}, f32);
  actions_ = torch::empty({horizon, rows, spec.action_dim}, f32);
  rewards_ = torch::empty({horizon, rows}, f32);
  mask_ = torch::empty({horizon, rows}, f32);
}

Sampler::~Sampler() = default;

namespace {

// [H, B]: steps whose value is not finite in `values` [H, B, ...] (time-major).
torch::Tensor not_finite_steps(const torch::Tensor& values) {
  auto bad = torch::logical_not(torch::isfinite(values));
  return bad.dim() > 2 ? bad.flatten(2).any(2) : bad;
}

// Throws std::runtime_error naming the environment, the row and the step of the first
// reward, else the first observation, that is not finite ([H, B, ...], time-major),
// valid steps only (a row's steps after its episode ended are padding). A NaN from an
// environment would otherwise surface far from its cause, as a baseline fit that is
// "not finite". One host synchronisation when all is finite.
void check_finite(const torch::Tensor& rewards, const torch::Tensor& observations, const torch::Tensor& mask,
                  const std::string& env) {
  const auto valid = mask > 0;
  const auto bad_rewards = torch::logical_and(not_finite_steps(rewards), valid);
  const auto bad_observations = torch::logical_and(not_finite_steps(observations), valid);
  if (!torch::logical_or(bad_rewards, bad_observations).any().item<bool>()) return;
  const bool reward = bad_rewards.any().item<bool>();
  const auto where = torch::nonzero(reward ? bad_rewards : bad_observations).to(torch::kCPU);  // (step, row), step-major
  const int64_t step = where[0][0].item<int64_t>();
  const int64_t row = where[0][1].item<int64_t>();
  throw std::runtime_error("environment '" + env + "' returned " + (reward ? "a reward" : "an observation") +
                           " that is not finite (NaN or infinity) at row " + std::to_string(row) + ", step " +
                           std::to_string(step) + " of a rollout");
}

}  // namespace

void Sampler::set_task_shard(int first_task, int total_tasks) {
  if (first_task < 0 || first_task + num_tasks_ > total_tasks) {
    throw std::invalid_argument("Sampler::set_task_shard: tasks [" + std::to_string(first_task) + ", " +
                                std::to_string(first_task + num_tasks_) + ") are not within a batch of " +
                                std::to_string(total_tasks));
  }
  first_task_ = first_task;
  total_tasks_ = total_tasks;
}

torch::Tensor Sampler::to_task_major(const torch::Tensor& staged) const {
  std::vector<int64_t> shape{horizon_, num_tasks_, rollouts_per_task_};
  for (int64_t d = 2; d < staged.dim(); ++d) shape.push_back(staged.size(d));
  std::vector<int64_t> order{1, 2, 0};
  for (int64_t d = 3; d < static_cast<int64_t>(shape.size()); ++d) order.push_back(d);
  return staged.view(shape).permute(order).contiguous().to(device_);
}

Trajectories Sampler::sample(const ParameterList& params, const envs::TaskBatch& tasks) {
  if (tasks.num_tasks != num_tasks_) {
    throw std::invalid_argument("Sampler::sample: got " + std::to_string(tasks.num_tasks) + " tasks, expected " +
                                std::to_string(num_tasks_));
  }
  torch::NoGradGuard no_grad;
  env_.set_tasks(tasks);
  env_.reset();
  if (device_env_) return sample_on_device(params);
  alive_.assign(static_cast<size_t>(env_.batch_size()), 1);
  return roll_out(params);
}

Trajectories Sampler::continue_episodes(const ParameterList& params, const envs::TaskBatch& tasks,
                                        const std::vector<int>& change_steps) {
  if (tasks.num_tasks != num_tasks_) {
    throw std::invalid_argument("Sampler::continue_episodes: got " + std::to_string(tasks.num_tasks) +
                                " tasks, expected " + std::to_string(num_tasks_));
  }
  if (device_env_) {
    throw std::invalid_argument(
        "Sampler::continue_episodes: the device twin starts every rollout from a reset; within-episode segments "
        "step the environment on the CPU (env_on_device: false)");
  }
  if (alive_.empty()) {
    throw std::invalid_argument("Sampler::continue_episodes: no episode to continue (call sample() first)");
  }
  torch::NoGradGuard no_grad;
  // The task changes under the running episodes (BatchedEnv::set_task keeps the state).
  if (change_steps.empty()) {
    env_.set_tasks(tasks);
    return roll_out(params);
  }
  if (static_cast<int>(change_steps.size()) != num_tasks_) {
    throw std::invalid_argument("Sampler::continue_episodes: got " + std::to_string(change_steps.size()) +
                                " change steps, expected one per task (" + std::to_string(num_tasks_) + ")");
  }
  if (tasks.num_parameters != env_.task_distribution().num_parameters()) {
    throw std::invalid_argument("Sampler::continue_episodes: tasks have " + std::to_string(tasks.num_parameters) +
                                " parameters, expected " +
                                std::to_string(env_.task_distribution().num_parameters()));
  }
  std::vector<DelayedTaskChange> delayed;
  for (int task = 0; task < num_tasks_; ++task) {
    const int step = change_steps[static_cast<size_t>(task)];
    if (step < 0 || step >= horizon_) {
      throw std::invalid_argument("Sampler::continue_episodes: change step " + std::to_string(step) + " of task " +
                                  std::to_string(task) + " is outside the segment's steps [0, " +
                                  std::to_string(horizon_) + ")");
    }
    delayed.push_back({step, task});
  }
  return roll_out(params, &tasks, delayed);
}

Trajectories Sampler::roll_out(const ParameterList& params, const envs::TaskBatch* tasks,
                               const std::vector<DelayedTaskChange>& delayed) {
  const int rows = env_.batch_size();
  const int obs_dim = env_.spec().observation_dim;
  const int act_dim = env_.spec().action_dim;
  const size_t obs_bytes = sizeof(float) * static_cast<size_t>(rows) * obs_dim;
  const size_t act_bytes = sizeof(float) * static_cast<size_t>(rows) * act_dim;
  std::vector<std::uint8_t>& alive = alive_;

  for (int t = 0; t < horizon_; ++t) {
    for (const auto& change : delayed) {
      if (change.step != t) continue;
      for (int r = change.task * rollouts_per_task_; r < (change.task + 1) * rollouts_per_task_; ++r) {
        env_.set_task(r, tasks->task(change.task));
      }
    }
    float* obs_t = observations_[t].data_ptr<float>();
    std::memcpy(obs_t, env_.observations(), obs_bytes);
    // [T, R, obs_dim] view of the staged observations; no copy on the CPU.
    const auto policy_input = observations_[t].view({num_tasks_, rollouts_per_task_, obs_dim}).to(device_);
    // Policy::sample, with the noise of the whole batch drawn and this shard's part taken.
    const auto noise = policy_.draw_noise({total_tasks_, rollouts_per_task_}, generator_).narrow(0, first_task_, num_tasks_);
    const auto actions = policy_.act(policy_input, params, noise).to(torch::kCPU).contiguous();
    float* act_t = actions_[t].data_ptr<float>();
    std::memcpy(act_t, actions.data_ptr<float>(), act_bytes);

    if (action_space_ == ActionSpace::kNormalized) {
      const auto& spec = env_.spec();
      for (int r = 0; r < rows; ++r) {
        for (int d = 0; d < act_dim; ++d) {
          const size_t i = static_cast<size_t>(r) * act_dim + d;
          env_actions_[i] = std::clamp(action_offset_[d] + action_scale_[d] * act_t[i], spec.action_low[d],
                                       spec.action_high[d]);
        }
      }
      env_.step(env_actions_.data());
    } else {
      env_.step(act_t);
    }
    float* reward_t = rewards_[t].data_ptr<float>();
    float* mask_t = mask_[t].data_ptr<float>();
    const float* reward = env_.rewards();
    for (int r = 0; r < rows; ++r) {
      mask_t[r] = alive[r];
      reward_t[r] = alive[r] ? reward[r] : 0.0f;
      if (env_.done(r)) alive[r] = 0;
    }
  }

  check_finite(rewards_, observations_, mask_, env_.spec().name);
  // Time-major [H, B, ...] → [T, R, H, ...] (permute + contiguous is the one copy).
  return {to_task_major(observations_), to_task_major(actions_), to_task_major(rewards_), to_task_major(mask_)};
}

Trajectories Sampler::sample_on_device(const ParameterList& params) {
  const auto& spec = env_.spec();
  const int rows = env_.batch_size();
  const int obs_dim = spec.observation_dim;
  const int act_dim = spec.action_dim;
  device_env_->begin(env_, horizon_, device_);
  // Every step's noise first, drawn as the CPU path draws it step by step, then one copy.
  std::vector<torch::Tensor> step_noise;
  step_noise.reserve(static_cast<size_t>(horizon_));
  for (int t = 0; t < horizon_; ++t) {
    step_noise.push_back(
        policy_.draw_noise({total_tasks_, rollouts_per_task_}, generator_).narrow(0, first_task_, num_tasks_));
  }
  const auto noise = torch::stack(step_noise).to(device_);
  torch::Tensor scale;
  torch::Tensor offset;
  if (action_space_ == ActionSpace::kNormalized) {
    scale = torch::tensor(action_scale_).to(device_);
    offset = torch::tensor(action_offset_).to(device_);
  }
  const auto low = torch::tensor(spec.action_low).to(device_);
  const auto high = torch::tensor(spec.action_high).to(device_);
  std::vector<torch::Tensor> observations;
  std::vector<torch::Tensor> actions;
  std::vector<torch::Tensor> rewards;
  std::vector<torch::Tensor> mask;
  auto alive = torch::ones({rows}, torch::TensorOptions().dtype(torch::kBool).device(device_));
  for (int t = 0; t < horizon_; ++t) {
    const auto obs_t = device_env_->observations();
    observations.push_back(obs_t);
    const auto act_t = policy_.act(obs_t.view({num_tasks_, rollouts_per_task_, obs_dim}), params, noise[t])
                           .reshape({rows, act_dim});
    actions.push_back(act_t);
    // The CPU path's mapping, in float32: clamp(offset + scale · a, low, high).
    device_env_->step(action_space_ == ActionSpace::kNormalized
                          ? torch::minimum(torch::maximum(offset + scale * act_t, low), high)
                          : act_t);
    mask.push_back(alive.to(torch::kFloat32));
    rewards.push_back(torch::where(alive, device_env_->rewards(), torch::zeros_like(device_env_->rewards())));
    alive = torch::logical_and(alive, torch::logical_not(device_env_->done()));
  }
  device_env_->end(env_);
  const auto staged_mask = torch::stack(mask);
  const auto staged_rewards = torch::stack(rewards);
  const auto staged_observations = torch::stack(observations);
  check_finite(staged_rewards, staged_observations, staged_mask, spec.name);
  return {to_task_major(staged_observations), to_task_major(torch::stack(actions)), to_task_major(staged_rewards),
          to_task_major(staged_mask)};
}

}  // namespace metarl::agents
