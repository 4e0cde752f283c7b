#pragma once
// A training run's directory: config.yaml (the effective config), metrics.csv (one
// row per meta-iteration) and checkpoint.pt, written as meta/checkpoint.h describes.
// run_training() drives a MetaTrainer into it, from scratch or resumed.

#include <functional>
#include <memory>
#include <string>

#include "meta/collectives.h"
#include "meta/config.h"
#include "meta/iteration_metrics.h"

namespace metarl::meta {

class MetaTrainer;

// The lock file of a run directory (kept there, empty but for the holder's pid).
inline constexpr const char* kLockFile = ".lock";
// What the logging keys add to a run directory: eval_every's results (one row per
// evaluation), keep_checkpoints' copies (checkpoints/iteration-000120.pt) and
// --tensorboard's event files.
inline constexpr const char* kTrainingEvaluationsFile = "eval_during_training.csv";
inline constexpr const char* kKeptCheckpointsDir = "checkpoints";
inline constexpr const char* kTensorBoardDir = "tensorboard";
// "iteration-000120.pt": zero-padded, so that names sort by iteration.
std::string kept_checkpoint_name(int iteration);
// Whether a file named `name` in a run directory is a temporary that a crashed or
// killed metarl left: NAME.tmp.PID where NAME is a file metarl writes there (checkpoint,
// config, metrics, reports, the seed-group index) and process_alive(PID) is false.
// A run removes those at its start; every other file is the user's and stays.
bool is_stale_temporary(const std::string& name, bool (*process_alive)(long pid));
// UsageError naming `option` when `dir`, or the nearest part of it that exists, is
// not a directory (--out afile and --out afile/sub alike).
void check_can_be_directory(const std::string& option, const std::string& dir);

// A run directory is one process's at a time: an advisory lock (flock) on
// RUN_DIR/.lock, held for the object's life and released by the OS however the process
// ends — kill -9 included. Throws UsageError naming the holder's pid when another
// process holds it.
class RunDirectoryLock {
 public:
  explicit RunDirectoryLock(const std::string& run_dir);
  ~RunDirectoryLock();
  RunDirectoryLock(const RunDirectoryLock&) = delete;
  RunDirectoryLock& operator=(const RunDirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

struct TrainRunOptions {
  std::string out_dir;
  bool force = false;   // overwrite a directory that already holds a run
  bool resume = false;  // continue the run in out_dir from its checkpoint
  // Polled after every iteration; a non-zero signal number stops the run after a
  // checkpoint, with Interrupted.
  std::function<int()> stop_requested;
  // Called after every iteration (after its checkpoint, if one was due).
  std::function<void(const IterationMetrics&, MetaTrainer&)> on_iteration;
  // Called once the config was accepted and the run directory is ready, before the
  // first iteration: where a command announces the run, so that nothing is printed
  // for a run that is refused.
  std::function<void()> on_start;
  // Several processes (meta/collectives.h): each trains its share of the tasks, rank 0
  // alone writes the run directory, and a stop asked of any process stops them all
  // after the same iteration. Null: one process.
  std::shared_ptr<const Collectives> collectives;
};

// Trains into options.out_dir until config.iterations meta-iterations are done,
// holding the directory's lock (RunDirectoryLock) throughout.
// Throws UsageError (before anything is written) for a bad config, a directory that is
// locked, not writable or already holds a run (without --force; a directory whose run
// stopped before its first checkpoint is not one), or a resume whose metrics.csv lacks
// rows the checkpoint covers; Interrupted when stop_requested fired; TrainingDiverged
// (meta/trainer.h) or std::runtime_error on a failure, saying where the last good
// state is (the last checkpoint, or none yet: run again). --force removes what a
// previous run wrote (checkpoint, metrics, config, eval reports, plots) first; stale
// temporary files of writes a crash interrupted are removed at every start.
void run_training(const TrainConfig& config, const TrainRunOptions& options);

// The config of the run in `run_dir`, read from its checkpoint (the config that run
// was started with). Throws UsageError when there is no readable checkpoint.
TrainConfig resumed_config(const std::string& run_dir);

// A run's config with `iterations` raised, for `metarl train --resume RUN
// --iterations N`: the continued run ends where a run started with N iterations
// would, bit for bit. Throws UsageError naming the key when N is below the run's
// iterations, or when the run's Adam step size decays over its iterations
// (outer_lr_decay linear or cosine): the schedule spans the planned iterations, so
// raising them would change steps the run has already taken.
TrainConfig extended_config(TrainConfig resumed, int iterations);

}  // namespace metarl::meta
