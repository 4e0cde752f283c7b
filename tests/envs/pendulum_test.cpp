// pendulum against Gymnasium's Pendulum-v1 equations
// (gymnasium/envs/classic_control/pendulum.py, Farama Foundation): the reference
// below restates them in double precision, line by line, independently of
// envs/pendulum.cpp; trajectories must agree to 1e-5.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "envs/pendulum.h"

namespace metarl::envs {
namespace {

// One Gymnasium step from (th, thdot) with torque u; returns the reward.
double reference_step(double& th, double& thdot, double u, double m, double l, double g, double max_torque,
                      double target) {
  u = std::clamp(u, -max_torque, max_torque);
  // angle_normalize(x) = ((x + pi) % (2 pi)) - pi, with Python's floored modulo.
  const double x = th - target + M_PI;
  const double wrapped = x - 2 * M_PI * std::floor(x / (2 * M_PI)) - M_PI;
  const double costs = wrapped * wrapped + 0.1 * thdot * thdot + 0.001 * u * u;
  double newthdot = thdot + (3 * g / (2 * l) * std::sin(th) + 3.0 / (m * l * l) * u) * 0.05;
  newthdot = std::clamp(newthdot, -8.0, 8.0);
  th = th + newthdot * 0.05;
  thdot = newthdot;
  return -costs;
}

void expect_aligned(const std::vector<double>& task) {
  Pendulum env(1, 42);
  env.set_task(0, task.data());
  env.reset();
  // The reference starts from the environment's reset state.
  double th = std::atan2(env.observations()[1], env.observations()[0]);
  double thdot = env.observations()[2];
  for (int t = 0; t < 200; ++t) {
    const float action = static_cast<float>(3.0 * std::sin(0.37 * t));  // spans ±3, beyond every clip
    const double reward = reference_step(th, thdot, action, task[0], task[1], task[2], task[3], task[4]);
    env.step(&action);
    ASSERT_NEAR(env.rewards()[0], reward, 1e-5 * std::max(1.0, std::abs(reward))) << "step " << t;
    if (t == 199) {
      ASSERT_TRUE(env.truncated()[0]);  // the reset already replaced the state
      break;
    }
    ASSERT_NEAR(env.observations()[0], std::cos(th), 1e-5) << "step " << t;
    ASSERT_NEAR(env.observations()[1], std::sin(th), 1e-5) << "step " << t;
    ASSERT_NEAR(env.observations()[2], thdot, 1e-5) << "step " << t;
    // Re-seed the reference from the float observation only through θ: θ̇ continues
    // in double on both sides, θ is recovered from (cos, sin) to within float error.
    th = std::atan2(env.observations()[1], env.observations()[0]);
  }
}

TEST(Pendulum, DefaultTaskIsPendulumV1) {
  const auto tasks = Pendulum::make_task_distribution();
  const auto defaults = tasks.defaults(1);
  EXPECT_EQ(defaults.values, (std::vector<double>{1.0, 1.0, 10.0, 2.0, 0.0}));
  expect_aligned(defaults.values);
}

TEST(Pendulum, OtherTasksFollowTheSameEquations) {
  expect_aligned({0.6, 1.4, 8.5, 1.5, 0.5});
  expect_aligned({1.9, 0.4, 13.0, 3.0, -1.2});
}

TEST(Pendulum, ResetDrawsFromGymnasiumsBox) {
  Pendulum env(4000, 9);
  env.reset();
  double largest_angle = 0.0;
  for (int r = 0; r < 4000; ++r) {
    const double th = std::atan2(env.observations()[3 * r + 1], env.observations()[3 * r]);
    largest_angle = std::max(largest_angle, std::abs(th));
    EXPECT_LE(std::abs(env.observations()[3 * r + 2]), 1.0f);
  }
  EXPECT_GT(largest_angle, 3.1);  // the whole circle, not a neighbourhood of upright
}

TEST(Pendulum, NormalizeAngleWrapsLikePython) {
  EXPECT_NEAR(Pendulum::normalize_angle(0.5), 0.5, 1e-15);
  EXPECT_NEAR(Pendulum::normalize_angle(M_PI + 0.25), -M_PI + 0.25, 1e-12);
  EXPECT_NEAR(Pendulum::normalize_angle(-M_PI - 0.25), M_PI - 0.25, 1e-12);
  EXPECT_NEAR(Pendulum::normalize_angle(7 * M_PI), -M_PI, 1e-12);
}

TEST(Pendulum, TheTargetAngleMovesTheCostMinimum) {
  // Holding still at θ = target costs 0 under that target, and more under another.
  Pendulum env(2, 0);
  const double upright[5] = {1.0, 1.0, 10.0, 2.0, 0.0};
  const double tilted[5] = {1.0, 1.0, 10.0, 2.0, 0.5};
  env.set_task(0, upright);
  env.set_task(1, tilted);
  env.reset();
  // Both rows start wherever reset put them; one step's reward measures the start.
  const float still[2] = {0.0f, 0.0f};
  const double th0 = std::atan2(env.observations()[1], env.observations()[0]);
  const double th1 = std::atan2(env.observations()[4], env.observations()[3]);
  const double v0 = env.observations()[2];
  const double v1 = env.observations()[5];
  env.step(still);
  EXPECT_NEAR(env.rewards()[0], -(th0 * th0 + 0.1 * v0 * v0), 1e-5);
  const double e1 = Pendulum::normalize_angle(th1 - 0.5);
  EXPECT_NEAR(env.rewards()[1], -(e1 * e1 + 0.1 * v1 * v1), 1e-5);
}

}  // namespace
}  // namespace metarl::envs
