#pragma once
// pendulum: Gymnasium's Pendulum-v1, ported from
// gymnasium/envs/classic_control/pendulum.py (Farama Foundation):
//   state (θ, θ̇), θ = 0 upright; reset θ ~ U[−π, π], θ̇ ~ U[−1, 1];
//   u = clip(action, −max_torque, max_torque);
//   cost = norm(θ − target)² + 0.1 θ̇² + 0.001 u² on the pre-step state, reward = −cost;
//   θ̇' = clip(θ̇ + (3g/(2l) sin θ + 3/(m l²) u) dt, −8, 8);  θ' = θ + θ̇' dt  (semi-implicit Euler);
//   observation [cos θ', sin θ', θ̇'];  never terminates;  truncated after 200 steps.
// norm(x) wraps an angle to [−π, π). The default task (m 1, l 1, g 10, max torque 2,
// target 0) is Pendulum-v1 exactly. Tasks vary the physics and a target angle that
// the cost measures from: a different target moves the state the policy must hold,
// and it is not observed, so it can only be inferred from rewards — adaptation.

#include <cstdint>
#include <vector>

#include "envs/batched_env.h"
#include "envs/task_layout.h"

namespace metarl::envs {

// A pendulum task; the defaults are Pendulum-v1's.
struct PendulumTask {
  double mass = 1.0;          // kg
  double length = 1.0;        // m
  double gravity = 10.0;      // m/s²
  double max_torque = 2.0;    // N m, torques are clipped to ±max_torque
  double target_angle = 0.0;  // rad, the angle the cost measures from (0 = upright); unobserved
};

class Pendulum final : public BatchedEnv {
 public:
  static constexpr double kPi = 3.14159265358979323846;
  static constexpr double kMaxSpeed = 8.0;    // rad/s
  static constexpr double kDt = 0.05;         // s
  static constexpr double kResetAngle = kPi;  // rad, reset θ ~ U[−π, π]
  static constexpr double kResetSpeed = 1.0;  // rad/s, reset θ̇ ~ U[−1, 1]
  static constexpr int kMaxEpisodeSteps = 200;
  Pendulum(int batch_size, std::uint64_t seed);

  // A row's episode state, and the one reset_row draws from a row's stream: for the
  // device twin (agents/device_env.h).
  struct State {
    double theta = 0.0;      // rad
    double theta_dot = 0.0;  // rad/s
  };
  State state(int row) const { return {theta_[row], theta_dot_[row]}; }
  static State draw_reset_state(Rng& rng);

  static EnvSpec make_spec();
  // The task's fields with units and ranges; its distribution is make_task_distribution().
  static const TaskLayout<PendulumTask>& task_layout();
  static TaskDistribution make_task_distribution() { return task_layout().distribution(); }
  // Wraps an angle to [−π, π), as Gymnasium's angle_normalize.
  static double normalize_angle(double angle);

 protected:
  void reset_row(int row, Rng& rng) override;
  void step_rows(const float* actions, int begin, int end) override;
  void task_changed(int row) override;

 private:
  void write_observation(int row);
  std::vector<double> theta_;      // [B] rad
  std::vector<double> theta_dot_;  // [B] rad/s
  std::vector<PendulumTask> row_tasks_;  // [B] the rows' tasks, typed
};

}  // namespace metarl::envs
