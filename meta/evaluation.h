#pragma once
// Adaptation curves: the return of a meta-policy on fresh tasks after 0, 1, …, k
// adaptation steps, mean and 95% confidence interval over tasks. The protocol of
// MAML and Meta-SGD: each step's rollouts both measure the current policy and
// provide the data for the next adaptation step.
//
// Several methods (runs, and the random-initialisation baseline) are compared on
// common random numbers: each gets a freshly built environment, task sample and
// sampler, all seeded from EvalOptions::seed alone, so a method's numbers are the
// same whether it is evaluated alone or beside others, and the differences between
// methods are not sampling noise of different task sets.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "meta/config_schema.h"

namespace metarl::meta {

struct EvalOptions {
  // Runs to compare, in report order: run directories or checkpoint files from
  // `metarl train`. They must share one environment and one rollout horizon.
  std::vector<std::string> checkpoints;
  // Adds the random-initialisation baseline (after the runs): the policy the first
  // run's config builds (architecture, horizon, advantages), or with no run a
  // default TrainConfig (2×100 ReLU) on `env`, with θ = its initial parameters.
  bool random = false;
  // θ of the random baseline is the initialisation a training run with this seed
  // starts from (derive_seed(random_seed, kPolicyInitStream)).
  std::uint64_t random_seed = 1;
  // "" → the runs' environment. Given, every run must have been trained on it; the
  // random baseline without a run needs it.
  std::string env;
  // Inner step sizes of the fixed-α methods (maml, pretrained, random): adaptation
  // step j = 1, 2, … uses entry j−1 and the last entry repeats, e.g. {0.1, 0.05}
  // (MAML's evaluation). Empty → each run's trained inner_lr (random: the first
  // run's inner_lr, or 0.1 without a run). Meta-SGD always adapts with its learned
  // α, which this schedule never touches.
  std::vector<double> step_sizes;
  std::string split = "test";  // train | test | heldout
  int tasks = 40;
  int rollouts = 40;        // per task and adaptation step
  int steps = 3;            // adaptation steps k: returns are reported for 0..k
  std::uint64_t seed = 1000;  // evaluation seed (tasks and rollouts), the same for every method
  // γ of the reported return Σ_t γ^t r_t. 1 is the undiscounted episode return that
  // MAML's result files and docs/results.md report; rllab, which the papers ran on,
  // also logs the return discounted with the training γ (AverageDiscountedReturn).
  // Adaptation itself always uses the run's own γ and advantages.
  double return_discount = 1.0;
  // Tasks rolled out and adapted together; 0 → task_batch_size's automatic choice.
  // Only one batch's rollouts and graph are alive at a time, so this bounds memory.
  int task_batch = 0;
  std::string device = "cpu";
  int threads = 1;  // torch intra-op threads; 0 → one per core (see TrainConfig::threads)

  // Throws UsageError naming the option and value, or saying what is missing.
  void validate() const;
};

// The keys of EvalOptions: YAML (`metarl eval --config`), --set and the flags.
const ConfigSchema<EvalOptions>& eval_config_schema();

struct MethodCurve {
  // The algorithm ("meta-sgd", "maml", "pretrained", "random"), followed by the run
  // as given, e.g. "meta-sgd (runs/seed2)", when two methods share an algorithm.
  std::string name;
  std::vector<double> mean;          // [k+1] mean over tasks of the per-task mean return
  std::vector<double> ci95;          // [k+1] half-width: 1.96 · sample std / √tasks
  std::vector<std::vector<double>> task_returns;  // [k+1][tasks]
  // Gain of step j over step 0, paired per task: mean and 95% half-width of
  // task_returns[j][t] − task_returns[0][t] over tasks t ([k+1]; entry 0 is 0). Every
  // step of a task shares its goal and the evaluation's random numbers, so the
  // between-task spread cancels: a gain can be clear while the two steps' own
  // intervals overlap (pendulum's held-out tasks, docs/results.md).
  std::vector<double> gain_mean;
  std::vector<double> gain_ci95;
};

// Two methods compared task by task: every difference is method a's per-task mean
// return minus method b's on the same task, with the same random numbers, so the
// spread between tasks (which both methods share) cancels. This is the test that
// decides "ahead": far tighter than comparing the two methods' own intervals when
// tasks differ a lot (docs/results.md, cartpole and pendulum).
struct MethodComparison {
  std::string a;                     // method names; differences are a − b
  std::string b;
  std::vector<double> mean;          // [k+1] step j: a after j steps − b after j steps, mean over tasks
  std::vector<double> ci95;          // [k+1] 95% half-width of those differences
  // b's best step: the one with the highest mean return (the first on ties). A
  // baseline that needs more steps is compared at its best, e.g. "Meta-SGD after one
  // step beats pretrained after any number of steps".
  int b_best_step = 0;
  std::vector<double> vs_best_mean;  // [k+1] step j: a after j steps − b after b_best_step steps
  std::vector<double> vs_best_ci95;
};

struct EvalReport {
  std::string env;
  std::string split;
  int tasks = 0;
  int rollouts = 0;
  double return_discount = 1.0;      // γ of the reported returns (1: undiscounted)
  std::vector<int> steps;            // 0..k
  std::vector<MethodCurve> methods;
  // Every pair of methods, a before b in report order: (0,1), (0,2), …, (1,2), …
  std::vector<MethodComparison> comparisons;
};

// Mean and 95% CI half-width of the per-task differences a[t] − b[t]. Throws
// std::invalid_argument when a and b hold different numbers of tasks.
struct PairedDifference {
  double mean = 0.0;
  double ci95 = 0.0;
};
PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b);

// Every pair of `methods` (a before b in the given order), compared step by step and
// against b's best step. The curves must share their tasks (one evaluation).
std::vector<MethodComparison> compare_methods(const std::vector<MethodCurve>& methods);

// `on_step(method, step, steps, mean_return)` after each step's rollouts.
using EvalProgress = std::function<void(const std::string& method, int step, int steps, double mean_return)>;

// Evaluates every run of options.checkpoints, then the random baseline when asked
// for; report.methods keeps that order. Every run is loaded and checked before any
// rollout: throws UsageError for a missing or incompatible checkpoint, runs of
// different environments or horizons, or a run given twice.
EvalReport evaluate(const EvalOptions& options, const EvalProgress& on_step = {});

// Automatic task batches hold at most this many samples (tasks × rollouts × horizon):
// 300 pendulum tasks × 40 rollouts × 200 steps with a 2×100 policy peaked at 4.2 GB
// resident (2026-11-24), about 1.75 kB per sample; 2500 such tasks in one batch were
// killed for memory on a 23 GB machine.
inline constexpr std::int64_t kSamplesPerTaskBatch = 2'500'000;

// Tasks per batch: options.task_batch when given, else as many as fit
// kSamplesPerTaskBatch at options.rollouts and `horizon` (at least 1); never more
// than options.tasks. The same for every method of a comparison (they share the
// horizon), so methods still see common random numbers.
int task_batch_size(const EvalOptions& options, int horizon);

// The seed batch b draws its environment rows and actions from: `seed` itself for
// b = 0, so an evaluation whose tasks fit one batch is seeded as before batches
// existed, and derive_seed(derive_seed(seed, kTaskBatchStream), b) for b ≥ 1. The
// numbers therefore depend on the batch size once there is more than one batch, as
// they depend on the seed.
inline constexpr std::uint64_t kTaskBatchStream = 4;
std::uint64_t task_batch_seed(std::uint64_t seed, int batch);

// The inner step size of adaptation step `step` (1-based) under `schedule`, or
// `trained` when the schedule is empty.
double scheduled_step_size(const std::vector<double>& schedule, int step, double trained);

// Mean and 95% CI half-width (normal approximation) of `values`; CI 0 for one value.
void mean_and_ci95(const std::vector<double>& values, double& mean, double& ci95);

// {"env": ..., "split": ..., "tasks": ..., "rollouts": ..., "steps": [0, ...],
//  "methods": {"<name>": {"mean": [...], "ci95": [...], "gain_mean": [...], "gain_ci95": [...]}},
//  "comparisons": [{"a": ..., "b": ..., "mean": [...], "ci95": [...], "b_best_step": s,
//                   "vs_best_mean": [...], "vs_best_ci95": [...]}]}
std::string report_json(const EvalReport& report);
// What a report's numbers are, for headers and axis labels: "return" at γ = 1,
// else "discounted return (gamma 0.99)".
std::string return_measure(double return_discount);
// A human-readable table, one row per method, one column per step; then each
// method's gain over step 0 and, with several methods, their paired differences.
std::string report_table(const EvalReport& report);

}  // namespace metarl::meta
