#pragma once
// What a training run does with each iteration, one observer per output: metrics.csv,
// TensorBoard, the kept checkpoint copies, and eval_every's evaluations. run_training
// (meta/session/training_run.h) is the loop: it runs the iteration, writes the
// checkpoint when one is due, agrees on stop signals across processes, and tells the
// observers — which write only on rank 0 and only in the run directory.

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "meta/config.h"
#include "meta/iteration_metrics.h"
#include "meta/parallel/collectives.h"
#include "meta/run/tensorboard.h"

namespace metarl::meta {

// One finished iteration as the observers see it.
struct IterationEnd {
  const IterationMetrics& metrics;  // with the run's totals (env_steps, wall_clock)
  int done = 0;                     // iterations done, this one included
  // checkpoint.pt holds this iteration (a kept copy and an evaluation are of it).
  bool checkpointed = false;
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // Before the iteration's checkpoint (metrics.csv's row: a crash between the two
  // leaves a row the checkpoint does not cover, which a resume drops).
  virtual void before_checkpoint(const IterationEnd& /*end*/) {}
  // After it, in the order the observers were added.
  virtual void after_checkpoint(const IterationEnd& /*end*/) {}
};

// metrics.csv: one complete line per iteration in the file's own columns, flushed at
// once (one write), so a crash loses at most the line being written.
class MetricsCsvObserver final : public RunObserver {
 public:
  MetricsCsvObserver(std::filesystem::path path, std::vector<std::string> columns);
  void before_checkpoint(const IterationEnd& end) override;

 private:
  std::filesystem::path path_;
  std::vector<std::string> columns_;
  std::ofstream file_;
};

// TensorBoard: the iteration's scalars, eval_every's returns per step (from
// TrainingEvaluationObserver), one event file per session (a resume's steps continue
// the run's), flushed after every iteration.
class TensorBoardObserver final : public RunObserver {
 public:
  explicit TensorBoardObserver(const std::filesystem::path& run_dir);
  void after_checkpoint(const IterationEnd& end) override;
  void add_scalars(const std::vector<std::pair<std::string, double>>& values, int step);
  void flush();

 private:
  TensorBoardWriter writer_;
};

// keep_checkpoints: a copy of the checkpoint every N iterations (meta/run/run_directory.h).
class KeptCheckpointObserver final : public RunObserver {
 public:
  KeptCheckpointObserver(const TrainConfig& config, std::filesystem::path run_dir, std::string checkpoint_path);
  void after_checkpoint(const IterationEnd& end) override;

 private:
  const TrainConfig& config_;
  std::filesystem::path run_dir_;
  std::string checkpoint_path_;
};

// eval_every: every process evaluates the checkpoint just written (meta/eval/
// training_evaluation.h); rank 0 appends the row to eval_during_training.csv and
// hands the returns to TensorBoard when it is on.
class TrainingEvaluationObserver final : public RunObserver {
 public:
  TrainingEvaluationObserver(const TrainConfig& config, std::string checkpoint_path, std::filesystem::path csv_path,
                             const Collectives& collectives, TensorBoardObserver* tensorboard);
  void after_checkpoint(const IterationEnd& end) override;

 private:
  const TrainConfig& config_;
  std::string checkpoint_path_;
  std::filesystem::path csv_path_;
  const Collectives& collectives_;
  TensorBoardObserver* tensorboard_;  // null: none (and on ranks other than 0)
};

// Whether iteration `done` is due for each of the config's every-N outputs.
bool keeps_checkpoint_copy(const TrainConfig& config, int done);
bool evaluates_during_training(const TrainConfig& config, int done);

}  // namespace metarl::meta
