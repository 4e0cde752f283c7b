#pragma once
// A seed group's training (`metarl train --seeds LIST --out GROUP`, `--resume GROUP`):
// one run per seed, each an ordinary run directory GROUP/seed-N trained by its own
// process (the same command line with its own --seed and --out, so a seed is exactly
// the run `--seed N` trains), at most `jobs` at a time (meta/parallel/launch.h). A
// resume continues every seed that has a checkpoint and starts the others (never
// started, or stopped before their first checkpoint) from the group's config.yaml.

#include <cstdint>
#include <string>
#include <vector>

#include "meta/run/seed_group.h"

namespace metarl::meta {

struct SeedGroupTraining {
  // The group: its directory, seeds and (for a new group) the config every seed trains
  // with, already checked by the caller; a new group's index is written here.
  SeedGroup group;
  bool resume = false;
  // This process's command line (argv), from which each seed's is made: the arguments
  // before `subcommand` (--plugin LIB …) are kept for seeds started from config.yaml.
  std::vector<std::string> command_line;
  std::string subcommand = "train";
  // A resume that raises the run's length to this many iterations (0: it does not).
  int extended_iterations = 0;
  int jobs = 0;        // seeds trained at once; 0 → as many as the cores (and seeds) allow
  bool quiet = false;  // only failures are reported
};

// Each seed's command line, in the group's order.
std::vector<std::vector<std::string>> seed_command_lines(const SeedGroupTraining& training, int jobs);

// Trains (or resumes) every seed; progress and failures go to stderr as
// "metarl: seed N (GROUP/seed-N): …". Returns 0, or the first failure's status (the
// exit code, or 128 + signal) after saying which seeds failed, which never started,
// and how to continue.
int train_seed_group(const SeedGroupTraining& training);

}  // namespace metarl::meta
