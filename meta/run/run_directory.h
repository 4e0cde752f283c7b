#pragma once
// A training run's directory: config.yaml (the effective config), metrics.csv (one
// row per meta-iteration) and checkpoint.pt, written as meta/checkpoint.h describes,
// and what keeps it whole: its lock, resume's checks and truncation, stale temporaries,
// --force's clean-up. meta/session/training_run.h drives a MetaTrainer into it.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "envs/errors.h"
#include "meta/config.h"

namespace metarl::meta {

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

// --resume of a directory whose run stopped before its first checkpoint: nothing to
// resume, and nothing in the way of running it again.
UsageError nothing_to_resume(const std::string& run_dir);

// What a resumed run carries on from its metrics.csv: the columns and the totals of
// the last kept row (env_steps −1 when an older file has no such column).
struct MetricsHistory {
  std::vector<std::string> columns;
  std::int64_t env_steps = 0;
  double wall_clock = 0.0;
};
// metrics.csv of a resumed run: its rows must be iterations 1..covered, in order (rows
// after them are work a crash lost, dropped here). A row missing is history lost:
// UsageError, not papered over.
MetricsHistory keep_metrics_up_to(const std::filesystem::path& run_dir, const std::filesystem::path& metrics_path,
                                  int covered);
// eval_during_training.csv of a resumed run: its rows up to the checkpoint (later ones
// belong to iterations the resume runs again).
void keep_training_evaluations_up_to(const std::filesystem::path& path, int covered);
// checkpoints/iteration-N.pt: a copy of the checkpoint, written atomically.
void keep_checkpoint_copy(const std::filesystem::path& run_dir, const std::string& checkpoint_path, int iteration);
// Whether `name` is one of metarl's evaluation reports (meta/eval/eval_report.h):
// eval_SPLIT.json or eval_SPLIT_discounted.json for a split there is. A user's
// eval_notes.json is not one (train --force leaves it, plot does not read it).
bool is_evaluation_report(const std::string& name);
// Whether `name` is one of metarl's rounds reports (meta/eval/rounds_report.h):
// eval_SPLIT_rounds[_online<m>[_change_random]][_discounted].json (m > 0, no leading zero:
// online segments; _change_random: the task changing at a random step inside them).
bool is_rounds_report(const std::string& name);
// Removes the temporaries is_stale_temporary() names.
void remove_stale_temporaries(const std::filesystem::path& run_dir);
// What a run writes into its directory; --force removes every one of them that a
// previous run left (other files are the user's and stay).
void remove_previous_run(const std::filesystem::path& run_dir);

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
