#include "envs/cartpole.h"

#include <cassert>
#include <cmath>
#include <limits>

namespace metarl::envs {

EnvSpec CartPole::make_spec() {
  EnvSpec spec;
  spec.name = "cartpole";
  spec.description =
      "Gymnasium CartPole-v1. Observation: cart position, cart velocity, pole angle, pole angular velocity. "
      "Action: 0 pushes the cart left, 1 right, with the task's force. Reward: 1 per step minus the target "
      "weight times d / (d + 0.5 m), d the distance to the target position. Terminated when |x| > 2.4 m or the pole tilts "
      "beyond 12 degrees; truncated at 500 steps.";
  spec.observation_dim = 4;
  spec.action_dim = 1;
  spec.discrete_actions = true;
  spec.num_actions = 2;
  // Gymnasium's observation space: twice the termination limits, so that the
  // observation of a terminating step (one step's motion past a limit) still lies
  // inside. It bounds velocities by float32's largest value; infinity says the same.
  const float inf = std::numeric_limits<float>::infinity();
  spec.observation_low = {static_cast<float>(-2 * kXThreshold), -inf, static_cast<float>(-2 * kThetaThreshold), -inf};
  spec.observation_high = {static_cast<float>(2 * kXThreshold), inf, static_cast<float>(2 * kThetaThreshold), inf};
  spec.max_episode_steps = kMaxEpisodeSteps;
  return spec;
}

const TaskLayout<CartPoleTask>& CartPole::task_layout() {
  // field, name, unit, description, train range, held-out range
  static const TaskLayout<CartPoleTask> layout({
      {&CartPoleTask::pole_half_length, "pole_half_length", "m", "half the pole's length (pivot to centre of mass)",
       0.35, 0.75, 0.25, 1.0},
      {&CartPoleTask::pole_mass, "pole_mass", "kg", "pole mass", 0.05, 0.2, 0.03, 0.3},
      {&CartPoleTask::cart_mass, "cart_mass", "kg", "cart mass", 0.7, 1.5, 0.5, 2.0},
      {&CartPoleTask::gravity, "gravity", "m/s^2", "gravitational acceleration", 8.5, 11.0, 7.0, 12.5},
      {&CartPoleTask::force_magnitude, "force_magnitude", "N", "force of one push, left or right", 8.0, 12.0, 6.0,
       15.0},
      {&CartPoleTask::target_position, "target_position", "m",
       "cart position the reward favours; unobserved, inferred from rewards", -1.0, 1.0, -1.5, 1.5},
      {&CartPoleTask::target_weight, "target_weight", "reward per step",
       "w: a step loses w d / (d + 0.5 m) at distance d from the target (0: CartPole-v1's constant 1)", 0.5, 1.0, 0.25,
       1.0},
  });
  return layout;
}

CartPole::CartPole(int batch_size, std::uint64_t seed)
    : BatchedEnv(make_spec(), make_task_distribution(), batch_size, seed) {
  const auto rows = static_cast<size_t>(batch_size);
  for (auto* column : {&x_, &x_dot_, &theta_, &theta_dot_, &force_, &gravity_, &half_length_, &pole_mass_,
                       &total_mass_, &polemass_length_, &target_, &target_weight_}) {
    column->assign(rows, 0.0);
  }
  // The base filled in the default tasks before this object existed, so its
  // task_changed() calls could not reach ours.
  for (int r = 0; r < batch_size; ++r) task_changed(r);
}

void CartPole::task_changed(int row) {
  // Products and sums formed as Gymnasium forms them, so they round the same way.
  const CartPoleTask task = task_layout().read(this->task(row));
  force_[row] = task.force_magnitude;
  gravity_[row] = task.gravity;
  half_length_[row] = task.pole_half_length;
  pole_mass_[row] = task.pole_mass;
  total_mass_[row] = task.pole_mass + task.cart_mass;
  polemass_length_[row] = task.pole_mass * task.pole_half_length;
  target_[row] = task.target_position;
  target_weight_[row] = task.target_weight;
}

void CartPole::write_observation(int row) {
  float* obs = observation_row(row);
  obs[0] = static_cast<float>(x_[row]);
  obs[1] = static_cast<float>(x_dot_[row]);
  obs[2] = static_cast<float>(theta_[row]);
  obs[3] = static_cast<float>(theta_dot_[row]);
}

CartPole::State CartPole::draw_reset_state(Rng& rng) {
  // Gymnasium draws the four components in state order.
  State state;
  state.x = rng.uniform(-kResetBound, kResetBound);
  state.x_dot = rng.uniform(-kResetBound, kResetBound);
  state.theta = rng.uniform(-kResetBound, kResetBound);
  state.theta_dot = rng.uniform(-kResetBound, kResetBound);
  return state;
}

void CartPole::reset_row(int row, Rng& rng) {
  const State state = draw_reset_state(rng);
  x_[row] = state.x;
  x_dot_[row] = state.x_dot;
  theta_[row] = state.theta;
  theta_dot_[row] = state.theta_dot;
  write_observation(row);
}

namespace {

// sin θ and cos θ for |θ| ≤ 12°, where step_rows needs them: a step starts
// from a reset state (|θ| ≤ 0.05) or from a step that did not terminate (|θ| ≤ 12°,
// the base resets terminated rows at once). Taylor series through θ¹¹ and θ¹⁰: the
// truncation errors, θ¹³/13! < 3e-19 and θ¹²/12! < 2e-17, lie below half an ulp:
// over 4e6 angles in ±12° the results differ from glibc's by at most one ulp (and
// equal them for 82% of sines, 99% of cosines). A libm call per row was rejected:
// sincos took 30% of the step and, being a call, kept the loop scalar.
inline double small_angle_sin(double theta) {
  const double t2 = theta * theta;
  const double series =
      1.0 + t2 * (-1.0 / 6 + t2 * (1.0 / 120 + t2 * (-1.0 / 5040 + t2 * (1.0 / 362880 + t2 * (-1.0 / 39916800)))));
  return theta * series;
}

inline double small_angle_cos(double theta) {
  const double t2 = theta * theta;
  return 1.0 + t2 * (-1.0 / 2 + t2 * (1.0 / 24 + t2 * (-1.0 / 720 + t2 * (1.0 / 40320 + t2 * (-1.0 / 3628800)))));
}

}  // namespace

void CartPole::step_rows(const float* actions, int begin, int end) {
  float* reward = reward_buffer();
  std::uint8_t* terminated = terminated_buffer();
  float* obs = observation_row(0);
  double* x_col = x_.data();
  double* x_dot_col = x_dot_.data();
  double* theta_col = theta_.data();
  double* theta_dot_col = theta_dot_.data();
  const double* force_col = force_.data();
  const double* gravity_col = gravity_.data();
  const double* half_length_col = half_length_.data();
  const double* pole_mass_col = pole_mass_.data();
  const double* total_mass_col = total_mass_.data();
  const double* polemass_length_col = polemass_length_.data();
  const double* target_col = target_.data();
  const double* target_weight_col = target_weight_.data();
  // Rows are independent: no iteration reads what another writes. GCC cannot prove
  // it across a dozen arrays (that needs more run-time alias checks than it allows)
  // and would leave the loop scalar, about 3x slower; ivdep asserts it. The body has
  // no branch, call or allocation, so it vectorises.
#pragma GCC ivdep
  for (int r = begin; r < end; ++r) {
    // The action index arrives as a float: 1 pushes right, 0 left. Compared in double
    // so that the select has the width of the doubles it picks between (vectorises).
    const double action = actions[r];
    const double force = action > 0.5 ? force_col[r] : -force_col[r];
    const double x = x_col[r];
    const double x_dot = x_dot_col[r];
    const double theta = theta_col[r];
    const double theta_dot = theta_dot_col[r];
    assert(std::abs(theta) <= kThetaThreshold);  // the range of small_angle_sin/cos
    const double costheta = small_angle_cos(theta);
    const double sintheta = small_angle_sin(theta);
    const double total_mass = total_mass_col[r];
    const double polemass_length = polemass_length_col[r];
    // Operations grouped as Gymnasium's (θ̇**2, cos θ**2), so each rounds the same way.
    const double temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
    const double thetaacc = (gravity_col[r] * sintheta - costheta * temp) /
                            (half_length_col[r] * (4.0 / 3.0 - pole_mass_col[r] * (costheta * costheta) / total_mass));
    const double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
    const double new_x = x + kTau * x_dot;
    const double new_x_dot = x_dot + kTau * xacc;
    const double new_theta = theta + kTau * theta_dot;
    const double new_theta_dot = theta_dot + kTau * thetaacc;
    x_col[r] = new_x;
    x_dot_col[r] = new_x_dot;
    theta_col[r] = new_theta;
    theta_dot_col[r] = new_theta_dot;
    const double distance = std::abs(new_x - target_col[r]);
    reward[r] = static_cast<float>(1.0 - target_weight_col[r] * distance / (distance + kTargetHalfDistance));
    obs[4 * r] = static_cast<float>(new_x);
    obs[4 * r + 1] = static_cast<float>(new_x_dot);
    obs[4 * r + 2] = static_cast<float>(new_theta);
    obs[4 * r + 3] = static_cast<float>(new_theta_dot);
  }
  // A loop of its own: GCC cannot narrow a double comparison into a byte store
  // inside the vectorised loop above, and would leave all of it scalar.
  for (int r = begin; r < end; ++r) {
    terminated[r] = (x_col[r] < -kXThreshold) | (x_col[r] > kXThreshold) | (theta_col[r] < -kThetaThreshold) |
                    (theta_col[r] > kThetaThreshold);
  }
}

}  // namespace metarl::envs
