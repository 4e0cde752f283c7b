#pragma once
// `metarl plot`: images of a run directory or a seed group, in RUN_DIR/plots/ (or
// another folder), as SVG (default) or PDF at a chosen size:
//   learning_curve.svg     return before and after adaptation, per meta-iteration or per
//                          environment step; a seed group's mean over seeds with its
//                          95% CI band across seeds; optionally smoothed
//   adaptation_<split>.svg return vs adaptation steps per method, 95% CI bands, one per
//                          saved evaluation (RUN_DIR/eval_<split>.json,
//                          adaptation_<split>_discounted.svg from a discounted one); a
//                          seed group's evaluation draws the group's mean and CI
//   rounds_<split>.svg     return per round of drifting task sequences, one line per
//                          method and adaptation mode with 95% CI bands, one per saved
//                          rounds evaluation (RUN_DIR/eval_<split>_rounds.json; online
//                          segments' eval_<split>_rounds_online<m>.json give
//                          rounds_<split>_online<m>.svg, and with the task changing
//                          inside segments …_online<m>_change_random.svg)
//   alpha.svg              Meta-SGD's learned step sizes α: min, quartiles, max per
//                          parameter tensor (only for a single Meta-SGD run)
// Several runs or groups at once overlay their learning curves in one chart,
// learning_curves.svg, in the folder given.

#include <string>
#include <vector>

#include "meta/eval/eval_report.h"
#include "meta/report/svg_chart.h"

namespace metarl::meta {

enum class PlotXAxis { kIterations, kEnvSteps };

struct PlotOptions {
  std::string out_dir;  // "" → RUN_DIR/plots (one run or group); required for several
  ChartFormat format = ChartFormat::kSvg;
  int width = 760;      // pixels (SVG) or points (PDF)
  int height = 460;
  // Trailing moving average over this many iterations of the learning curves (1: raw).
  int smooth = 1;
  PlotXAxis x_axis = PlotXAxis::kIterations;

  // UsageError naming the option and value.
  void validate() const;
};

// Writes every plot the runs have data for; returns the paths written. A run is a run
// directory or a seed group (meta/run/seed_group.h). Throws UsageError when one holds no
// run, when several are given without out_dir, or when x_axis is env steps and a
// run's metrics.csv has no env_steps column (runs of metarl before it).
std::vector<std::string> plot_runs(const std::vector<std::string>& runs, const PlotOptions& options = {});

// One run, into out_dir (or RUN_DIR/plots): plot_runs({run_dir}, ...).
std::vector<std::string> plot_run(const std::string& run_dir, const std::string& out_dir = "");

}  // namespace metarl::meta
