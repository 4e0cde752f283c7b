#include "meta/session/seed_group_training.h"

#include <algorithm>
#include <iostream>
#include <thread>

#include "meta/parallel/launch.h"

namespace metarl::meta {

namespace {

int jobs_for(const SeedGroupTraining& training) {
  if (training.jobs > 0) return training.jobs;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<int>(std::min<size_t>(training.group.seeds.size(), cores));
}

}  // namespace

std::vector<std::vector<std::string>> seed_command_lines(const SeedGroupTraining& training, int jobs) {
  const auto& argv_all = training.command_line;
  const auto subcommand = std::find(argv_all.begin(), argv_all.end(), training.subcommand);
  const std::vector<std::string> global_arguments(argv_all.begin(), subcommand);
  const std::vector<std::string> group_options = {"--seeds", "--jobs", "--out", "--resume"};
  std::vector<std::vector<std::string>> commands;
  for (const auto seed : training.group.seeds) {
    const std::string run_dir = seed_run_dir(training.group.dir, seed);
    std::vector<std::string> argv;
    if (!training.resume) {
      argv = without_options(argv_all, group_options);
      argv.insert(argv.end(), {"--seed", std::to_string(seed), "--out", run_dir});
    } else if (has_checkpoint(run_dir)) {
      argv = without_options(argv_all, group_options);
      argv.insert(argv.end(), {"--resume", run_dir});
    } else {
      argv = global_arguments;
      argv.insert(argv.end(), {training.subcommand, "--config", seed_group_config_path(training.group.dir), "--seed",
                               std::to_string(seed), "--out", run_dir});
      if (training.extended_iterations > 0) {
        argv.insert(argv.end(), {"--iterations", std::to_string(training.extended_iterations)});
      }
      if (training.quiet) argv.push_back("--quiet");
    }
    // Several at once would interleave their progress lines: each says only its end.
    if (jobs > 1) argv.push_back("--quiet");
    commands.push_back(std::move(argv));
  }
  return commands;
}

int train_seed_group(const SeedGroupTraining& training) {
  const SeedGroup& group = training.group;
  const int jobs = jobs_for(training);
  if (!training.resume) write_seed_group(group);
  const auto commands = seed_command_lines(training, jobs);
  if (!training.quiet) {
    std::cerr << "metarl: " << (training.resume ? "resuming" : "training") << " seed group " << group.dir << ": "
              << group.seeds.size() << " seeds, " << jobs << " at a time\n";
  }
  std::vector<std::string> failed;
  std::vector<bool> started(group.seeds.size(), false);
  const int status = run_independent_processes(commands, jobs, [&](size_t i, const std::string& line) {
    const std::string seed = "seed " + std::to_string(group.seeds[i]);
    if (line.rfind("started", 0) == 0) started[i] = true;
    const bool failure = line.rfind("exited", 0) == 0 || line.rfind("was killed", 0) == 0;
    if (failure) failed.push_back(seed + " " + line);
    if (!training.quiet || failure) {
      std::cerr << "metarl: " << seed << " (" << seed_run_dir(group.dir, group.seeds[i]) << "): " << line << "\n";
    }
  });
  if (status != 0) {
    std::string list;
    for (const auto& f : failed) list += (list.empty() ? "" : "; ") + f;
    std::string not_started;
    for (size_t i = 0; i < started.size(); ++i) {
      if (!started[i]) not_started += (not_started.empty() ? "" : ", ") + std::to_string(group.seeds[i]);
    }
    std::cerr << "metarl: seed group " << group.dir << ": " << failed.size() << " of " << group.seeds.size()
              << " seeds failed (" << list << ")" << (not_started.empty() ? "" : "; not started: seed " + not_started)
              << "; the others are complete. Continue with: metarl train --resume " << group.dir << "\n";
  }
  return status;
}

}  // namespace metarl::meta
