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

std::string IterationMetrics::csv_header() {
  return "iteration,return_before,return_after,meta_loss,alpha_mean,alpha_min,alpha_max,kl,backtracks,seconds";
}

std::string IterationMetrics::csv_row() const {
  char row[512];
  std::snprintf(row, sizeof(row), "%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%d,%.4f", iteration, return_before,
                return_after, meta_loss, alpha_mean, alpha_min, alpha_max, kl, backtracks, seconds);
  return row;
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
