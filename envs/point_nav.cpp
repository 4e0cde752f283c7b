#include "envs/point_nav.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace metarl::envs {

EnvSpec PointNav::make_spec() {
  EnvSpec spec;
  spec.name = "point-nav";
  spec.description =
      "MAML/Meta-SGD 2D navigation. Observation: position (x, y). Action: velocity, clipped to "
      "[-0.1, 0.1] per axis. Reward: -distance to the goal. Terminated within 0.01 of the goal "
      "on both axes; truncated at 100 steps.";
  spec.observation_dim = 2;
  spec.action_dim = 2;
  spec.action_low = {-kMaxSpeed, -kMaxSpeed};
  spec.action_high = {kMaxSpeed, kMaxSpeed};
  const float inf = std::numeric_limits<float>::infinity();
  spec.observation_low = {-inf, -inf};
  spec.observation_high = {inf, inf};
  spec.max_episode_steps = kMaxEpisodeSteps;
  spec.deterministic_reset = true;
  return spec;
}

const TaskLayout<PointNavTask>& PointNav::task_layout() {
  static const TaskLayout<PointNavTask> layout({
      {&PointNavTask::goal_x, "goal_x", "position units", "goal x coordinate (the start is the origin)",
       -kTrainGoalBound, kTrainGoalBound, -kHeldOutGoalBound, kHeldOutGoalBound},
      {&PointNavTask::goal_y, "goal_y", "position units", "goal y coordinate (the start is the origin)",
       -kTrainGoalBound, kTrainGoalBound, -kHeldOutGoalBound, kHeldOutGoalBound},
  });
  return layout;
}

PointNav::PointNav(int batch_size, std::uint64_t seed)
    : BatchedEnv(make_spec(), make_task_distribution(), batch_size, seed),
      x_(static_cast<size_t>(batch_size), 0.0f),
      y_(static_cast<size_t>(batch_size), 0.0f),
      row_tasks_(static_cast<size_t>(batch_size)) {
  // The base filled in the default tasks before this object existed, so its
  // task_changed() calls could not reach ours.
  for (int r = 0; r < batch_size; ++r) task_changed(r);
}

void PointNav::task_changed(int row) { row_tasks_[row] = task_layout().read(task(row)); }

void PointNav::reset_row(int row, Rng& /*rng: the start is deterministic*/) {
  x_[row] = 0.0f;
  y_[row] = 0.0f;
  float* obs = observation_row(row);
  obs[0] = 0.0f;
  obs[1] = 0.0f;
}

void PointNav::step_rows(const float* actions, int begin, int end) {
  float* reward = reward_buffer();
  std::uint8_t* terminated = terminated_buffer();
  for (int r = begin; r < end; ++r) {
    const float vx = std::clamp(actions[2 * r], -kMaxSpeed, kMaxSpeed);
    const float vy = std::clamp(actions[2 * r + 1], -kMaxSpeed, kMaxSpeed);
    x_[r] += vx;
    y_[r] += vy;
    const double dx = static_cast<double>(x_[r]) - row_tasks_[r].goal_x;
    const double dy = static_cast<double>(y_[r]) - row_tasks_[r].goal_y;
    reward[r] = static_cast<float>(-std::sqrt(dx * dx + dy * dy));
    terminated[r] = std::abs(dx) < kGoalTolerance && std::abs(dy) < kGoalTolerance;
    float* obs = observation_row(r);
    obs[0] = x_[r];
    obs[1] = y_[r];
  }
}

}  // namespace metarl::envs
