// The sampler on point-nav: shapes, the task → row layout, the validity mask after
// termination, and seeding.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "agents/policy.h"
#include "agents/sampler.h"
#include "envs/point_nav.h"
#include "tests/support/test_support.h"

namespace metarl::agents {
namespace {

using metarl::testing::goal_tasks;

class SamplerTest : public ::testing::Test {
 protected:
  GaussianMlpPolicy policy{2, 2, {{8}, Activation::kTanh, 0.0}};
  envs::PointNav env{3 * 4, 0};
};

TEST_F(SamplerTest, ShapesAndTheTaskOfEachRow) {
  Sampler sampler(env, policy, 3, 4, 10, torch::kCPU, 5);
  const auto params = policy.initial_parameters(0, torch::kFloat32);
  const auto tasks = goal_tasks({{0.4, 0.4}, {-0.3, 0.2}, {0.0, -0.5}});
  const auto batch = sampler.sample(params, tasks);
  EXPECT_EQ(batch.observations.sizes(), (std::vector<int64_t>{3, 4, 10, 2}));
  EXPECT_EQ(batch.actions.sizes(), (std::vector<int64_t>{3, 4, 10, 2}));
  EXPECT_EQ(batch.rewards.sizes(), (std::vector<int64_t>{3, 4, 10}));
  EXPECT_EQ(batch.mask.sizes(), (std::vector<int64_t>{3, 4, 10}));
  // First reward of rollout (t, r) is −‖clip(a0) − goal_t‖ from the origin.
  for (int t = 0; t < 3; ++t) {
    for (int r = 0; r < 4; ++r) {
      const double ax = std::clamp(batch.actions[t][r][0][0].item<double>(), -0.1, 0.1);
      const double ay = std::clamp(batch.actions[t][r][0][1].item<double>(), -0.1, 0.1);
      const double expected = -std::hypot(ax - tasks.at(t, 0), ay - tasks.at(t, 1));
      EXPECT_NEAR(batch.rewards[t][r][0].item<double>(), expected, 1e-5);
      // Observation at step 1 is the clipped first action (start at the origin).
      EXPECT_NEAR(batch.observations[t][r][1][0].item<double>(), ax, 1e-6);
    }
  }
}

TEST_F(SamplerTest, StepsAfterTerminationAreMaskedOut) {
  // A policy that always pushes (+,+) hard with σ ≈ 0 reaches the goal (0.1, 0.1)
  // on its first step: mask = [1, 0, 0, ...], later rewards 0.
  auto params = policy.initial_parameters(0, torch::kFloat32);
  params[params.size() - 2] = torch::full({2}, 50.0f);  // output bias
  params.back() = torch::full({2}, -20.0f);             // log σ
  Sampler sampler(env, policy, 3, 4, 6, torch::kCPU, 5);
  const auto batch = sampler.sample(params, goal_tasks({{0.1, 0.1}, {0.1, 0.1}, {0.5, -0.5}}));
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(batch.mask[0][r][0].item<float>(), 1.0f);
    EXPECT_EQ(batch.mask[0][r].sum().item<float>(), 1.0f);
    EXPECT_EQ(batch.rewards[0][r].slice(0, 1).abs().sum().item<float>(), 0.0f);
    EXPECT_EQ(batch.mask[2][r].sum().item<float>(), 6.0f);  // pushing (+, +) never reaches (0.5, −0.5)
  }
  EXPECT_NEAR(batch.episode_returns()[0][0].item<double>(), 0.0, 1e-6);
}

TEST_F(SamplerTest, SameSeedSameRolloutsAndPerTaskParametersAreUsed) {
  const auto params = policy.initial_parameters(0, torch::kFloat32);
  const auto tasks = goal_tasks({{0.4, 0.4}, {-0.3, 0.2}, {0.0, -0.5}});
  Sampler a(env, policy, 3, 4, 10, torch::kCPU, 5);
  const auto first = a.sample(params, tasks);
  envs::PointNav other_env(12, 0);
  Sampler b(other_env, policy, 3, 4, 10, torch::kCPU, 5);
  const auto second = b.sample(params, tasks);
  EXPECT_TRUE(torch::equal(first.actions, second.actions));
  EXPECT_TRUE(torch::equal(first.rewards, second.rewards));
  Sampler c(other_env, policy, 3, 4, 10, torch::kCPU, 6);
  EXPECT_FALSE(torch::equal(first.actions, c.sample(params, tasks).actions));

  // Task-batched parameters: task 1 gets a policy whose mean is pushed far negative.
  auto batched = expand_to_tasks(params, 3);
  for (auto& p : batched) p = p.clone();
  batched[batched.size() - 2][1].fill_(-50.0f);
  batched.back().fill_(-20.0f);
  const auto per_task = a.sample(batched, tasks);
  EXPECT_LT(per_task.actions[1].max().item<float>(), -40.0f);
  EXPECT_GT(per_task.actions[0].max().item<float>(), -40.0f);
}

TEST_F(SamplerTest, RejectsAMismatchedBatch) {
  EXPECT_THROW(Sampler(env, policy, 5, 4, 10, torch::kCPU, 0), std::invalid_argument);
}

}  // namespace
}  // namespace metarl::agents
