// `metarl train`: meta-train into a run directory, or continue one with --resume
// (and extend it with --resume RUN --iterations N).
// Config keys come as flags, --config and --set (apps/config_flags.h). SIGINT and SIGTERM
// stop the run after the current iteration, with a checkpoint; a second signal
// kills at once (the last checkpoint stays valid: it is written atomically).

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "apps/commands.h"
#include "apps/config_flags.h"
#include "apps/process_flags.h"
#include "envs/errors.h"
#include "envs/registry.h"
#include "meta/config.h"
#include "meta/experiment.h"
#include "meta/run/progress.h"
#include "apps/blas_restart.h"
#include "meta/parallel/blas_kernels.h"
#include "meta/parallel/launch.h"
#include "meta/run/run_directory.h"
#include "meta/session/seed_group_training.h"
#include "meta/session/training_run.h"
#include "meta/run/seed_group.h"

namespace metarl::apps {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void request_stop(int signal_number) {
  g_stop_signal = signal_number;
  std::signal(signal_number, SIG_DFL);  // a second signal is not deferred
}

struct TrainOptions {
  ConfigFlags<meta::TrainConfig> config{meta::train_config_schema()};
  std::string out_dir;
  std::string resume_dir;
  bool force = false;
  bool quiet = false;
  std::string seeds;  // --seeds: a seed group
  int jobs = 0;       // seeds trained at once; 0 → as many as the cores allow
  ProcessFlags processes;
};

// The config the user's sources give, on top of the training defaults of the
// environment they name.
meta::TrainConfig new_run_config(const TrainOptions& options, const CLI::App& command) {
  const meta::TrainConfig named = options.config.effective(command);
  meta::TrainConfig defaults = meta::environment_default_config(named.env);
  return options.config.effective(command, std::move(defaults));
}

// A resumed run continues exactly: UsageError for any config flag but --iterations
// (which may raise its length); returns whether --iterations was given.
bool check_resume_flags(const TrainOptions& options, const CLI::App& command) {
  auto given = options.config.given(command);
  const bool extended = std::find(given.begin(), given.end(), "--iterations") != given.end();
  given.erase(std::remove(given.begin(), given.end(), "--iterations"), given.end());
  if (options.force) given.push_back("--force");
  if (!options.out_dir.empty() && options.out_dir != options.resume_dir) given.push_back("--out");
  if (!given.empty()) {
    throw UsageError("--resume continues a run with its own config (only --iterations may raise its length); drop " +
                     given.front());
  }
  return extended;
}

// The config of a resumed run: its own, with at most more iterations.
meta::TrainConfig resumed_run_config(const TrainOptions& options, const CLI::App& command) {
  const bool extended = check_resume_flags(options, command);
  const meta::TrainConfig resumed = meta::resumed_config(options.resume_dir);
  return extended ? meta::extended_config(resumed, options.config.effective(command).iterations) : resumed;
}

// `train --seeds LIST --out GROUP` and `train --resume GROUP` (meta/session/
// seed_group_training.h): everything is checked here, before the first seed starts.
void run_seed_group(const TrainOptions& options, const CLI::App& command) {
  meta::SeedGroupTraining training;
  training.resume = !options.resume_dir.empty();
  const std::string group_dir = training.resume ? options.resume_dir : options.out_dir;
  if (training.resume) {
    training.group = *meta::read_seed_group(group_dir);
    // Each seed checks its own run.
    if (check_resume_flags(options, command)) training.extended_iterations = options.config.effective(command).iterations;
  } else {
    if (options.config.sets(command, "seed")) {
      throw UsageError("--seeds " + quoted_value(options.seeds) + " gives every run its seed; drop --seed");
    }
    training.group.dir = group_dir;
    training.group.seeds = meta::parse_seed_list("--seeds", options.seeds);
    // The config every seed trains with, checked here so that a bad value is one
    // message, not one per seed; kept as the group's config.yaml.
    const meta::TrainConfig config = new_run_config(options, command);
    meta::make_environment(config, 1, 0);
    meta::blas_coretype_to_start_with(config.runtime.blas_kernels, meta::blas_kernels());  // kernels it can have
    meta::check_seed_group_directory(group_dir, options.force);
    training.group.config_yaml = meta::to_yaml(config);
  }
  training.command_line = command_line();
  training.jobs = options.jobs;
  training.quiet = options.quiet;
  const int status = meta::train_seed_group(training);
  if (status != 0) throw ExitStatus{status};
}

void run_train(const TrainOptions& options, const CLI::App& command) {
  // The launcher runs this command line again as the ranks; their status is ours.
  if (!options.config.print_config() && options.processes.launched()) return;
  const auto launch = meta::launch_environment();
  const bool resume = !options.resume_dir.empty();
  if (!options.config.print_config() &&
      (!options.seeds.empty() || (resume && meta::read_seed_group(options.resume_dir)))) {
    run_seed_group(options, command);
    return;
  }
  meta::TrainConfig config = resume ? resumed_run_config(options, command) : new_run_config(options, command);
  meta::TrainRunOptions run;
  if (!options.config.print_config()) {
    restart_with_blas_kernels(config.runtime.blas_kernels);  // a resumed run gets its recorded kernels again
    run.collectives = options.processes.join();
    config.runtime.device = ProcessFlags::device_of_rank(config.runtime.device);
  }
  run.out_dir = resume ? options.resume_dir : options.out_dir;
  run.resume = resume;
  run.force = !resume && options.force;
  if (options.config.print_config()) {
    // A config that names no environment this metarl knows is not printed as if valid.
    meta::make_environment(config, 1, 0);
    std::cout << meta::to_yaml(config);
    return;
  }

  // Rank 0 speaks for the run; the others only report their errors.
  const bool quiet = options.quiet || (launch && launch->rank != 0);
  meta::ProgressReporter progress("train", meta::ProgressReporter::Mode::kAuto, quiet);
  run.on_start = [&] {
    progress.message((run.resume ? "resuming " : "training ") + meta::to_string(config.algo) + " on " + config.env +
                     ": " + std::to_string(config.iterations) + " iterations, " + std::to_string(config.meta_batch) +
                     " tasks x " + std::to_string(config.rollouts) + " rollouts, " +
                     std::to_string(config.inner_steps) + " inner step(s), device " + config.runtime.device +
                     (launch ? ", " + std::to_string(launch->world_size) + " processes" : ""));
    // Which kernels compute (meta/parallel/blas_kernels.h): the last digits depend on
    // them, and generic ones on a CPU that supports faster ones make the run slower than
    // it need be (blas_kernels: openblas on such a CPU).
    const meta::BlasKernels blas = meta::blas_kernels();
    if (!blas.core.empty()) progress.message("BLAS: " + blas.describe());
  };
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
  options->config.add_to(*command);
  command->add_option("--out", options->out_dir, "Run directory: config.yaml, metrics.csv, checkpoint.pt");
  command->add_option("--resume", options->resume_dir, "Continue the run in this directory from its checkpoint");
  command->add_flag("--force", options->force, "Overwrite a run directory that already holds a run");
  command->add_flag("-q,--quiet", options->quiet, "No progress lines");
  command->add_option("--seeds", options->seeds,
                      "Train a seed group: one run per seed in OUT/seed-N (e.g. 1-5 or 1,3,7); eval and plot take "
                      "OUT and report the mean over seeds with a 95% CI across them");
  command->add_option("--jobs", options->jobs, "Seeds of --seeds trained at once (default: one per core)")
      ->check(CLI::Range(1, 1024));
  options->processes.add_to(*command, "Train");
  command->footer(
      "Defaults shown are metarl's own; an environment's training defaults (metarl envs NAME) replace them "
      "for that environment, and --config, flags and --set come on top, in that order.");
  command->callback([options, command] {
    if (options->out_dir.empty() && options->resume_dir.empty() && !options->config.print_config()) {
      throw CLI::RequiredError("--out (or --resume)");
    }
    run_train(*options, *command);
  });
}

}  // namespace metarl::apps
