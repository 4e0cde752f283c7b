#pragma once
// Throughput of what training spends its time on, measured on this machine and
// device: the library behind `metarl bench` (apps/bench.cpp). Not to be confused
// with bench/, the experiment tools behind docs/' claims that are not speed. Every figure is a median over repetitions after warm-up, with
// the minimum and maximum beside it, so one noisy repetition does not make a claim.

#include <string>
#include <vector>

#include "meta/config.h"
#include "meta/parallel/blas_kernels.h"
#include "meta/phase_clock.h"

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
// thread only, then (threads > 1) with steps split over `threads` threads by
// BatchedEnv's own rule. One repetition = `steps` calls of step().
struct EnvSteppingResult {
  std::string env;
  int batch = 0;
  int steps = 0;               // per repetition
  TimingSummary timing;        // one thread
  double steps_per_second = 0; // batch · steps / timing.median_s
  int threads = 1;             // of the split measurement; 1 = not measured
  TimingSummary split_timing;
  double split_steps_per_second = 0;
  double split_fraction = 0;   // of the timed steps, those BatchedEnv did split
};
EnvSteppingResult bench_env_stepping(const std::string& env, int batch, int steps, int repetitions, int threads = 1);

// One full meta-iteration (sampling, inner steps, outer step) of a named config,
// after `warmup` iterations.
struct MetaIterationResult {
  std::string name;
  TrainConfig config;
  TimingSummary timing;
  long long env_steps = 0;           // environment steps sampled per meta-iteration
  double mean_backtracks = 0;        // TRPO line-search shrinks, mean over the timed iterations
  double flops = 0;                  // estimate_meta_iteration_flops at mean_backtracks
  double gflops_per_second = 0;      // flops / median_s / 1e9
  TimingSummary sampling;            // the sampler alone: one batch, policy in the loop
  double sampler_steps_per_second = 0;  // T · R · H / sampling.median_s
  // Where the timed iterations' wall-clock went (meta/phase_clock.h): seconds per
  // iteration in each phase, the mean over the timed iterations (they add up to it).
  PhaseSeconds phase_seconds{};
};

// Floating-point work of one meta-iteration, estimated from the layer shapes: the
// policy's matrix products (2 · in · out per sample and layer) counted in units of
// one forward pass over a batch of T · R · H samples (padding included: the tensors
// are padded), times how many such passes each phase makes. Passes per phase: a
// forward 1, a backward 2 (input and weight gradients), a Hessian-vector product by
// double backward 6 (forward and backward of the gradient graph's R-pass). TRPO with
// k inner steps, c CG iterations and b line-search shrinks: sampling k+1; inner
// steps k·3; the differentiable evaluation k·3 + 2 + 2 + k·6 (adapt, outer
// log-prob and KL, backward through the adaptation); the curvature set-up k·3 + 4;
// c+1 products of 6·(2k + 1) (J v, F, Jᵀ u); b+1 line-search evaluations of
// k·3 + 3. Adam: sampling k+1, inner k·3, outer 1 + 2 + k·6. Element-wise work
// (activations, the Gaussian log-density) is left out, so this is a lower bound.
double estimate_meta_iteration_flops(const TrainConfig& config, int observation_dim, int action_dim, int horizon,
                                     double backtracks);
MetaIterationResult bench_meta_iteration(const std::string& name, const TrainConfig& config, int warmup,
                                         int repetitions);

// The named configurations: "maml-rl-nav" (pytorch-maml-rl's 2D navigation config:
// MAML, 64×64 tanh, 20 tasks × 20 rollouts × 100 steps, TRPO with 10 CG iterations and
// 15 line-search steps, second order) and "paper-nav" (Meta-SGD, 2×100 ReLU, TRPO).
// Throws UsageError for another name, listing these.
TrainConfig bench_config(const std::string& name);
std::vector<std::string> bench_config_names();

// "Intel(R) Xeon(R) Processor, 2 cores" from /proc/cpuinfo ("unknown CPU" elsewhere).
std::string cpu_description();
// The NVIDIA GPUs' models the driver lists (/proc/driver/nvidia/gpus/*/information),
// e.g. "NVIDIA H200", several joined by ", "; "" without the driver. Not the CUDA index
// order: on a machine with different GPUs, name one with CUDA_VISIBLE_DEVICES.
std::string gpu_description();

struct BenchReport {
  std::string device;  // where the meta-iterations ran
  std::string cpu;     // cpu_description()
  std::string gpu;     // gpu_description() when the device is a GPU, else ""
  BlasKernels blas;    // the BLAS kernels the CPU work ran on (meta/parallel/blas_kernels.h)
  int threads = 1;     // torch intra-op threads
  std::vector<EnvSteppingResult> env_stepping;
  std::vector<MetaIterationResult> meta_iterations;
};
// {"device": ..., "cpu": ..., "gpu": ..., "threads": ..., "blas": {"library", "kernels",
//  "cpu_supports", "coretype", "fallback"}, "env_stepping": {"<env>": {"batch", "steps",
//  "steps_per_second", "median_s", "min_s", "max_s", "repetitions"}},
//  "<config name>": {"median_s", "min_s", "max_s", "repetitions", "env_steps",
//  "env_steps_per_second", "meta_batch", "rollouts", "horizon", "hidden_sizes", ...}}
std::string bench_report_json(const BenchReport& report);
std::string bench_report_table(const BenchReport& report);

}  // namespace metarl::meta
