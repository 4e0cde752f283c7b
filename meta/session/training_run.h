#pragma once
// One training run: the trainer's iterations into a run directory (meta/run/
// run_directory.h), with what each iteration feeds: metrics.csv, TensorBoard,
// checkpoints and their kept copies, eval_every's evaluations (meta/eval/
// training_evaluation.h), stop signals, and the messages of a failure.

#include <functional>
#include <memory>
#include <string>

#include "meta/config.h"
#include "meta/parallel/collectives.h"
#include "meta/iteration_metrics.h"

namespace metarl::meta {

class MetaTrainer;

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
  // Several processes (meta/parallel/collectives.h): each trains its share of the tasks,
  // rank 0 alone writes the run directory, and a stop asked of any process stops them
  // all after the same iteration. One process by default.
  std::shared_ptr<const Collectives> collectives = single_process_shared();
};

// Trains into options.out_dir until config.iterations meta-iterations are done,
// holding the directory's lock (RunDirectoryLock) throughout.
// Throws UsageError (before anything is written) for a bad config, a directory that is
// locked, not writable or already holds a run (without --force; a directory whose run
// stopped before its first checkpoint is not one), or a resume whose metrics.csv lacks
// rows the checkpoint covers; Interrupted when stop_requested fired; TrainingDiverged
// (meta/trainer.h, naming the step-size keys), EnvironmentError (naming the
// environment's conformance command) or std::runtime_error on a failure, saying what
// is kept (the last checkpoint, or none yet). --force removes what a previous run wrote
// (checkpoint, metrics, config, eval reports, plots) first; stale temporary files of
// writes a crash interrupted are removed at every start.
void run_training(const TrainConfig& config, const TrainRunOptions& options);

}  // namespace metarl::meta
