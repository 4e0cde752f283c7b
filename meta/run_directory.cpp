#include "meta/run_directory.h"

#include <algorithm>
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
  MetaTrainer trainer(config, options.collectives);
  configure_threads(config.threads);
  const Collectives& collectives = trainer.collectives();
  const bool writes = collectives.rank() == 0;  // rank 0 owns the run directory

  const fs::path run_dir(options.out_dir);
  const fs::path metrics_path = run_dir / kMetricsFile;
  const std::string checkpoint_path = (run_dir / kCheckpointFile).string();
  std::error_code ec;
  if (options.resume) {
    trainer.restore(checkpoint_path);  // every process reads it: its rows' streams
  }
  // Rank 0 checks and prepares the directory; the others learn whether it could.
  std::string refused;
  bool usage = true;
  if (writes) {
    try {
      if (options.resume) {
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
    } catch (const UsageError& e) {
      refused = e.what();
    } catch (const std::exception& e) {
      refused = e.what();
      usage = false;
    }
  }
  if (all_reduce_sum(collectives, refused.empty() ? 0.0 : (usage ? 1.0 : 2.0), "whether rank 0 could use the run "
                                                                                "directory") != 0.0) {
    if (writes && usage) throw UsageError(refused);
    if (writes) throw std::runtime_error(refused);
    throw UsageError("rank 0 could not use the run directory '" + options.out_dir + "' (its message says why)");
  }

  // metrics.csv grows one complete line per iteration, flushed at once (one write),
  // so a crash loses at most the line being written; the checkpoint says how far
  // the run got, and a resume drops the rows after it.
  std::ofstream metrics_file;
  if (writes) {
    metrics_file.open(metrics_path, std::ios::app);
    if (!metrics_file) throw std::runtime_error("cannot write '" + metrics_path.string() + "'");
  }
  while (trainer.iterations_done() < config.iterations) {
    const IterationMetrics metrics = trainer.run_iteration();
    if (writes) metrics_file << metrics.csv_row() + "\n" << std::flush;
    const bool last = trainer.iterations_done() == config.iterations;
    int stop_signal = options.stop_requested ? options.stop_requested() : 0;
    if (collectives.distributed()) {
      // A stop asked of any process stops every one after this iteration; the largest
      // signal number stands for them all.
      const auto signals = collectives.all_gather(torch::full({1}, static_cast<int64_t>(stop_signal), torch::kInt64),
                                                  "the stop requests");
      for (const auto& s : signals) stop_signal = std::max(stop_signal, static_cast<int>(s.item<int64_t>()));
    }
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
