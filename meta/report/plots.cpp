#include "meta/report/plots.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include "envs/errors.h"
#include "envs/registry.h"
#include "meta/checkpoint.h"
#include "meta/config.h"
#include "meta/schema/config_schema.h"
#include "meta/experiment.h"
#include "meta/eval/group_statistics.h"
#include "meta/run/run_directory.h"
#include "meta/run/seed_group.h"
#include "meta/report/svg_chart.h"

namespace metarl::meta {

namespace fs = std::filesystem;

namespace {

// The learning-curve columns of one run's metrics.csv.
struct LearningCurve {
  std::vector<double> iterations;
  std::vector<double> env_steps;  // empty when the file has no env_steps column
  std::vector<double> before;
  std::vector<double> after;
};

LearningCurve read_learning_curve(const fs::path& metrics_path) {
  std::ifstream in(metrics_path);
  std::string line;
  if (!std::getline(in, line)) throw UsageError("'" + metrics_path.string() + "' is empty");
  std::vector<std::string> header;
  std::stringstream header_stream(line);
  for (std::string column; std::getline(header_stream, column, ',');) header.push_back(column);
  auto column_of = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw UsageError("'" + metrics_path.string() + "' has no column '" + name + "'");
    return static_cast<size_t>(it - header.begin());
  };
  const size_t iteration = column_of("iteration");
  const size_t before = column_of("return_before");
  const size_t after = column_of("return_after");
  const auto steps_it = std::find(header.begin(), header.end(), "env_steps");
  const bool has_steps = steps_it != header.end();
  const size_t steps = static_cast<size_t>(steps_it - header.begin());
  LearningCurve curve;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    if (cells.size() < header.size() - 1) continue;  // a row cut short by a crash
    cells.resize(header.size());
    try {
      curve.iterations.push_back(std::stod(cells[iteration]));
      curve.before.push_back(std::stod(cells[before]));
      curve.after.push_back(std::stod(cells[after]));
      if (has_steps) curve.env_steps.push_back(std::stod(cells[steps]));
    } catch (const std::exception&) {
      throw UsageError("'" + metrics_path.string() + "': row '" + quoted_value(line) + "' is not numbers");
    }
  }
  if (curve.iterations.empty()) throw UsageError("'" + metrics_path.string() + "' has no iterations yet");
  return curve;
}

// Trailing moving average over `window` values (the first ones over what there is).
std::vector<double> smoothed(const std::vector<double>& values, int window) {
  if (window <= 1) return values;
  std::vector<double> out(values.size());
  double sum = 0.0;
  for (size_t i = 0; i < values.size(); ++i) {
    sum += values[i];
    if (i >= static_cast<size_t>(window)) sum -= values[i - static_cast<size_t>(window)];
    out[i] = sum / static_cast<double>(std::min(i + 1, static_cast<size_t>(window)));
  }
  return out;
}

// A learning curve's series, for one run or the mean of a seed group's runs (each
// iteration's mean over seeds and its 95% CI across seeds, Student's t, over the
// iterations every seed has reached).
struct CurveSeries {
  std::vector<double> x;
  std::vector<double> before, before_low, before_high;
  std::vector<double> after, after_low, after_high;
  bool adapts = true;  // false: before == after in every row (the pretrained baseline)
  bool band = false;
};

CurveSeries curve_series(const std::vector<fs::path>& metrics_paths, const PlotOptions& options) {
  std::vector<LearningCurve> curves;
  for (const auto& path : metrics_paths) curves.push_back(read_learning_curve(path));
  size_t rows = curves.front().iterations.size();
  for (const auto& curve : curves) rows = std::min(rows, curve.iterations.size());
  CurveSeries series;
  series.band = curves.size() > 1;
  series.adapts = false;
  for (const auto& curve : curves) series.adapts = series.adapts || curve.before != curve.after;
  for (size_t i = 0; i < curves.size(); ++i) {
    if (options.x_axis == PlotXAxis::kEnvSteps && curves[i].env_steps.empty()) {
      throw UsageError("'" + metrics_paths[i].string() + "' has no env_steps column (a run of a metarl before it); "
                       "plot it with --x iterations");
    }
  }
  for (size_t row = 0; row < rows; ++row) {
    std::vector<double> x;
    for (const auto& curve : curves) {
      x.push_back(options.x_axis == PlotXAxis::kEnvSteps ? curve.env_steps[row] : curve.iterations[row]);
    }
    double mean_x = 0.0;
    double unused = 0.0;
    mean_and_t_ci95(x, mean_x, unused);
    series.x.push_back(mean_x);
  }
  // Smooth each seed's curve first, then take the mean and interval over seeds.
  std::vector<std::vector<double>> before_smoothed;
  std::vector<std::vector<double>> after_smoothed;
  for (const auto& curve : curves) {
    before_smoothed.push_back(smoothed(curve.before, options.smooth));
    after_smoothed.push_back(smoothed(curve.after, options.smooth));
  }
  for (size_t row = 0; row < rows; ++row) {
    std::vector<double> before;
    std::vector<double> after;
    for (size_t c = 0; c < curves.size(); ++c) {
      before.push_back(before_smoothed[c][row]);
      after.push_back(after_smoothed[c][row]);
    }
    double mean = 0.0;
    double ci = 0.0;
    mean_and_t_ci95(before, mean, ci);
    series.before.push_back(mean);
    series.before_low.push_back(mean - ci);
    series.before_high.push_back(mean + ci);
    mean_and_t_ci95(after, mean, ci);
    series.after.push_back(mean);
    series.after_low.push_back(mean - ci);
    series.after_high.push_back(mean + ci);
  }
  return series;
}

std::string x_label(const PlotOptions& options) {
  return options.x_axis == PlotXAxis::kEnvSteps ? "environment steps" : "meta-iteration";
}

// The y label says how the curve was smoothed; what a band means goes in the title.
std::string y_label_of_curves(const PlotOptions& options) {
  std::string label = "mean episode return";
  if (options.smooth > 1) label += ", moving average of " + std::to_string(options.smooth) + " it.";
  return label;
}

// What a seed group's line and band are, said once in the title.
const char* kSeedBand = " (mean of seeds, 95% CI across them)";

ChartOptions chart_options(const std::string& title, const std::string& x, const std::string& y,
                           const PlotOptions& options, bool integer_x) {
  return {title, x, y, options.width, options.height, integer_x};
}

// `what` names the run in the title ("meta-sgd on point-nav, runs/nav"). A run whose
// returns before and after adaptation are the same in every row (the pretrained
// baseline: it does not adapt in training) gets one line, not two identical ones.
std::string learning_curve(const std::vector<fs::path>& metrics_paths, const std::string& what,
                           const PlotOptions& options) {
  const CurveSeries curve = curve_series(metrics_paths, options);
  const std::string title =
      (what.empty() ? "Learning curve" : "Learning curve: " + what) + (curve.band ? kSeedBand : std::string());
  const ChartOptions chart = chart_options(title, x_label(options), y_label_of_curves(options), options,
                                           options.x_axis == PlotXAxis::kIterations);
  auto band = [&](const std::vector<double>& v) { return curve.band ? v : std::vector<double>{}; };
  LineSeries pre{"before adaptation", curve.x, curve.before, band(curve.before_low), band(curve.before_high), false};
  LineSeries post{"after adaptation", curve.x, curve.after, band(curve.after_low), band(curve.after_high), false};
  if (!curve.adapts) {
    pre.label = "return (no adaptation in training)";
    return render_line_chart(chart, {pre}, options.format);
  }
  return render_line_chart(chart, {pre, post}, options.format);
}

double as_number(const YAML::Node& node) {
  // Non-finite values are written as JSON null.
  return node.IsNull() ? std::numeric_limits<double>::quiet_NaN() : node.as<double>();
}

// A line of a report's means at `x` with its 95% CI as a band (entries `mean` and `ci95`).
LineSeries band_series(const std::string& name, const std::vector<double>& x, const YAML::Node& curve) {
  LineSeries s{name, x, {}, {}, {}, true};
  for (size_t i = 0; i < x.size(); ++i) {
    const double m = as_number(curve["mean"][i]);
    const double c = as_number(curve["ci95"][i]);
    s.y.push_back(m);
    s.band_low.push_back(m - c);
    s.band_high.push_back(m + c);
  }
  return s;
}

std::string adaptation_curve(const fs::path& report_path, const PlotOptions& options) {
  YAML::Node report;
  try {
    report = YAML::LoadFile(report_path.string());  // JSON is YAML
  } catch (const YAML::Exception& e) {
    throw UsageError("'" + report_path.string() + "' is not a readable evaluation report: " + e.what());
  }
  std::vector<double> steps;
  for (const auto& s : report["steps"]) steps.push_back(s.as<double>());
  std::vector<LineSeries> series;
  // A seed group's evaluation draws each group as its mean over seeds with the 95% CI
  // across seeds; its seeds' own lines are left out (they are in the report).
  std::set<std::string> grouped;
  for (const auto& group : report["groups"]) {
    for (const auto& member : group.second["members"]) grouped.insert(member.as<std::string>());
    series.push_back(band_series(group.first.as<std::string>(), steps, group.second));
  }
  for (const auto& method : report["methods"]) {
    if (grouped.count(method.first.as<std::string>())) continue;
    series.push_back(band_series(method.first.as<std::string>(), steps, method.second));
  }
  // The oracle (meta/eval/oracle.h), where the report has one: a level line at its mean
  // return, on its own tasks (the report's first oracle.tasks).
  const auto oracle = report["oracle"];
  if (oracle && oracle.IsMap()) {
    const double m = as_number(oracle["mean"]);
    const double c = as_number(oracle["ci95"]);
    series.push_back({"oracle (first " + oracle["tasks"].as<std::string>() + " tasks)", steps,
                      std::vector<double>(steps.size(), m), std::vector<double>(steps.size(), m - c),
                      std::vector<double>(steps.size(), m + c), false});
  }
  const std::string title = "Adaptation on " + report["env"].as<std::string>() + ", " +
                            report["split"].as<std::string>() + " split (" + report["tasks"].as<std::string>() +
                            (grouped.empty() ? " tasks, 95% CI)" : " tasks; seed groups: mean, 95% CI across seeds)");
  // Reports written before return_discount existed are undiscounted.
  const double discount = report["return_discount"] ? as_number(report["return_discount"]) : 1.0;
  const std::string y_label = discount == 1.0 ? "mean episode return" : "mean " + return_measure(discount);
  return render_line_chart(chart_options(title, "adaptation steps", y_label, options, true), series, options.format);
}

// A rounds report (meta/eval/rounds_report.h): every curve's mean return per round with
// its 95% CI band, one line per method and adaptation mode.
std::string rounds_chart(const fs::path& report_path, const PlotOptions& options) {
  YAML::Node report;
  try {
    report = YAML::LoadFile(report_path.string());  // JSON is YAML
  } catch (const YAML::Exception& e) {
    throw UsageError("'" + report_path.string() + "' is not a readable rounds report: " + e.what());
  }
  const int rounds = report["rounds"].as<int>();
  std::vector<double> x;
  for (int round = 1; round <= rounds; ++round) x.push_back(round);
  std::vector<LineSeries> series;
  for (const auto& curve : report["curves"]) series.push_back(band_series(curve.first.as<std::string>(), x, curve.second));
  // Reports written before online segments have no adapt_every: whole episodes.
  const int adapt_every = report["adapt_every"] ? report["adapt_every"].as<int>() : 0;
  // Reports written before task_change_step have none: changes at segment starts.
  const bool change_inside = report["task_change_step"] && report["task_change_step"].as<std::string>() == "random";
  const std::string title = "Rounds on " + report["env"].as<std::string>() + ", task_process " +
                            report["task_process"].as<std::string>() + " (" + report["sequences"].as<std::string>() +
                            " sequences from split " + report["split"].as<std::string>() +
                            (adapt_every > 0 ? ", online every " + std::to_string(adapt_every) + " steps" : "") +
                            (change_inside ? ", the task changing at a random step of each segment" : "") + ", 95% CI)";
  const double discount = as_number(report["return_discount"]);
  const std::string y_label = adapt_every > 0 ? "mean return of the round's " + std::to_string(adapt_every) + " steps"
                              : discount == 1.0 ? "mean episode return"
                                                : "mean " + return_measure(discount);
  const std::string x_label = adapt_every > 0 ? "round (segment of one episode)" : "round";
  return render_line_chart(chart_options(title, x_label, y_label, options, true), series, options.format);
}

std::string alpha_chart(const CheckpointData& checkpoint, const PlotOptions& options) {
  TrainConfig config;
  load_config_yaml(config, checkpoint.config_yaml, "checkpoint config");
  const auto env = envs::EnvRegistry::global().make(checkpoint.env, 1, 0);
  const auto specs = make_policy(config, env->spec())->parameter_specs();
  std::vector<BoxStats> boxes;
  for (size_t i = 0; i < checkpoint.alpha.size() && i < specs.size(); ++i) {
    const auto sorted = std::get<0>(checkpoint.alpha[i].to(torch::kDouble).reshape({-1}).sort());
    const int64_t n = sorted.numel();
    auto at = [&](double q) { return sorted[static_cast<int64_t>(q * static_cast<double>(n - 1) + 0.5)].item<double>(); };
    boxes.push_back({specs[i].name, at(0.0), at(0.25), at(0.5), at(0.75), at(1.0)});
  }
  const std::string title = "Learned inner step sizes alpha per parameter tensor";
  return render_box_chart(chart_options(title, "", "alpha (min, quartiles, max)", options, false), boxes,
                          options.format);
}

// A run or a seed group, as plot takes it.
struct PlottedRun {
  std::string given;
  std::optional<SeedGroup> group;
  std::vector<fs::path> metrics;  // one per seed, or the run's
  std::string algo;               // from config.yaml (a group's first seed's); "" when unreadable
  std::string env;
  std::string what;               // for titles: "meta-sgd on point-nav, runs/nav, 3 seeds"
  std::string label;              // for an overlay's legend: "meta-sgd, runs/nav (3 seeds)"
};

// algo and env from a run's config.yaml; left empty when there is none this metarl reads.
void describe_run(const fs::path& run_dir, PlottedRun& plotted) {
  std::error_code ec;
  if (!fs::exists(run_dir / kConfigFile, ec)) return;
  try {
    TrainConfig config;
    load_config_file(config, (run_dir / kConfigFile).string());
    plotted.algo = to_string(config.algo);
    plotted.env = config.env;
  } catch (const UsageError&) {
    // a config this metarl cannot read: plain titles
  }
}

PlottedRun plotted_run(const std::string& run) {
  PlottedRun plotted;
  plotted.given = run;
  std::error_code ec;
  plotted.group = read_seed_group(run);
  if (plotted.group) {
    // Seeds that have no iteration yet (not started, or still in their first) are left out.
    auto has_rows = [](const fs::path& path) {
      std::ifstream in(path);
      std::string line;
      return std::getline(in, line) && std::getline(in, line) && !line.empty();
    };
    for (const auto& member : plotted.group->runs()) {
      const fs::path metrics = fs::path(member) / kMetricsFile;
      if (has_rows(metrics)) plotted.metrics.push_back(metrics);
    }
    if (plotted.metrics.empty()) throw UsageError("seed group '" + run + "': no seed has trained an iteration yet");
    describe_run(plotted.metrics.front().parent_path(), plotted);
  } else {
    if (!fs::exists(fs::path(run) / kMetricsFile, ec) && !fs::exists(fs::path(run) / kCheckpointFile, ec)) {
      throw UsageError("'" + run + "' holds no run (no metrics.csv or checkpoint.pt) and is no seed group (no " +
                       kSeedGroupFile + ")");
    }
    if (fs::exists(fs::path(run) / kMetricsFile, ec)) plotted.metrics.push_back(fs::path(run) / kMetricsFile);
    describe_run(run, plotted);
  }
  const std::string seeds = plotted.group ? std::to_string(plotted.metrics.size()) + " seeds" : "";
  plotted.what = (plotted.algo.empty() ? "" : plotted.algo + " on " + plotted.env + ", ") + shown_run(run) +
                 (seeds.empty() ? "" : ", " + seeds);
  plotted.label = (plotted.algo.empty() ? "" : plotted.algo + ", ") + shown_run(run) +
                  (seeds.empty() ? "" : " (" + seeds + ")");
  return plotted;
}

}  // namespace

void PlotOptions::validate() const {
  if (width < 100 || width > 20000) config_values::bad_value("width", std::to_string(width), "100 to 20000 pixels");
  if (height < 100 || height > 20000) config_values::bad_value("height", std::to_string(height), "100 to 20000 pixels");
  if (smooth < 1 || smooth > 100000) {
    config_values::bad_value("smooth", std::to_string(smooth), "a window of 1 (none) to 100000 iterations");
  }
}

std::vector<std::string> plot_runs(const std::vector<std::string>& runs, const PlotOptions& options) {
  options.validate();
  if (runs.empty()) throw UsageError("plot: no run given; expected RUN_DIR [RUN_DIR ...]");
  if (runs.size() > 1 && options.out_dir.empty()) {
    throw UsageError("plot of " + std::to_string(runs.size()) + " runs overlays them in one folder: give --out DIR");
  }
  // Every run is read before anything is written.
  std::vector<PlottedRun> plotted;
  for (const auto& run : runs) plotted.push_back(plotted_run(run));
  const fs::path plots = options.out_dir.empty() ? fs::path(runs.front()) / "plots" : fs::path(options.out_dir);
  std::error_code ec;
  fs::create_directories(plots, ec);
  if (ec) throw std::runtime_error("cannot create '" + plots.string() + "': " + ec.message());
  const std::string extension = options.format == ChartFormat::kPdf ? ".pdf" : ".svg";

  std::vector<std::string> written;
  auto write = [&](const std::string& stem, const std::string& bytes) {
    const std::string path = (plots / (stem + extension)).string();
    write_file_atomically(path, bytes);
    written.push_back(path);
  };
  if (runs.size() > 1) {
    // One line per run (its return after adaptation, or its only return), a band per group.
    std::vector<LineSeries> series;
    bool bands = false;
    std::set<std::string> environments;
    for (const auto& run : plotted) {
      if (run.metrics.empty()) throw UsageError("'" + run.given + "' has no metrics.csv to plot");
      const CurveSeries curve = curve_series(run.metrics, options);
      bands = bands || curve.band;
      if (!run.env.empty()) environments.insert(run.env);
      series.push_back({run.label, curve.x, curve.after, curve.band ? curve.after_low : std::vector<double>{},
                        curve.band ? curve.after_high : std::vector<double>{}, false});
    }
    const std::string on = environments.size() == 1 ? " on " + *environments.begin() : "";
    const std::string title =
        "Learning curves" + on + ": return after adaptation" + (bands ? kSeedBand : std::string());
    const ChartOptions chart = chart_options(title, x_label(options),
                                             y_label_of_curves(options), options,
                                             options.x_axis == PlotXAxis::kIterations);
    write("learning_curves", render_line_chart(chart, series, options.format));
    return written;
  }
  const PlottedRun& run = plotted.front();
  const fs::path dir(run.given);
  if (!run.metrics.empty()) write("learning_curve", learning_curve(run.metrics, run.what, options));
  std::vector<fs::path> reports;
  std::vector<fs::path> rounds_reports;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (is_evaluation_report(name)) reports.push_back(entry.path());
    if (is_rounds_report(name)) rounds_reports.push_back(entry.path());
  }
  std::sort(reports.begin(), reports.end());
  std::sort(rounds_reports.begin(), rounds_reports.end());
  for (const auto& report : reports) write("adaptation_" + report.stem().string().substr(5), adaptation_curve(report, options));
  // eval_<split>_rounds[_online<m>[_change_random]][_discounted].json →
  // rounds_<split>[_online<m>[_change_random]][_discounted].svg
  for (const auto& report : rounds_reports) {
    std::string stem = report.stem().string().substr(5);
    stem.erase(stem.find("_rounds"), 7);
    write("rounds_" + stem, rounds_chart(report, options));
  }
  // Learned step sizes exist for Meta-SGD only: MAML's α is one fixed number and the
  // pretrained baseline has none, so their runs get no α chart (nor a group: its seeds
  // learned different α).
  if (!run.group && fs::exists(dir / kCheckpointFile, ec)) {
    const CheckpointData checkpoint = load_checkpoint(run.given);
    if (checkpoint.algorithm == Algorithm::kMetaSgd) write("alpha", alpha_chart(checkpoint, options));
  }
  return written;
}

std::vector<std::string> plot_run(const std::string& run_dir, const std::string& out_dir) {
  PlotOptions options;
  options.out_dir = out_dir;
  return plot_runs({run_dir}, options);
}

}  // namespace metarl::meta
