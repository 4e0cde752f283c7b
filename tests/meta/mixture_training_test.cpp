// Meta-training over a mixture of environment families (issue Q; envs/mixture_env.h,
// agents/mixed_head_policy.h): every outer step and estimator trains on cartpole and
// pendulum together, an interrupted run resumes to the uninterrupted one, evaluation
// reports each family on its own (a family at weight 0 too: held out of training), and
// bad lists, weights and settings are usage errors naming what is wrong.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "envs/errors.h"
#include "envs/rng.h"
#include "envs/task_distribution.h"
#include "meta/checkpoint.h"
#include "meta/eval/evaluation.h"
#include "meta/experiment.h"
#include "meta/run/run_directory.h"
#include "meta/session/training_run.h"
#include "meta/trainer.h"
#include "tests/support/test_support.h"

namespace metarl::meta {
namespace {

namespace fs = std::filesystem;

TrainConfig mixture_config() {
  TrainConfig config;
  config.env = "cartpole,pendulum";
  config.meta_batch = 4;  // two tasks of each family
  config.rollouts = 4;
  config.horizon = 40;
  config.policy.hidden_sizes = {16};
  config.iterations = 3;
  config.runtime.threads = 1;
  config.seed = 5;
  return config;
}

std::vector<std::string> metrics_without_seconds(const fs::path& run_dir) {
  return metarl::testing::metrics_without_seconds(run_dir / kMetricsFile);
}

using MixtureTraining = metarl::testing::ScratchDirTest;

// Six tasks (equal shares of the families), one adaptation step, one thread.
EvalOptions small_evaluation(std::vector<std::string> checkpoints, envs::Split split, int rollouts) {
  EvalOptions eval;
  eval.checkpoints = std::move(checkpoints);
  eval.protocol.split = split;
  eval.protocol.tasks = 6;
  eval.protocol.rollouts = rollouts;
  eval.protocol.steps = 1;
  eval.runtime.threads = 1;
  return eval;
}

TEST_F(MixtureTraining, EveryOuterStepAndEstimatorTrainsOnAMixture) {
  using agents::Estimator;
  // ProMP adapts with its own LVC objective only.
  const std::vector<std::pair<std::string, Estimator>> steps{
      {"adam", Estimator::kPlain}, {"adam", Estimator::kDice}, {"adam", Estimator::kLvc}, {"trpo", Estimator::kPlain},
      {"trpo", Estimator::kDice},  {"trpo", Estimator::kLvc},  {"promp", Estimator::kLvc}};
  for (const auto& [optimizer, estimator] : steps) {
    {
      auto config = mixture_config();
      config.optimizer = optimizer;
      config.estimator = estimator;
      config.iterations = 2;
      MetaTrainer trainer(config);
      for (int i = 0; i < config.iterations; ++i) {
        const auto metrics = trainer.run_iteration();
        EXPECT_TRUE(std::isfinite(metrics.return_before) && std::isfinite(metrics.return_after))
            << optimizer << " " << agents::to_string(estimator);
      }
      // θ moved, and still holds one head per action kind: the trunk's last layer
      // outputs pendulum's mean and cartpole's two logits.
      EXPECT_EQ(trainer.learner().theta()[2].size(0), 3) << optimizer;
    }
  }
}

TEST_F(MixtureTraining, InterruptedAndResumedRunEqualsAnUninterruptedOne) {
  auto config = mixture_config();
  config.optimizer = "trpo";
  config.iterations = 5;
  config.env_weights = {1.0, 2.0};
  config.bookkeeping.checkpoint_every = 2;
  TrainRunOptions straight;
  straight.out_dir = (dir_ / "straight").string();
  run_training(config, straight);

  TrainRunOptions interrupted;
  interrupted.out_dir = (dir_ / "interrupted").string();
  int iterations_seen = 0;
  interrupted.on_iteration = [&](const IterationMetrics&, MetaTrainer&) { ++iterations_seen; };
  interrupted.stop_requested = [&] { return iterations_seen + 1 == 3 ? 15 : 0; };
  EXPECT_THROW(run_training(config, interrupted), Interrupted);
  TrainRunOptions resumed;
  resumed.out_dir = interrupted.out_dir;
  resumed.resume = true;
  const TrainConfig recorded = resumed_config(resumed.out_dir);
  EXPECT_EQ(recorded.env, "cartpole,pendulum");
  EXPECT_EQ(recorded.env_weights, (std::vector<double>{1.0, 2.0}));
  run_training(recorded, resumed);

  const auto expected = metrics_without_seconds(dir_ / "straight");
  ASSERT_EQ(expected.size(), 6u);
  EXPECT_EQ(metrics_without_seconds(dir_ / "interrupted"), expected);
  const auto a = load_checkpoint(straight.out_dir);
  const auto b = load_checkpoint(resumed.out_dir);
  EXPECT_EQ(a.env, "cartpole,pendulum");
  for (size_t i = 0; i < a.theta.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.theta[i], b.theta[i])) << "theta " << i;
    EXPECT_TRUE(torch::equal(a.alpha[i], b.alpha[i])) << "alpha " << i;
  }
}

TEST_F(MixtureTraining, EvaluationReportsEachFamilyOnItsOwnTasks) {
  auto config = mixture_config();
  TrainRunOptions run;
  run.out_dir = dir_.string();
  run_training(config, run);
  EvalOptions eval = small_evaluation({dir_.string()}, envs::Split::kHeldOut, 5);
  eval.random = true;
  const auto report = evaluate(eval);
  ASSERT_EQ(report.families.size(), 2u);
  EXPECT_EQ(report.families[0].family, "cartpole");
  EXPECT_EQ(report.families[0].tasks, (std::vector<int>{0, 1, 2}));  // equal shares in evaluation
  EXPECT_EQ(report.families[1].tasks, (std::vector<int>{3, 4, 5}));
  for (const auto& family : report.families) {
    ASSERT_EQ(family.methods.size(), 2u);
    ASSERT_EQ(family.comparisons.size(), 1u);
    for (size_t m = 0; m < 2; ++m) {
      for (size_t step = 0; step < 2; ++step) {
        // The family's mean is the mean of the report's returns on its tasks.
        double sum = 0.0;
        for (int t : family.tasks) sum += report.methods[m].task_returns[step][static_cast<size_t>(t)];
        EXPECT_NEAR(family.methods[m].mean[step], sum / 3.0, 1e-9);
      }
    }
    const double difference = family.methods[0].mean[1] - family.methods[1].mean[1];
    EXPECT_NEAR(family.comparisons[0].mean[1], difference, 1e-9);
  }
  // Cartpole's returns are positive (reward 1 per step), pendulum's negative: the
  // families' scales differ, which is why each is reported alone.
  EXPECT_GT(report.families[0].methods[0].mean[0], 0.0);
  EXPECT_LT(report.families[1].methods[0].mean[0], 0.0);
  const std::string json = report_json(report);
  EXPECT_NE(json.find("\"families\": {\"cartpole\": {\"tasks\": [0, 1, 2]"), std::string::npos) << json;
  EXPECT_NE(report_table(report).find("family pendulum (3 of the tasks)"), std::string::npos);
}

TEST_F(MixtureTraining, RunsOfOneFamilyAreComparedOnTheirFamilysTasks) {
  auto config = mixture_config();
  config.iterations = 1;
  const auto train = [&](const std::string& env, int horizon, const std::string& name) {
    auto own = config;
    own.env = env;
    own.horizon = horizon;
    TrainRunOptions run;
    run.out_dir = (dir_ / name).string();
    run_training(own, run);
    return run.out_dir;
  };
  const std::string mixture = train("cartpole,pendulum", 40, "mixture");
  const std::string cartpole = train("cartpole", 40, "cartpole");
  const std::string pendulum = train("pendulum", 40, "pendulum");
  EvalOptions eval = small_evaluation({mixture, cartpole, pendulum}, envs::Split::kTest, 3);
  const auto report = evaluate(eval);
  ASSERT_EQ(report.methods.size(), 1u);  // the whole mixture: the mixture run only
  ASSERT_EQ(report.families.size(), 2u);
  for (size_t f = 0; f < 2; ++f) {
    const auto& family = report.families[f];
    ASSERT_EQ(family.methods.size(), 2u) << family.family;
    EXPECT_EQ(family.methods[1].run, f == 0 ? cartpole : pendulum);
    ASSERT_EQ(family.methods[1].task_returns.front().size(), 3u);
    ASSERT_EQ(family.comparisons.size(), 1u);
    double difference = 0.0;
    for (size_t t = 0; t < 3; ++t) {
      difference += family.methods[0].task_returns[1][t] - family.methods[1].task_returns[1][t];
    }
    EXPECT_NEAR(family.comparisons[0].mean[1], difference / 3.0, 1e-9);
  }
  // The family run alone on the same split: its tasks are the family's own draws, so its
  // step-0 returns are those of the same tasks the mixture's cartpole rows ran (positive:
  // +1 per step, at most the 40-step episode).
  for (double r : report.families[0].methods[1].task_returns[0]) EXPECT_TRUE(r > 0.0 && r <= 40.0) << r;
  EXPECT_NE(report_table(report).find("meta-sgd (" + mixture + ") - meta-sgd (" + cartpole + ")"),
            std::string::npos)
      << report_table(report);

  // Another environment, a family run of another distribution of its family, or one of
  // other episode lengths, is refused by name.
  const std::string nav = train("point-nav", 40, "nav");
  eval.checkpoints = {mixture, nav};
  EXPECT_NE(metarl::testing::usage_error_of([&] { evaluate(eval); }).find("nor one of its families (cartpole, pendulum)"),
            std::string::npos);
  auto narrowed = config;
  narrowed.env = "cartpole";
  narrowed.task_ranges = {{"pole_mass", 0.1, 0.1, 0.1, 0.1}};
  TrainRunOptions narrowed_run;
  narrowed_run.out_dir = (dir_ / "cartpole-narrowed").string();
  run_training(narrowed, narrowed_run);
  eval.checkpoints = {mixture, narrowed_run.out_dir};
  const std::string other_distribution = metarl::testing::usage_error_of([&] { evaluate(eval); });
  EXPECT_NE(other_distribution.find("was trained on another distribution of 'cartpole'"), std::string::npos)
      << other_distribution;
  EXPECT_NE(other_distribution.find("parameter 'pole_mass'"), std::string::npos) << other_distribution;
  const std::string longer = train("pendulum", 60, "pendulum-60");
  eval.checkpoints = {mixture, longer};
  EXPECT_NE(metarl::testing::usage_error_of([&] { evaluate(eval); }).find("different lengths (40 and 60 steps"),
            std::string::npos);
}

TEST_F(MixtureTraining, AFamilyAtWeightZeroIsHeldOutOfTrainingAndEvaluatedBesideTheOthers) {
  // The held-out family of docs/results.md (configs/mixture/heldout-point-nav.yaml):
  // point-nav in the layout at weight 0, so no meta-batch holds one of its tasks, and
  // evaluation's equal shares report it on its own.
  auto config = mixture_config();
  config.env = "cartpole,pendulum,point-nav";
  config.env_weights = {1.0, 1.0, 0.0};
  config.policy.family_observed = false;
  config.iterations = 1;
  const auto env = make_environment(config, config.meta_batch, 0);
  const auto& distribution = env->task_distribution();
  EXPECT_EQ(distribution.family_counts(config.meta_batch), (std::vector<int>{2, 2, 0}));
  Rng rng(7);
  for (const auto split : {envs::Split::kTrain, envs::Split::kTest, envs::Split::kHeldOut}) {
    const auto tasks = distribution.sample(config.meta_batch, split, rng);
    for (int t = 0; t < tasks.num_tasks; ++t) EXPECT_NE(distribution.family_of(tasks.task(t)), 2);
  }
  TrainRunOptions run;
  run.out_dir = dir_.string();
  run_training(config, run);
  EvalOptions eval = small_evaluation({dir_.string()}, envs::Split::kTest, 3);
  eval.random = true;
  const auto report = evaluate(eval);
  ASSERT_EQ(report.families.size(), 3u);
  EXPECT_EQ(report.families[2].family, "point-nav");
  EXPECT_EQ(report.families[2].tasks, (std::vector<int>{4, 5}));
  ASSERT_EQ(report.families[2].methods.size(), 2u);  // the run and its random initialisation
  for (const auto& method : report.families[2].methods) {
    for (double mean : method.mean) {
      // point-nav's reward is minus the distance to the goal (within 0.71 of the origin,
      // where every episode starts), which grows by at most 0.1 * sqrt(2) a step: over
      // the 40-step episodes, returns in [-(40 * 0.71 + 0.1414 * 40 * 41 / 2), 0].
      EXPECT_LE(mean, 0.0);
      EXPECT_GE(mean, -(40 * 0.71 + 0.1414 * 40 * 41 / 2));
    }
  }
}

TEST_F(MixtureTraining, AnUnobservedFamilyTrainsAndIsAnotherArchitecture) {
  auto config = mixture_config();
  config.policy.family_observed = false;
  config.iterations = 1;
  MetaTrainer trainer(config);
  EXPECT_TRUE(std::isfinite(trainer.run_iteration().return_after));
  // Cartpole's padded 4 components only, not the 2 of the indicator.
  EXPECT_EQ(trainer.learner().theta()[0].size(1), 4);
}

TEST(MixtureConfig, BadListsWeightsAndSettingsAreUsageErrorsNamingThem) {
  const auto message = [](const TrainConfig& config) {
    try {
      MetaTrainer trainer(config);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no UsageError");
  };
  auto config = mixture_config();
  config.env_weights = {1.0, 1.0, 1.0};
  EXPECT_NE(message(config).find("config key 'env_weights'"), std::string::npos) << message(config);
  EXPECT_NE(message(config).find("3 family weights for 2 families (cartpole, pendulum)"), std::string::npos);
  config.env_weights = {1.0, -2.0};
  EXPECT_NE(message(config).find("family 'pendulum': weight -2"), std::string::npos) << message(config);
  config = mixture_config();
  config.env = "pendulum";
  config.env_weights = {1.0};
  EXPECT_NE(message(config).find("is one environment"), std::string::npos) << message(config);
  config = mixture_config();
  config.action_space = agents::ActionSpace::kNormalized;
  EXPECT_NE(message(config).find("already maps its continuous actions"), std::string::npos) << message(config);
  // The config key: families listed twice or empty, and a bad weight, name the value.
  TrainConfig parsed;
  EXPECT_THROW(set_config_value(parsed, "env", "cartpole, cartpole"), UsageError);
  EXPECT_THROW(set_config_value(parsed, "env", "cartpole,,pendulum"), UsageError);
  EXPECT_THROW(set_config_value(parsed, "env_weights", "1, x"), UsageError);
  set_config_value(parsed, "env", " cartpole , pendulum ");
  EXPECT_EQ(parsed.env, "cartpole,pendulum");
  set_config_value(parsed, "env_weights", "[2, 1]");
  EXPECT_EQ(parsed.env_weights, (std::vector<double>{2.0, 1.0}));
  load_config_yaml(parsed, "env: [cartpole, point-nav]\nenv_weights: [1, 3]\n", "test");
  EXPECT_EQ(parsed.env, "cartpole,point-nav");
  EXPECT_EQ(to_yaml(parsed).find("env: cartpole,point-nav\nenv_weights: [1, 3]") != std::string::npos, true)
      << to_yaml(parsed);
}

}  // namespace
}  // namespace metarl::meta
