#include "meta/eval/rounds_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "meta/checkpoint.h"
#include "meta/eval/eval_report.h"
#include "meta/eval/json_text.h"

namespace metarl::meta {

namespace fs = std::filesystem;

const EnumNames<AdaptationMode>& adaptation_mode_names() {
  static const EnumNames<AdaptationMode> names{
      {AdaptationMode::kContinuous, "continuous"}, {AdaptationMode::kRestart, "restart"}, {AdaptationMode::kNone, "none"}};
  return names;
}

std::string to_string(AdaptationMode mode) { return enum_name(adaptation_mode_names(), mode); }

// Each sequence's mean return over rounds 2..K ([sequences]); round 1's when K = 1.
std::vector<double> later_rounds_means(const std::vector<std::vector<double>>& sequence_returns) {
  const size_t rounds = sequence_returns.size();
  const size_t first = rounds > 1 ? 1 : 0;
  std::vector<double> means(sequence_returns.front().size(), 0.0);
  for (size_t r = first; r < rounds; ++r) {
    for (size_t s = 0; s < means.size(); ++s) means[s] += sequence_returns[r].at(s);
  }
  for (double& mean : means) mean /= static_cast<double>(rounds - first);
  return means;
}

namespace {

RoundsComparison compare(const RoundsCurve& a, const RoundsCurve& b) {
  RoundsComparison comparison;
  comparison.a = a.name;
  comparison.b = b.name;
  for (size_t r = 0; r < a.sequence_returns.size(); ++r) {
    const PairedDifference difference = paired_difference(a.sequence_returns[r], b.sequence_returns.at(r));
    comparison.mean.push_back(difference.mean);
    comparison.ci95.push_back(difference.ci95);
  }
  const PairedDifference later =
      paired_difference(later_rounds_means(a.sequence_returns), later_rounds_means(b.sequence_returns));
  comparison.later_mean = later.mean;
  comparison.later_ci95 = later.ci95;
  return comparison;
}

}  // namespace

std::vector<RoundsComparison> compare_rounds(const std::vector<RoundsCurve>& curves) {
  std::vector<RoundsComparison> comparisons;
  // Within each method, its modes pairwise (curves of one method are contiguous).
  for (size_t i = 0; i < curves.size(); ++i) {
    for (size_t j = i + 1; j < curves.size() && curves[j].method == curves[i].method; ++j) {
      comparisons.push_back(compare(curves[i], curves[j]));
    }
  }
  // Across methods, mode by mode.
  for (const auto& [mode, mode_name] : adaptation_mode_names()) {
    (void)mode;
    for (size_t i = 0; i < curves.size(); ++i) {
      if (curves[i].mode != mode_name) continue;
      for (size_t j = i + 1; j < curves.size(); ++j) {
        if (curves[j].mode == mode_name && curves[j].method != curves[i].method) {
          comparisons.push_back(compare(curves[i], curves[j]));
        }
      }
    }
  }
  return comparisons;
}

std::string rounds_report_json(const RoundsReport& report) {
  using namespace json_text;
  const auto num = [](double v) { return number(v); };
  std::ostringstream out;
  out << "{\"metarl_version\": " << quoted(report.metarl_version) << ", \"seed\": " << report.seed
      << ", \"random_seed\": " << report.random_seed << ", \"env\": " << quoted(report.env)
      << ", \"split\": " << quoted(report.split) << ", \"sequences\": " << report.sequences
      << ", \"rollouts\": " << report.rollouts << ", \"rounds\": " << report.rounds
      << ", \"return_discount\": " << number(report.return_discount)
      << ", \"task_process\": " << quoted(report.task_process)
      << ", \"task_parameter_names\": " << array(report.task_parameter_names, quoted) << ", \"curves\": {";
  for (size_t i = 0; i < report.curves.size(); ++i) {
    const auto& curve = report.curves[i];
    out << (i ? ", " : "") << quoted(curve.name) << ": {\"method\": " << quoted(curve.method)
        << ", \"mode\": " << quoted(curve.mode) << ", \"algorithm\": " << quoted(curve.algorithm)
        << ", \"run\": " << quoted(curve.run) << ", \"checkpoint_iteration\": " << curve.checkpoint_iteration
        << ", \"checkpoint_checksum\": " << quoted(curve.checkpoint_checksum) << ", \"step_sizes\": "
        << (curve.learned_alpha ? std::string("\"learned\"") : array(curve.step_sizes, num))
        << ", \"mean\": " << array(curve.mean, num) << ", \"ci95\": " << array(curve.ci95, num)
        << ", \"later_mean\": " << number(curve.later_mean) << ", \"later_ci95\": " << number(curve.later_ci95)
        << ", \"sequence_returns\": "
        << array(curve.sequence_returns, [&](const std::vector<double>& round) { return array(round, num); }) << "}";
  }
  out << "}, \"comparisons\": [";
  for (size_t i = 0; i < report.comparisons.size(); ++i) {
    const auto& c = report.comparisons[i];
    out << (i ? ", " : "") << "{\"a\": " << quoted(c.a) << ", \"b\": " << quoted(c.b)
        << ", \"mean\": " << array(c.mean, num) << ", \"ci95\": " << array(c.ci95, num)
        << ", \"later_mean\": " << number(c.later_mean) << ", \"later_ci95\": " << number(c.later_ci95) << "}";
  }
  out << "], \"warnings\": " << array(report.warnings, quoted) << "}";
  return out.str();
}

std::string rounds_task_lines(const RoundsReport& report) {
  using namespace json_text;
  std::string out;
  for (size_t s = 0; s < static_cast<size_t>(report.sequences); ++s) {
    out += "{\"sequence\": " + std::to_string(s) + ", \"parameters\": [";
    for (size_t r = 0; r < report.task_parameters.size(); ++r) {
      out += std::string(r ? ", " : "") + "{";
      for (size_t p = 0; p < report.task_parameter_names.size(); ++p) {
        out += (p ? ", " : "") + quoted(report.task_parameter_names[p]) + ": " +
               number(report.task_parameters[r].at(s).at(p));
      }
      out += "}";
    }
    out += "], \"returns\": {";
    for (size_t c = 0; c < report.curves.size(); ++c) {
      const auto& curve = report.curves[c];
      out += (c ? ", " : "") + quoted(curve.name) + ": [";
      for (size_t r = 0; r < curve.sequence_returns.size(); ++r) {
        out += (r ? ", " : "") + number(curve.sequence_returns[r].at(s));
      }
      out += "]";
    }
    out += "}}\n";
  }
  return out;
}

std::string rounds_report_table(const RoundsReport& report) {
  std::ostringstream out;
  out << "env " << report.env << ", " << report.sequences << " task sequences of " << report.rounds
      << " rounds (round 1 from split " << report.split << ", then task_process " << report.task_process << "), "
      << report.rollouts << " rollouts per round; mean " << return_measure(report.return_discount)
      << " ± 95% CI per round\n";
  for (const auto& warning : report.warnings) out << "warning: " << warning << "\n";
  struct Row {
    std::string label;
    const std::vector<double>* mean;
    const std::vector<double>* ci95;
    double later_mean;
    double later_ci95;
  };
  std::vector<Row> returns;
  for (const auto& curve : report.curves) {
    returns.push_back({curve.name, &curve.mean, &curve.ci95, curve.later_mean, curve.later_ci95});
  }
  std::vector<Row> differences;
  for (const auto& c : report.comparisons) {
    differences.push_back({c.a + " - " + c.b, &c.mean, &c.ci95, c.later_mean, c.later_ci95});
  }
  size_t width = 12;
  for (const auto* rows : {&returns, &differences}) {
    for (const auto& row : *rows) width = std::max(width, row.label.size());
  }
  char cell[64];
  out << "method, mode" << std::string(width - 12, ' ');
  for (int round = 1; round <= report.rounds; ++round) {
    std::snprintf(cell, sizeof(cell), " %18s", ("round " + std::to_string(round)).c_str());
    out << cell;
  }
  std::snprintf(cell, sizeof(cell), " %18s", report.rounds > 1 ? "rounds 2.." : "all rounds");
  out << cell << "\n";
  const auto print = [&](const std::vector<Row>& rows) {
    for (const auto& row : rows) {
      out << row.label << std::string(width - row.label.size(), ' ');
      for (size_t r = 0; r < row.mean->size(); ++r) {
        std::snprintf(cell, sizeof(cell), " %9.2f ± %6.2f", (*row.mean)[r], (*row.ci95)[r]);
        out << cell;
      }
      std::snprintf(cell, sizeof(cell), " %9.2f ± %6.2f", row.later_mean, row.later_ci95);
      out << cell << "\n";
    }
  };
  print(returns);
  if (!differences.empty()) {
    out << "difference, paired per task sequence (first minus second, same tasks and random numbers; clear of 0 = "
           "ahead):\n";
    print(differences);
  }
  return out.str();
}

std::string rounds_report_path(const std::string& run_dir, const std::string& split, double return_discount) {
  const std::string suffix = return_discount == 1.0 ? "" : "_discounted";
  return (fs::path(run_dir) / ("eval_" + split + "_rounds" + suffix + ".json")).string();
}

std::string rounds_task_lines_path(const std::string& run_dir, const std::string& split, double return_discount) {
  const std::string report_path = rounds_report_path(run_dir, split, return_discount);
  return report_path.substr(0, report_path.size() - 5) + ".tasks.jsonl";  // without ".json"
}

void save_rounds_report(const std::string& run_dir, const RoundsReport& report) {
  write_file_atomically(rounds_report_path(run_dir, report.split, report.return_discount),
                        rounds_report_json(report) + "\n");
  write_file_atomically(rounds_task_lines_path(run_dir, report.split, report.return_discount),
                        rounds_task_lines(report));
}

}  // namespace metarl::meta
