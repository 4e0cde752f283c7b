// The conformance suite: every registered environment must pass it. Contracts from
// ../shared/style.md (EnvPool, gymnax, Brax): spec and bounds, seeding, truncation at
// the time limit, per-row task independence, auto-reset keeping the task, and
// held-out tasks outside the training ranges.

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "envs/registry.h"

namespace metarl::envs {
namespace {

constexpr int kRows = 8;

std::vector<float> random_actions(const EnvSpec& spec, int rows, Rng& rng) {
  std::vector<float> actions(static_cast<size_t>(rows) * spec.action_dim);
  for (int r = 0; r < rows; ++r) {
    for (int a = 0; a < spec.action_dim; ++a) {
      actions[r * spec.action_dim + a] =
          spec.discrete_actions
              ? static_cast<float>(std::min(spec.num_actions - 1, static_cast<int>(rng.uniform() * spec.num_actions)))
              // 20% beyond the box on each side, so clipping is exercised too.
              : static_cast<float>(rng.uniform(1.2 * spec.action_low[a] - 0.2 * spec.action_high[a],
                                               1.2 * spec.action_high[a] - 0.2 * spec.action_low[a]));
    }
  }
  return actions;
}

class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<BatchedEnv> make(int rows, std::uint64_t seed, std::uint64_t task_seed = 5) {
    auto env = EnvRegistry::global().make(GetParam(), rows, seed);
    Rng task_rng(task_seed);
    env->set_tasks(env->task_distribution().sample(rows, Split::kTrain, task_rng));
    return env;
  }

  // Observations, rewards and flags of `steps` steps after reset, random actions.
  std::vector<float> rollout(BatchedEnv& env, int steps, std::uint64_t action_seed = 99) {
    Rng rng(action_seed);
    env.reset();
    const int obs_size = env.batch_size() * env.spec().observation_dim;
    std::vector<float> trace(env.observations(), env.observations() + obs_size);
    for (int t = 0; t < steps; ++t) {
      const auto actions = random_actions(env.spec(), env.batch_size(), rng);
      env.step(actions.data());
      trace.insert(trace.end(), env.observations(), env.observations() + obs_size);
      trace.insert(trace.end(), env.rewards(), env.rewards() + env.batch_size());
      for (int r = 0; r < env.batch_size(); ++r) trace.push_back(env.terminated()[r] + 2.0f * env.truncated()[r]);
    }
    return trace;
  }
};

TEST_P(Conformance, SpecShapesAndBounds) {
  auto env = make(kRows, 1);
  const EnvSpec& spec = env->spec();
  EXPECT_NO_THROW(spec.validate());
  EXPECT_EQ(spec.name, GetParam());
  EXPECT_GT(env->task_distribution().num_parameters(), 0);
  Rng rng(3);
  env->reset();
  for (int t = 0; t < 2 * spec.max_episode_steps; ++t) {
    const auto actions = random_actions(spec, kRows, rng);
    env->step(actions.data());
    for (int r = 0; r < kRows; ++r) {
      ASSERT_TRUE(std::isfinite(env->rewards()[r])) << "row " << r << " step " << t;
      ASSERT_LE(env->terminated()[r], 1);
      ASSERT_LE(env->truncated()[r], 1);
      for (int d = 0; d < spec.observation_dim; ++d) {
        const float o = env->observations()[r * spec.observation_dim + d];
        ASSERT_TRUE(std::isfinite(o));
        ASSERT_GE(o, spec.observation_low[d] - 1e-5f) << "component " << d;
        ASSERT_LE(o, spec.observation_high[d] + 1e-5f) << "component " << d;
      }
    }
  }
}

TEST_P(Conformance, SameSeedSameRolloutOtherSeedOtherRollout) {
  auto a = make(kRows, 1);
  auto b = make(kRows, 1);
  auto c = make(kRows, 2);
  const int steps = 2 * a->spec().max_episode_steps + 3;  // spans automatic resets
  const auto first = rollout(*a, steps);
  EXPECT_EQ(first, rollout(*b, steps));
  if (a->spec().deterministic_reset) {
    // Declared deterministic: the start may not depend on the seed.
    a->reset();
    c->reset();
    const int obs_size = kRows * a->spec().observation_dim;
    EXPECT_EQ(std::vector<float>(a->observations(), a->observations() + obs_size),
              std::vector<float>(c->observations(), c->observations() + obs_size));
  } else {
    EXPECT_NE(first, rollout(*c, steps));
  }
}

TEST_P(Conformance, TruncatedExactlyAtTheTimeLimit) {
  auto env = make(kRows, 4);
  const int limit = env->spec().max_episode_steps;
  std::vector<int> elapsed(kRows, 0);
  Rng rng(8);
  env->reset();
  for (int t = 0; t < 3 * limit; ++t) {
    const auto actions = random_actions(env->spec(), kRows, rng);
    env->step(actions.data());
    for (int r = 0; r < kRows; ++r) {
      ++elapsed[r];
      ASSERT_EQ(env->truncated()[r] == 1, elapsed[r] == limit) << "row " << r << " after " << elapsed[r] << " steps";
      if (env->done(r)) {
        ASSERT_EQ(env->elapsed_steps()[r], 0);
        elapsed[r] = 0;
      } else {
        ASSERT_EQ(env->elapsed_steps()[r], elapsed[r]);
      }
    }
  }
}

TEST_P(Conformance, ChangingOneRowsTaskChangesOnlyThatRow) {
  auto a = make(kRows, 6);
  auto b = make(kRows, 6);
  Rng heldout(13);
  const auto other = b->task_distribution().sample(1, Split::kHeldOut, heldout);
  const int changed = 3;
  b->set_task(changed, other.task(0));
  const EnvSpec& spec = a->spec();
  Rng rng(21);
  a->reset();
  b->reset();
  bool row_differs = false;
  for (int t = 0; t < 50; ++t) {
    const auto actions = random_actions(spec, kRows, rng);
    a->step(actions.data());
    b->step(actions.data());
    for (int r = 0; r < kRows; ++r) {
      bool same = a->rewards()[r] == b->rewards()[r];
      for (int d = 0; d < spec.observation_dim; ++d) {
        same = same && a->observations()[r * spec.observation_dim + d] == b->observations()[r * spec.observation_dim + d];
      }
      if (r == changed) {
        row_differs = row_differs || !same;
      } else {
        ASSERT_TRUE(same) << "row " << r << " changed at step " << t;
      }
    }
  }
  EXPECT_TRUE(row_differs) << "the new task made no difference to row " << changed;
}

TEST_P(Conformance, AutomaticResetNeverChangesTheTask) {
  auto env = make(kRows, 7);
  std::vector<double> before;
  for (int r = 0; r < kRows; ++r) {
    before.insert(before.end(), env->task(r), env->task(r) + env->task_distribution().num_parameters());
  }
  rollout(*env, 3 * env->spec().max_episode_steps);
  std::vector<double> after;
  for (int r = 0; r < kRows; ++r) {
    after.insert(after.end(), env->task(r), env->task(r) + env->task_distribution().num_parameters());
  }
  EXPECT_EQ(before, after);
}

TEST_P(Conformance, HeldOutTasksLieOutsideTheTrainingRanges) {
  auto env = make(1, 0);
  const auto& tasks = env->task_distribution();
  ASSERT_TRUE(tasks.has_heldout());
  Rng rng(17);
  const auto batch = tasks.sample(500, Split::kHeldOut, rng);
  for (int t = 0; t < batch.num_tasks; ++t) {
    ASSERT_FALSE(tasks.in_training_range(batch.task(t)));
    for (int p = 0; p < tasks.num_parameters(); ++p) {
      ASSERT_GE(batch.at(t, p), tasks.parameters()[p].heldout_low);
      ASSERT_LE(batch.at(t, p), tasks.parameters()[p].heldout_high);
    }
  }
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (auto& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Registered, Conformance, ::testing::ValuesIn(EnvRegistry::global().names()), test_name);

}  // namespace
}  // namespace metarl::envs
