#include "meta/eval/group_statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace metarl::meta {

double student_t95(double degrees) {
  if (!(degrees >= 1.0)) throw std::invalid_argument("student_t95: at least one degree of freedom");
  // Between whole degrees (Welch's are fractional): linear between the two neighbours.
  const double whole = std::floor(degrees);
  if (degrees != whole) {
    const double low = student_t95(whole);
    const double high = student_t95(whole + 1.0);
    return low + (degrees - whole) * (high - low);
  }
  // Two-sided 95% quantiles t(0.975, ν), ν = 1..30, then 40, 60, 120 and ∞.
  static const double kTable[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                  2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                  2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (degrees <= 30) return kTable[static_cast<int>(degrees) - 1];
  // Beyond the table, linear in 1/ν between the standard points (exact at each).
  const double points[][2] = {{30, 2.042}, {40, 2.021}, {60, 2.000}, {120, 1.980}};
  for (int i = 0; i < 3; ++i) {
    if (degrees <= points[i + 1][0]) {
      const double u = (1.0 / degrees - 1.0 / points[i][0]) / (1.0 / points[i + 1][0] - 1.0 / points[i][0]);
      return points[i][1] + u * (points[i + 1][1] - points[i][1]);
    }
  }
  const double u = (1.0 / degrees) / (1.0 / 120.0);
  return 1.960 + u * (1.980 - 1.960);
}

void mean_and_t_ci95(const std::vector<double>& values, double& mean, double& ci95) {
  if (values.empty()) throw std::invalid_argument("mean_and_t_ci95: no values");
  const double n = static_cast<double>(values.size());
  mean = 0.0;
  for (double v : values) mean += v;
  mean /= n;
  // One seed says nothing of how much another would differ: no interval.
  ci95 = std::numeric_limits<double>::quiet_NaN();
  if (values.size() < 2) return;
  double sum_squares = 0.0;
  for (double v : values) sum_squares += (v - mean) * (v - mean);
  ci95 = student_t95(static_cast<int>(values.size()) - 1) * std::sqrt(sum_squares / (n - 1.0) / n);
}

double welch_t_ci95(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.empty() || b.empty()) throw std::invalid_argument("welch_t_ci95: no values");
  // A side with one seed has no measured spread: no interval.
  if (a.size() < 2 || b.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  // The squared standard error of one side's mean.
  const auto squared_error = [](const std::vector<double>& v) {
    double mean = 0.0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    double s = 0.0;
    for (double x : v) s += (x - mean) * (x - mean);
    return s / static_cast<double>(v.size() - 1) / static_cast<double>(v.size());
  };
  const double na = static_cast<double>(a.size());
  const double nb = static_cast<double>(b.size());
  const double sa = squared_error(a);
  const double sb = squared_error(b);
  if (!(sa + sb > 0.0)) return 0.0;
  const double degrees = (sa + sb) * (sa + sb) / (sa * sa / (na - 1) + sb * sb / (nb - 1));
  return student_t95(std::max(1.0, degrees)) * std::sqrt(sa + sb);
}

GroupCurve summarize_group(const std::string& name, const std::string& group_dir,
                           const std::vector<std::uint64_t>& seeds, const std::vector<MethodCurve>& members) {
  if (members.empty() || members.size() != seeds.size()) {
    throw std::invalid_argument("summarize_group: one curve per seed");
  }
  GroupCurve group;
  group.name = name;
  group.algorithm = members.front().algorithm;
  group.group = group_dir;
  group.seeds = seeds;
  const size_t steps = members.front().mean.size();
  const size_t tasks = members.front().task_returns.front().size();
  for (const auto& member : members) {
    if (member.mean.size() != steps || member.task_returns.front().size() != tasks) {
      throw std::invalid_argument("summarize_group: the seeds' curves differ in steps or tasks");
    }
    group.members.push_back(member.name);
    group.seed_means.push_back(member.mean);
  }
  for (size_t step = 0; step < steps; ++step) {
    std::vector<double> per_seed;
    std::vector<double> gains;
    for (const auto& member : members) {
      per_seed.push_back(member.mean[step]);
      gains.push_back(member.mean[step] - member.mean[0]);
    }
    double mean = 0.0;
    double ci95 = 0.0;
    mean_and_t_ci95(per_seed, mean, ci95);
    group.mean.push_back(mean);
    group.ci95.push_back(ci95);
    mean_and_t_ci95(gains, mean, ci95);
    group.gain_mean.push_back(mean);
    group.gain_ci95.push_back(ci95);
    // Per task, the mean over seeds; then the usual interval over tasks.
    std::vector<double> per_task(tasks, 0.0);
    for (const auto& member : members) {
      for (size_t t = 0; t < tasks; ++t) per_task[t] += member.task_returns[step][t] / static_cast<double>(members.size());
    }
    double task_mean = 0.0;
    double task_ci95 = 0.0;
    mean_and_ci95(per_task, task_mean, task_ci95);
    group.ci95_tasks.push_back(task_ci95);
  }
  return group;
}

std::vector<GroupComparison> compare_groups(const std::vector<GroupCurve>& groups) {
  std::vector<GroupComparison> comparisons;
  for (size_t i = 0; i < groups.size(); ++i) {
    for (size_t j = i + 1; j < groups.size(); ++j) {
      const GroupCurve& a = groups[i];
      const GroupCurve& b = groups[j];
      GroupComparison comparison;
      comparison.a = a.name;
      comparison.b = b.name;
      for (size_t step = 0; step < a.mean.size() && step < b.mean.size(); ++step) {
        std::vector<double> va;
        std::vector<double> vb;
        for (const auto& seed : a.seed_means) va.push_back(seed[step]);
        for (const auto& seed : b.seed_means) vb.push_back(seed[step]);
        comparison.mean.push_back(a.mean[step] - b.mean[step]);
        comparison.ci95.push_back(welch_t_ci95(va, vb));
      }
      comparisons.push_back(std::move(comparison));
    }
  }
  return comparisons;
}

}  // namespace metarl::meta
