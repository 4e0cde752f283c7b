#pragma once
// cartpole: Gymnasium's CartPole-v1, ported from
// gymnasium/envs/classic_control/cartpole.py (Farama Foundation), itself after
// Sutton's pole.c (Barto, Sutton & Anderson, 1983):
//   state (x, ẋ, θ, θ̇) in double, θ = 0 upright, θ > 0 leaning right;
//   reset: each component ~ U[−0.05, 0.05], in that order;
//   F = +force_mag for action 1 (push right), −force_mag for action 0 (push left);
//   temp = (F + m_p l θ̇² sin θ) / M,  M = m_c + m_p,  l = half the pole's length;
//   θ̈ = (g sin θ − cos θ · temp) / (l (4/3 − m_p cos²θ / M));  ẍ = temp − m_p l θ̈ cos θ / M;
//   explicit Euler over τ = 0.02 s: x' = x + τ ẋ, ẋ' = ẋ + τ ẍ, θ' = θ + τ θ̇, θ̇' = θ̇ + τ θ̈;
//   terminated: |x'| > 2.4 m or |θ'| > 12°;  reward 1 per step, the terminating one
//   included;  observation [x', ẋ', θ', θ̇'] as float32;  truncated after 500 steps.
// The default task (l 0.5, m_p 0.1, m_c 1, g 9.8, force 10, target weight 0) is
// CartPole-v1 exactly.
//
// Tasks vary the physics (pole half-length and mass, cart mass, gravity, force) and
// add a target position x* the cart should hold:
//   reward = 1 − w · d / (d + 0.5 m),  d = |x' − x*|,
// with w the target weight: a cart 0.5 m from the target loses half of w, 1 m away two
// thirds, and the loss keeps growing (so the reward always points toward x*) without
// reaching w, so with w ≤ 1 a live step never earns less than 0 and staying up always
// beats falling. Balancing alone is no longer optimal: the best policy also parks the
// cart at x*, and x* is not observed — it can only be inferred from the rewards, so a
// policy must adapt to each task. The default task (w = 0) lies outside the training
// box on purpose: every training task rewards the target.
//
// Why this shape: an earlier linear term, 1 − w · d / 4.8 m, cost a cart parked at the
// origin about 0.06 per step on average over the training targets (15 of a 200-step
// return), so a policy that ignored the target scored within a few points of one that
// found it, and after one adaptation step Meta-SGD, MAML and the pretrained policy were
// within each other's intervals (issue M; docs/results.md). With d / (d + 0.5 m) the
// same parked cart loses about 0.34 per step (67 of 200): what adaptation can gain is
// most of that, which one step has to find from 20 rollouts of the reward alone.

#include <cstdint>
#include <vector>

#include "envs/batched_env.h"
#include "envs/task_layout.h"

namespace metarl::envs {

// A cartpole task; the defaults are CartPole-v1's (no target term).
struct CartPoleTask {
  double pole_half_length = 0.5;  // m, pivot to the pole's centre of mass
  double pole_mass = 0.1;         // kg
  double cart_mass = 1.0;         // kg
  double gravity = 9.8;           // m/s²
  double force_magnitude = 10.0;  // N, one push left or right
  double target_position = 0.0;   // m, x*; unobserved
  double target_weight = 0.0;     // reward per step, w
};

class CartPole final : public BatchedEnv {
 public:
  static constexpr double kPi = 3.14159265358979323846;
  static constexpr double kTau = 0.02;  // s per step
  static constexpr double kXThreshold = 2.4;  // m, terminated beyond
  // rad, terminated beyond (12°); Gymnasium's expression, evaluated in the same order.
  static constexpr double kThetaThreshold = 12 * 2 * kPi / 360;
  static constexpr double kResetBound = 0.05;  // reset state ~ U[−0.05, 0.05]⁴ (m, m/s, rad, rad/s)
  // m: the distance from the target at which a step loses half the target weight.
  static constexpr double kTargetHalfDistance = 0.5;
  static constexpr int kMaxEpisodeSteps = 500;

  CartPole(int batch_size, std::uint64_t seed);

  // A row's episode state, and the one reset_row draws from a row's stream (in
  // Gymnasium's order): for the device twin (agents/device_env.h), which takes over
  // the rows for a rollout and must start and restart them exactly as here.
  struct State {
    double x = 0.0;          // m
    double x_dot = 0.0;      // m/s
    double theta = 0.0;      // rad
    double theta_dot = 0.0;  // rad/s
  };
  State state(int row) const { return {x_[row], x_dot_[row], theta_[row], theta_dot_[row]}; }
  static State draw_reset_state(Rng& rng);

  static EnvSpec make_spec();
  // The task's fields with units and ranges; its distribution is make_task_distribution().
  static const TaskLayout<CartPoleTask>& task_layout();
  static TaskDistribution make_task_distribution() { return task_layout().distribution(); }

 protected:
  void reset_row(int row, Rng& rng) override;
  void step_rows(const float* actions, int begin, int end) override;
  void task_changed(int row) override;

 private:
  void write_observation(int row);

  // Struct-of-arrays episode state, double like the reference. [B]
  std::vector<double> x_;          // m
  std::vector<double> x_dot_;      // m/s
  std::vector<double> theta_;      // rad
  std::vector<double> theta_dot_;  // rad/s
  // Per-row constants derived from the task in task_changed(), so that step_rows reads
  // one contiguous array per quantity instead of recomputing from the [B, P] task rows. [B]
  std::vector<double> force_;            // N, force_mag
  std::vector<double> gravity_;          // m/s²
  std::vector<double> half_length_;      // m
  std::vector<double> pole_mass_;        // kg
  std::vector<double> total_mass_;       // kg, m_c + m_p
  std::vector<double> polemass_length_;  // kg m, m_p l
  std::vector<double> target_;           // m, x*
  std::vector<double> target_weight_;    // reward per step, w: the most a step can lose to the distance from x*
};

}  // namespace metarl::envs
