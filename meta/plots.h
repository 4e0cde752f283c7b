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

#include "meta/evaluation.h"

namespace metarl::meta {

// RUN_DIR/eval_<split>.json: where `metarl eval` keeps its report for plotting.
// A discounted report (return_discount < 1) goes beside the undiscounted one, as
// RUN_DIR/eval_<split>_discounted.json, so neither replaces the other.
std::string eval_report_path(const std::string& run_dir, const EvalReport& report);
// Writes report_json(report) there, atomically.
void save_eval_report(const std::string& run_dir, const EvalReport& report);

// Writes every plot the run directory has data for; returns the paths written.
// Throws UsageError when run_dir holds no run.
std::vector<std::string> plot_run(const std::string& run_dir, const std::string& out_dir = "");

}  // namespace metarl::meta
