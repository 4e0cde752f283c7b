// `metarl train`: meta-train into a run directory. Every config key is also a flag
// (--meta-batch for meta_batch, ...); values apply in the order: defaults, --config
// file, flags, --set key=value.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "meta/config.h"
#include "meta/trainer.h"

namespace metarl::apps {

namespace {

struct TrainOptions {
  std::string config_file;
  std::vector<std::string> overrides;  // --set key=value
  std::map<std::string, std::string> flag_values;  // config key → value given as a flag
  std::map<std::string, bool> bool_flags;           // config key → value of a boolean flag
  std::string out_dir;
  bool force = false;
  bool print_config = false;
  bool quiet = false;
};

std::string flag_name(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
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
  const meta::TrainConfig config = effective_config(options, command);
  if (options.print_config) {
    std::cout << meta::to_yaml(config);
    return;
  }
  auto log = spdlog::stderr_color_mt("train");
  log->set_pattern("[%H:%M:%S] %v");
  if (options.quiet) log->set_level(spdlog::level::warn);
  log->info("training {} on {}: {} iterations, {} tasks x {} rollouts, {} inner step(s), device {}", config.algo,
            config.env, config.iterations, config.meta_batch, config.rollouts, config.inner_steps, config.device);

  meta::TrainRunOptions run;
  run.out_dir = options.out_dir;
  run.force = options.force;
  double total_seconds = 0.0;
  run.on_iteration = [&](const meta::IterationMetrics& m) {
    total_seconds += m.seconds;
    log->info("{}", meta::format_progress(m, config.iterations, total_seconds / m.iteration));
  };
  meta::run_training(config, run);
  log->info("done: {} iterations in {:.1f} s; run directory {}", config.iterations, total_seconds, options.out_dir);
  spdlog::drop("train");
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  CLI::App* command = app.add_subcommand("train", "Meta-train a policy (Meta-SGD or MAML) into a run directory");
  command->add_option("--config", options->config_file, "YAML file of config keys")->check(CLI::ExistingFile);
  command->add_option("--set", options->overrides, "Override a config key: --set key=value (repeatable)");
  command->add_option("--out", options->out_dir, "Run directory: config.yaml, metrics.csv, checkpoint.pt");
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
    if (options->out_dir.empty() && !options->print_config) {
      throw CLI::RequiredError("--out");
    }
    run_train(*options, *command);
  });
}

}  // namespace metarl::apps
