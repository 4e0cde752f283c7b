#include "meta/iteration_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace metarl::meta {

namespace {

std::string format_duration(double seconds) {
  const long long total = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  std::ostringstream out;
  if (total >= 3600) out << total / 3600 << "h" << (total % 3600) / 60 << "m";
  else if (total >= 60) out << total / 60 << "m" << total % 60 << "s";
  else out << total << "s";
  return out.str();
}

}  // namespace

double step_metric_value(const std::vector<StepMetric>& metrics, const std::string& name, double absent) {
  for (const auto& metric : metrics) {
    if (metric.name == name) return metric.value;
  }
  return absent;
}

double IterationMetrics::step_metric(const std::string& name) const {
  for (const auto& cell : step_metrics) {
    if (cell.column.name == name) return cell.value;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

std::vector<std::string> IterationMetrics::csv_columns(int inner_steps, const std::vector<std::string>& step_columns) {
  std::vector<std::string> columns = {"iteration", "return_before", "return_after", "meta_loss", "alpha_mean",
                                      "alpha_min", "alpha_max"};
  columns.insert(columns.end(), step_columns.begin(), step_columns.end());
  columns.push_back("env_steps");
  for (int step = 1; inner_steps > 1 && step <= inner_steps; ++step) {
    columns.push_back("return_step_" + std::to_string(step));
  }
  columns.push_back("wall_clock");
  columns.push_back("seconds");
  return columns;
}

std::string IterationMetrics::csv_header(int inner_steps, const std::vector<std::string>& step_columns) {
  std::string header;
  for (const auto& column : csv_columns(inner_steps, step_columns)) header += (header.empty() ? "" : ",") + column;
  return header;
}

namespace {

std::string number(double value, const char* format = "%.6g") {
  if (std::isnan(value)) return "";
  char text[64];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

}  // namespace

std::string IterationMetrics::csv_row(const std::vector<std::string>& columns) const {
  std::string row;
  for (size_t c = 0; c < columns.size(); ++c) {
    const std::string& column = columns[c];
    std::string cell;
    const auto step_cell = std::find_if(step_metrics.begin(), step_metrics.end(),
                                        [&](const StepMetricCell& s) { return s.column.name == column; });
    if (step_cell != step_metrics.end()) {
      const double value = step_cell->value;
      cell = step_cell->column.integer && !std::isnan(value) ? std::to_string(std::llround(value)) : number(value);
    } else if (column == "iteration") cell = std::to_string(iteration);
    else if (column == "return_before") cell = number(return_before);
    else if (column == "return_after") cell = number(return_after);
    else if (column == "meta_loss") cell = number(meta_loss);
    else if (column == "alpha_mean") cell = number(alpha_mean);
    else if (column == "alpha_min") cell = number(alpha_min);
    else if (column == "alpha_max") cell = number(alpha_max);
    else if (column == "env_steps") cell = env_steps < 0 ? "" : std::to_string(env_steps);
    else if (column == "wall_clock") cell = number(wall_clock, "%.3f");
    else if (column == "seconds") cell = number(seconds, "%.4f");
    else if (column.rfind("return_step_", 0) == 0) {
      const size_t step = std::stoul(column.substr(12));
      if (step >= 1 && step <= step_returns.size()) cell = number(step_returns[step - 1]);
    }
    row += (c ? "," : "") + cell;
  }
  return row;
}

std::vector<std::pair<std::string, double>> IterationMetrics::scalars() const {
  std::vector<std::pair<std::string, double>> out = {
      {"return_before", return_before}, {"return_after", return_after}, {"meta_loss", meta_loss},
      {"alpha_mean", alpha_mean},       {"alpha_min", alpha_min},       {"alpha_max", alpha_max}};
  for (const auto& cell : step_metrics) {
    if (!std::isnan(cell.value)) out.push_back({cell.column.name, cell.value});
  }
  out.push_back({"wall_clock", wall_clock});
  out.push_back({"seconds", seconds});
  if (env_steps >= 0) out.push_back({"env_steps", static_cast<double>(env_steps)});
  for (size_t step = 0; step < step_returns.size() && step_returns.size() > 1; ++step) {
    out.push_back({"return_step_" + std::to_string(step + 1), step_returns[step]});
  }
  return out;
}

std::string format_progress(const IterationMetrics& m, int total_iterations, double mean_seconds) {
  char line[512];
  std::snprintf(line, sizeof(line),
                "iter %d/%d | return before %.2f after %.2f | alpha %.4g [%.4g, %.4g] | %.2f s/it | ETA %s",
                m.iteration, total_iterations, m.return_before, m.return_after, m.alpha_mean, m.alpha_min,
                m.alpha_max, mean_seconds,
                format_duration(mean_seconds * (total_iterations - m.iteration)).c_str());
  return line;
}

}  // namespace metarl::meta
