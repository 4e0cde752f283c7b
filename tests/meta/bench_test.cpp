// metarl bench's bookkeeping: the timing summary, the FLOP estimate against a count
// by hand, and the report's fields on a configuration small enough to time in a test.
// No timing is asserted, only that what is reported is consistent.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "envs/errors.h"
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
  config.kernels = agents::Kernels::kAutograd;
  // Sampling 2, inner 3, differentiable evaluation 3+2+2+6, curvature set-up 3+4,
  // 3 products of 6·3, 2 line-search evaluations of 6.
  EXPECT_DOUBLE_EQ(estimate_meta_iteration_flops(config, 2, 2, 10, 1.0), (5 + 13 + 7 + 54 + 12) * 1920.0);
  config.kernels = agents::Kernels::kAnalytic;
  // Analytic kernels: value evaluation 3+3 and gradient 6+2, set-up 3+1, 3 products of
  // 6·2 + 4 (two inner HVPs, the Gauss–Newton F), 2 line-search evaluations of 6.
  EXPECT_DOUBLE_EQ(estimate_meta_iteration_flops(config, 2, 2, 10, 1.0), (5 + 14 + 4 + 48 + 12) * 1920.0);
  // Two inner steps with Adam: sampling 3, inner 6, outer loss 1, its backward 2, through
  // the adaptation 12; truncated to the last step (backprop_steps 1), through it 6.
  config.optimizer = "adam";
  config.inner_steps = 2;
  EXPECT_DOUBLE_EQ(estimate_meta_iteration_flops(config, 2, 2, 10, 0.0), 24 * 1920.0);
  config.backprop_steps = 1;
  EXPECT_DOUBLE_EQ(estimate_meta_iteration_flops(config, 2, 2, 10, 0.0), 18 * 1920.0);
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
  // Every phase of a TRPO meta-iteration took time, and the phases add up to the
  // iterations' mean (they partition the recording thread's wall-clock).
  for (Phase phase : {Phase::kSampling, Phase::kInnerStep, Phase::kMetaGradient, Phase::kCurvatureSetup,
                      Phase::kCurvatureProducts, Phase::kLineSearch, Phase::kOuterStepRest}) {
    EXPECT_GT(result.phase_seconds[static_cast<size_t>(phase)], 0.0) << phase_name(phase);
  }
  double phases_total = 0;
  for (double seconds : result.phase_seconds) phases_total += seconds;
  const double timed_mean = result.timing.median_s;  // of two: their mean
  EXPECT_NEAR(phases_total, timed_mean, 0.01 * timed_mean + 1e-3);

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
                            "\"box2d-nav\": {", "\"split\": {\"threads\": 2", "\"split_fraction\"",
                            "\"phases\": {\"other\": ", "\"curvature products\": "}) {
    EXPECT_NE(json.find(field), std::string::npos) << field << " in " << json;
  }
}

// The phase clock: nested scopes charge their own time, not their parent's; a thread
// other than the one that started it records nothing; off, nothing is recorded.
TEST(PhaseClock, NestedScopesChargeTheirOwnTimeOnTheRecordingThreadOnly) {
  auto busy = [](double seconds) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
    }
  };
  { PhaseScope off(Phase::kSampling); busy(0.002); }
  const auto started = std::chrono::steady_clock::now();
  start_phase_clock();
  {
    PhaseScope outer(Phase::kOuterStepRest);
    busy(0.02);
    {
      PhaseScope inner(Phase::kCurvatureProducts);
      busy(0.03);
    }
    std::thread([&] {
      PhaseScope elsewhere(Phase::kSampling);
      busy(0.01);
    }).join();  // waited for inside the outer step: its time
  }
  const PhaseSeconds seconds = stop_phase_clock();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(seconds[static_cast<size_t>(Phase::kSampling)], 0.0);
  EXPECT_GE(seconds[static_cast<size_t>(Phase::kCurvatureProducts)], 0.03);
  EXPECT_GE(seconds[static_cast<size_t>(Phase::kOuterStepRest)], 0.03);  // 0.02 busy + the thread's 0.01
  // No second counted twice: the phases add up to the wall-clock (nested time charged
  // to the parent too would add at least the inner 0.03 s).
  double total = 0;
  for (double s : seconds) total += s;
  EXPECT_LE(total, elapsed);
  EXPECT_GT(total, elapsed - 0.01);
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

// Issue N: which BLAS kernels run, and whether they are a fallback below what the CPU
// supports (OpenBLAS 0.3.21 runs Prescott's on CPU models it does not know).
TEST(BlasKernels, RanksOpenBlasCoresByTheirInstructionSet) {
  CpuVectorFeatures features;
  EXPECT_EQ(fastest_supported_core(features), "Prescott");
  features.avx = true;
  EXPECT_EQ(fastest_supported_core(features), "Sandybridge");
  features.avx2 = features.fma = true;
  EXPECT_EQ(fastest_supported_core(features), "Haswell");
  features.avx512 = true;
  EXPECT_EQ(fastest_supported_core(features), "SkylakeX");
  features.avx512_bf16 = true;
  EXPECT_EQ(fastest_supported_core(features), "Cooperlake");
  EXPECT_TRUE(is_fallback_core("Prescott", "SkylakeX"));
  EXPECT_TRUE(is_fallback_core("PRESCOTT", "Haswell"));  // OpenBLAS's names, any case
  EXPECT_TRUE(is_fallback_core("Haswell", "Cooperlake"));
  EXPECT_FALSE(is_fallback_core("Zen", "Haswell"));       // the same AVX2 kernels
  EXPECT_FALSE(is_fallback_core("SkylakeX", "Haswell"));
  EXPECT_FALSE(is_fallback_core("Armv8", "Haswell"));     // not ranked: no claim
  EXPECT_FALSE(is_fallback_core("", "Haswell"));

  BlasKernels kernels;
  kernels.library = "OpenBLAS 0.3.21 DYNAMIC_ARCH";
  kernels.core = "Prescott";
  kernels.supported = "SkylakeX";
  EXPECT_TRUE(kernels.fallback());
  EXPECT_NE(kernels.describe().find("OPENBLAS_CORETYPE=SkylakeX selects them"), std::string::npos) << kernels.describe();
  kernels.coretype = "Prescott";  // chosen on purpose: not a fallback
  EXPECT_FALSE(kernels.fallback());
  EXPECT_NE(kernels.describe().find("(OPENBLAS_CORETYPE=Prescott)"), std::string::npos) << kernels.describe();
}

// This build's BLAS as the process sees it: Debian's LibTorch runs on OpenBLAS, whose
// kernels have a name; the report carries them.
TEST(BlasKernels, BenchReportsTheKernelsThisProcessRuns) {
  BenchReport report;
  report.blas = blas_kernels();
  const std::string json = bench_report_json(report);
  EXPECT_NE(json.find("\"kernels\": \"" + report.blas.core + "\""), std::string::npos) << json;
  EXPECT_NE(json.find(std::string("\"fallback\": ") + (report.blas.fallback() ? "true" : "false")), std::string::npos);
  if (report.blas.library.empty()) GTEST_SKIP() << "not OpenBLAS (pip's LibTorch): no kernel name to check";
  EXPECT_FALSE(report.blas.core.empty());
  EXPECT_NE(report.blas.library.find("OpenBLAS"), std::string::npos) << report.blas.library;
}

// The `blas_kernels` key: auto lifts a fallback to the CPU's kernels and keeps any
// OPENBLAS_CORETYPE already set; a named core is had by restarting, unless it cannot be
// (not this CPU's, the user's variable says otherwise, not OpenBLAS); a process that
// cannot restart refuses a named core it does not run.
TEST(BlasKernels, TheKeyAsksForKernelsAndNeverOverridesTheUsersChoice) {
  BlasKernels fallback;
  fallback.library = "OpenBLAS 0.3.21 DYNAMIC_ARCH";
  fallback.core = "Prescott";
  fallback.supported = "Cooperlake";
  EXPECT_EQ(blas_coretype_to_start_with("auto", fallback), "Cooperlake");
  EXPECT_EQ(blas_coretype_to_start_with("openblas", fallback), "");
  EXPECT_EQ(blas_coretype_to_start_with("haswell", fallback), "Haswell");
  EXPECT_EQ(blas_coretype_to_start_with("skylakex", fallback), "SkylakeX");
  EXPECT_EQ(blas_coretype_to_start_with("prescott", fallback), "");  // runs them already
  EXPECT_NO_THROW(check_blas_kernels("auto", fallback));  // a speed-up, never a refusal
  EXPECT_NO_THROW(check_blas_kernels("prescott", fallback));
  try {
    check_blas_kernels("haswell", fallback);
    ADD_FAILURE() << "a named core this process does not run was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("OPENBLAS_CORETYPE=Haswell"), std::string::npos) << e.what();
  }

  BlasKernels users = fallback;  // the user (or the machine) set the variable
  users.coretype = "Prescott";
  EXPECT_EQ(blas_coretype_to_start_with("auto", users), "");
  EXPECT_EQ(blas_coretype_to_start_with("prescott", users), "");
  EXPECT_THROW(blas_coretype_to_start_with("haswell", users), UsageError);
  BlasKernels metarls = users;  // the same value, set by metarl's own restart
  metarls.coretype_set_by_metarl = true;
  EXPECT_EQ(blas_coretype_to_start_with("haswell", metarls), "Haswell");
  EXPECT_NE(metarls.describe().find("set by metarl"), std::string::npos) << metarls.describe();

  BlasKernels avx2 = fallback;  // a CPU whose fastest kernels are Haswell's
  avx2.core = "Haswell";
  avx2.supported = "Haswell";
  EXPECT_EQ(blas_coretype_to_start_with("auto", avx2), "");
  EXPECT_EQ(blas_coretype_to_start_with("haswell", avx2), "");
  try {
    blas_coretype_to_start_with("skylakex", avx2);
    ADD_FAILURE() << "kernels the CPU cannot run were accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("config key 'blas_kernels': value 'skylakex'"), std::string::npos)
        << e.what();
  }
  BlasKernels zen = avx2;  // OpenBLAS's own AVX2 kernels for AMD: haswell asks for Intel's
  zen.core = "Zen";
  EXPECT_EQ(blas_coretype_to_start_with("haswell", zen), "Haswell");

  BlasKernels mkl;  // pip's LibTorch: not OpenBLAS, no kernel names
  mkl.supported = "Cooperlake";
  EXPECT_EQ(blas_coretype_to_start_with("auto", mkl), "");
  EXPECT_EQ(blas_coretype_to_start_with("openblas", mkl), "");
  EXPECT_THROW(blas_coretype_to_start_with("haswell", mkl), UsageError);
  EXPECT_THROW(blas_coretype_to_start_with("fastest", fallback), UsageError);
}

}  // namespace
}  // namespace metarl::meta
