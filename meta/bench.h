#pragma once
// `metarl bench`: throughput of what training spends its time on, measured on this
// machine and device. Every figure is a median over repetitions after warm-up, with
// the minimum and maximum beside it, so one noisy repetition does not make a claim.

#include <string>
#include <vector>

#include "meta/config.h"

namespace metarl::meta {

struct TimingSummary {
  double median_s = 0;  // seconds per repetition
  double min_s = 0;
  double max_s = 0;
  int repetitions = 0;
};
TimingSummary summarize_timings(std::vector<double> seconds);

// Environment stepping: `batch` rows, uniformly random actions (drawn before timing,
// cycled through 64 batches so episodes end and rows auto-reset), on the calling
// thread only. One repetition = `steps` calls of step().
struct EnvSteppingResult {
  std::string env;
  int batch = 0;
  int steps = 0;               // per repetition
  TimingSummary timing;
  double steps_per_second = 0; // batch · steps / median_s
};
EnvSteppingResult bench_env_stepping(const std::string& env, int batch, int steps, int repetitions);

// One full meta-iteration (sampling, inner steps, outer step) of a named config,
// after `warmup` iterations.
struct MetaIterationResult {
  std::string name;
  TrainConfig config;
  TimingSummary timing;
  long long env_steps = 0;  // environment steps sampled per meta-iteration
};
MetaIterationResult bench_meta_iteration(const std::string& name, const TrainConfig& config, int warmup,
                                         int repetitions);

// The named configurations: "maml-rl-nav" (pytorch-maml-rl's 2D navigation config:
// MAML, 64×64 tanh, 20 tasks × 20 rollouts × 100 steps, TRPO with 10 CG iterations and
// 15 line-search steps, second order) and "paper-nav" (Meta-SGD, 2×100 ReLU, TRPO).
// Throws UsageError for another name, listing these.
TrainConfig bench_config(const std::string& name);
std::vector<std::string> bench_config_names();

struct BenchReport {
  std::string device;  // where the meta-iterations ran
  int threads = 1;     // torch intra-op threads
  std::vector<EnvSteppingResult> env_stepping;
  std::vector<MetaIterationResult> meta_iterations;
};
// {"device": ..., "threads": ..., "env_stepping": {"<env>": {"batch", "steps",
//  "steps_per_second", "median_s", "min_s", "max_s", "repetitions"}},
//  "<config name>": {"median_s", "min_s", "max_s", "repetitions", "env_steps",
//  "env_steps_per_second", "meta_batch", "rollouts", "horizon", "hidden_sizes", ...}}
std::string bench_report_json(const BenchReport& report);
std::string bench_report_table(const BenchReport& report);

}  // namespace metarl::meta
