// Evaluation over rounds (meta/eval/rounds_evaluation.h): round 1 is the step protocol's
// step 0 in every mode, continuous adaptation on a stationary sequence is the step
// protocol's chain of steps exactly, restart equals it after the first adaptation (its
// importance weights are 1 there) and truncates its weights at 1, no adaptation keeps θ,
// the tasks move as the process says, and options that do not apply are refused. Runs
// are tiny point-nav trainings.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "agents/autograd.h"
#include "agents/surrogate.h"
#include "envs/errors.h"
#include "envs/task_process.h"
#include "meta/eval/evaluation.h"
#include "meta/eval/rounds_evaluation.h"
#include "meta/experiment.h"
#include "meta/run/run_directory.h"
#include "meta/run/seed_group.h"
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

// The UsageError message of an evaluation (the rounds protocol with rounds ≥ 2), or "".
std::string refusal(const EvalOptions& options) {
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

// Online adaptation within an episode (adapt_every): the inner step learns from the
// episode's first segment and the outer objective's rollouts are its next segment, the
// same episodes continued (no reset) on the moved task.
TEST(OnlineAdaptation, TrainingAdaptsOnTheFirstSegmentAndIsJudgedOnTheNextOfTheSameEpisode) {
  TrainConfig config = tiny_config("meta-sgd");
  config.adapt_every = 5;  // of horizon 20: segments 1 and 2 are its first 10 steps
  config.task_process = {{"goal_x", envs::TaskProcessKind::kDrift, 0.3}};
  MetaTrainer trainer(config);
  const IterationMetrics metrics = trainer.run_iteration();
  EXPECT_EQ(metrics.iteration_env_steps, 2LL * config.meta_batch * config.rollouts * 5);

  Experiment experiment(config);  // the same streams, fresh
  EXPECT_EQ(experiment.sampler->horizon(), 5);
  const auto first = experiment.env->task_distribution().sample(config.meta_batch, envs::Split::kTrain,
                                                                experiment.task_rng);
  Rng process_rng(derive_seed(derive_seed(config.seed, kTaskProcessStream), 0));
  const auto rounds = experiment.task_process->sequence(first, 2, process_rng);
  const auto theta = agents::detach(experiment.learner->theta());
  const auto before = experiment.sampler->sample(theta, rounds[0]);
  EXPECT_EQ(before.episode_returns().mean().item<double>(), metrics.return_before);
  const auto adapted = experiment.learner->adapt_step(theta, before, config.advantages, /*create_graph=*/false);
  const auto after = experiment.sampler->continue_episodes(agents::detach(adapted), rounds[1]);
  EXPECT_NEAR(after.episode_returns().mean().item<double>(), metrics.return_after,
              1e-4 * std::abs(metrics.return_after));
  // Continued, not reset: point-nav starts every episode at the origin.
  EXPECT_GT(after.observations.select(2, 0).abs().sum().item<double>(), 0.0);
}

// task_change_step random: the outer objective's segment starts on the old task and
// moves to round 2's at a step drawn from the task-process stream after the sequence.
TEST(OnlineAdaptation, TrainingWithARandomChangeStepMovesTheTaskInsideTheSegment) {
  TrainConfig config = tiny_config("meta-sgd");
  config.adapt_every = 5;
  config.task_process = {{"goal_x", envs::TaskProcessKind::kDrift, 0.3}};
  config.task_change_step = envs::TaskChangeStep::kRandom;
  MetaTrainer trainer(config);
  const IterationMetrics metrics = trainer.run_iteration();

  Experiment experiment(config);
  const auto first = experiment.env->task_distribution().sample(config.meta_batch, envs::Split::kTrain,
                                                                experiment.task_rng);
  Rng process_rng(derive_seed(derive_seed(config.seed, kTaskProcessStream), 0));
  const auto rounds = experiment.task_process->sequence(first, 2, process_rng);
  const auto steps = envs::draw_task_change_steps(envs::TaskChangeStep::kRandom, config.meta_batch, 2, 5, process_rng);
  ASSERT_NE(steps[1], std::vector<int>(static_cast<size_t>(config.meta_batch), 0)) << "every task at the start";
  const auto theta = agents::detach(experiment.learner->theta());
  const auto before = experiment.sampler->sample(theta, rounds[0]);
  EXPECT_EQ(before.episode_returns().mean().item<double>(), metrics.return_before);
  const auto adapted = experiment.learner->adapt_step(theta, before, config.advantages, /*create_graph=*/false);
  const auto after = experiment.sampler->continue_episodes(agents::detach(adapted), rounds[1], steps[1]);
  EXPECT_NEAR(after.episode_returns().mean().item<double>(), metrics.return_after,
              1e-4 * std::abs(metrics.return_after));
  // Not the segment_start iteration's objective.
  TrainConfig at_start = config;
  at_start.task_change_step = envs::TaskChangeStep::kSegmentStart;
  MetaTrainer start_trainer(at_start);
  const IterationMetrics start_metrics = start_trainer.run_iteration();
  EXPECT_EQ(start_metrics.return_before, metrics.return_before);
  EXPECT_NE(start_metrics.return_after, metrics.return_after);

  // Refused where nothing changes inside a segment: no segments, or no process.
  for (const bool online : {false, true}) {
    TrainConfig refused = config;
    if (online) {
      refused.task_process.clear();
    } else {
      refused.adapt_every = 0;
    }
    try {
      MetaTrainer trainer_refused(refused);
      ADD_FAILURE() << "task_change_step random accepted, online " << online;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("config key 'task_change_step': value 'random'"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("expected adapt_every > 0 and a task_process"), std::string::npos)
          << e.what();
    }
  }
}

TEST(OnlineAdaptation, SegmentsThatDoNotFitTheEpisodeOrAnAlgoThatDoesNotAdaptAreRefused) {
  const auto training_refusal = [](const TrainConfig& config) -> std::string {
    try {
      MetaTrainer trainer(config);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  TrainConfig too_long = tiny_config("maml");
  too_long.adapt_every = 11;  // 2 segments of 11 > horizon 20
  const std::string message = training_refusal(too_long);
  EXPECT_NE(message.find("config key 'adapt_every': value '11'"), std::string::npos) << message;
  EXPECT_NE(message.find("expected at most 10"), std::string::npos) << message;
  TrainConfig chain = tiny_config("maml");
  chain.adapt_every = 5;
  chain.inner_steps = 4;  // 5 segments of 5 > 20
  EXPECT_NE(training_refusal(chain).find("inner_steps + 1 = 5 segments"), std::string::npos) << training_refusal(chain);
  chain.inner_steps = 3;  // 4 × 5 = 20 fits
  EXPECT_EQ(training_refusal(chain), "");
  // A horizon past point-nav's time limit (100) does not lengthen the episode: segments
  // there would be padding.
  TrainConfig past_limit = tiny_config("maml");
  past_limit.horizon = 200;
  past_limit.adapt_every = 60;  // 2 × 60 ≤ 200, but > 100
  const std::string limit = training_refusal(past_limit);
  EXPECT_NE(limit.find("the time limit of environment 'point-nav', 100"), std::string::npos) << limit;
  EXPECT_NE(limit.find("expected at most 50"), std::string::npos) << limit;
  TrainConfig pretrained = tiny_config("pretrained");
  pretrained.adapt_every = 5;
  EXPECT_NE(training_refusal(pretrained).find("algo pretrained"), std::string::npos) << training_refusal(pretrained);
  TrainConfig device = tiny_config("meta-sgd");
  device.adapt_every = 5;
  device.runtime.env_on_device = true;
  EXPECT_NE(training_refusal(device).find("'env_on_device'"), std::string::npos) << training_refusal(device);
}

// Online rounds in evaluation: round r is the r-th segment of one episode. Without
// adaptation and on a stationary task, the segments' returns add up to the return of
// the episode's first rounds·m steps — round 1 of whole-episode rounds on runs of that
// horizon, the same rows and noise.
TEST_F(RoundsEvaluation, OnlineRoundsAreSegmentsOfOneEpisode) {
  TrainConfig config = tiny_config("meta-sgd");
  config.horizon = 15;
  const std::string run = train("msgd15", config);
  EvalOptions online = options({run}, 3);
  online.adapt_every = 5;
  const RoundsReport segments = evaluate_rounds(online);
  EXPECT_EQ(segments.adapt_every, 5);
  const RoundsReport episodes = evaluate_rounds(options({run}, 2));
  const auto& none = curve(segments, "meta-sgd none").sequence_returns;
  const auto& whole = curve(episodes, "meta-sgd none").sequence_returns;
  ASSERT_EQ(none.size(), 3u);
  for (size_t t = 0; t < whole[0].size(); ++t) {
    EXPECT_NEAR(none[0][t] + none[1][t] + none[2][t], whole[0][t], 1e-4 * std::abs(whole[0][t])) << "sequence " << t;
  }
  // Point-nav's episodes end only at the goal: none of these did before a round.
  for (const auto& c : segments.curves) EXPECT_EQ(c.ended_before, (std::vector<double>{0.0, 0.0, 0.0})) << c.name;
  // Adapting within the episode changes the later segments, not the first.
  const auto& continuous = curve(segments, "meta-sgd continuous").sequence_returns;
  EXPECT_EQ(continuous[0], none[0]);
  EXPECT_NE(continuous[2], none[2]);
  EXPECT_NE(rounds_report_json(segments).find("\"adapt_every\": 5"), std::string::npos);
  // Its own report file, beside the whole-episode one; plots and the run directory know it.
  EXPECT_EQ(fs::path(rounds_report_path(run, "test", 1.0, 5)).filename().string(), "eval_test_rounds_online5.json");
  EXPECT_TRUE(is_rounds_report("eval_test_rounds_online5.json"));
  EXPECT_TRUE(is_rounds_report("eval_heldout_rounds_online25_discounted.json"));
  EXPECT_FALSE(is_rounds_report("eval_test_rounds_online.json"));
  EXPECT_FALSE(is_rounds_report("eval_test_rounds_online05.json"));
  EXPECT_FALSE(is_rounds_report("eval_test_rounds_onlinex.json"));

  // Cartpole's episodes end when the pole falls: an ended episode's later rounds are
  // padding, and the report counts them — none before round 1, never fewer later.
  TrainConfig cartpole = tiny_config("maml");
  cartpole.env = "cartpole";
  cartpole.horizon = 60;
  const std::string cartpole_run = train("cartpole", cartpole);
  EvalOptions falls = options({cartpole_run}, 3);
  falls.adapt_every = 20;
  const RoundsReport fallen = evaluate_rounds(falls);
  for (const auto& c : fallen.curves) {
    ASSERT_EQ(c.ended_before.size(), 3u) << c.name;
    EXPECT_EQ(c.ended_before[0], 0.0) << c.name;
    EXPECT_LE(c.ended_before[1], c.ended_before[2]) << c.name;
    EXPECT_LE(c.ended_before[2], 1.0) << c.name;
  }
  EXPECT_GT(curve(fallen, "maml none").ended_before[2], 0.0) << "a barely trained cartpole policy drops the pole";
  EXPECT_NE(rounds_report_table(fallen).find("episodes ended before the round"), std::string::npos);

  // Refused: segments past the episode, online without rounds, the device twin.
  EvalOptions too_long = options({run}, 4);
  too_long.adapt_every = 4;  // 4 × 4 > 15
  EXPECT_NE(refusal(too_long).find("rounds = 4 segments"), std::string::npos) << refusal(too_long);
  EvalOptions without_rounds = options({run}, 1);
  without_rounds.adapt_every = 5;
  EXPECT_NE(refusal(without_rounds).find("'adapt_every'"), std::string::npos) << refusal(without_rounds);
  EvalOptions device = online;
  device.runtime.env_on_device = true;
  EXPECT_NE(refusal(device).find("'env_on_device'"), std::string::npos) << refusal(device);
}

// task_change_step random in evaluation: each sequence's task moves at a recorded step
// inside each later segment. Round 1 (before any change) is the segment_start
// evaluation's; later rounds differ; the report says where each change fell.
TEST_F(RoundsEvaluation, ATaskChangingInsideSegmentsIsRecordedAndKeepsItsOwnReport) {
  TrainConfig config = tiny_config("meta-sgd");
  config.horizon = 15;
  const std::string run = train("msgd15c", config);
  EvalOptions at_start = options({run}, 3);
  at_start.adapt_every = 5;
  at_start.task_process = {{"goal_x", envs::TaskProcessKind::kDrift, 0.3}};
  EvalOptions random = at_start;
  random.task_change_step = envs::TaskChangeStep::kRandom;
  const RoundsReport moved_at_start = evaluate_rounds(at_start);
  const RoundsReport moved_inside = evaluate_rounds(random);
  EXPECT_EQ(moved_at_start.task_change_step, envs::TaskChangeStep::kSegmentStart);
  EXPECT_TRUE(moved_at_start.task_change_steps.empty());
  EXPECT_EQ(moved_inside.task_change_step, envs::TaskChangeStep::kRandom);
  ASSERT_EQ(moved_inside.task_change_steps.size(), 3u);
  EXPECT_EQ(moved_inside.task_change_steps[0], std::vector<int>(6, 0));
  bool inside = false;
  for (size_t round = 1; round < 3; ++round) {
    ASSERT_EQ(moved_inside.task_change_steps[round].size(), 6u);
    for (int step : moved_inside.task_change_steps[round]) {
      EXPECT_GE(step, 0);
      EXPECT_LT(step, 5);
      inside = inside || step > 0;
    }
  }
  EXPECT_TRUE(inside);
  // The same tasks either way; the change's time is all that differs.
  EXPECT_EQ(moved_inside.task_parameters, moved_at_start.task_parameters);
  // Without adaptation the policy is θ in both: round 2 of a sequence whose change fell
  // on its segment's first step is the segment_start evaluation's exactly, and any other
  // differs (the old goal's steps before the change). Per sequence, across both task
  // batches (task_batch 4 of 6 sequences), so each batch takes its own change steps.
  const auto& none_inside = curve(moved_inside, "meta-sgd none").sequence_returns;
  const auto& none_at_start = curve(moved_at_start, "meta-sgd none").sequence_returns;
  EXPECT_EQ(none_inside[0], none_at_start[0]);
  for (size_t s = 0; s < 6; ++s) {
    if (moved_inside.task_change_steps[1][s] == 0) {
      EXPECT_EQ(none_inside[1][s], none_at_start[1][s]) << "sequence " << s;
    } else {
      EXPECT_NE(none_inside[1][s], none_at_start[1][s]) << "sequence " << s;
    }
  }
  // The per-sequence lines carry each sequence's change steps.
  const std::string lines = rounds_task_lines(moved_inside);
  const std::string first_line = lines.substr(0, lines.find('\n'));
  EXPECT_NE(first_line.find("\"change_steps\": [0, " + std::to_string(moved_inside.task_change_steps[1][0]) + ", " +
                            std::to_string(moved_inside.task_change_steps[2][0]) + "]"),
            std::string::npos)
      << first_line;
  EXPECT_EQ(rounds_task_lines(moved_at_start).find("change_steps"), std::string::npos);
  EXPECT_NE(rounds_report_json(moved_inside).find("\"task_change_step\": \"random\", \"task_change_steps\": [[0, 0"),
            std::string::npos);
  EXPECT_NE(rounds_report_table(moved_inside).find("the task moving at a random step of each segment"),
            std::string::npos);
  EXPECT_EQ(fs::path(rounds_report_path(run, "test", 1.0, 5, envs::TaskChangeStep::kRandom)).filename().string(),
            "eval_test_rounds_online5_change_random.json");
  EXPECT_TRUE(is_rounds_report("eval_test_rounds_online5_change_random.json"));
  EXPECT_TRUE(is_rounds_report("eval_test_rounds_online5_change_random_discounted.json"));
  EXPECT_FALSE(is_rounds_report("eval_test_rounds_change_random.json"));

  // Refused: no segments, or nothing that moves.
  EvalOptions whole_episodes = random;
  whole_episodes.adapt_every = 0;
  EXPECT_NE(refusal(whole_episodes).find("config key 'task_change_step': value 'random' needs online segments"),
            std::string::npos)
      << refusal(whole_episodes);
  EvalOptions stationary = random;
  stationary.task_process.clear();
  EXPECT_NE(refusal(stationary).find("needs a task that moves"), std::string::npos) << refusal(stationary);
}

// Restart's step after a round (the one rounds_curve takes): θ's LVC step with the
// truncated behaviour log-probabilities of the acting policy's rollouts. Not the
// untruncated step, and not θ's on-policy step, when the acting policy is far from θ.
TEST(RestartWeights, RestartAdaptationTakesTheTruncatedStepFromTheta) {
  const TrainConfig config = tiny_config("meta-sgd");  // LVC, the default estimator
  ASSERT_EQ(config.estimator, agents::Estimator::kLvc);
  Experiment experiment(config);
  const auto tasks = experiment.env->task_distribution().sample(config.meta_batch, envs::Split::kTrain,
                                                                experiment.task_rng);
  const auto theta = agents::detach(experiment.learner->theta());
  // The acting policy: θ adapted twice on its own rollouts, so φ differs from θ.
  auto acting = theta;
  for (int step = 0; step < 2; ++step) {
    const auto own = experiment.sampler->sample(acting, tasks);
    acting = agents::detach(experiment.learner->adapt_step(acting, own, config.advantages, /*create_graph=*/false));
  }
  const auto rollouts = experiment.sampler->sample(acting, tasks);
  const auto restarted =
      restart_adaptation(*experiment.learner, *experiment.policy, theta, acting, rollouts, config.advantages);

  torch::Tensor sampling;
  torch::Tensor at_theta;
  {
    torch::NoGradGuard no_grad;
    sampling = experiment.policy->log_prob(rollouts.observations, rollouts.actions, acting);
    at_theta = experiment.policy->log_prob(rollouts.observations, rollouts.actions,
                                           agents::expand_to_tasks(theta, config.meta_batch));
  }
  const auto valid = rollouts.mask > 0;
  ASSERT_TRUE((at_theta > sampling).logical_and(valid).any().item<bool>());  // some weights truncated
  const auto step = [&](const torch::Tensor& behaviour) {
    return agents::detach(
        experiment.learner->adapt_step(theta, rollouts, config.advantages, /*create_graph=*/false, behaviour));
  };
  const auto truncated = step(at::maximum(sampling, at_theta));
  const auto untruncated = step(sampling);
  const auto on_policy = step(at_theta);
  ASSERT_EQ(restarted.size(), truncated.size());
  double to_untruncated = 0.0;
  double to_on_policy = 0.0;
  for (size_t i = 0; i < restarted.size(); ++i) {
    EXPECT_TRUE(torch::allclose(restarted[i], truncated[i], 1e-6, 1e-7)) << "parameter " << i;
    to_untruncated += (restarted[i] - untruncated[i]).abs().max().item<double>();
    to_on_policy += (restarted[i] - on_policy[i]).abs().max().item<double>();
  }
  EXPECT_GT(to_untruncated, 1e-5);
  EXPECT_GT(to_on_policy, 1e-5);
}

// A seed group over rounds: each seed a method (its per-sequence comparisons kept), and per
// mode the summary across seeds, its modes compared seed by seed.
TEST_F(RoundsEvaluation, SeedGroupsAreSummarisedAcrossSeedsPerMode) {
  SeedGroup group;
  group.dir = (dir_ / "group").string();
  group.seeds = {1, 2};
  write_seed_group(group);
  for (const auto seed : group.seeds) {
    TrainConfig config = tiny_config("meta-sgd");
    config.seed = seed;
    TrainRunOptions run;
    run.out_dir = seed_run_dir(group.dir, seed);
    run_training(config, run);
  }
  // A run before the group: the group's seeds are methods 1 and 2.
  const std::string maml = train("maml", "maml");
  const RoundsReport report = evaluate_rounds(options({maml, group.dir}, 3));
  ASSERT_EQ(report.curves.size(), 9u);  // three methods × three modes
  ASSERT_EQ(report.groups.size(), 3u);
  for (size_t m = 0; m < 3; ++m) {
    const RoundsGroupCurve& summary = report.groups[m];
    const RoundsCurve& seed1 = report.curves[3 + m];
    const RoundsCurve& seed2 = report.curves[6 + m];
    EXPECT_EQ(summary.mode, seed1.mode);
    EXPECT_EQ(summary.members, (std::vector<std::string>{seed1.name, seed2.name}));
    for (size_t r = 0; r < 3; ++r) EXPECT_DOUBLE_EQ(summary.mean[r], (seed1.mean[r] + seed2.mean[r]) / 2);
    EXPECT_DOUBLE_EQ(summary.later_mean, (seed1.later_mean + seed2.later_mean) / 2);
  }
  EXPECT_NE(report.groups[0].name.find("meta-sgd continuous ("), std::string::npos) << report.groups[0].name;
  EXPECT_NE(report.groups[0].name.find("2 seeds)"), std::string::npos) << report.groups[0].name;
  // The group's modes pairwise, paired by seed; one group has no other to compare with.
  ASSERT_EQ(report.group_comparisons.size(), 3u);
  const RoundsGroupComparison& continuous_vs_none = report.group_comparisons[1];
  EXPECT_EQ(continuous_vs_none.b, report.groups[2].name);
  EXPECT_TRUE(continuous_vs_none.paired_by_seed);
  EXPECT_DOUBLE_EQ(continuous_vs_none.later_mean,
                   ((report.curves[3].later_mean - report.curves[5].later_mean) +
                    (report.curves[6].later_mean - report.curves[8].later_mean)) / 2);
  const std::string table = rounds_report_table(report);
  EXPECT_NE(table.find("seed groups: mean over seeds"), std::string::npos) << table;
  // Each seed's modes keep their per-sequence comparison; the two seeds are not paired;
  // the run outside the group keeps its comparisons with each seed.
  EXPECT_NE(table.find(report.curves[3].name + " - " + report.curves[5].name), std::string::npos) << table;
  EXPECT_EQ(table.find(report.curves[3].name + " - " + report.curves[6].name), std::string::npos) << table;
  EXPECT_NE(table.find(report.curves[0].name + " - " + report.curves[3].name), std::string::npos) << table;
  const std::string json = rounds_report_json(report);
  EXPECT_NE(json.find("\"group_comparisons\": [{\"a\": "), std::string::npos);
  EXPECT_NE(json.find("\"paired_by_seed\": true"), std::string::npos);
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

// Restart's step from θ on φ's rollouts: LVC's surrogate with the truncated behaviour
// log-probabilities has the gradient of Σ_t min(π_θ/π_φ, 1) ∇log π_θ Â_t (weights held
// constant), the untruncated ratio where π_θ ≤ π_φ and 1 where θ is the likelier.
TEST(RestartWeights, TruncatedAtOneInTheGradientAtTheta) {
  torch::manual_seed(3);
  const auto shape = std::vector<int64_t>{2, 3, 5};  // [T, R, H]
  const auto theta_log_probs = (torch::randn(shape, torch::kFloat64) - 1.0).requires_grad_();
  const auto sampling_log_probs = theta_log_probs.detach() + torch::randn(shape, torch::kFloat64);
  const auto advantages = torch::randn(shape, torch::kFloat64);
  auto mask = torch::ones(shape, torch::kFloat64);
  mask.index_put_({1, 2, torch::indexing::Slice(3, 5)}, 0.0);  // a rollout that ended early
  const auto ratios = torch::exp(theta_log_probs.detach() - sampling_log_probs);
  ASSERT_TRUE((ratios > 1.0).any().item<bool>() && (ratios < 1.0).any().item<bool>());

  const auto behaviour = truncated_behaviour_log_probs(sampling_log_probs, theta_log_probs);
  EXPECT_FALSE(behaviour.requires_grad());
  const auto loss =
      agents::inner_objective_loss(theta_log_probs, advantages, mask, agents::Estimator::kLvc, behaviour).sum();
  const auto gradient = agents::gradients(loss, {theta_log_probs}, agents::GradOptions{})[0];

  const auto weights = torch::clamp_max(ratios, 1.0);
  const auto by_hand = -(mask * weights * advantages) / mask.sum({1, 2}, /*keepdim=*/true);
  EXPECT_TRUE(torch::allclose(gradient, by_hand, 1e-12, 1e-12)) << (gradient - by_hand).abs().max();
  // Untruncated, LVC's gradient is the ratio's: the two differ where θ is the likelier.
  const auto untruncated = agents::gradients(
      agents::inner_objective_loss(theta_log_probs, advantages, mask, agents::Estimator::kLvc, sampling_log_probs)
          .sum(),
      {theta_log_probs}, agents::GradOptions{})[0];
  EXPECT_FALSE(torch::allclose(untruncated, by_hand, 1e-6, 1e-6));
}

}  // namespace
}  // namespace metarl::meta
