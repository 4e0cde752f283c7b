#pragma once
// Seed groups' arithmetic (meta/run/seed_group.h says what a group is): Student's t,
// the summary over seeds and the comparison of two groups. Torch-free.

#include <cstdint>
#include <string>
#include <vector>

#include "meta/eval/eval_report.h"

namespace metarl::meta {

// The two-sided 95% quantile of Student's t with `degrees` degrees of freedom (≥ 1):
// the across-seed intervals use it, since 3–5 seeds are far too few for 1.96.
// Between whole degrees (Welch's), linear in the degrees.
double student_t95(double degrees);
// Mean and 95% half-width t95(n−1)·s/√n of `values`; half-width NaN for one value (its
// spread is unknown).
void mean_and_t_ci95(const std::vector<double>& values, double& mean, double& ci95);

// The 95% half-width of mean(a) − mean(b) for two independent sets of per-seed values:
// Welch's t with Welch–Satterthwaite degrees of freedom; NaN when a side has one value
// (its spread is unknown, not zero), 0 when both sides are constant.
double welch_t_ci95(const std::vector<double>& a, const std::vector<double>& b);

// The group summary of `members` (one curve per seed, evaluated together on the same
// tasks): see GroupCurve.
GroupCurve summarize_group(const std::string& name, const std::string& group_dir,
                           const std::vector<std::uint64_t>& seeds, const std::vector<MethodCurve>& members);

// Two groups compared step by step: a's mean − b's mean, interval from Welch's t over
// the two sets of per-seed means (the seeds of a and b are independent trainings);
// NaN when a group has one seed.
std::vector<GroupComparison> compare_groups(const std::vector<GroupCurve>& groups);

}  // namespace metarl::meta
