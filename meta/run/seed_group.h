#pragma once
// Seed groups: one experiment trained with several seeds, `metarl train --seeds 1-5
// --out runs/x`, as runs/x/seed-1 … runs/x/seed-5 (each an ordinary run directory) and
// runs/x/seeds.yaml naming them. `eval` and `plot` take the group directory and report
// the mean over seeds with a 95% interval across seeds, keeping every seed's numbers
// (meta/eval/group_statistics.h).
// Torch-free.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>


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

}  // namespace metarl::meta
