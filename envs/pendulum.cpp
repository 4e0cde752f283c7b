#include "envs/pendulum.h"

#include <algorithm>
#include <cmath>

namespace metarl::envs {

EnvSpec Pendulum::make_spec() {
  EnvSpec spec;
  spec.name = "pendulum";
  spec.description =
      "Gymnasium Pendulum-v1 swing-up. Observation: cos θ, sin θ, angular velocity. Action: torque, clipped "
      "to the task's max torque. Reward: -(angle to the target² + 0.1 θ̇² + 0.001 u²). Truncated at 200 steps.";
  spec.observation_dim = 3;
  spec.action_dim = 1;
  // The widest clip any task uses (held-out max torque); each task clips to its own.
  spec.action_low = {-3.0f};
  spec.action_high = {3.0f};
  spec.observation_low = {-1.0f, -1.0f, static_cast<float>(-kMaxSpeed)};
  spec.observation_high = {1.0f, 1.0f, static_cast<float>(kMaxSpeed)};
  spec.max_episode_steps = kMaxEpisodeSteps;
  return spec;
}

TaskDistribution Pendulum::make_task_distribution() {
  // name, unit, description, default, train range, held-out range
  return TaskDistribution({
      {"mass", "kg", "pendulum mass", 1.0, 0.5, 1.5, 0.3, 2.0},
      {"length", "m", "pendulum length", 1.0, 0.5, 1.5, 0.3, 2.0},
      {"gravity", "m/s^2", "gravitational acceleration", 10.0, 8.0, 12.0, 6.0, 14.0},
      {"max_torque", "N m", "actuator limit: torques are clipped to +-max_torque", 2.0, 1.5, 2.5, 1.0, 3.0},
      {"target_angle", "rad", "angle to hold (0 = upright); unobserved, inferred from rewards", 0.0, -kPi / 4,
       kPi / 4, -kPi / 2, kPi / 2},
  });
}

double Pendulum::normalize_angle(double angle) {
  // Python's % is a floored modulo: the result takes the divisor's sign.
  const double period = 2.0 * kPi;
  double wrapped = std::fmod(angle + kPi, period);
  if (wrapped < 0) wrapped += period;
  return wrapped - kPi;
}

Pendulum::Pendulum(int batch_size, std::uint64_t seed)
    : BatchedEnv(make_spec(), make_task_distribution(), batch_size, seed),
      theta_(static_cast<size_t>(batch_size), 0.0),
      theta_dot_(static_cast<size_t>(batch_size), 0.0) {}

void Pendulum::write_observation(int row) {
  float* obs = observation_row(row);
  obs[0] = static_cast<float>(std::cos(theta_[row]));
  obs[1] = static_cast<float>(std::sin(theta_[row]));
  obs[2] = static_cast<float>(theta_dot_[row]);
}

void Pendulum::reset_row(int row, Rng& rng) {
  theta_[row] = rng.uniform(-kResetAngle, kResetAngle);
  theta_dot_[row] = rng.uniform(-kResetSpeed, kResetSpeed);
  write_observation(row);
}

void Pendulum::step_rows(const float* actions, int begin, int end) {
  float* reward = reward_buffer();
  std::uint8_t* terminated = terminated_buffer();
  for (int r = begin; r < end; ++r) {
    const double m = task_value(r, kMass);
    const double l = task_value(r, kLength);
    const double g = task_value(r, kGravity);
    const double max_torque = task_value(r, kMaxTorque);
    const double u = std::clamp(static_cast<double>(actions[r]), -max_torque, max_torque);
    const double th = theta_[r];
    const double th_dot = theta_dot_[r];
    const double angle_error = normalize_angle(th - task_value(r, kTargetAngle));
    reward[r] = static_cast<float>(-(angle_error * angle_error + 0.1 * th_dot * th_dot + 0.001 * u * u));
    const double new_th_dot =
        std::clamp(th_dot + (3.0 * g / (2.0 * l) * std::sin(th) + 3.0 / (m * l * l) * u) * kDt, -kMaxSpeed, kMaxSpeed);
    theta_[r] = th + new_th_dot * kDt;
    theta_dot_[r] = new_th_dot;
    terminated[r] = 0;
    write_observation(r);
  }
}

}  // namespace metarl::envs
