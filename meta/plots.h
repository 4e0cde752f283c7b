#pragma once
// `metarl plot`: images of a run directory, as SVG files in RUN_DIR/plots/ (or
// another folder):
//   learning_curve.svg     return before and after adaptation, per meta-iteration
//   adaptation_<split>.svg return vs adaptation steps per method, 95% CI bands,
//                          one per saved evaluation (RUN_DIR/eval_<split>.json,
//                          adaptation_<split>_discounted.svg from a discounted one)
//   alpha.svg              the learned step sizes α: min, quartiles, max per
//                          parameter tensor

#include <string>
#include <vector>

#include "meta/eval_report.h"

namespace metarl::meta {

// Writes every plot the run directory has data for; returns the paths written.
// Throws UsageError when run_dir holds no run.
std::vector<std::string> plot_run(const std::string& run_dir, const std::string& out_dir = "");

}  // namespace metarl::meta
