// The device twins (agents/device_env.h) against the native environments, on the
// CPU: step by step with random actions through terminations, the time limit and
// automatic resets (observations, rewards, done flags, and the rows' random streams
// afterwards), then through the sampler (whole trajectories over consecutive
// rollouts). Bit for bit for point-nav and cartpole; pendulum to 1e-5 in float32
// observations and rewards, its sine being torch's rather than libm's.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "agents/device_env.h"
#include "agents/policy.h"
#include "agents/sampler.h"
#include "envs/registry.h"
#include "envs/rng.h"

namespace metarl::agents {
namespace {

struct TwinCase {
  std::string env;
  bool exact;       // bit for bit, or to 1e-5
  int steps;        // past the time limit where there is one to pass, so rows truncate and restart
  std::string name;
};
void PrintTo(const TwinCase& c, std::ostream* out) { *out << c.env; }

class DeviceTwin : public ::testing::TestWithParam<TwinCase> {};

// Tasks from the train and held-out splits, alternating: every corner of the physics.
envs::TaskBatch mixed_tasks(const envs::TaskDistribution& tasks, int n, std::uint64_t seed) {
  Rng rng(seed);
  const auto train = tasks.sample(n, envs::Split::kTrain, rng);
  const auto heldout = tasks.has_heldout() ? tasks.sample(n, envs::Split::kHeldOut, rng) : train;
  envs::TaskBatch mixed{n, tasks.num_parameters(), {}};
  for (int t = 0; t < n; ++t) {
    const double* task = (t % 2 ? heldout : train).task(t);
    mixed.values.insert(mixed.values.end(), task, task + tasks.num_parameters());
  }
  return mixed;
}

void expect_equal(const float* native, const torch::Tensor& twin, int64_t count, bool exact, const std::string& what) {
  const auto values = twin.to(torch::kCPU).contiguous();
  const float* data = values.data_ptr<float>();
  for (int64_t i = 0; i < count; ++i) {
    if (exact) {
      ASSERT_EQ(native[i], data[i]) << what << " entry " << i;
    } else {
      ASSERT_NEAR(native[i], data[i], 1e-5) << what << " entry " << i;
    }
  }
}

TEST_P(DeviceTwin, StepsLikeTheNativeEnvironmentThroughResetsAndLeavesItsStreamsWhereItWould) {
  const TwinCase& c = GetParam();
  constexpr int kRows = 64;
  auto native = envs::EnvRegistry::global().make(c.env, kRows, 11);
  auto driven = envs::EnvRegistry::global().make(c.env, kRows, 11);
  const auto tasks = mixed_tasks(native->task_distribution(), kRows, 3);
  native->set_tasks(tasks);
  driven->set_tasks(tasks);
  native->reset();
  driven->reset();
  auto twin = make_device_environment(c.env);
  ASSERT_NE(twin, nullptr);
  twin->begin(*driven, c.steps, torch::kCPU);
  const auto& spec = native->spec();
  const int64_t obs_count = static_cast<int64_t>(kRows) * spec.observation_dim;
  expect_equal(native->observations(), twin->observations(), obs_count, c.exact, "first observation");
  Rng rng(5);
  int episodes_ended = 0;
  for (int t = 0; t < c.steps; ++t) {
    std::vector<float> actions(static_cast<size_t>(kRows) * spec.action_dim);
    for (size_t i = 0; i < actions.size(); ++i) {
      const int d = static_cast<int>(i % spec.action_dim);
      // Past the bounds too: clipping is the environment's part.
      actions[i] = spec.discrete_actions ? static_cast<float>(rng.uniform() < 0.5 ? 0 : 1)
                                         : static_cast<float>(rng.uniform(1.5 * spec.action_low[d], 1.5 * spec.action_high[d]));
    }
    native->step(actions.data());
    twin->step(torch::from_blob(actions.data(), {kRows, spec.action_dim}, torch::kFloat32).clone());
    const std::string at = " at step " + std::to_string(t);
    expect_equal(native->rewards(), twin->rewards(), kRows, c.exact, "rewards" + at);
    const auto done = twin->done().to(torch::kCPU).contiguous();
    for (int r = 0; r < kRows; ++r) {
      ASSERT_EQ(native->done(r), done.data_ptr<bool>()[r]) << "row " << r << at;
      episodes_ended += native->done(r);
    }
    expect_equal(native->observations(), twin->observations(), obs_count, c.exact, "observations" + at);
    // The double state itself, not only its float32 observation.
    const auto state = twin->state().contiguous();
    for (int r = 0; r < kRows; ++r) {
      const auto expected = twin->native_state_of(*native, r);
      for (size_t k = 0; k < expected.size(); ++k) {
        const double value = state[r][static_cast<int64_t>(k)].item<double>();
        if (c.exact) {
          ASSERT_EQ(expected[k], value) << "state " << k << " of row " << r << at;
        } else {
          ASSERT_NEAR(expected[k], value, 1e-9 * (1.0 + std::abs(expected[k]))) << "state " << k << " of row " << r << at;
        }
      }
    }
  }
  EXPECT_GT(episodes_ended, kRows / 2) << "the rollout should end and restart episodes";
  twin->end(*driven);
  EXPECT_EQ(native->rng_states(), driven->rng_states()) << "the rows' streams after the resets";
}

INSTANTIATE_TEST_SUITE_P(Analytic, DeviceTwin,
                         ::testing::Values(TwinCase{"point-nav", true, 250, "point_nav"},
                                           TwinCase{"cartpole", true, 300, "cartpole"},
                                           TwinCase{"pendulum", false, 450, "pendulum"}),
                         [](const auto& test_info) { return test_info.param.name; });

TEST(DeviceTwin, OnlyTheAnalyticEnvironmentsHaveOne) {
  EXPECT_EQ(make_device_environment("box2d-nav"), nullptr);
  EXPECT_EQ(make_device_environment("no-such-env"), nullptr);
  auto pendulum = envs::EnvRegistry::global().make("pendulum", 2, 1);
  pendulum->reset();
  EXPECT_THROW(make_device_environment("cartpole")->begin(*pendulum, 5, torch::kCPU), std::invalid_argument);
}

// Consecutive rollouts through the sampler, native and on the device, from the same
// seeds: every trajectory tensor, padding included, and the environment's streams.
void expect_same_sampling(const std::string& env_name, const Policy& policy, ActionSpace space, bool exact) {
  constexpr int kTasks = 5;
  constexpr int kRollouts = 6;
  constexpr int kHorizon = 40;
  auto cpu_env = envs::EnvRegistry::global().make(env_name, kTasks * kRollouts, 21);
  auto device_env = envs::EnvRegistry::global().make(env_name, kTasks * kRollouts, 21);
  Sampler native(*cpu_env, policy, kTasks, kRollouts, kHorizon, torch::kCPU, 9, space);
  Sampler twin(*device_env, policy, kTasks, kRollouts, kHorizon, torch::kCPU, 9, space, /*env_on_device=*/true);
  EXPECT_FALSE(native.env_on_device());
  EXPECT_TRUE(twin.env_on_device());
  const auto shared = policy.initial_parameters(4, torch::kFloat32);
  for (int round = 0; round < 3; ++round) {
    const auto tasks = mixed_tasks(cpu_env->task_distribution(), kTasks, 30 + round);
    // Round 1 acts with task-batched parameters, as adapted policies do.
    ParameterList params = shared;
    if (round == 1) {
      params = expand_to_tasks(shared, kTasks);
      for (auto& p : params) p = p + 0.05 * torch::randn(p.sizes());
    }
    const auto a = native.sample(params, tasks);
    const auto b = twin.sample(params, tasks);
    const std::string at = env_name + " round " + std::to_string(round);
    for (const auto& [x, y, what] : {std::tuple{a.observations, b.observations, "observations"},
                                     std::tuple{a.actions, b.actions, "actions"},
                                     std::tuple{a.rewards, b.rewards, "rewards"}, std::tuple{a.mask, b.mask, "mask"}}) {
      if (exact) {
        EXPECT_TRUE(torch::equal(x, y)) << what << ", " << at;
      } else {
        EXPECT_TRUE(torch::allclose(x, y, 0.0, 1e-4)) << what << ", " << at << ": max difference "
                                                      << (x - y).abs().max().item<double>();
      }
    }
    EXPECT_EQ(cpu_env->rng_states(), device_env->rng_states()) << at;
  }
}

TEST(DeviceTwinSampler, GivesTheNativeSamplersTrajectories) {
  torch::manual_seed(2);
  const GaussianMlpPolicy nav_policy(2, 2, {{16}, Activation::kTanh, 0.0});
  expect_same_sampling("point-nav", nav_policy, ActionSpace::kEnvironment, true);
  expect_same_sampling("point-nav", nav_policy, ActionSpace::kNormalized, true);
  const CategoricalMlpPolicy cart_policy(4, 2, {{16}, Activation::kTanh, 0.0});
  expect_same_sampling("cartpole", cart_policy, ActionSpace::kEnvironment, true);
  const GaussianMlpPolicy pendulum_policy(3, 1, {{16}, Activation::kTanh, 0.0});
  expect_same_sampling("pendulum", pendulum_policy, ActionSpace::kEnvironment, false);
}

TEST(DeviceTwinSampler, AnEnvironmentWithoutATwinIsRefused) {
  auto env = envs::EnvRegistry::global().make("box2d-nav", 4, 1);
  const GaussianMlpPolicy policy(env->spec().observation_dim, 2, {{8}, Activation::kTanh, 0.0});
  EXPECT_THROW(Sampler(*env, policy, 2, 2, 5, torch::kCPU, 1, ActionSpace::kEnvironment, true), std::invalid_argument);
}

}  // namespace
}  // namespace metarl::agents
