#pragma once
// What one meta-iteration reports, and its two renderings: a metrics.csv row and the
// progress line. Torch-free.

#include <string>

namespace metarl::meta {

struct IterationMetrics {
  int iteration = 0;          // 1-based
  double return_before = 0;   // mean undiscounted episode return before adaptation
  double return_after = 0;    // ... after the last adaptation step
  double meta_loss = 0;       // the outer step's objective before its step (OuterStepResult)
  double alpha_mean = 0;      // Meta-SGD: over every entry of α; MAML: the fixed α
  double alpha_min = 0;
  double alpha_max = 0;
  double kl = 0;              // TRPO: mean KL of the accepted step; ProMP: old → new adapted policies; Adam: 0
  int backtracks = 0;         // TRPO: line-search shrinks; -1 when no step was accepted
  double seconds = 0;         // wall-clock time of the iteration (the last column)

  static std::string csv_header();
  std::string csv_row() const;
};

// "iter 12/300 | return before -45.21 after -20.33 | alpha 0.1012 [0.0931, 0.1101] | 0.31 s/it | ETA 1m31s"
std::string format_progress(const IterationMetrics& metrics, int total_iterations, double mean_seconds);

}  // namespace metarl::meta
