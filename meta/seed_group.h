#pragma once
// Seed groups: one experiment trained with several seeds, `metarl train --seeds 1-5
// --out runs/x`, as runs/x/seed-1 … runs/x/seed-5 (each an ordinary run directory) and
// runs/x/seeds.yaml naming them. `eval` and `plot` take the group directory and report
// the mean over seeds with a 95% interval across seeds, keeping every seed's numbers.
// Torch-free.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "meta/eval_report.h"

namespace metarl::meta {

// The group's index file, written by `train --seeds` before any seed starts.
inline constexpr const char* kSeedGroupFile = "seeds.yaml";

struct SeedGroup {
  std::string dir;                   // as given
  std::vector<std::uint64_t> seeds;  // in training order
  // The effective config every seed trains with (but its seed), kept as
  // dir/config.yaml: a resume starts the seeds that have no checkpoint from it.
  std::string config_yaml;
  // Each seed's run directory: dir/seed-N.
  std::vector<std::string> runs() const;
};

// "1-5", "1,3,7", "1-3,10": at most kMaxSeeds distinct seeds. UsageError naming
// `option` and the value otherwise.
inline constexpr int kMaxSeeds = 1000;
std::vector<std::uint64_t> parse_seed_list(const std::string& option, const std::string& text);

// dir/seed-N.
std::string seed_run_dir(const std::string& group_dir, std::uint64_t seed);
// dir/config.yaml, the group's config.
std::string seed_group_config_path(const std::string& group_dir);
// Whether run_dir holds a checkpoint (checkpoint.pt) to resume.
bool has_checkpoint(const std::string& run_dir);

// The group in `dir` when it holds kSeedGroupFile; nullopt otherwise. UsageError for
// an index that cannot be read.
std::optional<SeedGroup> read_seed_group(const std::string& dir);
// Before `train --seeds` writes anything: UsageError when `dir` holds a single run, or
// already a seed group and `force` is false.
void check_seed_group_directory(const std::string& dir, bool force);
// Creates the directory and writes dir/seeds.yaml (and dir/config.yaml, when
// config_yaml is set) atomically.
void write_seed_group(const SeedGroup& group);

// The two-sided 95% quantile of Student's t with `degrees` degrees of freedom (≥ 1):
// the across-seed intervals use it, since 3–5 seeds are far too few for 1.96.
// Between whole degrees (Welch's), linear in the degrees.
double student_t95(double degrees);
// Mean and 95% half-width t95(n−1)·s/√n of `values`; half-width NaN for one value (its
// spread is unknown).
void mean_and_t_ci95(const std::vector<double>& values, double& mean, double& ci95);

// The group summary of `members` (one curve per seed, evaluated together on the same
// tasks): see GroupCurve.
GroupCurve summarize_group(const std::string& name, const std::string& group_dir,
                           const std::vector<std::uint64_t>& seeds, const std::vector<MethodCurve>& members);

// Two groups compared step by step: a's mean − b's mean, interval from Welch's t over
// the two sets of per-seed means (the seeds of a and b are independent trainings);
// NaN when a group has one seed.
std::vector<GroupComparison> compare_groups(const std::vector<GroupCurve>& groups);

}  // namespace metarl::meta
