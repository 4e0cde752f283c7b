// Comparing methods with `evaluate`: several runs and the random baseline on common
// random numbers (each method's numbers equal its numbers alone), the step-size
// schedule of the fixed-α methods, method names, and the errors for runs that cannot
// be compared. Runs are tiny trainings on point-nav in a scratch directory.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "envs/errors.h"
#include "envs/rng.h"
#include "meta/checkpoint.h"
#include "meta/eval/evaluation.h"
#include "meta/report/plots.h"
#include "meta/run/run_directory.h"
#include "meta/session/training_run.h"
#include "meta/trainer.h"
#include "tests/support/test_support.h"

namespace metarl::meta {
namespace {

namespace fs = std::filesystem;

class Evaluation : public metarl::testing::ScratchDirTest {
 protected:
  // A few meta-iterations: enough for θ (and Meta-SGD's α) to move off their
  // initialisation; the numbers compared here are exact, not learning progress.
  static TrainConfig tiny_config(const std::string& algo, std::uint64_t seed) {
    TrainConfig config;
    config.env = "point-nav";
    config.algo = parse_algorithm(algo);
    config.meta_batch = 4;
    config.rollouts = 4;
    config.horizon = 20;
    config.policy.hidden_sizes = {16};
    config.iterations = 3;
    config.runtime.threads = 1;
    config.seed = seed;
    return config;
  }

  std::string train(const std::string& name, const TrainConfig& config) {
    TrainRunOptions run;
    run.out_dir = (dir_ / name).string();
    run_training(config, run);
    return run.out_dir;
  }

  static EvalOptions small_eval(std::vector<std::string> runs) {
    EvalOptions options;
    options.checkpoints = std::move(runs);
    options.protocol.tasks = 5;
    options.protocol.rollouts = 3;
    options.protocol.steps = 2;
    options.runtime.threads = 1;
    return options;
  }
};

using metarl::testing::file_text;
using metarl::testing::usage_error_of;

// Exact equality: the same tasks, seeds and arithmetic must give the same doubles.
void expect_same_curve(const MethodCurve& a, const MethodCurve& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.mean, b.mean) << a.name;
  EXPECT_EQ(a.ci95, b.ci95) << a.name;
  EXPECT_EQ(a.task_returns, b.task_returns) << a.name;
  EXPECT_EQ(a.gain_mean, b.gain_mean) << a.name;
  EXPECT_EQ(a.gain_ci95, b.gain_ci95) << a.name;
}

// The paired gain is the mean of the per-task differences, and its interval comes
// from their spread, not from the two steps' own spreads.
void expect_paired_gains(const MethodCurve& curve) {
  ASSERT_EQ(curve.gain_mean.size(), curve.mean.size());
  ASSERT_EQ(curve.gain_ci95.size(), curve.mean.size());
  EXPECT_EQ(curve.gain_mean[0], 0.0);
  EXPECT_EQ(curve.gain_ci95[0], 0.0);
  const size_t tasks = curve.task_returns[0].size();
  for (size_t step = 1; step < curve.mean.size(); ++step) {
    std::vector<double> differences;
    for (size_t t = 0; t < tasks; ++t) differences.push_back(curve.task_returns[step][t] - curve.task_returns[0][t]);
    double mean = 0.0;
    for (double d : differences) mean += d / static_cast<double>(tasks);
    double squares = 0.0;
    for (double d : differences) squares += (d - mean) * (d - mean);
    EXPECT_NEAR(curve.gain_mean[step], mean, 1e-9);
    EXPECT_NEAR(curve.gain_mean[step], curve.mean[step] - curve.mean[0], 1e-9);  // linearity
    EXPECT_NEAR(curve.gain_ci95[step], 1.96 * std::sqrt(squares / (tasks - 1.0)) / std::sqrt(tasks), 1e-9);
  }
}

TEST_F(Evaluation, RunsEvaluatedTogetherScoreExactlyAsEachAlone) {
  const auto meta_sgd = train("meta-sgd", tiny_config("meta-sgd", 7));
  const auto maml = train("maml", tiny_config("maml", 8));
  const auto together = evaluate(small_eval({meta_sgd, maml}));
  ASSERT_EQ(together.methods.size(), 2u);
  EXPECT_EQ(together.methods[0].name, "meta-sgd");
  EXPECT_EQ(together.methods[1].name, "maml");
  EXPECT_EQ(together.env, "point-nav");
  EXPECT_EQ(together.steps, (std::vector<int>{0, 1, 2}));

  const auto alone_meta_sgd = evaluate(small_eval({meta_sgd}));
  const auto alone_maml = evaluate(small_eval({maml}));
  expect_same_curve(together.methods[0], alone_meta_sgd.methods[0]);
  expect_same_curve(together.methods[1], alone_maml.methods[0]);
  // Order changes nothing either: it is the order of the rows, not of the random numbers.
  const auto reversed = evaluate(small_eval({maml, meta_sgd}));
  expect_same_curve(reversed.methods[0], alone_maml.methods[0]);
  expect_same_curve(reversed.methods[1], alone_meta_sgd.methods[0]);
  EXPECT_NE(together.methods[0].mean, together.methods[1].mean);
  for (const auto& method : together.methods) expect_paired_gains(method);
  const auto table = report_table(together);
  EXPECT_NE(table.find("gain over step 0, paired per task"), std::string::npos) << table;
  EXPECT_NE(report_json(together).find("\"gain_ci95\": [0"), std::string::npos) << report_json(together);
}

// rllab logs AverageDiscountedReturn beside AverageReturn; papers built on it may
// report either. The discounted report measures the same rollouts and adaptation
// (same seed), so on point-nav, whose rewards are −distance ≤ 0, every task's
// discounted return lies between its undiscounted return and 0, and γ = 1 is the
// default report exactly. G_0 = Σ_t γ^t r_t itself is agents::discounted_returns,
// checked against a backward loop in advantages_test.
TEST_F(Evaluation, DiscountedReturnMeasuresTheSameRolloutsAndIsSavedBesideTheReturn) {
  const auto run = train("meta-sgd", tiny_config("meta-sgd", 7));
  const auto undiscounted = evaluate(small_eval({run}));
  auto options = small_eval({run});
  options.return_discount = 1.0;
  expect_same_curve(evaluate(options).methods[0], undiscounted.methods[0]);

  options.return_discount = 0.9;
  const auto discounted = evaluate(options);
  EXPECT_EQ(discounted.return_discount, 0.9);
  const auto& plain = undiscounted.methods[0].task_returns;
  const auto& weighted = discounted.methods[0].task_returns;
  ASSERT_EQ(weighted.size(), plain.size());
  int strictly_smaller = 0;
  for (size_t step = 0; step < plain.size(); ++step) {
    for (size_t t = 0; t < plain[step].size(); ++t) {
      EXPECT_LE(weighted[step][t], 0.0);
      EXPECT_GE(weighted[step][t], plain[step][t] - 1e-6) << "step " << step << " task " << t;
      // A 20-step episode that does not end at once loses weight on later rewards.
      if (std::abs(weighted[step][t]) < std::abs(plain[step][t]) * 0.95) ++strictly_smaller;
    }
  }
  EXPECT_GT(strictly_smaller, 0);
  expect_paired_gains(discounted.methods[0]);

  EXPECT_NE(report_json(discounted).find("\"return_discount\": 0.9,"), std::string::npos) << report_json(discounted);
  EXPECT_NE(report_json(undiscounted).find("\"return_discount\": 1,"), std::string::npos);
  EXPECT_NE(report_table(discounted).find("mean discounted return (gamma 0.9)"), std::string::npos)
      << report_table(discounted);
  EXPECT_EQ(report_table(undiscounted).find("discounted"), std::string::npos);

  // Saved side by side; the plot of each says which return it shows.
  EXPECT_EQ(fs::path(eval_report_path(run, discounted)).filename(), "eval_test_discounted.json");
  EXPECT_EQ(fs::path(eval_report_path(run, undiscounted)).filename(), "eval_test.json");
  save_eval_report(run, undiscounted);
  save_eval_report(run, discounted);
  plot_run(run);
  const auto discounted_svg = file_text(fs::path(run) / "plots" / "adaptation_test_discounted.svg");
  EXPECT_NE(discounted_svg.find("mean discounted return (gamma 0.9)"), std::string::npos);
  EXPECT_NE(file_text(fs::path(run) / "plots" / "adaptation_test.svg").find("mean episode return"), std::string::npos);
}

TEST_F(Evaluation, RandomBaselineIsDeterministicInItsSeedAndComesLast) {
  EvalOptions options = small_eval({});
  options.random = true;
  options.env = "point-nav";
  const auto first = evaluate(options);
  ASSERT_EQ(first.methods.size(), 1u);
  EXPECT_EQ(first.methods[0].name, "random");
  EXPECT_EQ(first.env, "point-nav");
  expect_same_curve(evaluate(options).methods[0], first.methods[0]);
  options.random_seed = 2;
  EXPECT_NE(evaluate(options).methods[0].mean, first.methods[0].mean);

  const auto run = train("run", tiny_config("meta-sgd", 7));
  EvalOptions with_run = small_eval({run});
  with_run.random = true;
  const auto report = evaluate(with_run);
  ASSERT_EQ(report.methods.size(), 2u);
  EXPECT_EQ(report.methods[0].name, "meta-sgd");
  EXPECT_EQ(report.methods[1].name, "random");
  EXPECT_NE(report.methods[1].mean, report.methods[0].mean);
  // The random baseline takes the run's architecture (16 hidden units), not the
  // default 2x100 of the run-less baseline, so it is another policy altogether.
  EXPECT_NE(report.methods[1].mean, first.methods[0].mean);
  expect_same_curve(evaluate(small_eval({run})).methods[0], report.methods[0]);
}

TEST(StepSizeSchedule, StepJUsesEntryJAndTheLastRepeats) {
  EXPECT_DOUBLE_EQ(scheduled_step_size({0.1, 0.05}, 1, 0.3), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_step_size({0.1, 0.05}, 2, 0.3), 0.05);
  EXPECT_DOUBLE_EQ(scheduled_step_size({0.1, 0.05}, 3, 0.3), 0.05);
  EXPECT_DOUBLE_EQ(scheduled_step_size({}, 2, 0.3), 0.3);
}

TEST_F(Evaluation, StepSizeScheduleChangesFixedAlphaMethodsButNotMetaSgd) {
  const auto meta_sgd = train("meta-sgd", tiny_config("meta-sgd", 7));
  const auto maml = train("maml", tiny_config("maml", 8));  // trained inner_lr 0.1
  EvalOptions options = small_eval({meta_sgd, maml});
  options.random = true;
  const auto trained = evaluate(options);
  options.step_sizes = {0.5, 0.02};
  const auto scheduled = evaluate(options);
  ASSERT_EQ(scheduled.methods.size(), 3u);

  expect_same_curve(scheduled.methods[0], trained.methods[0]);  // meta-sgd: its learned α
  for (size_t m : {1u, 2u}) {
    const auto& before = trained.methods[m];
    const auto& after = scheduled.methods[m];
    EXPECT_EQ(after.mean[0], before.mean[0]) << after.name << ": step 0 is before any adaptation";
    EXPECT_NE(after.mean[1], before.mean[1]) << after.name;
    EXPECT_NE(after.mean[2], before.mean[2]) << after.name;
  }
  // Only the second step's size changes: the first step is unchanged, the second not.
  options.step_sizes = {0.5, 0.3};
  const auto second_only = evaluate(options);
  EXPECT_EQ(second_only.methods[1].mean[1], scheduled.methods[1].mean[1]);
  EXPECT_NE(second_only.methods[1].mean[2], scheduled.methods[1].mean[2]);
  // A schedule of the trained step size is the same as no schedule (the random
  // baseline's default is the first run's inner_lr, 0.1 here too).
  options.step_sizes = {0.1};
  const auto same = evaluate(options);
  for (size_t m = 0; m < 3; ++m) expect_same_curve(same.methods[m], trained.methods[m]);
}

// MAML's evaluation scripts stepped each baseline at its own size: pretrained_step_sizes
// and random_step_sizes replace step_sizes for those methods alone, and each curve
// records the sizes it took.
TEST_F(Evaluation, PretrainedAndRandomFollowTheirOwnScheduleWhereGiven) {
  // The sizes a curve records are read back from the float32 α it stepped with.
  const auto expect_sizes = [](const MethodCurve& curve, const std::vector<double>& expected) {
    ASSERT_EQ(curve.step_sizes.size(), expected.size()) << curve.name;
    for (size_t j = 0; j < expected.size(); ++j) EXPECT_NEAR(curve.step_sizes[j], expected[j], 1e-7) << curve.name;
  };
  const auto maml = train("maml", tiny_config("maml", 8));
  const auto pretrained = train("pretrained", tiny_config("pretrained", 9));
  EvalOptions options = small_eval({maml, pretrained});
  options.random = true;
  options.step_sizes = {0.1, 0.05};
  const auto shared = evaluate(options);
  ASSERT_EQ(shared.methods.size(), 3u);
  for (const auto& method : shared.methods) expect_sizes(method, {0.1, 0.05});

  options.pretrained_step_sizes = {0.02};
  const auto pretrained_own = evaluate(options);
  expect_same_curve(pretrained_own.methods[0], shared.methods[0]);  // maml
  expect_same_curve(pretrained_own.methods[2], shared.methods[2]);  // random
  EXPECT_EQ(pretrained_own.methods[1].mean[0], shared.methods[1].mean[0]);
  EXPECT_NE(pretrained_own.methods[1].mean[1], shared.methods[1].mean[1]);
  expect_sizes(pretrained_own.methods[1], {0.02, 0.02});

  options.random_step_sizes = {1.0, 0.5};
  const auto both_own = evaluate(options);
  expect_same_curve(both_own.methods[0], shared.methods[0]);
  expect_same_curve(both_own.methods[1], pretrained_own.methods[1]);
  EXPECT_NE(both_own.methods[2].mean[1], shared.methods[2].mean[1]);
  expect_sizes(both_own.methods[2], {1.0, 0.5});

  // A baseline's own schedule equal to the shared one is the shared evaluation.
  options.pretrained_step_sizes = {0.1, 0.05};
  options.random_step_sizes = {0.1, 0.05};
  const auto same = evaluate(options);
  for (size_t m = 0; m < 3; ++m) expect_same_curve(same.methods[m], shared.methods[m]);
}

// Tasks beyond one batch are rolled out batch by batch, so memory stays bounded
// however many tasks are asked for. Batch 0 is seeded as an evaluation of its tasks
// alone: its per-task numbers at every step equal that evaluation's. Later batches
// draw their own random numbers, so their tasks score differently than in one batch.
TEST_F(Evaluation, TaskBatchZeroIsTheEvaluationOfItsTasksAlone) {
  const auto run = train("meta-sgd", tiny_config("meta-sgd", 7));
  EvalOptions whole = small_eval({run});
  whole.protocol.tasks = 7;
  EvalOptions batched = whole;
  batched.task_batch = 3;  // batches of 3, 3 and 1 tasks
  const auto curve = evaluate(batched).methods[0];
  ASSERT_EQ(curve.task_returns.size(), 3u);
  for (const auto& returns : curve.task_returns) ASSERT_EQ(returns.size(), 7u);
  expect_paired_gains(curve);
  expect_same_curve(evaluate(batched).methods[0], curve);

  EvalOptions first_three = small_eval({run});
  first_three.protocol.tasks = 3;
  const auto alone = evaluate(first_three).methods[0];
  for (size_t step = 0; step < curve.task_returns.size(); ++step) {
    for (size_t t = 0; t < 3; ++t) {
      EXPECT_EQ(curve.task_returns[step][t], alone.task_returns[step][t]) << "step " << step << ", task " << t;
    }
  }
  const auto unbatched = evaluate(whole).methods[0];
  const std::vector<double> later(curve.task_returns[0].begin() + 3, curve.task_returns[0].end());
  const std::vector<double> later_unbatched(unbatched.task_returns[0].begin() + 3, unbatched.task_returns[0].end());
  EXPECT_NE(later, later_unbatched);
  // One batch that holds every task is the unbatched evaluation.
  batched.task_batch = 7;
  expect_same_curve(evaluate(batched).methods[0], unbatched);
}

TEST(EvalTaskBatches, AutomaticSizeFitsTheSampleBudgetAndBatchZeroKeepsTheSeed) {
  EvalOptions options;
  options.protocol.tasks = 2500;
  options.protocol.rollouts = 40;
  EXPECT_EQ(task_batch_size(options, 200), 312);  // 2.5 M samples / (40 x 200)
  EXPECT_EQ(task_batch_size(options, 100), 625);
  options.protocol.tasks = 300;
  EXPECT_EQ(task_batch_size(options, 200), 300);  // docs/results.md's pendulum evaluations: one batch
  options.task_batch = 7;
  EXPECT_EQ(task_batch_size(options, 200), 7);
  options.protocol.tasks = 5;
  EXPECT_EQ(task_batch_size(options, 200), 5);
  options.task_batch = 0;
  options.protocol.rollouts = 100000;
  EXPECT_EQ(task_batch_size(options, 1000), 1);  // more than the budget per task: one task at a time
  EXPECT_EQ(task_batch_seed(9, 0), 9u);
  EXPECT_NE(task_batch_seed(9, 1), 9u);
  EXPECT_NE(task_batch_seed(9, 1), task_batch_seed(9, 2));
  EXPECT_NE(usage_error_of([] {
              EvalOptions negative;
              eval_config_schema().apply_override(negative, "task_batch=-1");
            }).find("'task_batch'"),
            std::string::npos);
}

TEST_F(Evaluation, RunsOfOneAlgorithmAreNamedByTheirRunDirectory) {
  const auto a = train("seed1", tiny_config("meta-sgd", 1));
  const auto b = train("seed2", tiny_config("meta-sgd", 2));
  const auto maml = train("maml", tiny_config("maml", 3));
  const auto report = evaluate(small_eval({a, b + "/", maml}));
  ASSERT_EQ(report.methods.size(), 3u);
  EXPECT_EQ(report.methods[0].name, "meta-sgd (" + a + ")");
  EXPECT_EQ(report.methods[1].name, "meta-sgd (" + b + ")");
  EXPECT_EQ(report.methods[2].name, "maml");
  // JSON: the existing shape, one entry per method in command-line order.
  const std::string json = report_json(report);
  const auto first = json.find("\"meta-sgd (" + a + ")\": {\"algorithm\": \"");
  const auto second = json.find("\"meta-sgd (" + b + ")\": {\"algorithm\": \"");
  const auto third = json.find("\"maml\": {\"algorithm\": \"");
  ASSERT_NE(first, std::string::npos) << json;
  ASSERT_NE(second, std::string::npos) << json;
  ASSERT_NE(third, std::string::npos) << json;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_EQ(json.rfind("{\"metarl_version\": \"", 0), 0u) << json;
  EXPECT_NE(json.find(", \"env\": \"point-nav\", \"split\": \"test\", \"tasks\": 5, \"rollouts\": 3, "
                      "\"return_discount\": 1, \"steps\": [0, 1, 2], \"methods\": {"),
            std::string::npos)
      << json;
  // The table: a header and one row per method, then the paired gains: a title and
  // one row per method, in the same order; then the paired differences between
  // methods: a title and two rows per pair (same step, and the second at its best).
  const std::string table = report_table(report);
  EXPECT_NE(table.find("\nmeta-sgd (" + a + ") "), std::string::npos) << table;
  EXPECT_NE(table.find("\nmaml "), std::string::npos) << table;
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 2 + 3 + 1 + 3 + 1 + 2 * 3) << table;
  EXPECT_NE(table.find("\nmeta-sgd (" + a + ") - meta-sgd (" + b + ") "), std::string::npos) << table;

  const auto message = usage_error_of([&] { evaluate(small_eval({a, maml, (fs::path(a) / "checkpoint.pt").string()})); });
  EXPECT_NE(message.find("is given twice"), std::string::npos) << message;
}

// The paired comparison of two methods is the mean and interval of the per-task
// differences of their returns. With tasks that differ a lot (a per-task offset both
// methods share) it resolves a difference that the two methods' own intervals hide.
TEST(PairedDifference, IsTheDifferenceOfPerTaskReturnsAndShrinksWithCorrelatedTasks) {
  Rng rng(11);
  std::vector<double> a;
  std::vector<double> b;
  for (int t = 0; t < 100; ++t) {
    const double task_offset = rng.uniform(-100.0, 100.0);  // how hard task t is, shared by both methods
    a.push_back(task_offset + 2.0 + rng.uniform(-1.0, 1.0));
    b.push_back(task_offset + rng.uniform(-1.0, 1.0));
  }
  const PairedDifference paired = paired_difference(a, b);
  std::vector<double> differences;
  for (size_t t = 0; t < a.size(); ++t) differences.push_back(a[t] - b[t]);
  double mean = 0.0;
  double ci = 0.0;
  mean_and_ci95(differences, mean, ci);
  EXPECT_EQ(paired.mean, mean);
  EXPECT_EQ(paired.ci95, ci);
  double mean_a = 0.0, ci_a = 0.0, mean_b = 0.0, ci_b = 0.0;
  mean_and_ci95(a, mean_a, ci_a);
  mean_and_ci95(b, mean_b, ci_b);
  EXPECT_NEAR(paired.mean, mean_a - mean_b, 1e-9);
  // Unpaired, the difference's interval would be √(ci_a² + ci_b²) ≈ 16, and the two
  // intervals overlap; paired, the shared offsets cancel and 2 ± 0.2 is clear of 0.
  const double unpaired_ci = std::sqrt(ci_a * ci_a + ci_b * ci_b);
  EXPECT_GT(unpaired_ci, 10.0);
  EXPECT_GT(mean_a - ci_a, mean_b - ci_b);
  EXPECT_LT(mean_a - ci_a, mean_b + ci_b);  // the intervals overlap
  EXPECT_LT(paired.ci95, 0.05 * unpaired_ci);
  EXPECT_GT(paired.mean - paired.ci95, 0.0);
  // Independent tasks (no shared offset): pairing buys nothing, the interval is the
  // unpaired one up to sampling noise.
  std::vector<double> independent_b;
  for (int t = 0; t < 100; ++t) independent_b.push_back(rng.uniform(-100.0, 100.0));
  const PairedDifference unrelated = paired_difference(a, independent_b);
  double ci_ib = 0.0, mean_ib = 0.0;
  mean_and_ci95(independent_b, mean_ib, ci_ib);
  EXPECT_NEAR(unrelated.ci95, std::sqrt(ci_a * ci_a + ci_ib * ci_ib), 0.35 * unrelated.ci95);
  EXPECT_THROW(paired_difference(a, {1.0, 2.0}), std::invalid_argument);
}

TEST_F(Evaluation, EveryPairOfMethodsIsComparedTaskByTaskAtEachStepAndAtTheBestStep) {
  const auto meta_sgd = train("meta-sgd", tiny_config("meta-sgd", 7));
  const auto maml = train("maml", tiny_config("maml", 8));
  EvalOptions options = small_eval({meta_sgd, maml});
  options.random = true;
  const auto report = evaluate(options);
  ASSERT_EQ(report.methods.size(), 3u);
  ASSERT_EQ(report.comparisons.size(), 3u);
  const std::vector<std::pair<size_t, size_t>> pairs{{0, 1}, {0, 2}, {1, 2}};
  for (size_t c = 0; c < pairs.size(); ++c) {
    const auto& comparison = report.comparisons[c];
    const MethodCurve& a = report.methods[pairs[c].first];
    const MethodCurve& b = report.methods[pairs[c].second];
    EXPECT_EQ(comparison.a, a.name);
    EXPECT_EQ(comparison.b, b.name);
    const auto best = std::max_element(b.mean.begin(), b.mean.end()) - b.mean.begin();
    EXPECT_EQ(comparison.b_best_step, best);
    ASSERT_EQ(comparison.mean.size(), report.steps.size());
    ASSERT_EQ(comparison.vs_best_mean.size(), report.steps.size());
    for (size_t step = 0; step < report.steps.size(); ++step) {
      std::vector<double> same_step;
      std::vector<double> against_best;
      for (size_t t = 0; t < a.task_returns[step].size(); ++t) {
        same_step.push_back(a.task_returns[step][t] - b.task_returns[step][t]);
        against_best.push_back(a.task_returns[step][t] - b.task_returns[static_cast<size_t>(best)][t]);
      }
      double mean = 0.0, ci = 0.0;
      mean_and_ci95(same_step, mean, ci);
      EXPECT_EQ(comparison.mean[step], mean);
      EXPECT_EQ(comparison.ci95[step], ci);
      EXPECT_NEAR(comparison.mean[step], a.mean[step] - b.mean[step], 1e-9);  // linearity
      mean_and_ci95(against_best, mean, ci);
      EXPECT_EQ(comparison.vs_best_mean[step], mean);
      EXPECT_EQ(comparison.vs_best_ci95[step], ci);
    }
  }
  const std::string json = report_json(report);
  EXPECT_NE(json.find("\"comparisons\": [{\"a\": \"meta-sgd\", \"b\": \"maml\", \"mean\": ["), std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"a\": \"maml\", \"b\": \"random\""), std::string::npos) << json;
  const std::string table = report_table(report);
  EXPECT_NE(table.find("\nmeta-sgd - maml "), std::string::npos) << table;
  EXPECT_NE(table.find("\nmeta-sgd - random at step " + std::to_string(report.comparisons[1].b_best_step) +
                       " (its best) "),
            std::string::npos)
      << table;
  // One method alone has nothing to compare.
  EXPECT_TRUE(evaluate(small_eval({meta_sgd})).comparisons.empty());
}

TEST_F(Evaluation, TheSavedReportPlotsEveryMethod) {
  const auto meta_sgd = train("meta-sgd", tiny_config("meta-sgd", 7));
  const auto maml = train("maml", tiny_config("maml", 8));
  EvalOptions options = small_eval({meta_sgd, maml});
  options.random = true;
  save_eval_report(meta_sgd, evaluate(options));
  plot_run(meta_sgd);
  const std::string svg = file_text(fs::path(meta_sgd) / "plots" / "adaptation_test.svg");
  for (const char* method : {">meta-sgd</text>", ">maml</text>", ">random</text>"}) {
    EXPECT_NE(svg.find(method), std::string::npos) << method;
  }
  EXPECT_EQ(svg.find("oracle"), std::string::npos);
  // With an oracle, its level line too.
  options.oracle_tasks = 2;
  options.oracle_iterations = 2;
  save_eval_report(meta_sgd, evaluate(options));
  plot_run(meta_sgd);
  EXPECT_NE(file_text(fs::path(meta_sgd) / "plots" / "adaptation_test.svg").find(">oracle (first 2 tasks)</text>"),
            std::string::npos);
}

TEST_F(Evaluation, RunsThatCannotBeComparedAreUsageErrors) {
  const auto nav = train("nav", tiny_config("meta-sgd", 7));
  auto pendulum_config = tiny_config("meta-sgd", 7);
  pendulum_config.env = "pendulum";
  const auto pendulum = train("pendulum", pendulum_config);
  auto message = usage_error_of([&] { evaluate(small_eval({nav, pendulum})); });
  for (const auto& part : {nav, pendulum, std::string("'point-nav'"), std::string("'pendulum'")}) {
    EXPECT_NE(message.find(part), std::string::npos) << part << " in: " << message;
  }
  EXPECT_NE(message.find("different environments"), std::string::npos) << message;

  EvalOptions named = small_eval({nav});
  named.env = "pendulum";
  message = usage_error_of([&] { evaluate(named); });
  EXPECT_NE(message.find(nav), std::string::npos) << message;
  EXPECT_NE(message.find("'pendulum'"), std::string::npos) << message;

  auto shorter = tiny_config("maml", 7);
  shorter.horizon = 10;
  const auto short_run = train("short", shorter);
  message = usage_error_of([&] { evaluate(small_eval({nav, short_run})); });
  EXPECT_NE(message.find("horizon 20"), std::string::npos) << message;
  EXPECT_NE(message.find("horizon 10"), std::string::npos) << message;
}

// A run's task_ranges are its task distribution: its evaluation draws from them, and
// runs of different distributions are not compared on one set of tasks.
TEST_F(Evaluation, TasksComeFromTheRunsTaskRangesAndRunsOfOthersAreNotCompared) {
  auto narrowed = tiny_config("meta-sgd", 7);
  narrowed.task_ranges = {{"goal_x", 0.25, 0.25, 0.25, 0.25}, {"goal_y", -0.1, 0.1, -0.3, 0.3}};
  const auto narrow = train("narrow", narrowed);
  auto maml = narrowed;
  maml.algo = Algorithm::kMaml;
  const auto narrow_maml = train("narrow-maml", maml);
  auto options = small_eval({narrow, narrow_maml});
  options.protocol.tasks = 40;
  options.protocol.steps = 1;
  options.protocol.split = envs::Split::kHeldOut;
  const EvalReport heldout = evaluate(options);
  ASSERT_EQ(heldout.task_parameter_names, (std::vector<std::string>{"goal_x", "goal_y"}));
  ASSERT_EQ(heldout.task_parameters.size(), 40u);
  for (const auto& task : heldout.task_parameters) {
    EXPECT_EQ(task[0], 0.25);
    EXPECT_GT(std::abs(task[1]), 0.1);  // held out: outside the training range in goal_y
    EXPECT_LE(std::abs(task[1]), 0.3);
  }
  options.protocol.split = envs::Split::kTest;
  const EvalReport test = evaluate(options);
  for (const auto& task : test.task_parameters) {
    EXPECT_EQ(task[0], 0.25);
    EXPECT_LE(std::abs(task[1]), 0.1);
  }
  // The same ranges listed in another order are the same distribution.
  auto reordered = narrowed;
  std::reverse(reordered.task_ranges.begin(), reordered.task_ranges.end());
  reordered.algo = Algorithm::kMaml;
  EXPECT_NO_THROW(evaluate(small_eval({narrow, train("reordered", reordered)})));
  const auto nav = train("nav", tiny_config("maml", 7));
  const auto message = usage_error_of([&] { evaluate(small_eval({narrow, nav})); });
  for (const auto& part : {narrow, nav, std::string("task_ranges [goal_x=0.25, goal_y=-0.1..0.1/-0.3..0.3]"),
                           std::string("task_ranges []"), std::string("different task distributions")}) {
    EXPECT_NE(message.find(part), std::string::npos) << part << " in: " << message;
  }
}

// An untrained oracle's return on each of its tasks is `method`'s step 0 there (the same
// θ and random numbers), up to the float order of a task-batched forward pass.
void expect_oracle_is_step_0_of(const OracleReport& oracle, const MethodCurve& method) {
  ASSERT_EQ(oracle.task_returns.size(), static_cast<size_t>(oracle.tasks));
  const auto& step_0 = method.task_returns.at(0);
  for (size_t t = 0; t < oracle.task_returns.size(); ++t) {
    EXPECT_NEAR(oracle.task_returns[t], step_0.at(t), 1e-4 * std::abs(step_0.at(t))) << method.name << ", task " << t;
  }
}

// An oracle that takes no training step is the random initialisation, measured on the
// random numbers of the methods' step-0 rollouts: its returns are the random baseline's
// step 0 on those tasks (up to the float order of a task-batched forward pass).
TEST_F(Evaluation, AnUntrainedOracleIsTheRandomBaselineOnTheSameRandomNumbers) {
  EvalOptions options = small_eval({});
  options.random = true;
  options.env = "point-nav";
  options.oracle_tasks = 3;
  options.oracle_iterations = 0;
  const auto report = evaluate(options);
  ASSERT_EQ(report.oracle.tasks, 3);
  expect_oracle_is_step_0_of(report.oracle, report.methods.at(0));
  EXPECT_EQ(report.oracle.training_curve, std::vector<double>{report.oracle.mean});
  // Without an oracle the report says so.
  options.oracle_tasks = 0;
  const auto without = evaluate(options);
  EXPECT_EQ(without.oracle.tasks, 0);
  EXPECT_NE(report_json(without).find("\"oracle\": null"), std::string::npos);
  EXPECT_EQ(report_table(without).find("oracle"), std::string::npos);
}

// Started from the first run's θ (oracle_start first_run), an untrained oracle is that
// run before adaptation; without a run there is no θ to start from.
TEST_F(Evaluation, AnOracleStartedFromTheFirstRunIsThatRunBeforeTraining) {
  const auto run = train("run", tiny_config("maml", 7));
  EvalOptions options = small_eval({run});
  options.random = true;
  options.oracle_tasks = 3;
  options.oracle_iterations = 0;
  options.oracle_start = OracleStart::kFirstRun;
  const auto report = evaluate(options);
  expect_oracle_is_step_0_of(report.oracle, report.methods.at(0));
  // The JSON's `start` is the flag's value; `start_theta` says whose θ that was.
  EXPECT_EQ(report.oracle.start, "first_run");
  EXPECT_EQ(report.oracle.start_theta, "theta of maml");
  EXPECT_NE(report_table(report).find("from theta of maml"), std::string::npos);
  EXPECT_NE(report_json(report).find("\"start\": \"first_run\", \"start_theta\": \"theta of maml\""),
            std::string::npos);
  options.oracle_start = OracleStart::kRandom;
  const auto from_random = evaluate(options);
  EXPECT_EQ(from_random.oracle.start, "random");
  EXPECT_EQ(from_random.oracle.start_theta, "the random initialisation");

  EvalOptions alone = small_eval({});
  alone.random = true;
  alone.env = "point-nav";
  alone.oracle_tasks = 2;
  alone.oracle_start = OracleStart::kFirstRun;
  const auto message = usage_error_of([&] { evaluate(alone); });
  EXPECT_NE(message.find("'oracle_start'"), std::string::npos) << message;
  EXPECT_NE(message.find("'first_run'"), std::string::npos) << message;
}

// Trained on its task alone, each oracle policy ends far ahead of the initialisation it
// started from (point-nav: reach a fixed goal), and the report carries it everywhere.
TEST_F(Evaluation, OraclesTrainedOnTheirTaskBeatTheirInitialisationAndAreReported) {
  const auto run = train("run", tiny_config("meta-sgd", 7));
  EvalOptions options = small_eval({run});
  options.random = true;
  options.oracle_tasks = 4;
  options.oracle_iterations = 40;
  options.oracle_rollouts = 10;
  options.oracle_lr = 0.03;
  std::vector<int> iterations_seen;
  const auto report = evaluate(options, [&](const std::string& method, int step, int steps, double) {
    if (method == "oracle") {
      EXPECT_EQ(steps, 40);
      iterations_seen.push_back(step);
    }
  });
  const auto& oracle = report.oracle;
  ASSERT_EQ(oracle.task_returns.size(), 4u);
  EXPECT_EQ(iterations_seen, (std::vector<int>{2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36,
                                                38, 40}));  // about twenty reports
  ASSERT_EQ(oracle.training_curve.size(), 41u);
  const auto& random = report.methods.at(1);
  ASSERT_EQ(random.name, "random");
  double random_mean = 0.0;
  for (size_t t = 0; t < 4; ++t) random_mean += random.task_returns[0][t] / 4.0;
  // The first training iteration rolls out the random initialisation (other rollouts).
  EXPECT_NEAR(oracle.training_curve.front(), random_mean, 0.5 * std::abs(random_mean));
  EXPECT_GT(oracle.mean, random_mean + 0.3 * std::abs(random_mean)) << "oracle " << oracle.mean << ", random "
                                                                     << random_mean;
  for (size_t t = 0; t < 4; ++t) EXPECT_GT(oracle.task_returns[t], random.task_returns[0][t]) << "task " << t;
  // One gap per method, in report order, each the paired difference on the oracle's tasks.
  ASSERT_EQ(oracle.gaps.size(), 2u);
  EXPECT_EQ(oracle.gaps[0].method, "meta-sgd");
  EXPECT_EQ(oracle.gaps[1].method, "random");
  EXPECT_EQ(oracle.gaps[1].mean.size(), 3u);
  EXPECT_GT(oracle.gaps[1].mean[0], 0.0);
  EXPECT_EQ(oracle.gaps[1].closed[0], 0.0);
  const std::string json = report_json(report);
  for (const char* key : {"\"oracle\": {\"tasks\": 4", "\"iterations\": 40", "\"training_curve\"", "\"gaps\"",
                          "\"closed\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
  }
  const std::string table = report_table(report);
  EXPECT_NE(table.find("the first 4 tasks"), std::string::npos) << table;
  EXPECT_NE(table.find("gap to the oracle"), std::string::npos) << table;
  EXPECT_NE(table.find("fraction of the step-0 gap"), std::string::npos) << table;
  const std::string lines = report_task_lines(report);
  EXPECT_NE(lines.find("\"oracle\": "), std::string::npos);
  // Tasks beyond the oracle's have no oracle entry: the fifth line is the last.
  const auto fifth = lines.rfind("{\"task\": 4");
  ASSERT_NE(fifth, std::string::npos);
  EXPECT_EQ(lines.find("\"oracle\"", fifth), std::string::npos);
}

// The gap is oracle − method per task, paired; the fraction closed after j steps is the
// mean gain over the mean gap at step 0, and n/a where the method starts at or above it.
TEST(OracleGaps, ArePairedDifferencesAndTheFractionClosedIsGainOverTheStartingGap) {
  OracleReport oracle;
  oracle.tasks = 2;
  oracle.task_returns = {10.0, 30.0};
  MethodCurve adapting;
  adapting.name = "meta-sgd";
  adapting.task_returns = {{0.0, 10.0, 99.0}, {4.0, 16.0, -5.0}, {10.0, 30.0, 0.0}};  // a third task beyond the oracle's
  MethodCurve above;
  above.name = "above";
  above.task_returns = {{20.0, 40.0}, {21.0, 41.0}};
  const auto gaps = oracle_gaps(oracle, {adapting, above});
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(gaps[0].method, "meta-sgd");
  // Step 0: differences {10, 20}; step 1: {6, 14}; step 2: {0, 0}.
  EXPECT_DOUBLE_EQ(gaps[0].mean[0], 15.0);
  EXPECT_DOUBLE_EQ(gaps[0].mean[1], 10.0);
  EXPECT_DOUBLE_EQ(gaps[0].mean[2], 0.0);
  EXPECT_NEAR(gaps[0].ci95[0], 1.96 * std::sqrt(50.0) / std::sqrt(2.0), 1e-12);
  EXPECT_DOUBLE_EQ(gaps[0].ci95[2], 0.0);
  EXPECT_DOUBLE_EQ(gaps[0].closed[0], 0.0);
  EXPECT_DOUBLE_EQ(gaps[0].closed[1], 5.0 / 15.0);
  EXPECT_DOUBLE_EQ(gaps[0].closed[2], 1.0);
  EXPECT_DOUBLE_EQ(gaps[1].mean[0], -10.0);
  for (double closed : gaps[1].closed) EXPECT_TRUE(std::isnan(closed));
  MethodCurve too_few;
  too_few.name = "one task";
  too_few.task_returns = {{1.0}};
  EXPECT_THROW(oracle_gaps(oracle, {too_few}), std::invalid_argument);
  EXPECT_TRUE(oracle_gaps(OracleReport{}, {adapting}).empty());
}

TEST_F(Evaluation, OracleTasksBeyondTheTasksOrTheFirstTaskBatchAreUsageErrors) {
  EvalOptions options = small_eval({});
  options.random = true;
  options.env = "point-nav";
  options.oracle_tasks = 6;  // of 5
  auto message = usage_error_of([&] { evaluate(options); });
  EXPECT_NE(message.find("'oracle_tasks'"), std::string::npos) << message;
  EXPECT_NE(message.find("'6'"), std::string::npos) << message;
  options.oracle_tasks = 3;
  options.task_batch = 2;
  message = usage_error_of([&] { evaluate(options); });
  EXPECT_NE(message.find("'oracle_tasks'"), std::string::npos) << message;
  EXPECT_NE(message.find("first task batch (2"), std::string::npos) << message;
}

// The α ablation: each Meta-SGD run again, after the runs, with every entry of its α set
// to α's mean. Same θ and random numbers: step 0 is the run's own; the steps differ.
TEST_F(Evaluation, AlphaAblationAdaptsMetaSgdsThetaWithTheMeanOfItsAlpha) {
  const auto meta_sgd = train("meta-sgd", tiny_config("meta-sgd", 7));
  const auto maml = train("maml", tiny_config("maml", 8));
  EvalOptions options = small_eval({meta_sgd, maml});
  options.alpha_ablation = true;
  options.random = true;
  const auto report = evaluate(options);
  ASSERT_EQ(report.methods.size(), 4u);
  EXPECT_EQ(report.methods[0].name, "meta-sgd");
  EXPECT_EQ(report.methods[1].name, "maml");
  const auto& ablation = report.methods[2];
  EXPECT_EQ(ablation.name, "meta-sgd mean alpha");
  EXPECT_EQ(report.methods[3].name, "random");
  EXPECT_EQ(ablation.algorithm, "meta-sgd");
  EXPECT_EQ(ablation.run, meta_sgd);
  const auto checkpoint = load_checkpoint(meta_sgd);
  double sum = 0.0;
  double lowest = 1e9;
  double highest = -1e9;
  std::int64_t entries = 0;
  for (const auto& alpha : checkpoint.alpha) {
    sum += alpha.sum().item<double>();
    entries += alpha.numel();
    lowest = std::min(lowest, alpha.min().item<double>());
    highest = std::max(highest, alpha.max().item<double>());
  }
  ASSERT_LT(lowest, highest) << "the run's alpha must have moved off its uniform start";
  EXPECT_EQ(report.methods[0].step_sizes, std::vector<double>{});  // learned
  ASSERT_EQ(ablation.step_sizes.size(), 2u);
  for (double size : ablation.step_sizes) EXPECT_NEAR(size, sum / entries, 1e-7);
  EXPECT_EQ(ablation.task_returns[0], report.methods[0].task_returns[0]);
  EXPECT_NE(ablation.task_returns[1], report.methods[0].task_returns[1]);
  // Paired with its run like any two methods.
  const auto pair = std::find_if(report.comparisons.begin(), report.comparisons.end(), [](const MethodComparison& c) {
    return c.a == "meta-sgd" && c.b == "meta-sgd mean alpha";
  });
  ASSERT_NE(pair, report.comparisons.end());
  EXPECT_EQ(pair->mean[0], 0.0);
  // Without the option nothing is added, and the run's own curve is unchanged.
  options.alpha_ablation = false;
  const auto plain = evaluate(options);
  ASSERT_EQ(plain.methods.size(), 3u);
  expect_same_curve(plain.methods[0], report.methods[0]);
  // Without a Meta-SGD run there is no α to ablate: refused, not ignored.
  EvalOptions no_meta_sgd = small_eval({maml});
  no_meta_sgd.alpha_ablation = true;
  const std::string message = usage_error_of([&] { evaluate(no_meta_sgd); });
  EXPECT_NE(message.find("config key 'alpha_ablation' (--alpha-ablation): no Meta-SGD run to ablate among " + maml +
                         " (maml)"),
            std::string::npos)
      << message;
}

// configs/eval/ holds evaluation protocols (`metarl eval --config`): each loads, and
// MAML's halfcheetah-vel evaluation steps each baseline at its own size, halving it
// after the first step as maml_rl's test_maml_cheetah.py did.
TEST(EvalOptionsKeys, EveryShippedEvalConfigLoads) {
  const auto& schema = eval_config_schema();
  int loaded = 0;
  for (const auto& entry : fs::directory_iterator(METARL_SOURCE_DIR "/configs/eval")) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    EvalOptions options;
    ASSERT_NO_THROW(schema.load_file(options, entry.path().string()));
    ++loaded;
  }
  EXPECT_GE(loaded, 3);
  EvalOptions cheetah;
  schema.load_file(cheetah, METARL_SOURCE_DIR "/configs/eval/maml-halfcheetah-vel.yaml");
  EXPECT_EQ(cheetah.step_sizes, (std::vector<double>{0.1, 0.05}));
  EXPECT_EQ(cheetah.pretrained_step_sizes, (std::vector<double>{0.02, 0.01}));
  EXPECT_EQ(cheetah.random_step_sizes, (std::vector<double>{0.1, 0.05}));
  EXPECT_EQ(cheetah.protocol.rollouts, 20);
  EXPECT_EQ(cheetah.protocol.tasks, 40);
  EXPECT_EQ(cheetah.protocol.steps, 3);
}

TEST(EvalOptionsKeys, ListsOptionalEnvAndStepSizesReadBack) {
  const auto& schema = eval_config_schema();
  EvalOptions options;
  schema.load_yaml(options, "checkpoint: [runs/a, runs/b]\nrandom: true\nstep_sizes: [0.1, 0.05]\n", "eval.yaml");
  EXPECT_EQ(options.checkpoints, (std::vector<std::string>{"runs/a", "runs/b"}));
  EXPECT_TRUE(options.random);
  EXPECT_EQ(options.step_sizes, (std::vector<double>{0.1, 0.05}));
  EXPECT_TRUE(options.env.empty());
  for (const EvalOptions& printed : {options, EvalOptions{}}) {
    EvalOptions read_back;
    schema.load_yaml(read_back, schema.to_yaml(printed), "printed");
    EXPECT_EQ(schema.to_yaml(read_back), schema.to_yaml(printed));
    EXPECT_EQ(read_back.checkpoints, printed.checkpoints);
    EXPECT_EQ(read_back.step_sizes, printed.step_sizes);
  }
  EXPECT_NE(schema.to_yaml(options).find("env: \"\"\n"), std::string::npos) << schema.to_yaml(options);
  schema.apply_override(options, "step_sizes=");
  EXPECT_TRUE(options.step_sizes.empty());

  auto message = usage_error_of([&] { schema.apply_override(options, "step_sizes=0.1,0"); });
  EXPECT_NE(message.find("'step_sizes'"), std::string::npos) << message;
  EXPECT_NE(message.find("'0.1,0'"), std::string::npos) << message;
  EXPECT_NE(message.find("entry 2 is '0'"), std::string::npos) << message;
  EXPECT_NE(usage_error_of([&] { schema.apply_override(options, "step_sizes=-0.1"); }).find("(0, 1000]"), std::string::npos);
  EXPECT_NE(usage_error_of([&] { schema.apply_override(options, "step_sizes=fast"); }).find("'fast'"), std::string::npos);
  // The baselines' own schedules read, print and refuse as step_sizes does, naming their key.
  schema.apply_override(options, "pretrained_step_sizes=0.02");
  schema.apply_override(options, "random_step_sizes=1,0.5");
  EXPECT_EQ(options.pretrained_step_sizes, std::vector<double>{0.02});
  EXPECT_EQ(options.random_step_sizes, (std::vector<double>{1.0, 0.5}));
  EvalOptions reread;
  schema.load_yaml(reread, schema.to_yaml(options), "printed");
  EXPECT_EQ(reread.pretrained_step_sizes, options.pretrained_step_sizes);
  EXPECT_EQ(reread.random_step_sizes, options.random_step_sizes);
  message = usage_error_of([&] { schema.apply_override(options, "random_step_sizes=1,0"); });
  EXPECT_NE(message.find("'random_step_sizes'"), std::string::npos) << message;
  EXPECT_NE(message.find("entry 2 is '0'"), std::string::npos) << message;
  message = usage_error_of([&] { schema.apply_override(options, "return_discount=1.5"); });
  EXPECT_NE(message.find("'return_discount'"), std::string::npos) << message;
  EXPECT_NE(message.find("'1.5'"), std::string::npos) << message;
  EXPECT_NE(usage_error_of([&] { schema.apply_override(options, "checkpoint=runs/a,,runs/b"); }).find("'checkpoint'"),
            std::string::npos);

  EvalOptions random_only;
  random_only.random = true;
  message = usage_error_of([&] { random_only.validate(); });
  EXPECT_NE(message.find("--env"), std::string::npos) << message;
  random_only.env = "point-nav";
  EXPECT_NO_THROW(random_only.validate());
  EXPECT_NE(usage_error_of([] { EvalOptions{}.validate(); }).find("nothing to evaluate"), std::string::npos);
}

}  // namespace
}  // namespace metarl::meta
