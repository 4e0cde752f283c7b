#pragma once
// Adaptation curves: the return of a meta-policy on fresh tasks after 0, 1, …, k
// adaptation steps, mean and 95% confidence interval over tasks. The protocol of
// MAML and Meta-SGD: each step's rollouts both measure the current policy and
// provide the data for the next adaptation step.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "meta/config_schema.h"

namespace metarl::meta {

struct EvalOptions {
  std::string checkpoint;   // run directory or checkpoint file
  std::string split = "test";  // train | test | heldout
  int tasks = 40;
  int rollouts = 40;        // per task and adaptation step
  int steps = 3;            // adaptation steps k: returns are reported for 0..k
  std::uint64_t seed = 1000;  // evaluation seed (tasks and rollouts)
  std::string device = "cpu";
  int threads = 1;  // torch intra-op threads; 0 → one per core (see TrainConfig::threads)

  // Throws UsageError naming the option and value.
  void validate() const;
};

// The keys of EvalOptions: YAML (`metarl eval --config`), --set and the flags.
const ConfigSchema<EvalOptions>& eval_config_schema();

struct MethodCurve {
  std::string name;                  // e.g. "meta-sgd"
  std::vector<double> mean;          // [k+1] mean over tasks of the per-task mean return
  std::vector<double> ci95;          // [k+1] half-width: 1.96 · sample std / √tasks
  std::vector<std::vector<double>> task_returns;  // [k+1][tasks]
};

struct EvalReport {
  std::string env;
  std::string split;
  int tasks = 0;
  int rollouts = 0;
  std::vector<int> steps;            // 0..k
  std::vector<MethodCurve> methods;
};

// Evaluates the checkpoint; `on_step(step, steps, mean_return)` after each step's
// rollouts. Throws UsageError for a missing or incompatible checkpoint.
EvalReport evaluate(const EvalOptions& options,
                    const std::function<void(int step, int steps, double mean_return)>& on_step = {});

// Mean and 95% CI half-width (normal approximation) of `values`; CI 0 for one value.
void mean_and_ci95(const std::vector<double>& values, double& mean, double& ci95);

// {"env": ..., "split": ..., "tasks": ..., "rollouts": ..., "steps": [0, ...],
//  "methods": {"<name>": {"mean": [...], "ci95": [...]}}}
std::string report_json(const EvalReport& report);
// A human-readable table, one row per method, one column per step.
std::string report_table(const EvalReport& report);

}  // namespace metarl::meta
