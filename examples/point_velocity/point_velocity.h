#pragma once
// point-velocity: a point mass with linear drag must move at a target velocity that
// it never observes; only the reward tells it how far off it is. A small version of
// MAML's HalfCheetah-Vel task (Finn et al., 2017, §5.3), and an example of a metarl
// plug-in environment (docs/plugins.md walks through this file).
//
//   state:       velocity v = (vx, vy), m/s; position plays no part, so it is not kept
//   observation: v, m/s
//   action:      force F, N, each component clipped to [-2, 2]
//   dynamics:    m dv/dt = F − c v, explicit Euler with dt = 0.1 s, m = 1 kg, c = 1 N·s/m
//   reward:      −‖v − v*‖ after the step, m/s, where v* is the task's target velocity
//   terminated:  never (tracking has no goal state); truncated after 50 steps (5 s)
//   reset:       v uniform in [−0.1, 0.1]² m/s from the row's random stream
// Tasks: v* uniform in [−1, 1]² m/s for training; held-out targets lie in the ring
// 1 < max(|vx*|, |vy*|) ≤ 1.5, still below the top speed F/c = 2 m/s, so every task
// can be met. A policy that ignores the reward cannot know which way to push, which is
// why one adaptation step from the first rollouts' rewards helps.

#include <cstdint>
#include <vector>

#include "envs/batched_env.h"
#include "envs/task_layout.h"

namespace point_velocity {

// The task as named fields (envs/task_layout.h): the target velocity, m/s, unobserved.
struct VelocityTask {
  double target_vx = 0.0;
  double target_vy = 0.0;
};

class PointVelocity final : public metarl::envs::BatchedEnv {
 public:
  static constexpr float kMass = 1.0f;            // kg
  static constexpr float kDrag = 1.0f;            // N·s/m, linear drag coefficient c
  static constexpr float kDt = 0.1f;              // s per step
  static constexpr float kMaxForce = 2.0f;        // N per axis
  static constexpr float kMaxSpeed = kMaxForce / kDrag;  // m/s per axis: the top speed, never exceeded
  static constexpr float kStartSpeed = 0.1f;      // m/s per axis, bound of the random start
  static constexpr int kMaxEpisodeSteps = 50;     // 5 s
  static constexpr double kTrainTargetBound = 1.0;    // m/s, training targets in [−1, 1]²
  static constexpr double kHeldOutTargetBound = 1.5;  // m/s, held-out targets reach ±1.5

  PointVelocity(int batch_size, std::uint64_t seed);

  static metarl::envs::EnvSpec make_spec();
  // The task's fields with units and ranges, from which the distribution is derived.
  static const metarl::envs::TaskLayout<VelocityTask>& task_layout();
  static metarl::envs::TaskDistribution make_task_distribution() { return task_layout().distribution(); }

 protected:
  void reset_row(int row, metarl::Rng& rng) override;
  void step_rows(const float* actions, int begin, int end) override;
  // Called when a row's task changes: keeps the typed copy below.
  void task_changed(int row) override;

 private:
  // Struct-of-arrays episode state, [B] each, m/s.
  std::vector<float> vx_;
  std::vector<float> vy_;
  std::vector<VelocityTask> row_tasks_;  // [B] each row's task, typed
};

}  // namespace point_velocity
