#include "meta/session/training_run.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "envs/errors.h"
#include "envs/registry.h"
#include "meta/checkpoint.h"
#include "meta/parallel/runtime.h"
#include "meta/eval/training_evaluation.h"
#include "meta/experiment.h"
#include "meta/outer_steps.h"
#include "meta/run/run_directory.h"
#include "meta/session/run_observers.h"
#include "meta/trainer.h"

namespace metarl::meta {

namespace fs = std::filesystem;

namespace {

// The config keys that set the step sizes, with their values, for a run that diverged:
// a run with the same config diverges again.
std::string divergence_advice(const TrainConfig& config) {
  std::string keys = "inner_lr " + config_values::format_real(config.inner_lr);
  for (const auto& key : outer_step_entry(config.optimizer).traits.step_size_keys) {
    if (key == "alpha_lr_scale" && config.algo != Algorithm::kMetaSgd) continue;  // scales a learned α only
    keys += ", " + key + " " + train_config_schema().find(key)->get(config);
  }
  return "the step sizes are too large for this problem: lower " + keys + " (config keys; --set KEY=VALUE)";
}

}  // namespace

namespace {

// Runs `work` on rank 0 (which owns the run directory) and tells every process whether
// it could: a refusal there is a UsageError everywhere, a failure a runtime_error.
void on_rank0(const Collectives& collectives, const std::string& out_dir, const std::function<void()>& work) {
  std::string refused;
  bool usage = true;
  if (collectives.rank() == 0) {
    try {
      work();
    } catch (const UsageError& e) {
      refused = e.what();
    } catch (const std::exception& e) {
      refused = e.what();
      usage = false;
    }
  }
  const double outcome = refused.empty() ? 0.0 : (usage ? 1.0 : 2.0);
  if (all_reduce_sum(collectives, outcome, "whether rank 0 could use the run directory") != 0.0) {
    if (collectives.rank() == 0 && usage) throw UsageError(refused);
    if (collectives.rank() == 0) throw std::runtime_error(refused);
    throw UsageError("rank 0 could not use the run directory '" + out_dir + "' (its message says why)");
  }
}

// Rank 0 locks, checks and prepares the run directory; the others learn whether it
// could, in two rounds: a resumed run's checkpoint is read by every process between
// them (trainer.restore), before anything in the directory changes. Returns the lock
// (rank 0's; null elsewhere) and, in `history`, what metrics.csv holds so far.
std::unique_ptr<RunDirectoryLock> prepare_run_directory(const TrainConfig& config, const TrainRunOptions& options,
                                                        MetaTrainer& trainer, MetricsHistory& history) {
  const Collectives& collectives = trainer.collectives();
  const fs::path run_dir(options.out_dir);
  const std::string checkpoint_path = (run_dir / kCheckpointFile).string();
  std::error_code ec;
  std::unique_ptr<RunDirectoryLock> lock;
  on_rank0(collectives, options.out_dir, [&] {
    check_can_be_directory("--out", options.out_dir);
    if (options.resume && !fs::exists(run_dir, ec)) {
      throw UsageError("--resume '" + options.out_dir + "': no such run directory");
    }
    fs::create_directories(run_dir, ec);
    if (ec) throw std::runtime_error("cannot create run directory '" + options.out_dir + "': " + ec.message());
    lock = std::make_unique<RunDirectoryLock>(options.out_dir);
    if (::access(run_dir.c_str(), W_OK) != 0) {
      throw UsageError("run directory '" + options.out_dir + "' is not writable: " + std::strerror(errno));
    }
    remove_stale_temporaries(run_dir);
    const bool has_checkpoint = fs::exists(checkpoint_path, ec);
    if (options.resume && !has_checkpoint) throw nothing_to_resume(options.out_dir);
    if (!options.resume && has_checkpoint && !options.force) {
      throw UsageError("--out '" + options.out_dir + "' already holds a run (" + kCheckpointFile +
                       "); resume it with --resume, choose another directory, or pass --force to overwrite it");
    }
  });
  if (options.resume) trainer.restore(checkpoint_path);  // every process: its rows' streams
  const fs::path metrics_path = run_dir / kMetricsFile;
  const fs::path evaluations_path = run_dir / kTrainingEvaluationsFile;
  history.columns = IterationMetrics::csv_columns(config.inner_steps, outer_step_metric_column_names());
  on_rank0(collectives, options.out_dir, [&] {
    if (options.resume) {
      history = keep_metrics_up_to(run_dir, metrics_path, trainer.iterations_done());
      keep_training_evaluations_up_to(evaluations_path, trainer.iterations_done());
      // The same config, or one extended by extended_config: config.yaml says what the run does.
      write_file_atomically((run_dir / kConfigFile).string(), to_yaml(config));
    } else {
      // --force, or a run that stopped before its first checkpoint (config.yaml and
      // metrics.csv, nothing to resume): its files make way for this run.
      remove_previous_run(run_dir);
      write_file_atomically((run_dir / kConfigFile).string(), to_yaml(config));
      write_file_atomically(metrics_path.string(),
                            IterationMetrics::csv_header(config.inner_steps, outer_step_metric_column_names()) + "\n");
    }
    if (config.evaluation.every > 0 && !fs::exists(evaluations_path, ec)) {
      write_file_atomically(evaluations_path.string(), training_evaluation_header(config.evaluation.protocol.steps) + "\n");
    }
  });
  return lock;
}

// The observers of a run (meta/session/run_observers.h), in the order they act after
// an iteration's checkpoint: kept copies, TensorBoard, eval_every.
struct RunObservers {
  std::vector<std::unique_ptr<RunObserver>> all;
  TensorBoardObserver* tensorboard = nullptr;  // one of `all`, when config.bookkeeping.tensorboard (rank 0)
};

RunObservers make_run_observers(const TrainConfig& config, const TrainRunOptions& options, const MetricsHistory& history,
                                const Collectives& collectives) {
  const fs::path run_dir(options.out_dir);
  const std::string checkpoint_path = (run_dir / kCheckpointFile).string();
  const bool writes = collectives.rank() == 0;  // rank 0 owns the run directory
  RunObservers observers;
  if (writes) {
    observers.all.push_back(std::make_unique<MetricsCsvObserver>(run_dir / kMetricsFile, history.columns));
    if (config.bookkeeping.keep_checkpoints > 0) {
      observers.all.push_back(std::make_unique<KeptCheckpointObserver>(config, run_dir, checkpoint_path));
    }
    if (config.bookkeeping.tensorboard) {
      auto tensorboard = std::make_unique<TensorBoardObserver>(run_dir);
      observers.tensorboard = tensorboard.get();
      observers.all.push_back(std::move(tensorboard));
    }
  }
  if (config.evaluation.every > 0) {  // every process evaluates its share
    observers.all.push_back(std::make_unique<TrainingEvaluationObserver>(
        config, checkpoint_path, run_dir / kTrainingEvaluationsFile, collectives, observers.tensorboard));
  }
  return observers;
}

// The largest stop signal any process was asked for (0: none): a stop asked of one
// process stops every one after the same iteration.
int agreed_stop_signal(const TrainRunOptions& options, const Collectives& collectives) {
  int stop_signal = options.stop_requested ? options.stop_requested() : 0;
  if (collectives.distributed()) {
    const auto signals =
        collectives.all_gather(torch::full({1}, static_cast<int64_t>(stop_signal), torch::kInt64), "the stop requests");
    for (const auto& s : signals) stop_signal = std::max(stop_signal, static_cast<int>(s.item<int64_t>()));
  }
  return stop_signal;
}

// A failure's message with what to do next. One that repeats (the same config
// diverges at the same iteration, a resume repeats the same steps; an environment
// throws the same way) says what to change and what of the run is still worth having;
// one that may not (a full disk, a lost rank) says where the same command goes on from.
[[noreturn]] void rethrow_with_advice(const TrainConfig& config, const TrainRunOptions& options,
                                      const MetaTrainer& trainer, int checkpointed_iteration) {
  const std::string last_checkpoint = "the last checkpoint (iteration " + std::to_string(checkpointed_iteration) + ")";
  auto what_is_kept = [&] {
    if (checkpointed_iteration > 0) {
      return last_checkpoint + " holds the last good state (`metarl eval " + options.out_dir +
             "` evaluates it); a resume repeats the same steps, so start a new run (another --out, or --force)";
    }
    return std::string("no checkpoint was written yet, so the same command fails the same way; start again with "
                       "the changed config (no --force needed)");
  };
  auto last_good_state = [&] {
    if (checkpointed_iteration > 0) {
      return last_checkpoint + " holds the last good state; resume with `metarl train --resume " + options.out_dir + "`";
    }
    return std::string("no checkpoint was written yet: start the run again with the same command (no --force "
                       "needed)");
  };
  try {
    throw;
  } catch (const TrainingDiverged& e) {
    throw TrainingDiverged(std::string(e.what()) + "; " + divergence_advice(config) + "; " + what_is_kept());
  } catch (const EnvironmentError& e) {
    throw EnvironmentError(e.env(), std::string(e.what()) + "; the environment '" + e.env() +
                                        "' fails the same way on the same tasks and seed: " +
                                        envs::conformance_command(e.env()) + " runs its conformance checks; fix it, "
                                        "then " + (checkpointed_iteration > 0 ? "resume with `metarl train --resume " +
                                                                                    options.out_dir + "`"
                                                                              : std::string("start the run again")));
  } catch (const Interrupted&) {
    throw;
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    const std::string allocation = allocation_failure_text(e);
    if (!allocation.empty()) {
      const IterationMemory memory = iteration_memory(config, trainer.env().spec(), trainer.local_tasks());
      throw std::runtime_error(allocation + ": one meta-iteration holds " + memory.describe() +
                               " (the autograd graph more); reduce meta_batch, rollouts, horizon or hidden_sizes; " +
                               last_good_state());
    }
    throw std::runtime_error(std::string(e.what()) + "; " + last_good_state());
  }
}

}  // namespace

void run_training(const TrainConfig& config, const TrainRunOptions& options) {
  if (options.out_dir.empty()) throw UsageError("--out: a run directory is required");
  // Everything that can reject the config happens before the run directory is touched.
  MetaTrainer trainer(config, options.collectives);
  configure_threads(config.runtime.threads);
  const Collectives& collectives = trainer.collectives();
  MetricsHistory history;
  const auto lock = prepare_run_directory(config, options, trainer, history);
  RunObservers observers = make_run_observers(config, options, history, collectives);
  const std::string checkpoint_path = (fs::path(options.out_dir) / kCheckpointFile).string();
  if (options.on_start) options.on_start();
  int checkpointed_iteration = options.resume ? trainer.iterations_done() : 0;
  try {
    while (trainer.iterations_done() < config.iterations) {
      IterationMetrics metrics = trainer.run_iteration();
      if (history.env_steps >= 0) history.env_steps += metrics.iteration_env_steps;
      history.wall_clock += metrics.seconds;
      metrics.env_steps = history.env_steps;
      metrics.wall_clock = history.wall_clock;
      const int done = trainer.iterations_done();
      IterationEnd end{metrics, done, false};
      for (const auto& observer : observers.all) observer->before_checkpoint(end);
      const bool last = done == config.iterations;
      const int stop_signal = agreed_stop_signal(options, collectives);
      // A kept copy and an evaluation are of a checkpoint: one is written for them.
      end.checkpointed = done % config.bookkeeping.checkpoint_every == 0 || last || stop_signal != 0 ||
                         keeps_checkpoint_copy(config, done) || evaluates_during_training(config, done);
      if (end.checkpointed) {
        trainer.save_checkpoint(checkpoint_path);
        checkpointed_iteration = done;
      }
      for (const auto& observer : observers.all) observer->after_checkpoint(end);
      if (observers.tensorboard) observers.tensorboard->flush();
      if (options.on_iteration) options.on_iteration(metrics, trainer);
      if (stop_signal != 0 && !last) {
        throw Interrupted(stop_signal, "stopped by signal " + std::to_string(stop_signal) + " after iteration " +
                                           std::to_string(done) + "; checkpoint saved, resume with `metarl train "
                                           "--resume " + options.out_dir + "`");
      }
    }
  } catch (...) {
    rethrow_with_advice(config, options, trainer, checkpointed_iteration);
  }
}

}  // namespace metarl::meta
