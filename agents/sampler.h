#pragma once
// Rollouts of T tasks × R rollouts in lockstep on one batched environment of
// B = T·R rows (row t·R + r is rollout r of task t). The policy runs on the chosen
// device; the environment steps on the CPU, or, with env_on_device, its device twin
// steps on the policy's device (agents/device_env.h) and a rollout makes no host round
// trip per step. Either way the noise of the actions is drawn on the CPU from the
// sampler's own generator, in the same order, so a seed pins every rollout, and the
// two paths give the same trajectories (tests/agents/device_env_test.cpp).

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agents/options.h"
#include "agents/device_env.h"
#include "agents/policy.h"
#include "agents/trajectories.h"
#include "envs/batched_env.h"

namespace metarl::agents {

// (ActionSpace, how a continuous action reaches the environment: agents/options.h.)
// Why `spec` cannot take normalized actions, as "<what is needed>; <what it has>",
// or "" when it can (continuous actions, finite bounds). The sampler and the
// action_space config key word their errors around it.
std::string normalized_actions_unsupported(const envs::EnvSpec& spec);

class Sampler {
 public:
  // Throws std::invalid_argument when env.batch_size() != num_tasks · rollouts, or
  // the policy's sizes do not match the environment's, or when `action_space` is
  // kNormalized on a discrete environment or one with an infinite action bound.
  // env_on_device: step `env`'s device twin where the policy runs; std::invalid_argument
  // when the environment has none. normalization_scale (kNormalized only; > 0): the
  // policy acts in [-s, s] per dimension, mapped onto the bounds (1: rllab's normalize(),
  // 10: ProMP's).
  Sampler(envs::BatchedEnv& env, const Policy& policy, int num_tasks, int rollouts_per_task, int horizon,
          torch::Device device, std::uint64_t seed, ActionSpace action_space = ActionSpace::kEnvironment,
          bool env_on_device = false, double normalization_scale = 1.0);
  ~Sampler();

  // Sets `tasks` (T rows) on the environment, resets it and rolls out H steps with
  // `params`: shared (every task acts with the same policy) or task-batched [T, …]
  // (each task with its own adapted policy). No graph is recorded. The result lives
  // on the sampler's device; its actions are the policy's (before any mapping), the
  // ones whose log-probabilities the losses need.
  Trajectories sample(const ParameterList& params, const envs::TaskBatch& tasks);

  // The next H steps of the episodes the last sample() started, with no reset: `tasks`
  // (T rows) are set under the running episodes first (a task that changes within an
  // episode), then H more steps are rolled out with `params`. A row whose episode ended
  // in an earlier segment stays ended (mask 0 throughout), as it would past the end of a
  // longer rollout. The segments of one episode together are the steps of one
  // sample() with horizon H·segments, cut every H steps. Online adaptation within an
  // episode (adapt every H steps from the last H; Nagabandi et al., ICLR 2019) rolls out
  // this way. CPU stepping only: std::invalid_argument with env_on_device, or before any
  // sample().
  // change_steps (empty, or one per task): task t takes effect at step change_steps[t]
  // (0 … H − 1) of this segment instead of its first step, in all of its rollouts; before
  // that its rows run on with the task they had (a change at a time inside the segment,
  // envs::TaskChangeStep::kRandom). std::invalid_argument for a wrong count or a step
  // outside [0, H).
  Trajectories continue_episodes(const ParameterList& params, const envs::TaskBatch& tasks,
                                 const std::vector<int>& change_steps = {});

  // This sampler's tasks are tasks [first_task, first_task + num_tasks) of a meta-batch
  // of total_tasks that several processes share (meta/parallel/collectives.h): each step's
  // action noise is drawn for all total_tasks, as one process would, and this
  // sampler's part taken, so a task's rollouts do not depend on how many processes
  // share the batch. The default is the whole batch: first 0, total num_tasks.
  void set_task_shard(int first_task, int total_tasks);

  at::Generator& generator() { return generator_; }
  int num_tasks() const { return num_tasks_; }
  int rollouts_per_task() const { return rollouts_per_task_; }
  int horizon() const { return horizon_; }
  bool env_on_device() const { return device_env_ != nullptr; }

 private:
  // A task that takes effect at a step inside the rollout (continue_episodes' change_steps).
  struct DelayedTaskChange {
    int step = 0;
    int task = 0;  // index into `tasks`, whose rows [task·R, (task + 1)·R) change
  };
  // H steps from the environment's current state, rows in alive_ only: sample()'s and
  // continue_episodes()'s rollout on the CPU. `delayed` changes are applied before
  // their step's action (so the step's reward is the new task's).
  Trajectories roll_out(const ParameterList& params, const envs::TaskBatch* tasks = nullptr,
                        const std::vector<DelayedTaskChange>& delayed = {});
  // The rollout with the device twin: the same trajectories, on the device.
  Trajectories sample_on_device(const ParameterList& params);
  // Time-major [H, B, ...] → task-major [T, R, H, ...] on the sampler's device.
  torch::Tensor to_task_major(const torch::Tensor& staged) const;

  envs::BatchedEnv& env_;
  const Policy& policy_;
  int num_tasks_;
  int rollouts_per_task_;
  int horizon_;
  torch::Device device_;
  at::Generator generator_;
  ActionSpace action_space_;
  int first_task_ = 0;    // set_task_shard
  int total_tasks_ = 0;
  // kNormalized: env action = clip(offset + scale · a, low, high) per dimension.
  std::vector<float> action_scale_;
  std::vector<float> action_offset_;
  std::vector<float> env_actions_;  // [B, A] mapped actions of the current step
  std::unique_ptr<DeviceEnvironment> device_env_;  // null: the environment steps on the CPU
  // Time-major CPU staging buffers, reused across calls: [H, B, ...].
  torch::Tensor observations_;
  torch::Tensor actions_;
  torch::Tensor rewards_;
  torch::Tensor mask_;
  // [B]: 1 while a row's episode, begun by the last sample(), has not ended.
  std::vector<std::uint8_t> alive_;
};

}  // namespace metarl::agents
