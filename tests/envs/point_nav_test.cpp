// point-nav against the reference dynamics of pytorch-maml-rl
// maml_rl/envs/navigation.py (Navigation2DEnv, after Finn's maml_rl
// point_env_randgoal.py): clip the action to [-0.1, 0.1], add it to the position,
// reward -‖position − goal‖ after the move, terminate when both |dx| and |dy| < 0.01.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "envs/errors.h"
#include "envs/point_nav.h"
#include "envs/registry.h"
#include "tests/support/test_support.h"

namespace metarl::envs {
namespace {

using metarl::testing::goal_tasks;

TEST(PointNav, SpecMatchesTheBenchmark) {
  PointNav env(1, 0);
  EXPECT_EQ(env.spec().name, "point-nav");
  EXPECT_EQ(env.spec().observation_dim, 2);
  EXPECT_EQ(env.spec().action_dim, 2);
  EXPECT_FALSE(env.spec().discrete_actions);
  EXPECT_EQ(env.spec().max_episode_steps, 100);
  EXPECT_FLOAT_EQ(env.spec().action_low[0], -0.1f);
  EXPECT_FLOAT_EQ(env.spec().action_high[1], 0.1f);
  const auto& params = env.task_distribution().parameters();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].name, "goal_x");
  EXPECT_DOUBLE_EQ(params[0].train_low, -0.5);
  EXPECT_DOUBLE_EQ(params[0].train_high, 0.5);
}

TEST(PointNav, StartsAtTheOriginAndMovesByTheAction) {
  PointNav env(1, 0);
  env.set_tasks(goal_tasks({{0.3, -0.2}}));
  env.reset();
  EXPECT_EQ(env.observations()[0], 0.0f);
  EXPECT_EQ(env.observations()[1], 0.0f);
  const float action[2] = {0.05f, -0.02f};
  env.step(action);
  EXPECT_FLOAT_EQ(env.observations()[0], 0.05f);
  EXPECT_FLOAT_EQ(env.observations()[1], -0.02f);
  // Reward on the position after the move: dx = 0.05 − 0.3, dy = −0.02 + 0.2.
  const double dx = static_cast<double>(0.05f) - 0.3;
  const double dy = static_cast<double>(-0.02f) + 0.2;
  EXPECT_NEAR(env.rewards()[0], -std::sqrt(dx * dx + dy * dy), 1e-6);
  EXPECT_FALSE(env.terminated()[0]);
  EXPECT_FALSE(env.truncated()[0]);
  env.step(action);
  EXPECT_FLOAT_EQ(env.observations()[0], 0.1f);
  EXPECT_FLOAT_EQ(env.observations()[1], -0.04f);
}

TEST(PointNav, ClipsEachActionComponentToPointOne) {
  PointNav env(1, 0);
  env.set_tasks(goal_tasks({{0.5, 0.5}}));
  env.reset();
  const float action[2] = {0.7f, -3.0f};
  env.step(action);
  EXPECT_FLOAT_EQ(env.observations()[0], 0.1f);
  EXPECT_FLOAT_EQ(env.observations()[1], -0.1f);
  const double dx = 0.1 - 0.5;
  const double dy = -0.1 - 0.5;
  EXPECT_NEAR(env.rewards()[0], -std::sqrt(dx * dx + dy * dy), 1e-6);
}

TEST(PointNav, TerminatesOnlyWithinPointZeroOneOnBothAxes) {
  // Row 0: |dx| = |dy| = 0.005 → terminated. Row 1: |dx| = 0.011 → not. Row 2: |dy| = 0.011 → not.
  PointNav env(3, 0);
  env.set_tasks(goal_tasks({{0.1, 0.1}, {0.1, 0.1}, {0.1, 0.1}}));
  env.reset();
  const float actions[6] = {0.095f, 0.095f, 0.089f, 0.1f, 0.1f, 0.089f};
  env.step(actions);
  EXPECT_TRUE(env.terminated()[0]);
  EXPECT_FALSE(env.terminated()[1]);
  EXPECT_FALSE(env.terminated()[2]);
}

TEST(PointNav, TruncatesAtOneHundredSteps) {
  PointNav env(1, 0);
  env.set_tasks(goal_tasks({{0.5, 0.5}}));
  env.reset();
  const float still[2] = {0.0f, 0.0f};
  for (int t = 1; t < 100; ++t) {
    env.step(still);
    ASSERT_FALSE(env.truncated()[0]) << "step " << t;
    ASSERT_EQ(env.elapsed_steps()[0], t);
  }
  env.step(still);
  EXPECT_TRUE(env.truncated()[0]);
  EXPECT_FALSE(env.terminated()[0]);
  EXPECT_EQ(env.elapsed_steps()[0], 0);  // auto-reset started the next episode
}

TEST(PointNav, NaturalEndOnTheLastStepSetsBothFlags) {
  PointNav env(1, 0);
  env.set_tasks(goal_tasks({{0.05, 0.0}}));
  env.reset();
  const float still[2] = {0.0f, 0.0f};
  for (int t = 1; t < 100; ++t) env.step(still);
  ASSERT_FALSE(env.terminated()[0]);
  const float reach[2] = {0.05f, 0.0f};
  env.step(reach);
  EXPECT_TRUE(env.terminated()[0]);
  EXPECT_TRUE(env.truncated()[0]);
}

TEST(PointNav, AutoResetKeepsTheTaskAndReportsTheFinalObservation) {
  PointNav env(1, 0);
  env.set_tasks(goal_tasks({{0.1, -0.1}}));
  env.reset();
  const float reach[2] = {0.1f, -0.1f};
  env.step(reach);
  ASSERT_TRUE(env.terminated()[0]);
  EXPECT_FLOAT_EQ(env.final_observations()[0], 0.1f);
  EXPECT_FLOAT_EQ(env.final_observations()[1], -0.1f);
  EXPECT_EQ(env.observations()[0], 0.0f);  // the next episode starts at the origin
  EXPECT_EQ(env.observations()[1], 0.0f);
  EXPECT_DOUBLE_EQ(env.task(0)[0], 0.1);
  EXPECT_DOUBLE_EQ(env.task(0)[1], -0.1);
  env.step(reach);  // same task: reached again in one step
  EXPECT_TRUE(env.terminated()[0]);
}

TEST(PointNav, ChangingOneRowsTaskChangesOnlyThatRow) {
  PointNav a(3, 7);
  PointNav b(3, 7);
  a.set_tasks(goal_tasks({{0.2, 0.2}, {-0.3, 0.1}, {0.4, -0.4}}));
  b.set_tasks(goal_tasks({{0.2, 0.2}, {-0.3, 0.1}, {0.4, -0.4}}));
  const double other_goal[2] = {0.0, -0.45};
  b.set_task(1, other_goal);
  a.reset();
  b.reset();
  const float actions[6] = {0.03f, 0.01f, -0.02f, 0.04f, 0.1f, -0.1f};
  a.step(actions);
  b.step(actions);
  EXPECT_EQ(a.rewards()[0], b.rewards()[0]);
  EXPECT_NE(a.rewards()[1], b.rewards()[1]);
  EXPECT_EQ(a.rewards()[2], b.rewards()[2]);
}

TEST(PointNav, SetTasksSpreadsTasksOverRolloutRows) {
  PointNav env(6, 0);
  env.set_tasks(goal_tasks({{0.1, 0.2}, {0.3, 0.4}}));  // 2 tasks × 3 rollouts
  for (int row = 0; row < 6; ++row) EXPECT_DOUBLE_EQ(env.task(row)[0], row < 3 ? 0.1 : 0.3);
  EXPECT_THROW(env.set_tasks(goal_tasks({{0.1, 0.2}, {0.3, 0.4}, {0.1, 0.1}, {0.0, 0.0}})), std::invalid_argument);
}

TEST(PointNav, RejectsNonPositiveBatchAndStepBeforeReset) {
  EXPECT_THROW(PointNav(0, 0), UsageError);
  PointNav env(1, 0);
  const float still[2] = {0.0f, 0.0f};
  EXPECT_THROW(env.step(still), std::logic_error);
}

TEST(Registry, FindsPointNavAndNamesTheKnownEnvironmentsForUnknownOnes) {
  auto& registry = EnvRegistry::global();
  auto env = registry.make("point-nav", 4, 1);
  EXPECT_EQ(env->batch_size(), 4);
  try {
    registry.make("no-such-env", 1, 0);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-env"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("point-nav"), std::string::npos);
  }
  EnvRegistry local;
  register_builtin_envs(local);
  EXPECT_THROW(local.add({"point-nav", "clash", [](int b, std::uint64_t s) { return std::make_unique<PointNav>(b, s); }}),
               std::invalid_argument);
  EXPECT_NE(describe_environment("point-nav").find("held-out"), std::string::npos);
}

}  // namespace
}  // namespace metarl::envs
