#pragma once
// A batch of rollouts for T tasks × R rollouts × H steps. Each rollout is one
// episode from reset; the steps after it ended (terminated or truncated) are
// padding, with mask 0 and reward 0.

#include <torch/torch.h>

namespace metarl::agents {

struct Trajectories {
  torch::Tensor observations;  // [T, R, H, obs_dim] float32: what each action saw
  torch::Tensor actions;       // [T, R, H, action_dim] float32 (the action as sampled, before env clipping)
  torch::Tensor rewards;       // [T, R, H] float32, 0 where mask is 0
  torch::Tensor mask;          // [T, R, H] float32, 1 for steps of the episode

  int64_t num_tasks() const { return rewards.size(0); }
  int64_t rollouts_per_task() const { return rewards.size(1); }
  int64_t horizon() const { return rewards.size(2); }

  // Undiscounted return of each episode: [T, R].
  torch::Tensor episode_returns() const { return rewards.sum(-1); }
  // Tasks [begin, end) as views (no copy).
  Trajectories slice_tasks(int64_t begin, int64_t end) const {
    return {observations.slice(0, begin, end), actions.slice(0, begin, end), rewards.slice(0, begin, end),
            mask.slice(0, begin, end)};
  }
  // The same batch on another device or dtype (floating tensors only).
  Trajectories to(const torch::TensorOptions& options) const {
    return {observations.to(options), actions.to(options), rewards.to(options), mask.to(options)};
  }
};

}  // namespace metarl::agents
