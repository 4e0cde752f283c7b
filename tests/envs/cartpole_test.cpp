// cartpole against Gymnasium's CartPole-v1 equations
// (gymnasium/envs/classic_control/cartpole.py, Farama Foundation): the reference
// below restates CartPoleEnv.step and reset in double precision, with libm's sin and
// cos, independently of envs/cartpole.cpp; trajectories must agree to 1e-5 at every
// step of a whole episode, the terminating step included.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "envs/cartpole.h"

namespace metarl::envs {
namespace {

constexpr double kTolerance = 1e-5;

// CartPoleEnv's attributes and state, named as in cartpole.py. The target term is
// metarl's extension (envs/cartpole.h); with target_weight 0 the reward is Gymnasium's 1.
struct ReferenceCartPole {
  double length = 0.5;  // half the pole's length
  double masspole = 0.1;
  double masscart = 1.0;
  double gravity = 9.8;
  double force_mag = 10.0;
  double target_position = 0.0;
  double target_weight = 0.0;
  double tau = 0.02;
  double theta_threshold_radians = 12 * 2 * M_PI / 360;
  double x_threshold = 2.4;
  double x = 0, x_dot = 0, theta = 0, theta_dot = 0;

  explicit ReferenceCartPole(const std::vector<double>& task)
      : length(task[0]), masspole(task[1]), masscart(task[2]), gravity(task[3]), force_mag(task[4]),
        target_position(task[5]), target_weight(task[6]) {}

  // reset(): np_random.uniform(-0.05, 0.05, size=4), drawn here from the env row's
  // own stream, derive_seed(seed, row) (the seeding convention of envs/batched_env.h).
  void reset(std::uint64_t seed, int row) {
    Rng rng(derive_seed(seed, static_cast<std::uint64_t>(row)));
    x = rng.uniform(-0.05, 0.05);
    x_dot = rng.uniform(-0.05, 0.05);
    theta = rng.uniform(-0.05, 0.05);
    theta_dot = rng.uniform(-0.05, 0.05);
  }

  // step(action) with kinematics_integrator == "euler"; returns terminated.
  bool step(int action, double& reward) {
    const double total_mass = masspole + masscart;
    const double polemass_length = masspole * length;
    const double force = action == 1 ? force_mag : -force_mag;
    const double costheta = std::cos(theta);
    const double sintheta = std::sin(theta);
    const double temp = (force + polemass_length * std::pow(theta_dot, 2) * sintheta) / total_mass;
    const double thetaacc =
        (gravity * sintheta - costheta * temp) / (length * (4.0 / 3.0 - masspole * std::pow(costheta, 2) / total_mass));
    const double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
    x = x + tau * x_dot;
    x_dot = x_dot + tau * xacc;
    theta = theta + tau * theta_dot;
    theta_dot = theta_dot + tau * thetaacc;
    const bool terminated =
        x < -x_threshold || x > x_threshold || theta < -theta_threshold_radians || theta > theta_threshold_radians;
    const double distance = std::abs(x - target_position);
    reward = 1.0 - target_weight * distance / (distance + 0.5);
    return terminated;
  }
};

std::vector<double> default_task() { return CartPole::make_task_distribution().defaults(1).values; }

// An action for step t given the latest observation [x, ẋ, θ, θ̇].
using Policy = std::function<float(int t, const float* observation)>;

// Open loop: alternate left and right pushes. The pole wobbles and falls within
// about a hundred steps, a whole episode that ends on the angle limit.
float alternate(int t, const float* /*observation*/) { return static_cast<float>(t % 2); }
// Open loop: 1 1 0 1 1 0 ...: a drift to the right that topples the pole sooner (to
// the left), and its mirror image.
float mostly_right(int t, const float* /*observation*/) { return t % 3 == 2 ? 0.0f : 1.0f; }
float mostly_left(int t, const float* observation) { return 1.0f - mostly_right(t, observation); }
// Closed loop: balance the pole while steering the cart towards `goal` (m). The x
// terms have the sign of a balancing controller's: to go right, first push left so
// that the pole leans right, then follow it.
Policy steer_to(double goal) {
  return [goal](int /*t*/, const float* o) {
    return o[2] + 0.5 * o[3] + 0.02 * (o[0] - goal) + 0.1 * o[1] > 0 ? 1.0f : 0.0f;
  };
}

// Runs row 0 of a cartpole and the reference side by side through one episode and
// compares every step. Returns the episode's length; the episode must end terminated.
int expect_aligned_episode(const std::vector<double>& task, std::uint64_t seed, const Policy& policy) {
  CartPole env(1, seed);
  env.set_task(0, task.data());
  env.reset();
  ReferenceCartPole reference(task);
  reference.reset(seed, 0);
  const float* obs = env.observations();
  EXPECT_NEAR(obs[0], reference.x, kTolerance);
  EXPECT_NEAR(obs[1], reference.x_dot, kTolerance);
  EXPECT_NEAR(obs[2], reference.theta, kTolerance);
  EXPECT_NEAR(obs[3], reference.theta_dot, kTolerance);
  for (int t = 0; t < CartPole::kMaxEpisodeSteps; ++t) {
    const float action = policy(t, env.observations());
    double reward = 0.0;
    const bool terminated = reference.step(static_cast<int>(action), reward);
    env.step(&action);
    EXPECT_NEAR(env.rewards()[0], reward, kTolerance) << "step " << t;
    EXPECT_EQ(env.terminated()[0] == 1, terminated) << "step " << t;
    EXPECT_FALSE(env.truncated()[0]) << "step " << t;
    // On the terminating step the automatic reset has already replaced the
    // observation; the step's own lies in final_observations().
    const float* o = terminated ? env.final_observations() : env.observations();
    EXPECT_NEAR(o[0], reference.x, kTolerance) << "step " << t;
    EXPECT_NEAR(o[1], reference.x_dot, kTolerance) << "step " << t;
    EXPECT_NEAR(o[2], reference.theta, kTolerance) << "step " << t;
    EXPECT_NEAR(o[3], reference.theta_dot, kTolerance) << "step " << t;
    if (::testing::Test::HasFailure()) return t + 1;
    if (terminated) return t + 1;
  }
  ADD_FAILURE() << "the episode did not terminate within " << CartPole::kMaxEpisodeSteps << " steps";
  return CartPole::kMaxEpisodeSteps;
}

TEST(CartPole, SpecIsCartPoleV1s) {
  CartPole env(1, 0);
  const EnvSpec& spec = env.spec();
  EXPECT_EQ(spec.name, "cartpole");
  EXPECT_EQ(spec.observation_dim, 4);
  EXPECT_EQ(spec.action_dim, 1);
  EXPECT_TRUE(spec.discrete_actions);
  EXPECT_EQ(spec.num_actions, 2);
  EXPECT_EQ(spec.max_episode_steps, 500);
  EXPECT_FALSE(spec.deterministic_reset);
  const float angle = static_cast<float>(2 * 12 * 2 * M_PI / 360);  // 24°, twice the limit
  EXPECT_EQ(spec.observation_high, (std::vector<float>{4.8f, INFINITY, angle, INFINITY}));
  EXPECT_EQ(spec.observation_low, (std::vector<float>{-4.8f, -INFINITY, -angle, -INFINITY}));
  EXPECT_DOUBLE_EQ(CartPole::kThetaThreshold, 12 * 2 * M_PI / 360);
}

TEST(CartPole, DefaultTaskIsCartPoleV1) {
  EXPECT_EQ(default_task(), (std::vector<double>{0.5, 0.1, 1.0, 9.8, 10.0, 0.0, 0.0}));
  // Open-loop episodes that end on the angle limit, on both sides, from three seeds.
  EXPECT_GT(expect_aligned_episode(default_task(), 42, alternate), 40);
  EXPECT_GT(expect_aligned_episode(default_task(), 7, mostly_right), 5);
  EXPECT_GT(expect_aligned_episode(default_task(), 8, mostly_left), 5);
}

TEST(CartPole, DefaultTaskAlignedOverALongEpisodeEndingAtTheTrackEnd) {
  // A balancing controller drives the cart past x = 2.4 m: hundreds of steps, ending
  // on the position limit rather than the angle.
  const int length = expect_aligned_episode(default_task(), 3, steer_to(3.0));
  EXPECT_GT(length, 200);
}

TEST(CartPole, OtherTasksFollowTheSameEquations) {
  // Varied physics, in and beyond the training ranges, with the target term on.
  // half-length, pole mass, cart mass, gravity, force, target, weight
  const std::vector<std::vector<double>> tasks = {
      {0.7, 0.18, 0.8, 10.5, 11.0, 0.6, 0.9},
      {0.3, 0.05, 1.4, 8.7, 8.5, -0.8, 0.5},
      {0.95, 0.28, 0.55, 12.3, 14.0, 1.4, 0.3},
  };
  for (const auto& task : tasks) {
    SCOPED_TRACE(::testing::Message() << "pole half-length " << task[0]);
    EXPECT_GT(expect_aligned_episode(task, 11, alternate), 5);
    EXPECT_GT(expect_aligned_episode(task, 12, mostly_right), 3);
  }
}

TEST(CartPole, ResetDrawsEachComponentFromGymnasiumsBox) {
  CartPole env(2000, 9);
  env.reset();
  std::vector<float> largest(4, 0.0f);
  for (int r = 0; r < 2000; ++r) {
    for (int d = 0; d < 4; ++d) {
      const float o = env.observations()[4 * r + d];
      ASSERT_LE(std::abs(o), 0.05f);
      largest[d] = std::max(largest[d], std::abs(o));
    }
  }
  for (int d = 0; d < 4; ++d) EXPECT_GT(largest[d], 0.049f) << "component " << d;  // the whole box
}

TEST(CartPole, TerminatesOnTheStepThePoleTiltsBeyondTwelveDegrees) {
  // Pushing right all the time tips the pole to the left (θ decreasing).
  CartPole env(1, 5);
  env.reset();
  const float right = 1.0f;
  float theta_before = env.observations()[2];
  for (int t = 0; t < 100; ++t) {
    env.step(&right);
    if (env.terminated()[0]) {
      EXPECT_FALSE(env.truncated()[0]);
      EXPECT_EQ(env.rewards()[0], 1.0f);  // Gymnasium pays the terminating step too
      const float theta = env.final_observations()[2];
      EXPECT_LT(theta, -CartPole::kThetaThreshold);
      EXPECT_GE(theta_before, -CartPole::kThetaThreshold);
      EXPECT_LT(std::abs(env.final_observations()[0]), CartPole::kXThreshold);
      EXPECT_EQ(env.elapsed_steps()[0], 0);  // reset within the step
      return;
    }
    ASSERT_GE(env.observations()[2], -CartPole::kThetaThreshold) << "step " << t;
    theta_before = env.observations()[2];
  }
  FAIL() << "the pole did not fall";
}

TEST(CartPole, TerminatesOnTheStepTheCartPassesTheTrackEnd) {
  CartPole env(1, 3);
  env.reset();
  const auto policy = steer_to(3.0);
  float x_before = env.observations()[0];
  for (int t = 0; t < CartPole::kMaxEpisodeSteps; ++t) {
    const float action = policy(t, env.observations());
    env.step(&action);
    if (env.terminated()[0]) {
      EXPECT_GT(env.final_observations()[0], CartPole::kXThreshold);
      EXPECT_LE(x_before, CartPole::kXThreshold);
      EXPECT_LE(std::abs(env.final_observations()[2]), CartPole::kThetaThreshold);  // upright
      EXPECT_EQ(env.rewards()[0], 1.0f);
      return;
    }
    x_before = env.observations()[0];
  }
  FAIL() << "the cart did not reach the end of the track";
}

TEST(CartPole, TerminatedExactlyWhenALimitIsPassed) {
  // Thousands of random-action episodes: the flag must agree with the limits on every
  // step, so a threshold off by a fraction of a percent shows up in some episode.
  constexpr int kRows = 1024;
  CartPole env(kRows, 17);
  Rng task_rng(18);
  env.set_tasks(env.task_distribution().sample(kRows, Split::kTrain, task_rng));
  env.reset();
  Rng rng(19);
  int terminations = 0;
  std::vector<float> actions(kRows);
  for (int t = 0; t < 200; ++t) {
    for (auto& a : actions) a = rng.uniform() < 0.5 ? 0.0f : 1.0f;
    env.step(actions.data());
    for (int r = 0; r < kRows; ++r) {
      const float* o = env.terminated()[r] ? env.final_observations() + 4 * r : env.observations() + 4 * r;
      const bool beyond = std::abs(o[0]) > CartPole::kXThreshold || std::abs(o[2]) > CartPole::kThetaThreshold;
      ASSERT_EQ(env.terminated()[r] == 1, beyond) << "row " << r << " step " << t;
      terminations += env.terminated()[r];
    }
  }
  EXPECT_GT(terminations, 5000);
}

TEST(CartPole, DefaultTaskRewardIsExactlyOnePerStep) {
  CartPole env(64, 1);
  env.reset();
  Rng rng(2);
  for (int t = 0; t < 300; ++t) {
    std::vector<float> actions(64);
    for (auto& a : actions) a = rng.uniform() < 0.5 ? 0.0f : 1.0f;
    env.step(actions.data());
    for (int r = 0; r < 64; ++r) ASSERT_EQ(env.rewards()[r], 1.0f) << "row " << r << " step " << t;
  }
}

TEST(CartPole, TruncatedNotTerminatedAtFiveHundredSteps) {
  // A balancing controller that holds the cart near the origin survives the limit.
  CartPole env(1, 3);
  env.reset();
  const auto policy = steer_to(0.0);
  for (int t = 1; t <= 500; ++t) {
    const float action = policy(t, env.observations());
    env.step(&action);
    ASSERT_FALSE(env.terminated()[0]) << "step " << t;
    ASSERT_EQ(env.truncated()[0] == 1, t == 500) << "step " << t;
    ASSERT_EQ(env.elapsed_steps()[0], t == 500 ? 0 : t);
  }
  // The next episode starts afresh.
  EXPECT_LE(std::abs(env.observations()[0]), 0.05f);
}

TEST(CartPole, TargetTermCostsTheDocumentedFractionOfEachStep) {
  // reward = 1 − w·d / (d + 0.5 m), d = |x − x*| after the move; rows differ only in
  // the target.
  const double targets[3] = {0.0, 1.0, -1.5};
  CartPole env(3, 8);
  for (int r = 0; r < 3; ++r) {
    const double task[7] = {0.5, 0.1, 1.0, 9.8, 10.0, targets[r], 0.8};
    env.set_task(r, task);
  }
  env.reset();
  const float actions[3] = {1.0f, 1.0f, 1.0f};
  for (int t = 0; t < 5; ++t) {
    env.step(actions);
    for (int r = 0; r < 3; ++r) {
      const double x = env.observations()[4 * r];
      const double distance = std::abs(x - targets[r]);
      EXPECT_NEAR(env.rewards()[r], 1.0 - 0.8 * distance / (distance + 0.5), 1e-6) << "row " << r;
    }
  }
  // A cart near the origin earns most under the target at the origin.
  EXPECT_GT(env.rewards()[0], env.rewards()[1]);
  EXPECT_GT(env.rewards()[1], env.rewards()[2]);
  // The documented shape: a cart 1.5 m from the target (row 2) keeps 1 − 0.8·1.5/2 = 0.4.
  EXPECT_NEAR(env.rewards()[2], 0.4, 0.02);
}

TEST(CartPole, TheTargetIsNotObserved) {
  // Same seed and actions, different targets: identical observations, different rewards.
  CartPole a(4, 6);
  CartPole b(4, 6);
  const double near_target[7] = {0.5, 0.1, 1.0, 9.8, 10.0, 0.2, 1.0};
  const double far_target[7] = {0.5, 0.1, 1.0, 9.8, 10.0, -1.0, 1.0};
  for (int r = 0; r < 4; ++r) {
    a.set_task(r, near_target);
    b.set_task(r, far_target);
  }
  a.reset();
  b.reset();
  Rng rng(4);
  bool rewards_differ = false;
  for (int t = 0; t < 100; ++t) {
    float actions[4];
    for (auto& action : actions) action = rng.uniform() < 0.5 ? 0.0f : 1.0f;
    a.step(actions);
    b.step(actions);
    ASSERT_TRUE(std::equal(a.observations(), a.observations() + 16, b.observations())) << "step " << t;
    for (int r = 0; r < 4; ++r) rewards_differ = rewards_differ || a.rewards()[r] != b.rewards()[r];
  }
  EXPECT_TRUE(rewards_differ);
}

TEST(CartPole, TaskDistributionHoldsOutWiderPhysicsAndTargets) {
  const auto tasks = CartPole::make_task_distribution();
  const std::vector<std::string> names = {"pole_half_length", "pole_mass", "cart_mass", "gravity",
                                          "force_magnitude", "target_position", "target_weight"};
  ASSERT_EQ(tasks.num_parameters(), static_cast<int>(names.size()));
  for (int p = 0; p < tasks.num_parameters(); ++p) {
    const auto& parameter = tasks.parameters()[p];
    EXPECT_EQ(parameter.name, names[p]);
    EXPECT_FALSE(parameter.unit.empty()) << parameter.name;
    EXPECT_TRUE(parameter.heldout_low < parameter.train_low || parameter.train_high < parameter.heldout_high)
        << parameter.name << ": held-out range no wider than the training range";
  }
  EXPECT_EQ(tasks.index_of("target_position"), CartPole::task_layout().index_of(&CartPoleTask::target_position));
  EXPECT_EQ(tasks.index_of("target_weight"), CartPole::task_layout().index_of(&CartPoleTask::target_weight));
  // CartPole-v1 (target weight 0) lies outside the training box: every training task
  // rewards the target.
  EXPECT_FALSE(tasks.in_training_range(tasks.defaults(1).task(0)));

  Rng rng(21);
  const auto heldout = tasks.sample(2000, Split::kHeldOut, rng);
  std::vector<bool> extended(tasks.num_parameters(), false);
  for (int t = 0; t < heldout.num_tasks; ++t) {
    ASSERT_FALSE(tasks.in_training_range(heldout.task(t)));
    for (int p = 0; p < tasks.num_parameters(); ++p) {
      const auto& parameter = tasks.parameters()[p];
      const double value = heldout.at(t, p);
      ASSERT_GE(value, parameter.heldout_low);
      ASSERT_LE(value, parameter.heldout_high);
      extended[p] = extended[p] || value < parameter.train_low || value > parameter.train_high;
    }
  }
  for (int p = 0; p < tasks.num_parameters(); ++p) EXPECT_TRUE(extended[p]) << names[p] << " never held out";

  Rng train_rng(22);
  const auto train = tasks.sample(500, Split::kTrain, train_rng);
  for (int t = 0; t < train.num_tasks; ++t) ASSERT_TRUE(tasks.in_training_range(train.task(t)));
}

TEST(CartPole, ObservationsStayInBoundsOnTheMostAbruptHeldOutTasks) {
  // Short light pole, light cart, strong gravity and force: the fastest dynamics the
  // held-out box allows. The observation of a terminating step overshoots the limits
  // by one step's motion, which must stay within Gymnasium's doubled bounds.
  const auto tasks = CartPole::make_task_distribution();
  const auto& p = tasks.parameters();
  const double abrupt[7] = {p[0].heldout_low,  p[1].heldout_low,  p[2].heldout_low, p[3].heldout_high,
                            p[4].heldout_high, p[5].heldout_high, p[6].heldout_high};
  CartPole env(256, 13);
  for (int r = 0; r < 256; ++r) env.set_task(r, abrupt);
  env.reset();
  Rng rng(14);
  const EnvSpec& spec = env.spec();
  for (int t = 0; t < 1000; ++t) {
    std::vector<float> actions(256);
    for (auto& a : actions) a = rng.uniform() < 0.5 ? 0.0f : 1.0f;
    env.step(actions.data());
    for (int r = 0; r < 256; ++r) {
      ASSERT_GE(env.rewards()[r], 0.0f);  // weight ≤ 1 and target on the track
      const float* o = env.done(r) ? env.final_observations() + 4 * r : env.observations() + 4 * r;
      for (int d = 0; d < 4; ++d) {
        ASSERT_GE(o[d], spec.observation_low[d]) << "component " << d;
        ASSERT_LE(o[d], spec.observation_high[d]) << "component " << d;
      }
    }
  }
}

}  // namespace
}  // namespace metarl::envs
