#pragma once
// What one meta-iteration reports, and its two renderings: a metrics.csv row and the
// progress line. Torch-free.

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace metarl::meta {

struct IterationMetrics {
  int iteration = 0;          // 1-based
  double return_before = 0;   // mean undiscounted episode return before adaptation
  double return_after = 0;    // ... after the last adaptation step
  // After each adaptation step 1..k (the last is return_after); empty when the
  // algorithm does not adapt in training (pretrained).
  std::vector<double> step_returns;
  double meta_loss = 0;       // the outer step's objective before its step (OuterStepResult)
  // TRPO: how much the accepted step raised the surrogate objective (loss before −
  // loss after, ≥ 0; 0 when rejected). TRPO's meta_loss is the surrogate at the old
  // parameters, ~0 by construction; this is what the step achieved. NaN (an empty
  // cell) for the other outer steps.
  double surrogate_improvement = std::numeric_limits<double>::quiet_NaN();
  double alpha_mean = 0;      // Meta-SGD: over every entry of α; MAML: the fixed α
  double alpha_min = 0;
  double alpha_max = 0;
  double kl = 0;              // TRPO: mean KL of the accepted step; ProMP: old → new adapted policies; Adam: 0
  int backtracks = 0;         // TRPO: line-search shrinks; -1 when no step was accepted
  // Valid environment steps this iteration sampled (every stage, every process).
  std::int64_t iteration_env_steps = 0;
  // The run's totals after this iteration, across resumes (the run directory keeps
  // them: meta/run/run_directory.h): environment steps (-1: unknown, a run an older metarl
  // started, whose metrics.csv has no env_steps column), and wall-clock seconds of its
  // iterations.
  std::int64_t env_steps = 0;
  double wall_clock = 0;
  double seconds = 0;         // wall-clock time of the iteration (the last column)

  // The columns of a run with `inner_steps` adaptation steps: return_step_1..k only
  // when k > 1 (with one step it is return_after).
  static std::vector<std::string> csv_columns(int inner_steps);
  static std::string csv_header(int inner_steps);
  // The row in the order of `columns` (a file's own header: a run resumed from an
  // older metarl keeps its columns); a column this row has no value for is empty.
  std::string csv_row(const std::vector<std::string>& columns) const;
  // Every column with its value, for TensorBoard's scalars (NaN ones left out).
  std::vector<std::pair<std::string, double>> scalars() const;
};

// "iter 12/300 | return before -45.21 after -20.33 | alpha 0.1012 [0.0931, 0.1101] | 0.31 s/it | ETA 1m31s"
std::string format_progress(const IterationMetrics& metrics, int total_iterations, double mean_seconds);

}  // namespace metarl::meta
