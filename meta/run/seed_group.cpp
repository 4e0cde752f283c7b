#include "meta/run/seed_group.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <stdexcept>

#include "envs/errors.h"
#include "meta/checkpoint.h"
#include "meta/run/run_directory.h"
#include "meta/schema/config_schema.h"

namespace metarl::meta {

namespace fs = std::filesystem;

std::vector<std::string> SeedGroup::runs() const {
  std::vector<std::string> out;
  for (const auto seed : seeds) out.push_back(seed_run_dir(dir, seed));
  return out;
}

std::string seed_run_dir(const std::string& group_dir, std::uint64_t seed) {
  return (fs::path(group_dir) / ("seed-" + std::to_string(seed))).string();
}

std::string seed_group_config_path(const std::string& group_dir) {
  return (fs::path(group_dir) / kConfigFile).string();
}

bool has_checkpoint(const std::string& run_dir) {
  std::error_code ec;
  return fs::exists(fs::path(run_dir) / kCheckpointFile, ec);
}

std::vector<std::uint64_t> parse_seed_list(const std::string& option, const std::string& text) {
  const std::string expected = "seeds such as 1-5, 1,3,7 or 1-3,10 (at most " + std::to_string(kMaxSeeds) +
                               " distinct non-negative integers)";
  auto refuse = [&]() -> void {
    throw UsageError(option + " '" + quoted_value(text) + "': expected " + expected);
  };
  auto number = [&](const std::string& item) -> std::uint64_t {
    const std::string trimmed = config_detail::trim(item);
    if (trimmed.empty() || trimmed.size() > 18 ||
        !std::all_of(trimmed.begin(), trimmed.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      refuse();
    }
    return std::stoull(trimmed);
  };
  std::vector<std::uint64_t> seeds;
  std::set<std::uint64_t> seen;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const size_t dash = item.find('-');
    std::uint64_t low = 0;
    std::uint64_t high = 0;
    if (dash == std::string::npos) {
      low = high = number(item);
    } else {
      low = number(item.substr(0, dash));
      high = number(item.substr(dash + 1));
      if (high < low) {
        throw UsageError(option + " '" + quoted_value(text) + "': the range " + config_detail::trim(item) +
                         " is reversed (write " + std::to_string(high) + "-" + std::to_string(low) + "); expected " +
                         expected);
      }
      if (high - low >= static_cast<std::uint64_t>(kMaxSeeds)) refuse();
    }
    for (std::uint64_t seed = low;; ++seed) {
      if (!seen.insert(seed).second || seeds.size() >= static_cast<size_t>(kMaxSeeds)) refuse();
      seeds.push_back(seed);
      if (seed == high) break;
    }
    start = comma + 1;
  }
  return seeds;
}

std::optional<SeedGroup> read_seed_group(const std::string& dir) {
  const fs::path index = fs::path(dir) / kSeedGroupFile;
  std::error_code ec;
  if (!fs::is_regular_file(index, ec)) return std::nullopt;
  SeedGroup group;
  group.dir = dir;
  try {
    const YAML::Node root = YAML::Load(config_detail::read_text_file(index.string()));
    for (const auto& seed : root["seeds"]) group.seeds.push_back(seed.as<std::uint64_t>());
  } catch (const YAML::Exception& e) {
    throw UsageError("seed group '" + dir + "': " + index.string() + " is not a seed list (" + e.what() +
                     "); expected `seeds: [1, 2, ...]` as metarl train --seeds writes it");
  }
  if (group.seeds.empty()) {
    throw UsageError("seed group '" + dir + "': " + index.string() + " names no seed; expected `seeds: [1, 2, ...]`");
  }
  return group;
}

void check_seed_group_directory(const std::string& dir, bool force) {
  check_can_be_directory("--out", dir);  // a group's `afile/sub` is the same usage error as a run's
  std::error_code ec;
  if (fs::exists(fs::path(dir) / kCheckpointFile, ec)) {
    throw UsageError("--out '" + dir + "' holds a single run (" + kCheckpointFile +
                     "), not a seed group; choose another directory");
  }
  if (read_seed_group(dir) && !force) {
    throw UsageError("--out '" + dir + "' already holds a seed group (" + kSeedGroupFile + "); continue it with --resume " +
                     dir + ", choose another directory, or pass --force to train it again");
  }
}

void write_seed_group(const SeedGroup& group) {
  fs::create_directories(group.dir);
  std::string text =
      "# metarl seed group: one run directory per seed, seed-N/ (metarl train --seeds); `metarl eval` and "
      "`metarl plot` take this directory\nseeds: [";
  for (size_t i = 0; i < group.seeds.size(); ++i) text += (i ? ", " : "") + std::to_string(group.seeds[i]);
  text += "]\n";
  if (!group.config_yaml.empty()) write_file_atomically(seed_group_config_path(group.dir), group.config_yaml);
  write_file_atomically((fs::path(group.dir) / kSeedGroupFile).string(), text);
}

}  // namespace metarl::meta
