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

const TaskLayout<PendulumTask>& Pendulum::task_layout() {
  // field, name, unit, description, train range, held-out range
  static const TaskLayout<PendulumTask> layout({
      {&PendulumTask::mass, "mass", "kg", "pendulum mass", 0.5, 1.5, 0.3, 2.0},
      {&PendulumTask::length, "length", "m", "pendulum length", 0.5, 1.5, 0.3, 2.0},
      {&PendulumTask::gravity, "gravity", "m/s^2", "gravitational acceleration", 8.0, 12.0, 6.0, 14.0},
      {&PendulumTask::max_torque, "max_torque", "N m", "actuator limit: torques are clipped to +-max_torque", 1.5,
       2.5, 1.0, 3.0},
      {&PendulumTask::target_angle, "target_angle", "rad",
       "angle to hold (0 = upright); unobserved, inferred from rewards", -kPi / 4, kPi / 4, -kPi / 2, kPi / 2},
  });
  return layout;
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
      theta_dot_(static_cast<size_t>(batch_size), 0.0),
      row_tasks_(static_cast<size_t>(batch_size)) {
  // The base filled in the default tasks before this object existed, so its
  // task_changed() calls could not reach ours.
  for (int r = 0; r < batch_size; ++r) task_changed(r);
}

void Pendulum::task_changed(int row) { row_tasks_[row] = task_layout().read(task(row)); }

void Pendulum::write_observation(int row) {
  float* obs = observation_row(row);
  obs[0] = static_cast<float>(std::cos(theta_[row]));
  obs[1] = static_cast<float>(std::sin(theta_[row]));
  obs[2] = static_cast<float>(theta_dot_[row]);
}

Pendulum::State Pendulum::draw_reset_state(Rng& rng) {
  State state;
  state.theta = rng.uniform(-kResetAngle, kResetAngle);
  state.theta_dot = rng.uniform(-kResetSpeed, kResetSpeed);
  return state;
}

void Pendulum::reset_row(int row, Rng& rng) {
  const State state = draw_reset_state(rng);
  theta_[row] = state.theta;
  theta_dot_[row] = state.theta_dot;
  write_observation(row);
}

void Pendulum::step_rows(const float* actions, int begin, int end) {
  float* reward = reward_buffer();
  std::uint8_t* terminated = terminated_buffer();
  for (int r = begin; r < end; ++r) {
    const PendulumTask& task = row_tasks_[r];
    const double m = task.mass;
    const double l = task.length;
    const double g = task.gravity;
    const double u = std::clamp(static_cast<double>(actions[r]), -task.max_torque, task.max_torque);
    const double th = theta_[r];
    const double th_dot = theta_dot_[r];
    const double angle_error = normalize_angle(th - task.target_angle);
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
