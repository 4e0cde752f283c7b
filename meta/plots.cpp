#include "meta/plots.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "envs/errors.h"
#include "envs/registry.h"
#include "meta/checkpoint.h"
#include "meta/config.h"
#include "meta/svg_chart.h"
#include "meta/experiment.h"

namespace metarl::meta {

namespace fs = std::filesystem;

namespace {

// `what` names the run in the title ("meta-sgd on point-nav, runs/nav"). A run whose
// returns before and after adaptation are the same in every row (the pretrained
// baseline: it does not adapt in training) gets one line, not two identical ones.
std::string learning_curve(const fs::path& metrics_path, const std::string& what) {
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
  LineSeries pre{"before adaptation", {}, {}, {}, {}, false};
  LineSeries post{"after adaptation", {}, {}, {}, {}, false};
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    if (cells.size() != header.size()) continue;  // a row cut short by a crash
    const double x = std::stod(cells[iteration]);
    pre.x.push_back(x);
    pre.y.push_back(std::stod(cells[before]));
    post.x.push_back(x);
    post.y.push_back(std::stod(cells[after]));
  }
  if (pre.x.empty()) throw UsageError("'" + metrics_path.string() + "' has no iterations yet");
  const std::string title = what.empty() ? "Learning curve" : "Learning curve: " + what;
  if (pre.y == post.y) {
    pre.label = "return (no adaptation in training)";
    return render_line_chart({title, "meta-iteration", "mean episode return", 760, 460, true}, {pre});
  }
  return render_line_chart({title, "meta-iteration", "mean episode return", 760, 460, true}, {pre, post});
}

double as_number(const YAML::Node& node) {
  // Non-finite values are written as JSON null.
  return node.IsNull() ? std::numeric_limits<double>::quiet_NaN() : node.as<double>();
}

std::string adaptation_curve(const fs::path& report_path) {
  YAML::Node report;
  try {
    report = YAML::LoadFile(report_path.string());  // JSON is YAML
  } catch (const YAML::Exception& e) {
    throw UsageError("'" + report_path.string() + "' is not a readable evaluation report: " + e.what());
  }
  std::vector<double> steps;
  for (const auto& s : report["steps"]) steps.push_back(s.as<double>());
  std::vector<LineSeries> series;
  for (const auto& method : report["methods"]) {
    LineSeries s{method.first.as<std::string>(), steps, {}, {}, {}, true};
    const auto mean = method.second["mean"];
    const auto ci = method.second["ci95"];
    for (size_t i = 0; i < steps.size(); ++i) {
      const double m = as_number(mean[i]);
      const double c = as_number(ci[i]);
      s.y.push_back(m);
      s.band_low.push_back(m - c);
      s.band_high.push_back(m + c);
    }
    series.push_back(std::move(s));
  }
  const std::string title = "Adaptation on " + report["env"].as<std::string>() + ", " +
                            report["split"].as<std::string>() + " split (" + report["tasks"].as<std::string>() +
                            " tasks, 95% CI)";
  // Reports written before return_discount existed are undiscounted.
  const double discount = report["return_discount"] ? as_number(report["return_discount"]) : 1.0;
  const std::string y_label = discount == 1.0 ? "mean episode return" : "mean " + return_measure(discount);
  return render_line_chart({title, "adaptation steps", y_label, 760, 460, true}, series);
}

std::string alpha_chart(const CheckpointData& checkpoint) {
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
  return render_box_chart({title, "", "alpha (min, quartiles, max)", 760, 460, false}, boxes);
}

}  // namespace

std::vector<std::string> plot_run(const std::string& run_dir, const std::string& out_dir) {
  const fs::path dir(run_dir);
  std::error_code ec;
  if (!fs::exists(dir / kMetricsFile, ec) && !fs::exists(dir / kCheckpointFile, ec)) {
    throw UsageError("'" + run_dir + "' holds no run (no metrics.csv or checkpoint.pt)");
  }
  const fs::path plots = out_dir.empty() ? dir / "plots" : fs::path(out_dir);
  fs::create_directories(plots, ec);
  if (ec) throw std::runtime_error("cannot create '" + plots.string() + "': " + ec.message());

  std::vector<std::string> written;
  auto write = [&](const std::string& name, const std::string& svg) {
    const std::string path = (plots / name).string();
    write_file_atomically(path, svg);
    written.push_back(path);
  };
  // What the run is, for titles: its config.yaml (written at its start).
  std::string what;
  if (fs::exists(dir / kConfigFile, ec)) {
    try {
      TrainConfig config;
      load_config_file(config, (dir / kConfigFile).string());
      what = to_string(config.algo) + " on " + config.env + ", " + shown_run(run_dir);
    } catch (const UsageError&) {
      // A config this metarl cannot read: plain titles.
    }
  }
  if (fs::exists(dir / kMetricsFile, ec)) write("learning_curve.svg", learning_curve(dir / kMetricsFile, what));
  std::vector<fs::path> reports;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("eval_", 0) == 0 && entry.path().extension() == ".json") reports.push_back(entry.path());
  }
  std::sort(reports.begin(), reports.end());
  for (const auto& report : reports) {
    write("adaptation_" + report.stem().string().substr(5) + ".svg", adaptation_curve(report));
  }
  // Learned step sizes exist for Meta-SGD only: MAML's α is one fixed number and the
  // pretrained baseline has none, so their runs get no α chart.
  if (fs::exists(dir / kCheckpointFile, ec)) {
    const CheckpointData checkpoint = load_checkpoint(run_dir);
    if (checkpoint.algo == to_string(Algorithm::kMetaSgd)) write("alpha.svg", alpha_chart(checkpoint));
  }
  return written;
}

}  // namespace metarl::meta
