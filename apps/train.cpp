// `metarl train`: meta-train into a run directory, or continue one with --resume.
// Every config key is also a flag (--meta-batch for meta_batch, ...); values apply in
// the order: defaults, --config file, flags, --set key=value. SIGINT and SIGTERM
// stop the run after the current iteration, with a checkpoint; a second signal
// kills at once (the last checkpoint stays valid: it is written atomically).

#include <algorithm>
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "envs/errors.h"
#include "meta/config.h"
#include "meta/progress.h"
#include "meta/trainer.h"

namespace metarl::apps {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void request_stop(int signal_number) {
  g_stop_signal = signal_number;
  std::signal(signal_number, SIG_DFL);  // a second signal is not deferred
}

struct TrainOptions {
  std::string config_file;
  std::vector<std::string> overrides;               // --set key=value
  std::map<std::string, std::string> flag_values;   // config key → value given as a flag
  std::map<std::string, bool> bool_flags;           // config key → value of a boolean flag
  std::string out_dir;
  std::string resume_dir;
  bool force = false;
  bool print_config = false;
  bool quiet = false;
};

std::string flag_name(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

// The config flags the user gave, by flag name.
std::vector<std::string> given_config_flags(const CLI::App& command) {
  std::vector<std::string> given;
  for (const auto& key : meta::train_config_keys()) {
    const std::string flag = flag_name(key.name);
    if (command.count(flag) > 0 || (key.is_flag && command.count("--no-" + flag.substr(2)) > 0)) given.push_back(flag);
  }
  return given;
}

meta::TrainConfig effective_config(const TrainOptions& options, const CLI::App& command) {
  meta::TrainConfig config;
  if (!options.config_file.empty()) meta::load_config_file(config, options.config_file);
  for (const auto& key : meta::train_config_keys()) {
    const std::string flag = flag_name(key.name);
    if (key.is_flag) {
      if (command.count(flag) + command.count("--no-" + flag.substr(2)) > 0) {
        key.set(config, options.bool_flags.at(key.name) ? "true" : "false");
      }
    } else if (command.count(flag) > 0) {
      key.set(config, options.flag_values.at(key.name));
    }
  }
  for (const auto& assignment : options.overrides) meta::apply_override(config, assignment);
  return config;
}

void run_train(const TrainOptions& options, const CLI::App& command) {
  meta::TrainRunOptions run;
  meta::TrainConfig config;
  if (!options.resume_dir.empty()) {
    // A resumed run continues exactly: it takes its own config and nothing else.
    const auto given = given_config_flags(command);
    if (!given.empty() || !options.config_file.empty() || !options.overrides.empty() || options.force ||
        (!options.out_dir.empty() && options.out_dir != options.resume_dir)) {
      throw UsageError("--resume continues a run with its own config; drop " +
                       (given.empty() ? std::string("--config/--set/--out/--force") : given.front()));
    }
    config = meta::resumed_config(options.resume_dir);
    run.out_dir = options.resume_dir;
    run.resume = true;
  } else {
    config = effective_config(options, command);
    run.out_dir = options.out_dir;
    run.force = options.force;
  }
  if (options.print_config) {
    std::cout << meta::to_yaml(config);
    return;
  }

  meta::ProgressReporter progress("train", meta::ProgressReporter::Mode::kAuto, options.quiet);
  progress.message((run.resume ? "resuming " : "training ") + config.algo + " on " + config.env + ": " +
                   std::to_string(config.iterations) + " iterations, " + std::to_string(config.meta_batch) +
                   " tasks x " + std::to_string(config.rollouts) + " rollouts, " +
                   std::to_string(config.inner_steps) + " inner step(s), device " + config.device);
  double total_seconds = 0.0;
  int iterations_run = 0;
  run.on_iteration = [&](const meta::IterationMetrics& m, meta::MetaTrainer&) {
    total_seconds += m.seconds;
    ++iterations_run;
    progress.update(meta::format_progress(m, config.iterations, total_seconds / iterations_run));
  };
  g_stop_signal = 0;
  run.stop_requested = [] { return static_cast<int>(g_stop_signal); };
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  meta::run_training(config, run);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  char summary[256];
  std::snprintf(summary, sizeof(summary), "done: %d iterations in %.1f s; run directory %s", iterations_run,
                total_seconds, run.out_dir.c_str());
  progress.message(summary);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  CLI::App* command = app.add_subcommand("train", "Meta-train a policy (Meta-SGD or MAML) into a run directory");
  command->add_option("--config", options->config_file, "YAML file of config keys")->check(CLI::ExistingFile);
  command->add_option("--set", options->overrides, "Override a config key: --set key=value (repeatable)");
  command->add_option("--out", options->out_dir, "Run directory: config.yaml, metrics.csv, checkpoint.pt");
  command->add_option("--resume", options->resume_dir, "Continue the run in this directory from its checkpoint");
  command->add_flag("--force", options->force, "Overwrite a run directory that already holds a run");
  command->add_flag("--print-config", options->print_config, "Print the effective config as YAML and exit");
  command->add_flag("-q,--quiet", options->quiet, "No progress lines");
  for (const auto& key : meta::train_config_keys()) {
    const std::string flag = flag_name(key.name);
    if (key.is_flag) {
      options->bool_flags[key.name] = false;
      command->add_flag(flag + ",!--no-" + flag.substr(2), options->bool_flags[key.name], key.help);
    } else {
      options->flag_values[key.name] = "";
      // Given twice, the last value wins, as with --set.
      command->add_option(flag, options->flag_values[key.name], key.help)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }
  command->callback([options, command] {
    if (options->out_dir.empty() && options->resume_dir.empty() && !options->print_config) {
      throw CLI::RequiredError("--out (or --resume)");
    }
    run_train(*options, *command);
  });
}

}  // namespace metarl::apps
