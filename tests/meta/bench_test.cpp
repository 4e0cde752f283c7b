// metarl bench's bookkeeping: the timing summary, the FLOP estimate against a count
// by hand, and the report's fields on a configuration small enough to time in a test.
// No timing is asserted, only that what is reported is consistent.
#include <gtest/gtest.h>

#include "meta/bench/throughput.h"
#include "meta/outer_trpo.h"

namespace metarl::meta {
namespace {

TEST(BenchTimings, MedianOfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  const auto summary = summarize_timings({3.0, 1.0, 10.0, 2.0});
  EXPECT_DOUBLE_EQ(summary.median_s, 2.5);
  EXPECT_DOUBLE_EQ(summary.min_s, 1.0);
  EXPECT_DOUBLE_EQ(summary.max_s, 10.0);
  EXPECT_EQ(summary.repetitions, 4);
  EXPECT_DOUBLE_EQ(summarize_timings({4.0, 1.0, 2.0}).median_s, 2.0);
}

TrainConfig tiny_config() {
  TrainConfig config;
  config.env = "point-nav";
  config.meta_batch = 2;
  config.rollouts = 3;
  config.horizon = 10;
  config.policy.hidden_sizes = {4};
  config.inner_steps = 1;
  trpo_options(config).cg_iterations = 2;
  return config;
}

TEST(BenchFlops, CountsForwardPassesPerPhase) {
  // point-nav: observation 2, action 2; one hidden layer of 4: 2·4 + 4·2 = 16
  // multiply-adds per sample, 2 · 16 · (2 · 3 · 10) = 1920 FLOPs per forward pass.
  auto config = tiny_config();
  config.optimizer = "adam";
  // Sampling 2, inner step 3, outer loss 1, its backward 2, through the adaptation 6.
  EXPECT_DOUBLE_EQ(estimate_meta_iteration_flops(config, 2, 2, 10, 0.0), 14 * 1920.0);
  config.optimizer = "trpo";
  // Sampling 2, inner 3, differentiable evaluation 3+2+2+6, curvature set-up 3+4,
  // 3 products of 6·3, 2 line-search evaluations of 6.
  EXPECT_DOUBLE_EQ(estimate_meta_iteration_flops(config, 2, 2, 10, 1.0), (5 + 13 + 7 + 54 + 12) * 1920.0);
}

TEST(BenchReport, MetaIterationReportsItsWorkAndTheSampler) {
  auto config = tiny_config();
  config.optimizer = "trpo";
  config.algo = Algorithm::kMetaSgd;
  const auto result = bench_meta_iteration("tiny", config, 0, 2);
  EXPECT_EQ(result.env_steps, 2 * 3 * 10 * 2);
  EXPECT_EQ(result.timing.repetitions, 2);
  EXPECT_GT(result.timing.median_s, 0.0);
  EXPECT_LE(result.timing.min_s, result.timing.median_s);
  EXPECT_LE(result.timing.median_s, result.timing.max_s);
  EXPECT_DOUBLE_EQ(result.flops, estimate_meta_iteration_flops(config, 2, 2, 10, result.mean_backtracks));
  EXPECT_NEAR(result.gflops_per_second, result.flops / result.timing.median_s / 1e9, 1e-12);
  EXPECT_GT(result.sampler_steps_per_second, 0.0);

  BenchReport report;
  report.device = "cpu";
  report.meta_iterations.push_back(result);
  report.env_stepping.push_back(bench_env_stepping("point-nav", 16, 5, 2));
  EXPECT_EQ(report.env_stepping.front().timing.repetitions, 2);
  EXPECT_EQ(report.env_stepping.front().threads, 1);  // no split measurement asked for
  // The split measurement: box2d-nav's rows are slow enough that most steps split
  // (how many is a timing matter, so only its range is checked).
  const auto split = bench_env_stepping("box2d-nav", 64, 5, 2, 2);
  EXPECT_EQ(split.threads, 2);
  EXPECT_EQ(split.split_timing.repetitions, 2);
  EXPECT_GT(split.split_steps_per_second, 0.0);
  EXPECT_GE(split.split_fraction, 0.0);
  EXPECT_LE(split.split_fraction, 1.0);
  report.env_stepping.push_back(split);
  const auto json = bench_report_json(report);
  for (const char* field : {"\"tiny\": {", "\"median_s\"", "\"min_s\"", "\"max_s\"", "\"env_steps\": 120",
                            "\"gflop\"", "\"gflop_per_second\"", "\"sampler\": {", "\"point-nav\": {",
                            "\"box2d-nav\": {", "\"split\": {\"threads\": 2", "\"split_fraction\""}) {
    EXPECT_NE(json.find(field), std::string::npos) << field << " in " << json;
  }
}

TEST(BenchReport, NamesTheMachineItRanOn) {
  // The CPU's model and core count always; a GPU's model only where the NVIDIA driver
  // lists one (none here: "" then, and the report says nothing of a GPU).
  const std::string cpu = cpu_description();
  EXPECT_NE(cpu.find(" cores"), std::string::npos) << cpu;
  BenchReport report;
  report.device = "cpu";
  report.cpu = cpu;
  report.gpu = gpu_description();
  const auto json = bench_report_json(report);
  EXPECT_NE(json.find("\"cpu\": \"" + cpu + "\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"gpu\": \"" + report.gpu + "\""), std::string::npos) << json;
}

}  // namespace
}  // namespace metarl::meta
