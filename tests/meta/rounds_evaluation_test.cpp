// Evaluation over rounds (meta/eval/rounds_evaluation.h): round 1 is the step protocol's
// step 0 in every mode, continuous adaptation on a stationary sequence is the step
// protocol's chain of steps exactly, restart equals it after the first adaptation (its
// importance weights are 1 there), no adaptation keeps θ, the tasks move as the process
// says, and options that do not apply are refused. Runs are tiny point-nav trainings.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "envs/errors.h"
#include "envs/task_process.h"
#include "meta/eval/evaluation.h"
#include "meta/eval/rounds_evaluation.h"
#include "meta/experiment.h"
#include "meta/session/training_run.h"
#include "meta/trainer.h"
#include "tests/support/test_support.h"

namespace metarl::meta {
namespace {

namespace fs = std::filesystem;

// A few point-nav meta-iterations: θ and α off their initialisation; the numbers
// compared here are exact, not learning progress.
TrainConfig tiny_config(const std::string& algo) {
  TrainConfig config;
  config.env = "point-nav";
  config.algo = parse_algorithm(algo);
  config.meta_batch = 4;
  config.rollouts = 4;
  config.horizon = 20;
  config.policy.hidden_sizes = {16};
  config.iterations = 2;
  config.runtime.threads = 1;
  return config;
}

class RoundsEvaluation : public metarl::testing::ScratchDirTest {
 protected:
  std::string train(const std::string& name, const TrainConfig& config) {
    TrainRunOptions run;
    run.out_dir = (dir_ / name).string();
    run_training(config, run);
    return run.out_dir;
  }
  std::string train(const std::string& name, const std::string& algo) { return train(name, tiny_config(algo)); }

  static EvalOptions options(std::vector<std::string> runs, int rounds) {
    EvalOptions options;
    options.checkpoints = std::move(runs);
    options.protocol.tasks = 6;
    options.protocol.rollouts = 5;
    options.task_batch = 4;  // two batches: the second is seeded from the batch stream
    options.rounds = rounds;
    options.runtime.threads = 1;
    return options;
  }

  static const RoundsCurve& curve(const RoundsReport& report, const std::string& name) {
    for (const auto& c : report.curves) {
      if (c.name == name) return c;
    }
    throw std::runtime_error("no curve " + name);
  }
};

TEST_F(RoundsEvaluation, StationaryContinuousAdaptationIsTheStepProtocolsChain) {
  const std::string msgd = train("msgd", "meta-sgd");
  const std::string maml = train("maml", "maml");
  EvalOptions rounds_options = options({msgd, maml}, 3);
  rounds_options.step_sizes = {0.2, 0.05};
  const RoundsReport report = evaluate_rounds(rounds_options);
  EvalOptions step_options = rounds_options;
  step_options.rounds = 1;
  step_options.protocol.steps = 2;
  const EvalReport steps = evaluate(step_options);

  ASSERT_EQ(report.curves.size(), 6u);  // two methods × three modes
  for (const auto& method : steps.methods) {
    const RoundsCurve& continuous = curve(report, method.name + " continuous");
    const RoundsCurve& restart = curve(report, method.name + " restart");
    const RoundsCurve& none = curve(report, method.name + " none");
    for (size_t r = 0; r < 3; ++r) EXPECT_EQ(continuous.sequence_returns[r], method.task_returns[r]) << method.name;
    // Round 1: θ in every mode, on the same random numbers.
    EXPECT_EQ(restart.sequence_returns[0], method.task_returns[0]);
    EXPECT_EQ(none.sequence_returns[0], method.task_returns[0]);
    // Round 2: restart adapted θ from θ's own rollouts, as continuous did (ratios of 1).
    for (size_t s = 0; s < 6; ++s) {
      EXPECT_NEAR(restart.sequence_returns[1][s], continuous.sequence_returns[1][s],
                  1e-3 * std::abs(continuous.sequence_returns[1][s]) + 1e-3);
    }
    EXPECT_EQ(continuous.step_sizes, method.step_sizes);
    EXPECT_TRUE(none.step_sizes.empty());
  }
  // Restart steps from θ every time: MAML's first step size each round (α is float32).
  const double first = static_cast<float>(0.2);
  const double second = static_cast<float>(0.05);
  EXPECT_EQ(curve(report, "maml restart").step_sizes, (std::vector<double>{first, first}));
  EXPECT_EQ(curve(report, "maml continuous").step_sizes, (std::vector<double>{first, second}));
  EXPECT_TRUE(curve(report, "meta-sgd continuous").step_sizes.empty());

  // Comparisons: each method's modes, then each mode across methods.
  ASSERT_EQ(report.comparisons.size(), 3u + 3u + 3u);
  EXPECT_EQ(report.comparisons[0].a, "meta-sgd continuous");
  EXPECT_EQ(report.comparisons[0].b, "meta-sgd restart");
  EXPECT_EQ(report.comparisons[6].a, "meta-sgd continuous");
  EXPECT_EQ(report.comparisons[6].b, "maml continuous");
  const auto& continuous_vs_none = report.comparisons[1];
  EXPECT_EQ(continuous_vs_none.b, "meta-sgd none");
  EXPECT_EQ(continuous_vs_none.mean[0], 0.0);
  const PairedDifference later = paired_difference(
      [&] {
        std::vector<double> m(6);
        const auto& c = curve(report, "meta-sgd continuous").sequence_returns;
        for (size_t s = 0; s < 6; ++s) m[s] = (c[1][s] + c[2][s]) / 2;
        return m;
      }(),
      [&] {
        std::vector<double> m(6);
        const auto& c = curve(report, "meta-sgd none").sequence_returns;
        for (size_t s = 0; s < 6; ++s) m[s] = (c[1][s] + c[2][s]) / 2;
        return m;
      }());
  EXPECT_NEAR(continuous_vs_none.later_mean, later.mean, 1e-9);
  EXPECT_NEAR(continuous_vs_none.later_ci95, later.ci95, 1e-9);
}

TEST_F(RoundsEvaluation, TasksMoveByTheProcessFromTheStepProtocolsTasks) {
  const std::string run = train("msgd", "meta-sgd");
  EvalOptions rounds_options = options({run}, 4);
  rounds_options.task_process = {{"goal_x", envs::TaskProcessKind::kDrift, 0.25},
                                 {"goal_y", envs::TaskProcessKind::kWalk, 0.05}};
  const RoundsReport report = evaluate_rounds(rounds_options);
  EvalOptions step_options = rounds_options;
  step_options.rounds = 1;
  step_options.task_process.clear();
  const EvalReport steps = evaluate(step_options);

  EXPECT_EQ(report.task_process, "[goal_x=drift(0.25), goal_y=walk(0.05)]");
  ASSERT_EQ(report.task_parameters.size(), 4u);
  EXPECT_EQ(report.task_parameters[0], steps.task_parameters);
  const int x = 0;
  const int y = 1;
  ASSERT_EQ(report.task_parameter_names[x], "goal_x");
  ASSERT_EQ(report.task_parameter_names[y], "goal_y");
  for (size_t s = 0; s < 6; ++s) {
    for (size_t r = 1; r < 4; ++r) {
      const double expected = std::min(0.5, report.task_parameters[r - 1][s][x] + 0.25);
      EXPECT_NEAR(report.task_parameters[r][s][x], expected, 1e-12);
      EXPECT_LE(std::abs(report.task_parameters[r][s][y]), 0.5);
    }
  }
  // A moving goal: the none mode's later rounds are new tasks, not round 1 repeated.
  EXPECT_NE(curve(report, "meta-sgd none").sequence_returns[3], curve(report, "meta-sgd none").sequence_returns[0]);
  const std::string json = rounds_report_json(report);
  EXPECT_NE(json.find("\"task_process\": \"[goal_x=drift(0.25), goal_y=walk(0.05)]\""), std::string::npos);
  EXPECT_NE(json.find("\"meta-sgd restart\": {\"method\": \"meta-sgd\", \"mode\": \"restart\""), std::string::npos);
  const std::string lines = rounds_task_lines(report);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 6);
  EXPECT_NE(rounds_report_table(report).find("meta-sgd continuous - meta-sgd none"), std::string::npos);
}

TEST_F(RoundsEvaluation, OptionsThatDoNotApplyAreRefusedNamingTheKey) {
  const std::string run = train("msgd", "meta-sgd");
  const auto refusal = [](const EvalOptions& options) -> std::string {
    try {
      if (options.rounds > 1) {
        evaluate_rounds(options);
      } else {
        evaluate(options);
      }
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  EvalOptions process_without_rounds = options({run}, 1);
  process_without_rounds.task_process = {{"goal_x", envs::TaskProcessKind::kWalk, 0.05}};
  EXPECT_NE(refusal(process_without_rounds).find("'task_process'"), std::string::npos);
  EvalOptions steps = options({run}, 3);
  steps.protocol.steps = 1;
  EXPECT_NE(refusal(steps).find("'steps'"), std::string::npos);
  EvalOptions oracle = options({run}, 3);
  oracle.oracle_tasks = 1;
  EXPECT_NE(refusal(oracle).find("'oracle_tasks'"), std::string::npos);
  EvalOptions unknown = options({run}, 3);
  unknown.task_process = {{"mass", envs::TaskProcessKind::kWalk, 0.05}};
  const std::string message = refusal(unknown);
  EXPECT_NE(message.find("'mass=walk(0.05)'"), std::string::npos) << message;
  EXPECT_NE(message.find("goal_x, goal_y"), std::string::npos) << message;
}

// Training for continuous adaptation: the inner step learns from round 1's tasks and the
// outer objective's rollouts are round 2's, drawn by the process from its own stream.
TEST(TrainingWithATaskProcess, AdaptsOnRoundOneAndIsJudgedOnRoundTwo) {
  TrainConfig config = tiny_config("meta-sgd");
  config.task_process = {{"goal_x", envs::TaskProcessKind::kDrift, 0.3},
                         {"goal_y", envs::TaskProcessKind::kWalk, 0.1}};
  MetaTrainer trainer(config);
  const IterationMetrics metrics = trainer.run_iteration();

  Experiment experiment(config);  // the same streams, fresh
  const auto first = experiment.env->task_distribution().sample(config.meta_batch, envs::Split::kTrain,
                                                                experiment.task_rng);
  Rng process_rng(derive_seed(derive_seed(config.seed, kTaskProcessStream), 0));
  const auto rounds = experiment.task_process->sequence(first, 2, process_rng);
  for (int t = 0; t < config.meta_batch; ++t) {
    EXPECT_NEAR(rounds[1].at(t, 0), std::min(0.5, first.at(t, 0) + 0.3), 1e-12);
  }
  const auto theta = agents::detach(experiment.learner->theta());
  const auto before = experiment.sampler->sample(theta, rounds[0]);
  EXPECT_EQ(before.episode_returns().mean().item<double>(), metrics.return_before);
  const auto adapted = experiment.learner->adapt_step(theta, before, config.advantages, /*create_graph=*/false);
  const auto after = experiment.sampler->sample(agents::detach(adapted), rounds[1]);
  EXPECT_NEAR(after.episode_returns().mean().item<double>(), metrics.return_after,
              1e-4 * std::abs(metrics.return_after));
}

TEST_F(RoundsEvaluation, ARunTrainedWithAProcessIsEvaluatedOnItAndRefusesAnother) {
  TrainConfig config = tiny_config("maml");
  config.task_process = {{"goal_x", envs::TaskProcessKind::kWalk, 0.1}};
  const std::string drift = train("drift", config);
  const std::string stationary = train("msgd", "meta-sgd");

  // No process given: the trained run's, for it and for the stationary run beside it.
  const RoundsReport report = evaluate_rounds(options({drift, stationary}, 3));
  EXPECT_EQ(report.task_process, "[goal_x=walk(0.1)]");
  EvalOptions other = options({drift}, 3);
  other.task_process = {{"goal_x", envs::TaskProcessKind::kWalk, 0.2}};
  try {
    evaluate_rounds(other);
    ADD_FAILURE() << "another process was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("was trained with task_process [goal_x=walk(0.1)]"), std::string::npos)
        << e.what();
  }
  // The stationary run takes any process.
  EvalOptions any = options({stationary}, 2);
  any.task_process = {{"goal_y", envs::TaskProcessKind::kSwitch, 0.5}};
  EXPECT_EQ(evaluate_rounds(any).task_process, "[goal_y=switch(0.5)]");
  // The pretrained baseline does not adapt in training: a process there is refused.
  TrainConfig pretrained = config;
  pretrained.algo = Algorithm::kPretrained;
  try {
    MetaTrainer refused(pretrained);
    ADD_FAILURE() << "pretrained with a task process was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("algo pretrained"), std::string::npos) << e.what();
  }
}

TEST(TaskProcessKey, ParsesFormatsAndRefusesMalformedTerms) {
  const auto& schema = eval_config_schema();
  EvalOptions options;
  schema.set(options, "task_process", "[goal_x=walk(0.05), goal_y=switch(0.2)]");
  ASSERT_EQ(options.task_process.size(), 2u);
  EXPECT_EQ(options.task_process[1].kind, envs::TaskProcessKind::kSwitch);
  EXPECT_EQ(options.task_process[1].value, 0.2);
  schema.set(options, "task_process", "goal_x = drift(-0.1)");
  EXPECT_EQ(options.task_process.front().value, -0.1);
  for (const std::string bad : {"goal_x", "goal_x=walk", "goal_x=walk()", "goal_x=walk(abc)", "goal_x=jump(0.1)",
                                "=walk(0.1)", "goal_x=walk(0.1", "goal_x=walk(nan)"}) {
    try {
      schema.set(options, "task_process", bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("config key 'task_process'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("walk(STD)"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace metarl::meta
