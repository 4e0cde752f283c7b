// The sampler on point-nav: shapes, the task → row layout, the validity mask after
// termination, and seeding.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

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

// Online adaptation's segments (continue_episodes): three segments of 4 steps are one
// 12-step rollout cut in three — the same actions, rewards, observations and mask — since
// the environment is not reset and the action noise comes from the same stream in the
// same order.
TEST_F(SamplerTest, SegmentsOfOneEpisodeAreTheStepsOfOneLongerRollout) {
  // A policy pushing (+0.1, +0.1) every step (σ ≈ 0): rollouts of the goal (0.5, 0.5)
  // reach it on step 5, the first of the second segment (their mask ends there), those
  // of (0.5, −0.5) run to the end.
  auto params = policy.initial_parameters(0, torch::kFloat32);
  params[params.size() - 2] = torch::full({2}, 50.0f);  // output bias
  params.back() = torch::full({2}, -20.0f);             // log σ
  const auto tasks = goal_tasks({{0.5, 0.5}, {0.5, -0.5}, {-0.2, 0.3}});
  envs::PointNav long_env(12, 3);
  Sampler whole(long_env, policy, 3, 4, 12, torch::kCPU, 9);
  const auto reference = whole.sample(params, tasks);
  envs::PointNav segment_env(12, 3);
  Sampler segments(segment_env, policy, 3, 4, 4, torch::kCPU, 9);
  EXPECT_THROW(segments.continue_episodes(params, tasks), std::invalid_argument);  // nothing to continue
  std::vector<Trajectories> parts{segments.sample(params, tasks)};
  parts.push_back(segments.continue_episodes(params, tasks));
  parts.push_back(segments.continue_episodes(params, tasks));
  for (const auto& [name, whole_value, part_values] :
       std::vector<std::tuple<std::string, torch::Tensor, std::vector<torch::Tensor>>>{
           {"observations", reference.observations, {parts[0].observations, parts[1].observations, parts[2].observations}},
           {"actions", reference.actions, {parts[0].actions, parts[1].actions, parts[2].actions}},
           {"rewards", reference.rewards, {parts[0].rewards, parts[1].rewards, parts[2].rewards}},
           {"mask", reference.mask, {parts[0].mask, parts[1].mask, parts[2].mask}}}) {
    EXPECT_TRUE(torch::equal(torch::cat(part_values, 2), whole_value)) << name;
  }
  // Task 0's rollouts ended on the second segment's first step and stay ended in the
  // third; task 1's run through.
  EXPECT_EQ(parts[1].mask[0].sum().item<float>(), 4.0f * 1.0f);
  EXPECT_EQ(parts[2].mask[0].sum().item<float>(), 0.0f);
  EXPECT_EQ(parts[2].mask[1].sum().item<float>(), 4.0f * 4.0f);
}

// A task set between segments acts from the segment's first step, on the running
// episode: the position carries over and the reward is the distance to the new goal.
TEST_F(SamplerTest, ATaskChangedBetweenSegmentsActsOnTheRunningEpisode) {
  const auto params = policy.initial_parameters(0, torch::kFloat32);
  Sampler sampler(env, policy, 3, 4, 5, torch::kCPU, 5);
  const auto first = sampler.sample(params, goal_tasks({{0.4, 0.4}, {-0.3, 0.2}, {0.0, -0.5}}));
  const auto moved = goal_tasks({{-0.4, 0.1}, {0.3, 0.3}, {0.2, 0.0}});
  const auto second = sampler.continue_episodes(params, moved);
  for (int t = 0; t < 3; ++t) {
    for (int r = 0; r < 4; ++r) {
      // Where the first segment left the point: its last observation plus its last step.
      const double x = first.observations[t][r][4][0].item<double>() +
                       std::clamp(first.actions[t][r][4][0].item<double>(), -0.1, 0.1);
      const double y = first.observations[t][r][4][1].item<double>() +
                       std::clamp(first.actions[t][r][4][1].item<double>(), -0.1, 0.1);
      EXPECT_NEAR(second.observations[t][r][0][0].item<double>(), x, 1e-5);
      EXPECT_NEAR(second.observations[t][r][0][1].item<double>(), y, 1e-5);
      const double x1 = x + std::clamp(second.actions[t][r][0][0].item<double>(), -0.1, 0.1);
      const double y1 = y + std::clamp(second.actions[t][r][0][1].item<double>(), -0.1, 0.1);
      EXPECT_NEAR(second.rewards[t][r][0].item<double>(), -std::hypot(x1 - moved.at(t, 0), y1 - moved.at(t, 1)),
                  1e-5);
    }
  }
}

TEST_F(SamplerTest, NormalizedActionsAreMappedOntoTheBoundsAndStoredAsThePolicyDrewThem) {
  // point-nav's box is [-0.1, 0.1]: a → clip(0.1 · a, -0.1, 0.1), rllab's normalize().
  const auto params = policy.initial_parameters(0, torch::kFloat32);
  const auto tasks = goal_tasks({{0.4, 0.4}, {-0.3, 0.2}, {0.0, -0.5}});
  Sampler sampler(env, policy, 3, 4, 10, torch::kCPU, 5, ActionSpace::kNormalized);
  const auto batch = sampler.sample(params, tasks);
  int unclipped = 0;
  for (int t = 0; t < 3; ++t) {
    for (int r = 0; r < 4; ++r) {
      double x = 0.0, y = 0.0;
      for (int h = 0; h < 10; ++h) {
        const double ax = batch.actions[t][r][h][0].item<double>();
        const double ay = batch.actions[t][r][h][1].item<double>();
        if (std::abs(ax) < 1.0) ++unclipped;
        x += std::clamp(0.1 * ax, -0.1, 0.1);
        y += std::clamp(0.1 * ay, -0.1, 0.1);
        EXPECT_NEAR(batch.observations[t][r][h][0].item<double>() + std::clamp(0.1 * ax, -0.1, 0.1), x, 1e-5);
        EXPECT_NEAR(batch.rewards[t][r][h].item<double>(), -std::hypot(x - tasks.at(t, 0), y - tasks.at(t, 1)), 1e-5);
      }
    }
  }
  // σ = 1 in normalized units: many draws fall inside (-1, 1), where the scaling
  // rather than the clip decides the step.
  EXPECT_GT(unclipped, 40);

  // The same first draws (same seed, same start) move the point to different places
  // in the environment's own units.
  Sampler raw(env, policy, 3, 4, 10, torch::kCPU, 5);
  const auto raw_batch = raw.sample(params, tasks);
  EXPECT_TRUE(torch::equal(raw_batch.actions.select(2, 0), batch.actions.select(2, 0)));
  EXPECT_FALSE(torch::equal(raw_batch.observations.select(2, 1), batch.observations.select(2, 1)));
}

// ProMP's normalize(): the policy acts in [-10, 10], a → clip(0.1 · a / 10, -0.1, 0.1)
// on point-nav's box; the same draws as with scale 1, a tenth of the step.
TEST_F(SamplerTest, ANormalizationScaleShrinksTheMappingByItsFactor) {
  const auto params = policy.initial_parameters(0, torch::kFloat32);
  const auto tasks = goal_tasks({{0.4, 0.4}, {-0.3, 0.2}, {0.0, -0.5}});
  Sampler promp(env, policy, 3, 4, 10, torch::kCPU, 5, ActionSpace::kNormalized, false, 10.0);
  const auto batch = promp.sample(params, tasks);
  for (int t = 0; t < 3; ++t) {
    for (int r = 0; r < 4; ++r) {
      double x = 0.0;
      for (int h = 0; h < 10; ++h) {
        const double ax = batch.actions[t][r][h][0].item<double>();
        EXPECT_NEAR(batch.observations[t][r][h][0].item<double>(), x, 1e-5);
        x += std::clamp(0.1 * ax / 10.0, -0.1, 0.1);
      }
    }
  }
  EXPECT_THROW(Sampler(env, policy, 3, 4, 10, torch::kCPU, 5, ActionSpace::kNormalized, false, 0.0),
               std::invalid_argument);
}

TEST(SamplerActionSpace, ParsesTheConfigNames) {
  EXPECT_EQ(parse_action_space("environment"), ActionSpace::kEnvironment);
  EXPECT_EQ(parse_action_space("normalized"), ActionSpace::kNormalized);
  EXPECT_THROW(parse_action_space("normalised"), std::invalid_argument);
}

TEST_F(SamplerTest, RejectsAMismatchedBatch) {
  EXPECT_THROW(Sampler(env, policy, 5, 4, 10, torch::kCPU, 0), std::invalid_argument);
}

// A task that changes at a step inside the segment (continue_episodes' change_steps):
// point-nav observes the position only, so with the same noise all three samplers below
// act alike, and each task's rewards are the old goal's before its change step and the
// new goal's from it on.
TEST_F(SamplerTest, ATaskChangedAtAStepInsideASegmentActsFromThatStep) {
  const auto params = policy.initial_parameters(0, torch::kFloat32);
  const auto old_tasks = goal_tasks({{0.4, 0.4}, {-0.3, 0.2}, {0.0, -0.5}});
  const auto moved = goal_tasks({{-0.4, 0.1}, {0.3, 0.3}, {0.2, 0.0}});
  const std::vector<int> change_steps{2, 0, 4};
  const auto second_segment = [&](const std::vector<int>& steps, const envs::TaskBatch& tasks) {
    envs::PointNav segment_env(12, 3);
    Sampler sampler(segment_env, policy, 3, 4, 5, torch::kCPU, 5);
    sampler.sample(params, old_tasks);
    return sampler.continue_episodes(params, tasks, steps);
  };
  const auto changed = second_segment(change_steps, moved);
  const auto kept = second_segment({}, old_tasks);
  const auto at_start = second_segment({}, moved);
  EXPECT_TRUE(torch::equal(changed.actions, kept.actions));
  EXPECT_TRUE(torch::equal(changed.actions, at_start.actions));
  for (int t = 0; t < 3; ++t) {
    const int step = change_steps[static_cast<size_t>(t)];
    const auto before = torch::indexing::Slice(0, step);
    const auto after = torch::indexing::Slice(step, torch::indexing::None);
    EXPECT_TRUE(torch::equal(changed.rewards[t].index({torch::indexing::Slice(), before}),
                             kept.rewards[t].index({torch::indexing::Slice(), before})))
        << "task " << t;
    EXPECT_TRUE(torch::equal(changed.rewards[t].index({torch::indexing::Slice(), after}),
                             at_start.rewards[t].index({torch::indexing::Slice(), after})))
        << "task " << t;
  }
  // The moved goals are far from the old ones: the change is visible where it happens.
  EXPECT_FALSE(torch::equal(changed.rewards[0][0][2], kept.rewards[0][0][2]));
  EXPECT_FALSE(torch::equal(changed.rewards[0][0][1], at_start.rewards[0][0][1]));

  envs::PointNav segment_env(12, 3);
  Sampler sampler(segment_env, policy, 3, 4, 5, torch::kCPU, 5);
  sampler.sample(params, old_tasks);
  EXPECT_THROW(sampler.continue_episodes(params, moved, {1, 2}), std::invalid_argument);     // one per task
  EXPECT_THROW(sampler.continue_episodes(params, moved, {1, 5, 0}), std::invalid_argument);  // past the segment
  EXPECT_THROW(sampler.continue_episodes(params, moved, {-1, 0, 0}), std::invalid_argument);
}

}  // namespace
}  // namespace metarl::agents
