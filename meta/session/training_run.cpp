#include "meta/session/training_run.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
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
#include "meta/run/tensorboard.h"
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
  // Rank 0 locks, checks and prepares the directory; the others learn whether it could
  // (in two rounds: a resumed run's checkpoint is read by every process between them,
  // before anything in the directory changes).
  std::unique_ptr<RunDirectoryLock> lock;
  auto on_rank0 = [&](const std::function<void()>& work) {
    std::string refused;
    bool usage = true;
    if (writes) {
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
      if (writes && usage) throw UsageError(refused);
      if (writes) throw std::runtime_error(refused);
      throw UsageError("rank 0 could not use the run directory '" + options.out_dir + "' (its message says why)");
    }
  };
  on_rank0([&] {
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
  const fs::path evaluations_path = run_dir / kTrainingEvaluationsFile;
  MetricsHistory history;
  history.columns = IterationMetrics::csv_columns(config.inner_steps);
  on_rank0([&] {
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
      write_file_atomically(metrics_path.string(), IterationMetrics::csv_header(config.inner_steps) + "\n");
    }
    if (config.eval_every > 0 && !fs::exists(evaluations_path, ec)) {
      write_file_atomically(evaluations_path.string(), training_evaluation_header(config.eval_steps) + "\n");
    }
  });

  // metrics.csv grows one complete line per iteration, flushed at once (one write),
  // so a crash loses at most the line being written; the checkpoint says how far
  // the run got, and a resume drops the rows after it.
  std::ofstream metrics_file;
  if (writes) {
    metrics_file.open(metrics_path, std::ios::app);
    if (!metrics_file) throw std::runtime_error("cannot write '" + metrics_path.string() + "': " + std::strerror(errno));
  }
  // A new event file per session (TensorBoard reads every file of the folder in name
  // order); a resume's steps continue the run's.
  std::unique_ptr<TensorBoardWriter> tensorboard;
  if (writes && config.tensorboard) tensorboard = std::make_unique<TensorBoardWriter>((run_dir / kTensorBoardDir).string());
  auto unix_time = [] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  };
  if (options.on_start) options.on_start();
  int checkpointed_iteration = options.resume ? trainer.iterations_done() : 0;
  // Where the last good state is, for the message of a failure that may not repeat (a
  // full disk, a lost rank): the same command again goes on from there.
  auto last_good_state = [&] {
    if (checkpointed_iteration > 0) {
      return "the last checkpoint (iteration " + std::to_string(checkpointed_iteration) +
             ") holds the last good state; resume with `metarl train --resume " + options.out_dir + "`";
    }
    return std::string("no checkpoint was written yet: start the run again with the same command (no --force "
                       "needed)");
  };
  // A failure that repeats (the same config diverges at the same iteration, a resume
  // repeats the same steps; an environment throws the same way): what to change, and
  // what of the run is still worth having.
  auto what_is_kept = [&] {
    if (checkpointed_iteration > 0) {
      return "the last checkpoint (iteration " + std::to_string(checkpointed_iteration) +
             ") holds the last good state (`metarl eval " + options.out_dir +
             "` evaluates it); a resume repeats the same steps, so start a new run (another --out, or --force)";
    }
    return std::string("no checkpoint was written yet, so the same command fails the same way; start again with "
                       "the changed config (no --force needed)");
  };
  try {
    while (trainer.iterations_done() < config.iterations) {
      IterationMetrics metrics = trainer.run_iteration();
      if (history.env_steps >= 0) history.env_steps += metrics.iteration_env_steps;
      history.wall_clock += metrics.seconds;
      metrics.env_steps = history.env_steps;
      metrics.wall_clock = history.wall_clock;
      if (writes) {
        metrics_file << metrics.csv_row(history.columns) + "\n" << std::flush;
        if (!metrics_file) {
          throw std::runtime_error("cannot append to '" + metrics_path.string() + "': " + std::strerror(errno));
        }
      }
      const bool last = trainer.iterations_done() == config.iterations;
      int stop_signal = options.stop_requested ? options.stop_requested() : 0;
      if (collectives.distributed()) {
        // A stop asked of any process stops every one after this iteration; the largest
        // signal number stands for them all.
        const auto signals = collectives.all_gather(
            torch::full({1}, static_cast<int64_t>(stop_signal), torch::kInt64), "the stop requests");
        for (const auto& s : signals) stop_signal = std::max(stop_signal, static_cast<int>(s.item<int64_t>()));
      }
      const int done = trainer.iterations_done();
      const bool kept = config.keep_checkpoints > 0 && done % config.keep_checkpoints == 0;
      const bool evaluated = config.eval_every > 0 && done % config.eval_every == 0;
      // A kept copy and an evaluation are of a checkpoint: one is written for them.
      const bool checkpointed = done % config.checkpoint_every == 0 || last || stop_signal != 0 || kept || evaluated;
      if (checkpointed) {
        trainer.save_checkpoint(checkpoint_path);
        checkpointed_iteration = done;
      }
      if (kept && writes) keep_checkpoint_copy(run_dir, checkpoint_path, done);
      if (tensorboard) tensorboard->add_scalars(metrics.scalars(), done, unix_time());
      if (evaluated) {
        // Every process reads the checkpoint rank 0 has just written.
        if (collectives.distributed()) all_reduce_sum(collectives, 0.0, "the checkpoint to evaluate");
        const EvalReport report = evaluate_during_training(config, checkpoint_path, collectives);
        if (writes) {
          std::ofstream evaluations(evaluations_path, std::ios::app);
          evaluations << training_evaluation_row(done, metrics.env_steps, report) + "\n" << std::flush;
          if (!evaluations) {
            throw std::runtime_error("cannot append to '" + evaluations_path.string() + "': " + std::strerror(errno));
          }
        }
        if (tensorboard) {
          const MethodCurve& curve = report.methods.front();
          std::vector<std::pair<std::string, double>> values;
          for (size_t step = 0; step < curve.mean.size(); ++step) {
            values.push_back({"eval_" + report.split + "/return_step_" + std::to_string(step), curve.mean[step]});
          }
          tensorboard->add_scalars(values, done, unix_time());
        }
      }
      if (tensorboard) tensorboard->flush();
      if (options.on_iteration) options.on_iteration(metrics, trainer);
      if (stop_signal != 0 && !last) {
        throw Interrupted(stop_signal, "stopped by signal " + std::to_string(stop_signal) + " after iteration " +
                                           std::to_string(trainer.iterations_done()) +
                                           "; checkpoint saved, resume with `metarl train --resume " + options.out_dir +
                                           "`");
      }
    }
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
    // A failure of the machine (a full disk, a lost rank): where to go on from.
    throw std::runtime_error(std::string(e.what()) + "; " + last_good_state());
  }
}

}  // namespace metarl::meta
