#pragma once
// What one meta-iteration reports, and its two renderings: a metrics.csv row and the
// progress line. Torch-free.

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace metarl::meta {

// One of an outer step's own diagnostics (OuterStepResult::diagnostics), by its
// metrics.csv column: TRPO's line-search shrinks, ProMP's KL, ….
struct StepMetric {
  std::string name;
  double value = 0;
};

// A metrics.csv column an outer step declares (OuterStepTraits::metric_columns).
struct StepMetricColumn {
  std::string name;
  double absent = 0;     // the value of the steps that do not report it (NaN: an empty cell)
  bool integer = false;  // written as an integer
};

// The value of `name` in `metrics`, or `absent`.
double step_metric_value(const std::vector<StepMetric>& metrics, const std::string& name,
                         double absent = std::numeric_limits<double>::quiet_NaN());

// One iteration's cell in an outer step's column: the column (how it is written) and
// this iteration's value (the column's absent value when the step did not report it).
struct StepMetricCell {
  StepMetricColumn column;
  double value = 0;
};

struct IterationMetrics {
  int iteration = 0;          // 1-based
  double return_before = 0;   // mean undiscounted episode return before adaptation
  double return_after = 0;    // ... after the last adaptation step
  // After each adaptation step 1..k (the last is return_after); empty when the
  // algorithm does not adapt in training (pretrained).
  std::vector<double> step_returns;
  double meta_loss = 0;       // the outer step's objective before its step (OuterStepResult)
  double alpha_mean = 0;      // Meta-SGD: over every entry of α; MAML: the fixed α
  double alpha_min = 0;
  double alpha_max = 0;
  // The outer steps' own columns, every registered step's (OuterStepTraits::
  // metric_columns, in the registry's order): this iteration's step's value, or the
  // column's absent value. TRPO's kl (mean KL of the accepted step), backtracks
  // (line-search shrinks, −1 when no step was accepted) and surrogate_improvement (loss
  // before − loss after: TRPO's meta_loss is the surrogate at the old parameters, ~0 by
  // construction, so this is what the step achieved); ProMP's kl (old → new adapted
  // policies).
  std::vector<StepMetricCell> step_metrics;
  // Valid environment steps this iteration sampled (every stage, every process).
  std::int64_t iteration_env_steps = 0;
  // The run's totals after this iteration, across resumes (the run directory keeps
  // them: meta/run/run_directory.h): environment steps (-1: unknown, a run an older metarl
  // started, whose metrics.csv has no env_steps column), and wall-clock seconds of its
  // iterations.
  std::int64_t env_steps = 0;
  double wall_clock = 0;
  double seconds = 0;         // wall-clock time of the iteration (the last column)

  // The columns of a run with `inner_steps` adaptation steps and the outer steps'
  // `step_columns` (their names): return_step_1..k only when k > 1 (with one step it is
  // return_after).
  static std::vector<std::string> csv_columns(int inner_steps, const std::vector<std::string>& step_columns);
  static std::string csv_header(int inner_steps, const std::vector<std::string>& step_columns);
  // The value of step column `name` (NaN when this row has none).
  double step_metric(const std::string& name) const;
  // The row in the order of `columns` (a file's own header: a run resumed from an
  // older metarl keeps its columns); a column this row has no value for is empty.
  std::string csv_row(const std::vector<std::string>& columns) const;
  // Every column with its value, for TensorBoard's scalars (NaN ones left out).
  std::vector<std::pair<std::string, double>> scalars() const;
};

// "iter 12/300 | return before -45.21 after -20.33 | alpha 0.1012 [0.0931, 0.1101] | 0.31 s/it | ETA 1m31s"
std::string format_progress(const IterationMetrics& metrics, int total_iterations, double mean_seconds);

}  // namespace metarl::meta
