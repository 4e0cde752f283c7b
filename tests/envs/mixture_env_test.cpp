// A mixture of environment families (envs/mixture_env.h): each row steps exactly as
// its family's own environment would with the mapped action, the observation carries
// the padded observation and the family's one-hot, and the task distribution gives
// every family its share, contiguous, with its own held-out rule.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "envs/errors.h"
#include "envs/mixture_env.h"
#include "envs/registry.h"

namespace metarl::envs {
namespace {

// Rows 0-1 cartpole, 2-3 pendulum, 4-5 point-nav (two tasks per family, one row each).
constexpr int kRows = 6;
const char* const kMixture = "cartpole,pendulum,point-nav";

TEST(MixtureEnv, SpecPadsObservationsAndUnitesTheActionKinds) {
  const auto env = EnvRegistry::global().make(kMixture, kRows, 1);
  const EnvSpec& spec = env->spec();
  EXPECT_EQ(spec.observation_dim, 4 + 3);  // cartpole's 4, then the one-hot of 3 families
  EXPECT_EQ(spec.action_dim, 2 + 1);       // point-nav's 2 continuous, then cartpole's index
  EXPECT_EQ(spec.max_episode_steps, 500);  // cartpole's; pendulum's 200 and point-nav's 100 per row
  ASSERT_EQ(spec.families.size(), 3u);
  EXPECT_TRUE(spec.families[0].discrete_actions);
  EXPECT_EQ(spec.families[0].num_actions, 2);
  EXPECT_EQ(spec.families[1].action_dim, 1);
  EXPECT_EQ(spec.families[2].observation_dim, 2);
  EXPECT_EQ(env->task_distribution().parameters().front().name, "family");
  EXPECT_GE(env->task_distribution().index_of("pendulum.max_torque"), 1);
}

TEST(MixtureEnv, EachRowStepsAsItsFamilysOwnEnvironment) {
  constexpr std::uint64_t kSeed = 17;
  auto mixture = EnvRegistry::global().make(kMixture, kRows, kSeed);
  const TaskDistribution& tasks = mixture->task_distribution();
  Rng task_rng(3);
  const TaskBatch batch = tasks.sample(3, Split::kTrain, task_rng);
  // One task per family, in family order; repeat each for two rows.
  TaskBatch rows{kRows, batch.num_parameters, {}};
  for (int r = 0; r < kRows; ++r) rows.values.insert(rows.values.end(), batch.task(r / 2), batch.task(r / 2) + batch.num_parameters);
  for (int t = 0; t < 3; ++t) EXPECT_EQ(batch.at(t, 0), t);
  mixture->set_tasks(rows);
  // The families' own environments with the same seed: row r draws from the stream
  // derive_seed(seed, r) in both.
  const std::vector<std::string> names{"cartpole", "pendulum", "point-nav"};
  std::vector<std::unique_ptr<BatchedEnv>> own;
  for (int f = 0; f < 3; ++f) {
    own.push_back(EnvRegistry::global().make(names[f], kRows, kSeed));
    for (int r = 0; r < kRows; ++r) own[f]->set_task(r, rows.task(r) + tasks.family_offset(f));
    own[f]->reset();
  }
  mixture->reset();
  const EnvSpec& spec = mixture->spec();
  Rng action_rng(9);
  int truncations = 0;
  for (int step = 0; step < 260; ++step) {
    std::vector<float> actions(static_cast<size_t>(kRows) * spec.action_dim);
    for (auto& a : actions) a = static_cast<float>(action_rng.uniform(-1.2, 1.2));
    for (int r = 0; r < 2; ++r) actions[r * 3 + 2] = static_cast<float>(action_rng.uniform(0.0, 1.99));
    mixture->step(actions.data());
    for (int f = 0; f < 3; ++f) {
      const EnvSpec& own_spec = own[f]->spec();
      std::vector<float> own_actions(static_cast<size_t>(kRows) * own_spec.action_dim, 0.0f);
      for (int r = 0; r < kRows; ++r) {
        const float* in = actions.data() + r * 3;
        for (int d = 0; d < own_spec.action_dim; ++d) {
          own_actions[r * own_spec.action_dim + d] =
              own_spec.discrete_actions ? (in[2] >= 0.0f ? std::min(std::floor(in[2]), 1.0f) : 0.0f)
                                        : own_spec.action_low[d] + 0.5f * (std::clamp(in[d], -1.0f, 1.0f) + 1.0f) *
                                                                       (own_spec.action_high[d] - own_spec.action_low[d]);
        }
      }
      own[f]->step(own_actions.data());
      for (int r = 2 * f; r < 2 * f + 2; ++r) {
        ASSERT_EQ(mixture->rewards()[r], own[f]->rewards()[r]) << "row " << r << " step " << step;
        ASSERT_EQ(mixture->terminated()[r], own[f]->terminated()[r]) << "row " << r << " step " << step;
        ASSERT_EQ(mixture->truncated()[r], own[f]->truncated()[r]) << "row " << r << " step " << step;
        truncations += mixture->truncated()[r];
        const float* obs = mixture->observations() + r * spec.observation_dim;
        const float* own_obs = own[f]->observations() + r * own_spec.observation_dim;
        for (int d = 0; d < spec.observation_dim; ++d) {
          const float expected = d < own_spec.observation_dim ? own_obs[d] : d == 4 + f ? 1.0f : 0.0f;
          ASSERT_EQ(obs[d], expected) << "row " << r << " component " << d << " step " << step;
        }
      }
    }
  }
  // Pendulum's rows truncate at 200 and point-nav's at 100 (unless they reach the goal).
  EXPECT_GE(truncations, 2);
}

TEST(MixtureEnv, FamiliesGetTheirWeightedShareInContiguousBlocks) {
  const TaskDistribution tasks =
      EnvRegistry::global().make("cartpole,pendulum", 2, 1)->task_distribution().with_family_weights({3.0, 1.0});
  EXPECT_EQ(tasks.family_counts(10), (std::vector<int>{8, 2}));  // 7.5, 2.5: the tie to the first
  EXPECT_EQ(tasks.family_counts(4), (std::vector<int>{3, 1}));
  Rng rng(5);
  for (const Split split : {Split::kTrain, Split::kHeldOut}) {
    const TaskBatch batch = tasks.sample(10, split, rng);
    for (int t = 0; t < 10; ++t) {
      const int family = tasks.family_of(batch.task(t));
      EXPECT_EQ(family, t < 8 ? 0 : 1);
      const TaskDistribution& own = tasks.family_distribution(family);
      const double* own_task = batch.task(t) + tasks.family_offset(family);
      // Held-out tasks are the family's own: outside its training box.
      EXPECT_EQ(own.in_training_range(own_task), split != Split::kHeldOut) << "task " << t;
      EXPECT_EQ(tasks.in_training_range(batch.task(t)), split != Split::kHeldOut);
    }
  }
  // A weight of 0 leaves the family out.
  EXPECT_EQ(tasks.with_family_weights({0.0, 1.0}).family_counts(5), (std::vector<int>{0, 5}));
}

TEST(MixtureEnv, RangesOfAFamilysParameterGoToThatFamily) {
  const TaskDistribution tasks = EnvRegistry::global().make("cartpole,pendulum", 2, 1)->task_distribution();
  const TaskDistribution narrowed = tasks.with_ranges({{"pendulum.max_torque", 1.5, 1.5, 1.5, 1.5}});
  Rng rng(2);
  const TaskBatch batch = narrowed.sample(6, Split::kTrain, rng);
  const int column = narrowed.index_of("pendulum.max_torque");
  for (int t = 3; t < 6; ++t) EXPECT_EQ(batch.at(t, column), 1.5);
  try {
    tasks.with_ranges({{"family", 0.0, 0.0, 0.0, 0.0}});
    FAIL() << "the family column took a range";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("family column"), std::string::npos) << e.what();
  }
  try {
    tasks.with_ranges({{"pendulum.max_torque", 0.1, 9.0, 0.1, 9.0}});
    FAIL() << "a range outside the family's own held-out range was taken";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("family 'pendulum'"), std::string::npos) << e.what();
  }
}

TEST(MixtureEnv, BadListsAndWeightsNameTheFamilies) {
  const auto message = [](auto&& call) {
    try {
      call();
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no UsageError");
  };
  EXPECT_NE(message([] { EnvRegistry::global().make("cartpole,cartpole", 2, 1); }).find("'cartpole' twice"),
            std::string::npos);
  EXPECT_NE(message([] { EnvRegistry::global().make("cartpole,,pendulum", 2, 1); }).find("empty family"),
            std::string::npos);
  EXPECT_NE(message([] { EnvRegistry::global().make("cartpole,no-such-env", 2, 1); }).find("unknown environment"),
            std::string::npos);
  auto env = EnvRegistry::global().make("cartpole,pendulum", 2, 1);
  EXPECT_NE(message([&] { env->set_family_weights({1.0}); }).find("1 family weights for 2 families (cartpole, pendulum)"),
            std::string::npos);
  EXPECT_NE(message([&] { env->set_family_weights({1.0, -1.0}); }).find("family 'pendulum': weight -1"),
            std::string::npos);
  EXPECT_NE(message([&] { env->set_family_weights({0.0, 0.0}); }).find("every family weight is 0"),
            std::string::npos);
  auto one = EnvRegistry::global().make("cartpole", 2, 1);
  EXPECT_NE(message([&] { one->set_family_weights({1.0}); }).find("one environment"), std::string::npos);
}

TEST(MixtureEnv, ARowChangesFamilyOnlyAtAReset) {
  auto env = EnvRegistry::global().make("cartpole,pendulum", 2, 1);
  Rng rng(1);
  const TaskBatch tasks = env->task_distribution().sample(2, Split::kTrain, rng);  // cartpole, pendulum
  env->set_tasks(tasks);
  env->reset();
  std::vector<float> actions(4, 0.0f);
  env->step(actions.data());
  env->set_task(0, tasks.task(1));  // row 0 becomes pendulum mid-episode
  EXPECT_THROW(env->step(actions.data()), std::logic_error);
  env->reset();
  EXPECT_NO_THROW(env->step(actions.data()));
  // Pendulum's observation (3) padded to cartpole's 4, then the one-hot.
  EXPECT_EQ(env->observations()[3], 0.0f);
  EXPECT_EQ(env->observations()[4], 0.0f);
  EXPECT_EQ(env->observations()[5], 1.0f);
}

}  // namespace
}  // namespace metarl::envs
