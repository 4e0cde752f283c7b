#include "meta/eval/rounds_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "meta/checkpoint.h"
#include "meta/eval/eval_report.h"
#include "meta/eval/group_statistics.h"
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

// The pairs a rounds report compares, visited as (i, j, same owner): each owner's (a
// method's or a seed group's) modes pairwise, its curves being contiguous; then, mode by
// mode, every pair of owners in report order.
template <typename Curve, typename OwnerOf, typename Visit>
void for_each_compared_pair(const std::vector<Curve>& curves, OwnerOf owner_of, Visit visit) {
  for (size_t i = 0; i < curves.size(); ++i) {
    for (size_t j = i + 1; j < curves.size() && owner_of(curves[j]) == owner_of(curves[i]); ++j) visit(i, j, true);
  }
  for (const auto& [mode, mode_name] : adaptation_mode_names()) {
    (void)mode;
    for (size_t i = 0; i < curves.size(); ++i) {
      if (curves[i].mode != mode_name) continue;
      for (size_t j = i + 1; j < curves.size(); ++j) {
        if (curves[j].mode == mode_name && owner_of(curves[j]) != owner_of(curves[i])) visit(i, j, false);
      }
    }
  }
}

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
  for_each_compared_pair(
      curves, [](const RoundsCurve& curve) { return curve.method; },
      [&](size_t i, size_t j, bool) { comparisons.push_back(compare(curves[i], curves[j])); });
  return comparisons;
}

RoundsGroupCurve summarize_rounds_group(const std::string& name, const std::string& group_dir,
                                        const std::vector<std::uint64_t>& seeds,
                                        const std::vector<const RoundsCurve*>& members) {
  if (members.empty() || members.size() != seeds.size()) {
    throw std::invalid_argument("summarize_rounds_group: one curve per seed");
  }
  RoundsGroupCurve group;
  group.name = name;
  group.group = group_dir;
  group.mode = members.front()->mode;
  group.seeds = seeds;
  const size_t rounds = members.front()->mean.size();
  for (const RoundsCurve* member : members) {
    if (member->mean.size() != rounds || member->mode != group.mode) {
      throw std::invalid_argument("summarize_rounds_group: the seeds' curves differ in rounds or mode");
    }
    group.members.push_back(member->name);
    group.seed_means.push_back(member->mean);
    group.seed_later_means.push_back(member->later_mean);
  }
  for (size_t r = 0; r < rounds; ++r) {
    std::vector<double> per_seed;
    for (const auto& seed : group.seed_means) per_seed.push_back(seed[r]);
    double mean = 0.0;
    double ci95 = 0.0;
    mean_and_t_ci95(per_seed, mean, ci95);
    group.mean.push_back(mean);
    group.ci95.push_back(ci95);
  }
  mean_and_t_ci95(group.seed_later_means, group.later_mean, group.later_ci95);
  return group;
}

namespace {

RoundsGroupComparison compare_groups_of_rounds(const RoundsGroupCurve& a, const RoundsGroupCurve& b,
                                               bool paired_by_seed) {
  RoundsGroupComparison comparison;
  comparison.a = a.name;
  comparison.b = b.name;
  comparison.paired_by_seed = paired_by_seed;
  // One round's (or the later rounds') per-seed values of each side and their means over
  // seeds (the group curves' own), compared.
  const auto difference = [&](const std::vector<double>& va, const std::vector<double>& vb, double mean_a,
                              double mean_b, double& mean, double& ci95) {
    if (paired_by_seed) {
      std::vector<double> per_seed;
      for (size_t i = 0; i < va.size(); ++i) per_seed.push_back(va[i] - vb.at(i));
      mean_and_t_ci95(per_seed, mean, ci95);
      return;
    }
    mean = mean_a - mean_b;
    ci95 = welch_t_ci95(va, vb);
  };
  for (size_t r = 0; r < a.mean.size(); ++r) {
    std::vector<double> va;
    std::vector<double> vb;
    for (const auto& seed : a.seed_means) va.push_back(seed[r]);
    for (const auto& seed : b.seed_means) vb.push_back(seed.at(r));
    double mean = 0.0;
    double ci95 = 0.0;
    difference(va, vb, a.mean[r], b.mean.at(r), mean, ci95);
    comparison.mean.push_back(mean);
    comparison.ci95.push_back(ci95);
  }
  difference(a.seed_later_means, b.seed_later_means, a.later_mean, b.later_mean, comparison.later_mean,
             comparison.later_ci95);
  return comparison;
}

}  // namespace

std::vector<RoundsGroupComparison> compare_rounds_groups(const std::vector<RoundsGroupCurve>& groups) {
  std::vector<RoundsGroupComparison> comparisons;
  // One group's modes share their seeds' θ: paired by seed. Two groups are independent.
  for_each_compared_pair(
      groups, [](const RoundsGroupCurve& group) { return group.group; },
      [&](size_t i, size_t j, bool same_group) {
        comparisons.push_back(compare_groups_of_rounds(groups[i], groups[j], /*paired_by_seed=*/same_group));
      });
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
      << ", \"task_process\": " << quoted(report.task_process) << ", \"adapt_every\": " << report.adapt_every
      << ", \"task_change_step\": " << quoted(enum_name(envs::task_change_step_names(), report.task_change_step))
      << ", \"task_change_steps\": "
      << array(report.task_change_steps, [](const std::vector<int>& round) {
           return json_text::array(round, [](int step) { return std::to_string(step); });
         })
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
        << ", \"ended_before\": " << array(curve.ended_before, num) << ", \"sequence_returns\": "
        << array(curve.sequence_returns, [&](const std::vector<double>& round) { return array(round, num); }) << "}";
  }
  out << "}, \"comparisons\": [";
  for (size_t i = 0; i < report.comparisons.size(); ++i) {
    const auto& c = report.comparisons[i];
    out << (i ? ", " : "") << "{\"a\": " << quoted(c.a) << ", \"b\": " << quoted(c.b)
        << ", \"mean\": " << array(c.mean, num) << ", \"ci95\": " << array(c.ci95, num)
        << ", \"later_mean\": " << number(c.later_mean) << ", \"later_ci95\": " << number(c.later_ci95) << "}";
  }
  out << "], \"groups\": {";
  for (size_t g = 0; g < report.groups.size(); ++g) {
    const auto& group = report.groups[g];
    out << (g ? ", " : "") << quoted(group.name) << ": {\"group\": " << quoted(group.group)
        << ", \"mode\": " << quoted(group.mode) << ", \"seeds\": "
        << array(group.seeds, [](std::uint64_t seed) { return std::to_string(seed); })
        << ", \"members\": " << array(group.members, quoted) << ", \"seed_means\": "
        << array(group.seed_means, [&](const std::vector<double>& seed) { return array(seed, num); })
        << ", \"seed_later_means\": " << array(group.seed_later_means, num) << ", \"mean\": " << array(group.mean, num)
        << ", \"ci95\": " << array(group.ci95, num) << ", \"later_mean\": " << number(group.later_mean)
        << ", \"later_ci95\": " << number(group.later_ci95) << "}";
  }
  out << "}, \"group_comparisons\": [";
  for (size_t i = 0; i < report.group_comparisons.size(); ++i) {
    const auto& c = report.group_comparisons[i];
    out << (i ? ", " : "") << "{\"a\": " << quoted(c.a) << ", \"b\": " << quoted(c.b)
        << ", \"paired_by_seed\": " << (c.paired_by_seed ? "true" : "false") << ", \"mean\": " << array(c.mean, num)
        << ", \"ci95\": " << array(c.ci95, num) << ", \"later_mean\": " << number(c.later_mean)
        << ", \"later_ci95\": " << number(c.later_ci95) << "}";
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
    out += "]";
    if (!report.task_change_steps.empty()) {
      // task_change_step random: the step of each round's segment at which this sequence's task took effect.
      out += ", \"change_steps\": [";
      for (size_t r = 0; r < report.task_change_steps.size(); ++r) {
        out += (r ? ", " : "") + std::to_string(report.task_change_steps[r].at(s));
      }
      out += "]";
    }
    out += ", \"returns\": {";
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
      << report.rollouts << " rollouts per round";
  if (report.adapt_every > 0) {
    out << "; online: round r is steps " << "(r-1)*" << report.adapt_every << ".." << "r*" << report.adapt_every
        << "-1 of one episode, its return the segment's";
    if (report.task_change_step == envs::TaskChangeStep::kRandom) {
      out << ", the task moving at a random step of each segment";
    }
  }
  out << "; mean " << return_measure(report.return_discount) << " ± 95% CI per round\n";
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
  // With seed groups the seed is the unit between methods: pairs of two groups' seeds stay
  // in the JSON only; each seed's modes keep their per-sequence comparisons.
  std::map<std::string, std::string> method_of;
  for (const auto& curve : report.curves) method_of[curve.name] = curve.method;
  std::set<std::string> members;
  for (const auto& group : report.groups) members.insert(group.members.begin(), group.members.end());
  std::vector<Row> differences;
  for (const auto& c : report.comparisons) {
    if (members.count(c.a) && members.count(c.b) && method_of.at(c.a) != method_of.at(c.b)) continue;
    differences.push_back({c.a + " - " + c.b, &c.mean, &c.ci95, c.later_mean, c.later_ci95});
  }
  std::vector<Row> group_returns;
  for (const auto& group : report.groups) {
    group_returns.push_back({group.name, &group.mean, &group.ci95, group.later_mean, group.later_ci95});
  }
  std::vector<Row> group_differences;
  for (const auto& c : report.group_comparisons) {
    group_differences.push_back({c.a + " - " + c.b, &c.mean, &c.ci95, c.later_mean, c.later_ci95});
  }
  size_t width = 12;
  for (const auto* rows : {&returns, &differences, &group_returns, &group_differences}) {
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
  const auto print_cell = [&](double mean, double ci95) {
    if (std::isnan(ci95)) {
      std::snprintf(cell, sizeof(cell), " %9.2f ±    n/a", mean);  // one seed: no spread
    } else {
      std::snprintf(cell, sizeof(cell), " %9.2f ± %6.2f", mean, ci95);
    }
    out << cell;
  };
  const auto print = [&](const std::vector<Row>& rows) {
    for (const auto& row : rows) {
      out << row.label << std::string(width - row.label.size(), ' ');
      for (size_t r = 0; r < row.mean->size(); ++r) print_cell((*row.mean)[r], (*row.ci95)[r]);
      print_cell(row.later_mean, row.later_ci95);
      out << "\n";
    }
  };
  print(returns);
  if (report.adapt_every > 0) {
    // Online segments: an episode that ended (point-nav at its goal, cartpole's fall)
    // scores 0 in every later round; how many did is part of the result.
    out << "episodes ended before the round (share of rollouts, largest over methods and modes):";
    for (int round = 0; round < report.rounds; ++round) {
      double largest = 0.0;
      for (const auto& curve : report.curves) {
        if (static_cast<size_t>(round) < curve.ended_before.size()) largest = std::max(largest, curve.ended_before[round]);
      }
      std::snprintf(cell, sizeof(cell), " %.3f", largest);
      out << cell;
    }
    out << "\n";
  }
  if (!differences.empty()) {
    out << "difference, paired per task sequence (first minus second, same tasks and random numbers; clear of 0 = "
           "ahead):\n";
    print(differences);
  }
  if (!group_returns.empty()) {
    out << "seed groups: mean over seeds ± 95% CI across seeds (Student's t; each seed's mean over task sequences is "
           "one value):\n";
    print(group_returns);
  }
  if (!group_differences.empty()) {
    out << "difference between seed groups (first minus second; one group's modes paired by seed, Student's t over "
           "the seeds' differences; two groups by Welch's t over their seeds' means; clear of 0 = ahead):\n";
    print(group_differences);
  }
  return out.str();
}

std::string rounds_report_path(const std::string& run_dir, const std::string& split, double return_discount,
                               int adapt_every, envs::TaskChangeStep change_step) {
  std::string online = adapt_every > 0 ? "_online" + std::to_string(adapt_every) : "";
  if (adapt_every > 0 && change_step == envs::TaskChangeStep::kRandom) online += "_change_random";
  const std::string suffix = return_discount == 1.0 ? "" : "_discounted";
  return (fs::path(run_dir) / ("eval_" + split + "_rounds" + online + suffix + ".json")).string();
}

std::string rounds_task_lines_path(const std::string& run_dir, const std::string& split, double return_discount,
                                   int adapt_every, envs::TaskChangeStep change_step) {
  const std::string report_path = rounds_report_path(run_dir, split, return_discount, adapt_every, change_step);
  return report_path.substr(0, report_path.size() - 5) + ".tasks.jsonl";  // without ".json"
}

void save_rounds_report(const std::string& run_dir, const RoundsReport& report) {
  write_file_atomically(
      rounds_report_path(run_dir, report.split, report.return_discount, report.adapt_every, report.task_change_step),
      rounds_report_json(report) + "\n");
  write_file_atomically(rounds_task_lines_path(run_dir, report.split, report.return_discount, report.adapt_every,
                                               report.task_change_step),
                        rounds_task_lines(report));
}

}  // namespace metarl::meta
