#include "meta/eval/eval_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

#include "meta/checkpoint.h"
#include "meta/eval/json_text.h"

namespace metarl::meta {

namespace fs = std::filesystem;

void mean_and_ci95(const std::vector<double>& values, double& mean, double& ci95) {
  const double n = static_cast<double>(values.size());
  mean = 0.0;
  for (double v : values) mean += v;
  mean /= n;
  if (values.size() < 2) {
    ci95 = 0.0;
    return;
  }
  double sum_squares = 0.0;
  for (double v : values) sum_squares += (v - mean) * (v - mean);
  ci95 = 1.96 * std::sqrt(sum_squares / (n - 1.0)) / std::sqrt(n);
}

PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) {
    throw std::invalid_argument("paired_difference: " + std::to_string(a.size()) + " tasks against " +
                                std::to_string(b.size()) + "; a paired comparison needs the same tasks");
  }
  std::vector<double> differences(a.size());
  for (size_t t = 0; t < a.size(); ++t) differences[t] = a[t] - b[t];
  PairedDifference result;
  mean_and_ci95(differences, result.mean, result.ci95);
  return result;
}

std::vector<MethodComparison> compare_methods(const std::vector<MethodCurve>& methods) {
  std::vector<MethodComparison> comparisons;
  for (size_t i = 0; i < methods.size(); ++i) {
    for (size_t j = i + 1; j < methods.size(); ++j) {
      const MethodCurve& a = methods[i];
      const MethodCurve& b = methods[j];
      MethodComparison comparison;
      comparison.a = a.name;
      comparison.b = b.name;
      comparison.b_best_step = static_cast<int>(std::max_element(b.mean.begin(), b.mean.end()) - b.mean.begin());
      const auto& b_best = b.task_returns.at(static_cast<size_t>(comparison.b_best_step));
      for (size_t step = 0; step < a.task_returns.size(); ++step) {
        const PairedDifference same_step = paired_difference(a.task_returns[step], b.task_returns.at(step));
        comparison.mean.push_back(same_step.mean);
        comparison.ci95.push_back(same_step.ci95);
        const PairedDifference against_best = paired_difference(a.task_returns[step], b_best);
        comparison.vs_best_mean.push_back(against_best.mean);
        comparison.vs_best_ci95.push_back(against_best.ci95);
      }
      comparisons.push_back(std::move(comparison));
    }
  }
  return comparisons;
}

std::vector<FamilyReport> family_reports(const std::vector<MethodCurve>& methods,
                                         const std::vector<std::vector<double>>& task_parameters,
                                         const std::vector<std::string>& families,
                                         const std::vector<std::pair<int, MethodCurve>>& family_runs) {
  std::vector<FamilyReport> reports;
  for (size_t f = 0; f < families.size(); ++f) {
    FamilyReport report;
    report.family = families[f];
    for (size_t t = 0; t < task_parameters.size(); ++t) {
      const double family = task_parameters[t].at(0);
      if (!(family >= 0.0 && family < static_cast<double>(families.size()) && family == std::floor(family))) {
        throw std::invalid_argument("family_reports: task " + std::to_string(t) + " has family " +
                                    json_text::number(family) + ", not one of " + std::to_string(families.size()));
      }
      if (static_cast<size_t>(family) == f) report.tasks.push_back(static_cast<int>(t));
    }
    if (report.tasks.empty()) continue;
    for (const auto& method : methods) {
      MethodCurve curve;
      curve.name = method.name;
      curve.algorithm = method.algorithm;
      curve.run = method.run;
      curve.checkpoint_iteration = method.checkpoint_iteration;
      curve.checkpoint_checksum = method.checkpoint_checksum;
      curve.step_sizes = method.step_sizes;
      for (const auto& returns : method.task_returns) {
        std::vector<double> own;
        for (int t : report.tasks) own.push_back(returns.at(static_cast<size_t>(t)));
        double mean = 0.0;
        double ci95 = 0.0;
        mean_and_ci95(own, mean, ci95);
        curve.mean.push_back(mean);
        curve.ci95.push_back(ci95);
        curve.task_returns.push_back(std::move(own));
        const PairedDifference gain = paired_difference(curve.task_returns.back(), curve.task_returns.front());
        curve.gain_mean.push_back(gain.mean);
        curve.gain_ci95.push_back(gain.ci95);
      }
      report.methods.push_back(std::move(curve));
    }
    for (const auto& [family, curve] : family_runs) {
      if (static_cast<size_t>(family) != f) continue;
      if (curve.task_returns.front().size() != report.tasks.size()) {
        throw std::invalid_argument("family_reports: run '" + curve.run + "' holds " +
                                    std::to_string(curve.task_returns.front().size()) + " tasks of family '" +
                                    families[f] + "', which has " + std::to_string(report.tasks.size()));
      }
      report.methods.push_back(curve);
    }
    report.comparisons = compare_methods(report.methods);
    reports.push_back(std::move(report));
  }
  return reports;
}

std::vector<OracleGap> oracle_gaps(const OracleReport& oracle, const std::vector<MethodCurve>& methods) {
  std::vector<OracleGap> gaps;
  if (oracle.tasks == 0) return gaps;
  const auto first_tasks = [&](const std::vector<double>& returns) {
    if (returns.size() < oracle.task_returns.size()) {
      throw std::invalid_argument("oracle_gaps: a method holds " + std::to_string(returns.size()) +
                                  " tasks, the oracle " + std::to_string(oracle.task_returns.size()));
    }
    return std::vector<double>(returns.begin(), returns.begin() + static_cast<std::ptrdiff_t>(oracle.task_returns.size()));
  };
  for (const auto& method : methods) {
    OracleGap gap;
    gap.method = method.name;
    const auto start = first_tasks(method.task_returns.at(0));
    const double start_gap = paired_difference(oracle.task_returns, start).mean;
    for (const auto& step_returns : method.task_returns) {
      const auto returns = first_tasks(step_returns);
      const PairedDifference difference = paired_difference(oracle.task_returns, returns);
      gap.mean.push_back(difference.mean);
      gap.ci95.push_back(difference.ci95);
      // (o − m_0) − (o − m_j) = m_j − m_0, over the gap at step 0.
      gap.closed.push_back(start_gap > 0.0 ? (start_gap - difference.mean) / start_gap
                                           : std::numeric_limits<double>::quiet_NaN());
    }
    gaps.push_back(std::move(gap));
  }
  return gaps;
}

namespace {
// The report's own short names for the shared JSON pieces (meta/eval/json_text.h).
std::string json_string(const std::string& s) { return json_text::quoted(s); }
std::string json_number(double value) { return json_text::number(value); }
template <typename T, typename Format>
std::string json_array(const std::vector<T>& values, Format format) {
  return json_text::array(values, format);
}
}  // namespace

namespace {

// [{"a": ..., "b": ..., "mean": [...], "ci95": [...], "b_best_step": s, "vs_best_mean": [...],
//   "vs_best_ci95": [...]}, ...]
std::string comparisons_json(const std::vector<MethodComparison>& comparisons) {
  std::ostringstream out;
  out << "[";
  for (size_t c = 0; c < comparisons.size(); ++c) {
    const auto& comparison = comparisons[c];
    out << (c ? ", " : "") << "{\"a\": " << json_string(comparison.a) << ", \"b\": " << json_string(comparison.b)
        << ", \"mean\": " << json_array(comparison.mean, json_number)
        << ", \"ci95\": " << json_array(comparison.ci95, json_number)
        << ", \"b_best_step\": " << comparison.b_best_step
        << ", \"vs_best_mean\": " << json_array(comparison.vs_best_mean, json_number)
        << ", \"vs_best_ci95\": " << json_array(comparison.vs_best_ci95, json_number) << "}";
  }
  out << "]";
  return out.str();
}

}  // namespace

std::string report_json(const EvalReport& report) {
  std::ostringstream out;
  out << "{\"metarl_version\": " << json_string(report.metarl_version) << ", \"seed\": " << report.seed
      << ", \"random_seed\": " << report.random_seed << ", \"env\": " << json_string(report.env)
      << ", \"split\": " << json_string(report.split)
      << ", \"tasks\": " << report.tasks << ", \"rollouts\": " << report.rollouts
      << ", \"return_discount\": " << json_number(report.return_discount)
      << ", \"steps\": " << json_array(report.steps, [](int s) { return std::to_string(s); }) << ", \"methods\": {";
  for (size_t m = 0; m < report.methods.size(); ++m) {
    const auto& method = report.methods[m];
    out << (m ? ", " : "") << json_string(method.name) << ": {\"algorithm\": " << json_string(method.algorithm)
        << ", \"run\": " << json_string(method.run) << ", \"checkpoint_iteration\": " << method.checkpoint_iteration
        << ", \"checkpoint_checksum\": " << json_string(method.checkpoint_checksum) << ", \"step_sizes\": "
        << (method.step_sizes.empty() ? std::string("\"learned\"") : json_array(method.step_sizes, json_number))
        << ", \"mean\": " << json_array(method.mean, json_number)
        << ", \"ci95\": " << json_array(method.ci95, json_number)
        << ", \"gain_mean\": " << json_array(method.gain_mean, json_number)
        << ", \"gain_ci95\": " << json_array(method.gain_ci95, json_number) << ", \"task_returns\": "
        << json_array(method.task_returns,
                      [](const std::vector<double>& returns) { return json_array(returns, json_number); })
        << "}";
  }
  out << "}, \"comparisons\": " << comparisons_json(report.comparisons) << ", \"groups\": {";
  for (size_t g = 0; g < report.groups.size(); ++g) {
    const auto& group = report.groups[g];
    out << (g ? ", " : "") << json_string(group.name) << ": {\"algorithm\": " << json_string(group.algorithm)
        << ", \"group\": " << json_string(group.group)
        << ", \"seeds\": " << json_array(group.seeds, [](std::uint64_t s) { return std::to_string(s); })
        << ", \"members\": " << json_array(group.members, json_string)
        << ", \"mean\": " << json_array(group.mean, json_number)
        << ", \"ci95\": " << json_array(group.ci95, json_number)
        << ", \"ci95_tasks\": " << json_array(group.ci95_tasks, json_number)
        << ", \"gain_mean\": " << json_array(group.gain_mean, json_number)
        << ", \"gain_ci95\": " << json_array(group.gain_ci95, json_number) << ", \"seed_means\": "
        << json_array(group.seed_means, [](const std::vector<double>& m) { return json_array(m, json_number); })
        << "}";
  }
  out << "}, \"group_comparisons\": [";
  for (size_t c = 0; c < report.group_comparisons.size(); ++c) {
    const auto& comparison = report.group_comparisons[c];
    out << (c ? ", " : "") << "{\"a\": " << json_string(comparison.a) << ", \"b\": " << json_string(comparison.b)
        << ", \"mean\": " << json_array(comparison.mean, json_number)
        << ", \"ci95\": " << json_array(comparison.ci95, json_number) << "}";
  }
  out << "], \"oracle\": ";
  const auto& oracle = report.oracle;
  if (oracle.tasks == 0) {
    out << "null";
  } else {
    out << "{\"tasks\": " << oracle.tasks << ", \"iterations\": " << oracle.iterations
        << ", \"rollouts\": " << oracle.rollouts << ", \"learning_rate\": " << json_number(oracle.learning_rate)
        << ", \"start\": " << json_string(oracle.start) << ", \"start_theta\": " << json_string(oracle.start_theta)
        << ", \"task_returns\": " << json_array(oracle.task_returns, json_number)
        << ", \"mean\": " << json_number(oracle.mean) << ", \"ci95\": " << json_number(oracle.ci95)
        << ", \"training_curve\": " << json_array(oracle.training_curve, json_number) << ", \"gaps\": {";
    for (size_t g = 0; g < oracle.gaps.size(); ++g) {
      const auto& gap = oracle.gaps[g];
      out << (g ? ", " : "") << json_string(gap.method) << ": {\"mean\": " << json_array(gap.mean, json_number)
          << ", \"ci95\": " << json_array(gap.ci95, json_number)
          << ", \"closed\": " << json_array(gap.closed, json_number) << "}";
    }
    out << "}}";
  }
  if (!report.families.empty()) {
    out << ", \"families\": {";
    for (size_t f = 0; f < report.families.size(); ++f) {
      const auto& family = report.families[f];
      out << (f ? ", " : "") << json_string(family.family)
          << ": {\"tasks\": " << json_array(family.tasks, [](int t) { return std::to_string(t); }) << ", \"methods\": {";
      for (size_t m = 0; m < family.methods.size(); ++m) {
        const auto& method = family.methods[m];
        out << (m ? ", " : "") << json_string(method.name) << ": {\"mean\": " << json_array(method.mean, json_number)
            << ", \"ci95\": " << json_array(method.ci95, json_number)
            << ", \"gain_mean\": " << json_array(method.gain_mean, json_number)
            << ", \"gain_ci95\": " << json_array(method.gain_ci95, json_number) << "}";
      }
      out << "}, \"comparisons\": " << comparisons_json(family.comparisons) << "}";
    }
    out << "}";
  }
  out << ", \"warnings\": " << json_array(report.warnings, json_string) << "}";
  return out.str();
}

std::string return_measure(double return_discount) {
  return return_discount == 1.0 ? "return" : "discounted return (gamma " + json_number(return_discount) + ")";
}

std::string report_table(const EvalReport& report) {
  const OracleReport& oracle = report.oracle;
  std::ostringstream out;
  out << "env " << report.env << ", split " << report.split << ", " << report.tasks << " tasks x " << report.rollouts
      << " rollouts; mean " << return_measure(report.return_discount)
      << " ± 95% CI after each number of adaptation steps\n";
  for (const auto& warning : report.warnings) out << "warning: " << warning << "\n";
  // Row labels: method names, and for the comparisons "a - b" and "a - b at step s
  // (its best)". The label column fits the longest ("meta-sgd (runs/seed2)").
  struct Row {
    std::string label;
    const std::vector<double>* mean;
    const std::vector<double>* ci95;
  };
  std::vector<Row> returns;
  std::vector<Row> gains;
  for (const auto& method : report.methods) {
    returns.push_back({method.name, &method.mean, &method.ci95});
    gains.push_back({method.name, &method.gain_mean, &method.gain_ci95});
  }
  std::vector<Row> group_returns;
  std::vector<Row> group_gains;
  for (const auto& group : report.groups) {
    group_returns.push_back({group.name, &group.mean, &group.ci95});
    group_gains.push_back({group.name, &group.gain_mean, &group.gain_ci95});
  }
  std::vector<Row> differences;
  for (const auto& comparison : report.group_comparisons) {
    differences.push_back({comparison.a + " - " + comparison.b, &comparison.mean, &comparison.ci95});
  }
  // With seed groups the seed is the unit of comparison: pairs of two groups' seeds (or
  // of one group's) stay in the JSON only; a run outside the groups keeps its paired
  // comparisons, with every seed and every other run.
  std::set<std::string> members;
  for (const auto& group : report.groups) members.insert(group.members.begin(), group.members.end());
  for (const auto& comparison : report.comparisons) {
    if (members.count(comparison.a) && members.count(comparison.b)) continue;
    const std::string pair = comparison.a + " - " + comparison.b;
    differences.push_back({pair, &comparison.mean, &comparison.ci95});
    differences.push_back({pair + " at step " + std::to_string(comparison.b_best_step) + " (its best)",
                           &comparison.vs_best_mean, &comparison.vs_best_ci95});
  }
  size_t width = 12;
  for (const auto* rows : {&returns, &differences, &group_returns}) {
    for (const auto& row : *rows) width = std::max(width, row.label.size());
  }
  // A mixture's family sections label gains "<method> gain" and compare family runs.
  for (const auto& family : report.families) {
    for (const auto& method : family.methods) width = std::max(width, method.name.size() + 5);
    for (const auto& comparison : family.comparisons) {
      width = std::max(width, comparison.a.size() + 3 + comparison.b.size());
    }
  }
  char cell[64];
  out << "method" << std::string(width - 6, ' ');
  for (int step : report.steps) {
    std::snprintf(cell, sizeof(cell), " %18s", ("step " + std::to_string(step)).c_str());
    out << cell;
  }
  out << "\n";
  auto print = [&](const std::vector<Row>& rows) {
    for (const auto& row : rows) {
      out << row.label << std::string(width - row.label.size(), ' ');
      for (size_t i = 0; i < row.mean->size(); ++i) {
        if (std::isnan((*row.ci95)[i])) {
          std::snprintf(cell, sizeof(cell), " %9.2f ±    n/a", (*row.mean)[i]);  // one seed: no spread
        } else {
          std::snprintf(cell, sizeof(cell), " %9.2f ± %6.2f", (*row.mean)[i], (*row.ci95)[i]);
        }
        out << cell;
      }
      out << "\n";
    }
  };
  print(returns);
  if (report.steps.size() > 1) {
    out << "gain over step 0, paired per task (same tasks and random numbers at every step):\n";
    print(gains);
  }
  if (!group_returns.empty()) {
    out << "seed groups: mean over seeds ± 95% CI across seeds (Student's t; each seed's mean over tasks is one "
           "value):\n";
    print(group_returns);
    if (report.steps.size() > 1) {
      out << "seed groups' gain over step 0, mean over seeds ± 95% CI across seeds:\n";
      print(group_gains);
    }
  }
  if (!report.group_comparisons.empty()) {
    out << "difference between seed groups (first minus second; Welch's t over the seeds' means; clear of 0 = "
           "ahead):\n";
    print(std::vector<Row>(differences.begin(),
                           differences.begin() + static_cast<std::ptrdiff_t>(report.group_comparisons.size())));
    differences.erase(differences.begin(),
                      differences.begin() + static_cast<std::ptrdiff_t>(report.group_comparisons.size()));
  }
  if (!differences.empty()) {
    out << "difference between methods, paired per task (first minus second, the second after as many steps or "
           "at its best step; clear of 0 = ahead):\n";
    print(differences);
  }
  for (const auto& family : report.families) {
    out << "family " << family.family << " (" << family.tasks.size() << " of the tasks):\n";
    std::vector<Row> family_returns;
    std::vector<Row> family_gains;
    std::vector<Row> family_differences;
    for (const auto& method : family.methods) {
      family_returns.push_back({method.name, &method.mean, &method.ci95});
      family_gains.push_back({method.name + " gain", &method.gain_mean, &method.gain_ci95});
    }
    for (const auto& comparison : family.comparisons) {
      family_differences.push_back({comparison.a + " - " + comparison.b, &comparison.mean, &comparison.ci95});
    }
    print(family_returns);
    if (report.steps.size() > 1) print(family_gains);
    print(family_differences);
  }
  if (oracle.tasks > 0) {
    char line[512];
    std::snprintf(line, sizeof(line),
                  "oracle: one policy per task trained on that task alone (the first %d tasks; Adam %s, %d "
                  "iterations x %d rollouts = %lld episodes per task, from %s): %.2f ± %.2f; training return ",
                  oracle.tasks, json_number(oracle.learning_rate).c_str(), oracle.iterations, oracle.rollouts,
                  static_cast<long long>(oracle.iterations) * oracle.rollouts, oracle.start_theta.c_str(), oracle.mean,
                  oracle.ci95);
    out << line;
    // Five points of its training curve: whether the budget sufficed.
    const size_t last = oracle.training_curve.size() - 1;
    for (size_t q = 0; q <= 4; ++q) {
      const size_t i = last * q / 4;
      std::snprintf(line, sizeof(line), "%s%.2f (iteration %zu)", q ? ", " : "", oracle.training_curve[i], i);
      out << line;
      if (last == 0) break;
    }
    out << "\ngap to the oracle on its tasks, paired per task (oracle minus method):\n";
    std::vector<Row> gap_rows;
    for (const auto& gap : oracle.gaps) gap_rows.push_back({gap.method, &gap.mean, &gap.ci95});
    print(gap_rows);
    out << "fraction of the step-0 gap to the oracle closed (mean gain over mean gap at step 0):\n";
    for (const auto& gap : oracle.gaps) {
      out << gap.method << std::string(width - std::min(width, gap.method.size()), ' ');
      for (double closed : gap.closed) {
        if (std::isnan(closed)) {
          std::snprintf(cell, sizeof(cell), " %18s", "n/a");
        } else {
          std::snprintf(cell, sizeof(cell), " %17.1f%%", 100.0 * closed);
        }
        out << cell;
      }
      out << "\n";
    }
  }
  return out.str();
}

std::string eval_report_path(const std::string& run_dir, const std::string& split, double return_discount) {
  const std::string suffix = return_discount == 1.0 ? "" : "_discounted";
  return (fs::path(run_dir) / ("eval_" + split + suffix + ".json")).string();
}

std::string eval_report_path(const std::string& run_dir, const EvalReport& report) {
  return eval_report_path(run_dir, report.split, report.return_discount);
}

std::string eval_task_lines_path(const std::string& run_dir, const EvalReport& report) {
  const std::string report_path = eval_report_path(run_dir, report);
  return report_path.substr(0, report_path.size() - 5) + ".tasks.jsonl";  // without ".json"
}

std::string report_task_lines(const EvalReport& report) {
  std::string out;
  for (size_t t = 0; t < static_cast<size_t>(report.tasks); ++t) {
    out += "{\"task\": " + std::to_string(t) + ", \"parameters\": {";
    for (size_t p = 0; p < report.task_parameter_names.size() && t < report.task_parameters.size(); ++p) {
      out += (p ? ", " : "") + json_string(report.task_parameter_names[p]) + ": " +
             json_number(report.task_parameters[t][p]);
    }
    out += "}, \"returns\": {";
    for (size_t m = 0; m < report.methods.size(); ++m) {
      const auto& method = report.methods[m];
      out += (m ? ", " : "") + json_string(method.name) + ": [";
      for (size_t step = 0; step < method.task_returns.size(); ++step) {
        out += (step ? ", " : "") + json_number(method.task_returns[step].at(t));
      }
      out += "]";
    }
    out += "}";
    if (t < report.oracle.task_returns.size()) out += ", \"oracle\": " + json_number(report.oracle.task_returns[t]);
    out += "}\n";
  }
  return out;
}

void save_eval_report(const std::string& run_dir, const EvalReport& report) {
  write_file_atomically(eval_report_path(run_dir, report), report_json(report) + "\n");
  write_file_atomically(eval_task_lines_path(run_dir, report), report_task_lines(report));
}

}  // namespace metarl::meta
