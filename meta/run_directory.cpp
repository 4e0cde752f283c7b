#include "meta/run_directory.h"

#include <filesystem>
#include <fstream>

#include "envs/errors.h"
#include "meta/checkpoint.h"
#include "meta/runtime.h"
#include "meta/trainer.h"

namespace metarl::meta {

namespace fs = std::filesystem;

TrainConfig resumed_config(const std::string& run_dir) {
  const CheckpointData data = load_checkpoint(run_dir);
  TrainConfig config;
  load_config_yaml(config, data.config_yaml, "config of checkpoint '" + resolve_checkpoint_path(run_dir) + "'");
  return config;
}

TrainConfig extended_config(TrainConfig resumed, int iterations) {
  const std::string value = std::to_string(iterations);
  if (iterations < resumed.iterations) {
    throw UsageError("--iterations " + value + ": the run was configured for " + std::to_string(resumed.iterations) +
                     " iterations; a resumed run can only be extended");
  }
  // The step-size schedule is Adam's (adam and promp); TRPO takes no step size from it.
  if (resumed.optimizer != "trpo" && resumed.outer_lr_decay != OuterLrDecay::kNone) {
    throw UsageError("--iterations " + value + ": the run's Adam step size decays over its " +
                     std::to_string(resumed.iterations) + " iterations (outer_lr_decay " +
                     to_string(resumed.outer_lr_decay) +
                     "), so extending it would change the steps already taken; start a new run instead");
  }
  resumed.iterations = iterations;
  return resumed;
}

namespace {

// metrics.csv of a resumed run: the header and the rows of the iterations the
// checkpoint covers; rows written after it (the work a crash lost) are dropped.
void truncate_metrics(const fs::path& metrics_path, int iterations_kept) {
  std::ifstream in(metrics_path);
  std::string kept = IterationMetrics::csv_header() + "\n";
  std::string line;
  std::getline(in, line);  // header
  int rows = 0;
  while (rows < iterations_kept && std::getline(in, line)) {
    kept += line + "\n";
    ++rows;
  }
  write_file_atomically(metrics_path.string(), kept);
}

// Temporary files of an atomic write that a crash interrupted.
void remove_stale_temporaries(const fs::path& run_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) fs::remove(entry.path(), ec);
  }
}

}  // namespace

void run_training(const TrainConfig& config, const TrainRunOptions& options) {
  if (options.out_dir.empty()) throw UsageError("--out: a run directory is required");
  // Everything that can reject the config happens before the run directory is touched.
  MetaTrainer trainer(config);
  configure_threads(config.threads);

  const fs::path run_dir(options.out_dir);
  const fs::path metrics_path = run_dir / kMetricsFile;
  const std::string checkpoint_path = (run_dir / kCheckpointFile).string();
  std::error_code ec;
  if (options.resume) {
    trainer.restore(checkpoint_path);
    remove_stale_temporaries(run_dir);
    truncate_metrics(metrics_path, trainer.iterations_done());
    // The same config, or one extended by extended_config: config.yaml says what the run does.
    write_file_atomically((run_dir / kConfigFile).string(), to_yaml(config));
  } else {
    if (fs::exists(run_dir, ec) && !fs::is_directory(run_dir, ec)) {
      throw UsageError("--out '" + options.out_dir + "' exists and is not a directory");
    }
    for (const char* file : {kCheckpointFile, kMetricsFile}) {
      if (fs::exists(run_dir / file, ec) && !options.force) {
        throw UsageError("--out '" + options.out_dir + "' already holds a run (" + file +
                         "); resume it with --resume, choose another directory, or pass --force to overwrite it");
      }
    }
    fs::create_directories(run_dir, ec);
    if (ec) throw std::runtime_error("cannot create run directory '" + options.out_dir + "': " + ec.message());
    write_file_atomically((run_dir / kConfigFile).string(), to_yaml(config));
    write_file_atomically(metrics_path.string(), IterationMetrics::csv_header() + "\n");
  }

  // metrics.csv grows one complete line per iteration, flushed at once (one write),
  // so a crash loses at most the line being written; the checkpoint says how far
  // the run got, and a resume drops the rows after it.
  std::ofstream metrics_file(metrics_path, std::ios::app);
  if (!metrics_file) throw std::runtime_error("cannot write '" + metrics_path.string() + "'");
  while (trainer.iterations_done() < config.iterations) {
    const IterationMetrics metrics = trainer.run_iteration();
    metrics_file << metrics.csv_row() + "\n" << std::flush;
    const bool last = trainer.iterations_done() == config.iterations;
    const int stop_signal = options.stop_requested ? options.stop_requested() : 0;
    const bool checkpointed = trainer.iterations_done() % config.checkpoint_every == 0 || last || stop_signal != 0;
    if (checkpointed) trainer.save_checkpoint(checkpoint_path);
    if (options.on_iteration) options.on_iteration(metrics, trainer);
    if (stop_signal != 0 && !last) {
      throw Interrupted(stop_signal, "stopped by signal " + std::to_string(stop_signal) + " after iteration " +
                                         std::to_string(trainer.iterations_done()) + "; checkpoint saved, resume with "
                                         "`metarl train --resume " + options.out_dir + "`");
    }
  }
}

}  // namespace metarl::meta
