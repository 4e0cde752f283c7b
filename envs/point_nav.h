#pragma once
// point-nav: the 2D navigation benchmark of MAML (Finn et al., 2017, §5.3) and
// Meta-SGD (Li et al., 2017). Ported from Finn's maml_rl
// maml_examples/point_env_randgoal.py, as adapted in pytorch-maml-rl
// maml_rl/envs/navigation.py (Navigation2DEnv):
//   state: position (x, y), starts at (0, 0); observation = position;
//   action: velocity, each component clipped to [-0.1, 0.1], added to the position;
//   reward: -‖position − goal‖ (Euclidean, after the move);
//   terminated: |x − gx| < 0.01 and |y − gy| < 0.01 after the move;
//   truncated: after 100 steps.
// Tasks: goal uniform in [−0.5, 0.5]² for training (the papers'); held-out goals
// lie in the ring 0.5 < max(|gx|, |gy|) ≤ 0.7, which no training run sees.

#include <cstdint>
#include <vector>

#include "envs/batched_env.h"
#include "envs/task_layout.h"

namespace metarl::envs {

// A point-nav task: the goal (position units; the start is the origin). Unobserved.
struct PointNavTask {
  double goal_x = 0.0;
  double goal_y = 0.0;
};

class PointNav final : public BatchedEnv {
 public:
  static constexpr float kMaxSpeed = 0.1f;          // per-step |action| bound, position units
  static constexpr double kGoalTolerance = 0.01;    // per-axis termination radius
  static constexpr int kMaxEpisodeSteps = 100;
  static constexpr double kTrainGoalBound = 0.5;    // train goals in [−0.5, 0.5]²
  static constexpr double kHeldOutGoalBound = 0.7;  // held-out goals reach ±0.7

  PointNav(int batch_size, std::uint64_t seed);

  // A row's position (float32 like the reference; the start is the origin, drawn from
  // nothing): for the device twin (agents/device_env.h).
  struct State {
    float x = 0.0f;
    float y = 0.0f;
  };
  State state(int row) const { return {x_[row], y_[row]}; }

  static EnvSpec make_spec();
  // The task's fields with units and ranges; its distribution is make_task_distribution().
  static const TaskLayout<PointNavTask>& task_layout();
  static TaskDistribution make_task_distribution() { return task_layout().distribution(); }

 protected:
  void reset_row(int row, Rng& rng) override;
  void step_rows(const float* actions, int begin, int end) override;
  void task_changed(int row) override;

 private:
  // Struct-of-arrays episode state, float32 like the reference. [B]
  std::vector<float> x_;
  std::vector<float> y_;
  std::vector<PointNavTask> row_tasks_;  // [B] the rows' goals, typed
};

}  // namespace metarl::envs
