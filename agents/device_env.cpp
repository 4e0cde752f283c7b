#include "agents/device_env.h"

#include <stdexcept>

#include "envs/cartpole.h"
#include "envs/pendulum.h"
#include "envs/point_nav.h"

namespace metarl::agents {

namespace {

const auto kF64 = torch::kFloat64;

// Column `name`'s member of a typed task, from the [B, P] task tensor.
template <typename Task>
torch::Tensor task_column(const torch::Tensor& tasks, const envs::TaskLayout<Task>& layout, double Task::*member) {
  return tasks.select(1, layout.index_of(member)).contiguous();
}

template <typename Env>
const Env& native_as(const envs::BatchedEnv& native, const char* name) {
  const auto* env = dynamic_cast<const Env*>(&native);
  if (!env) {
    throw std::invalid_argument(std::string("device twin of ") + name + ": the native environment is '" +
                                native.spec().name + "'");
  }
  return *env;
}

// point-nav (envs/point_nav.h): float32 positions, as the native environment keeps them.
class PointNavTwin final : public DeviceEnvironment {
 protected:
  int state_size() const override { return 2; }
  std::vector<double> native_state(const envs::BatchedEnv& native, int row) const override {
    const auto state = native_as<envs::PointNav>(native, "point-nav").state(row);
    return {state.x, state.y};
  }
  void draw_reset_state(Rng&, double* state) const override {  // the origin, no draw
    state[0] = 0.0;
    state[1] = 0.0;
  }
  void set_tasks(const torch::Tensor& tasks) override {
    const auto& layout = envs::PointNav::task_layout();
    goal_x_ = task_column(tasks, layout, &envs::PointNavTask::goal_x);
    goal_y_ = task_column(tasks, layout, &envs::PointNavTask::goal_y);
  }
  torch::Tensor transition(const torch::Tensor& state, const torch::Tensor& actions, torch::Tensor& reward,
                           torch::Tensor& terminated) const override {
    const double bound = envs::PointNav::kMaxSpeed;
    // x += clamp(v) in float32, then the distance in double: PointNav::step_rows.
    const auto x = state.select(1, 0).to(torch::kFloat32) + torch::clamp(actions.select(1, 0), -bound, bound);
    const auto y = state.select(1, 1).to(torch::kFloat32) + torch::clamp(actions.select(1, 1), -bound, bound);
    const auto dx = x.to(kF64) - goal_x_;
    const auto dy = y.to(kF64) - goal_y_;
    reward = (-torch::sqrt(dx * dx + dy * dy)).to(torch::kFloat32);
    terminated = torch::logical_and(torch::abs(dx) < envs::PointNav::kGoalTolerance,
                                    torch::abs(dy) < envs::PointNav::kGoalTolerance);
    return torch::stack({x.to(kF64), y.to(kF64)}, 1);
  }
  torch::Tensor observe(const torch::Tensor& state) const override { return state.to(torch::kFloat32); }

 private:
  torch::Tensor goal_x_;
  torch::Tensor goal_y_;
};

// cartpole (envs/cartpole.h): the same expressions as CartPole::step_rows, element-wise
// in the same order, so each rounds as the scalar code does.
class CartPoleTwin final : public DeviceEnvironment {
 protected:
  int state_size() const override { return 4; }
  std::vector<double> native_state(const envs::BatchedEnv& native, int row) const override {
    const auto s = native_as<envs::CartPole>(native, "cartpole").state(row);
    return {s.x, s.x_dot, s.theta, s.theta_dot};
  }
  void draw_reset_state(Rng& rng, double* state) const override {
    const auto s = envs::CartPole::draw_reset_state(rng);
    state[0] = s.x;
    state[1] = s.x_dot;
    state[2] = s.theta;
    state[3] = s.theta_dot;
  }
  void set_tasks(const torch::Tensor& tasks) override {
    using envs::CartPoleTask;
    const auto& layout = envs::CartPole::task_layout();
    const auto pole_mass = task_column(tasks, layout, &CartPoleTask::pole_mass);
    const auto half_length = task_column(tasks, layout, &CartPoleTask::pole_half_length);
    // CartPole::task_changed's derived columns, formed the same way.
    force_ = task_column(tasks, layout, &CartPoleTask::force_magnitude);
    gravity_ = task_column(tasks, layout, &CartPoleTask::gravity);
    half_length_ = half_length;
    pole_mass_ = pole_mass;
    total_mass_ = pole_mass + task_column(tasks, layout, &CartPoleTask::cart_mass);
    polemass_length_ = pole_mass * half_length;
    target_ = task_column(tasks, layout, &CartPoleTask::target_position);
    target_weight_ = task_column(tasks, layout, &CartPoleTask::target_weight);
  }
  torch::Tensor transition(const torch::Tensor& state, const torch::Tensor& actions, torch::Tensor& reward,
                           torch::Tensor& terminated) const override {
    using envs::CartPole;
    const auto action = actions.select(1, 0).to(kF64);
    const auto force = torch::where(action > 0.5, force_, -force_);
    const auto x = state.select(1, 0);
    const auto x_dot = state.select(1, 1);
    const auto theta = state.select(1, 2);
    const auto theta_dot = state.select(1, 3);
    // small_angle_cos / small_angle_sin of cartpole.cpp: the same Horner forms.
    const auto t2 = theta * theta;
    const auto sintheta =
        theta * (1.0 + t2 * (-1.0 / 6 + t2 * (1.0 / 120 + t2 * (-1.0 / 5040 + t2 * (1.0 / 362880 + t2 * (-1.0 / 39916800))))));
    const auto costheta =
        1.0 + t2 * (-1.0 / 2 + t2 * (1.0 / 24 + t2 * (-1.0 / 720 + t2 * (1.0 / 40320 + t2 * (-1.0 / 3628800)))));
    const auto temp = (force + polemass_length_ * (theta_dot * theta_dot) * sintheta) / total_mass_;
    const auto thetaacc = (gravity_ * sintheta - costheta * temp) /
                          (half_length_ * (4.0 / 3.0 - pole_mass_ * (costheta * costheta) / total_mass_));
    const auto xacc = temp - polemass_length_ * thetaacc * costheta / total_mass_;
    const auto new_x = x + CartPole::kTau * x_dot;
    const auto new_x_dot = x_dot + CartPole::kTau * xacc;
    const auto new_theta = theta + CartPole::kTau * theta_dot;
    const auto new_theta_dot = theta_dot + CartPole::kTau * thetaacc;
    const auto distance = torch::abs(new_x - target_);
    reward = (1.0 - target_weight_ * distance / (distance + CartPole::kTargetHalfDistance)).to(torch::kFloat32);
    terminated = (new_x < -CartPole::kXThreshold) | (new_x > CartPole::kXThreshold) |
                 (new_theta < -CartPole::kThetaThreshold) | (new_theta > CartPole::kThetaThreshold);
    return torch::stack({new_x, new_x_dot, new_theta, new_theta_dot}, 1);
  }
  torch::Tensor observe(const torch::Tensor& state) const override { return state.to(torch::kFloat32); }

 private:
  torch::Tensor force_, gravity_, half_length_, pole_mass_, total_mass_, polemass_length_, target_, target_weight_;
};

// pendulum (envs/pendulum.h): Pendulum::step_rows's expressions; the sine and cosine
// are torch's, within an ulp of libm's.
class PendulumTwin final : public DeviceEnvironment {
 protected:
  int state_size() const override { return 2; }
  std::vector<double> native_state(const envs::BatchedEnv& native, int row) const override {
    const auto s = native_as<envs::Pendulum>(native, "pendulum").state(row);
    return {s.theta, s.theta_dot};
  }
  void draw_reset_state(Rng& rng, double* state) const override {
    const auto s = envs::Pendulum::draw_reset_state(rng);
    state[0] = s.theta;
    state[1] = s.theta_dot;
  }
  void set_tasks(const torch::Tensor& tasks) override {
    using envs::PendulumTask;
    const auto& layout = envs::Pendulum::task_layout();
    mass_ = task_column(tasks, layout, &PendulumTask::mass);
    length_ = task_column(tasks, layout, &PendulumTask::length);
    gravity_ = task_column(tasks, layout, &PendulumTask::gravity);
    max_torque_ = task_column(tasks, layout, &PendulumTask::max_torque);
    target_angle_ = task_column(tasks, layout, &PendulumTask::target_angle);
  }
  torch::Tensor transition(const torch::Tensor& state, const torch::Tensor& actions, torch::Tensor& reward,
                           torch::Tensor& terminated) const override {
    using envs::Pendulum;
    const auto m = mass_;
    const auto l = length_;
    const auto g = gravity_;
    // std::clamp(a, −max, max): max(a, −max), then min(·, max).
    const auto u = torch::minimum(torch::maximum(actions.select(1, 0).to(kF64), -max_torque_), max_torque_);
    const auto th = state.select(1, 0);
    const auto th_dot = state.select(1, 1);
    // Pendulum::normalize_angle: Python's floored modulo.
    const double period = 2.0 * Pendulum::kPi;
    auto wrapped = torch::fmod(th - target_angle_ + Pendulum::kPi, period);
    wrapped = torch::where(wrapped < 0, wrapped + period, wrapped);
    const auto angle_error = wrapped - Pendulum::kPi;
    reward = (-(angle_error * angle_error + 0.1 * th_dot * th_dot + 0.001 * u * u)).to(torch::kFloat32);
    const auto new_th_dot =
        torch::clamp(th_dot + (3.0 * g / (2.0 * l) * torch::sin(th) + 3.0 / (m * l * l) * u) * Pendulum::kDt,
                     -Pendulum::kMaxSpeed, Pendulum::kMaxSpeed);
    const auto new_th = th + new_th_dot * Pendulum::kDt;
    terminated = torch::zeros_like(th, torch::kBool);
    return torch::stack({new_th, new_th_dot}, 1);
  }
  torch::Tensor observe(const torch::Tensor& state) const override {
    const auto th = state.select(1, 0);
    return torch::stack({torch::cos(th), torch::sin(th), state.select(1, 1)}, 1).to(torch::kFloat32);
  }

 private:
  torch::Tensor mass_, length_, gravity_, max_torque_, target_angle_;
};

}  // namespace

void DeviceEnvironment::begin(const envs::BatchedEnv& native, int steps, const torch::Device& device) {
  const int rows = native.batch_size();
  const int size = state_size();
  const int num_parameters = native.task_distribution().num_parameters();
  const auto cpu = torch::TensorOptions().dtype(kF64);
  auto state = torch::empty({rows, size}, cpu);
  auto tasks = torch::empty({rows, num_parameters}, cpu);
  // Up to one reset per step: each row's next `steps` reset states, from copies of
  // its stream (the native stream moves only in end(), by the resets used).
  auto reset_states = torch::empty({std::max(steps, 1), rows, size}, cpu);
  stream_states_ = native.rng_states();
  auto* state_data = state.data_ptr<double>();
  auto* task_data = tasks.data_ptr<double>();
  auto* reset_data = reset_states.data_ptr<double>();
  for (int r = 0; r < rows; ++r) {
    const auto row_state = native_state(native, r);
    std::copy(row_state.begin(), row_state.end(), state_data + static_cast<int64_t>(r) * size);
    std::copy(native.task(r), native.task(r) + num_parameters, task_data + static_cast<int64_t>(r) * num_parameters);
    Rng stream;
    stream.set_state({stream_states_[4 * r], stream_states_[4 * r + 1], stream_states_[4 * r + 2],
                      stream_states_[4 * r + 3]});
    for (int64_t k = 0; k < reset_states.size(0); ++k) draw_reset_state(stream, reset_data + (k * rows + r) * size);
  }
  max_episode_steps_ = native.spec().max_episode_steps;
  state_ = state.to(device);
  reset_states_ = reset_states.to(device);
  set_tasks(tasks.to(device));
  const auto long_options = torch::TensorOptions().dtype(torch::kInt64).device(device);
  elapsed_ = torch::zeros({rows}, long_options);
  resets_used_ = torch::zeros({rows}, long_options);
  rows_ = torch::arange(rows, long_options);
  observations_ = observe(state_);
  rewards_ = torch::zeros({rows}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  done_ = torch::zeros({rows}, torch::TensorOptions().dtype(torch::kBool).device(device));
}

void DeviceEnvironment::step(const torch::Tensor& actions) {
  torch::NoGradGuard no_grad;
  torch::Tensor terminated;
  auto next = transition(state_, actions, rewards_, terminated);
  // BatchedEnv::step: the time limit, then the automatic reset of ended episodes.
  elapsed_ = elapsed_ + 1;
  done_ = terminated | (elapsed_ >= max_episode_steps_);
  const auto last = reset_states_.size(0) - 1;
  const auto restart = reset_states_.index({resets_used_.clamp_max(last), rows_});  // [B, S]
  state_ = torch::where(done_.unsqueeze(1), restart, next);
  elapsed_ = torch::where(done_, torch::zeros_like(elapsed_), elapsed_);
  resets_used_ = resets_used_ + done_.to(torch::kInt64);
  observations_ = observe(state_);
}

void DeviceEnvironment::end(envs::BatchedEnv& native) const {
  const auto used = resets_used_.to(torch::kCPU).contiguous();
  const auto* counts = used.data_ptr<int64_t>();
  std::vector<std::uint64_t> states = stream_states_;
  for (int r = 0; r < native.batch_size(); ++r) {
    Rng stream;
    stream.set_state({states[4 * r], states[4 * r + 1], states[4 * r + 2], states[4 * r + 3]});
    std::vector<double> discarded(static_cast<size_t>(state_size()));
    for (int64_t k = 0; k < counts[r]; ++k) draw_reset_state(stream, discarded.data());
    const auto advanced = stream.state();
    std::copy(advanced.begin(), advanced.end(), states.begin() + 4 * r);
  }
  native.set_rng_states(states);
}

std::unique_ptr<DeviceEnvironment> make_device_environment(const std::string& name) {
  if (name == "point-nav") return std::make_unique<PointNavTwin>();
  if (name == "cartpole") return std::make_unique<CartPoleTwin>();
  if (name == "pendulum") return std::make_unique<PendulumTwin>();
  return nullptr;
}

}  // namespace metarl::agents
