#include "meta/session/run_observers.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "meta/eval/training_evaluation.h"
#include "meta/run/run_directory.h"

namespace metarl::meta {

namespace {

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

bool keeps_checkpoint_copy(const TrainConfig& config, int done) {
  return config.bookkeeping.keep_checkpoints > 0 && done % config.bookkeeping.keep_checkpoints == 0;
}

bool evaluates_during_training(const TrainConfig& config, int done) {
  return config.evaluation.every > 0 && done % config.evaluation.every == 0;
}

MetricsCsvObserver::MetricsCsvObserver(std::filesystem::path path, std::vector<std::string> columns)
    : path_(std::move(path)), columns_(std::move(columns)), file_(path_, std::ios::app) {
  if (!file_) throw std::runtime_error("cannot write '" + path_.string() + "': " + std::strerror(errno));
}

void MetricsCsvObserver::before_checkpoint(const IterationEnd& end) {
  file_ << end.metrics.csv_row(columns_) + "\n" << std::flush;
  if (!file_) throw std::runtime_error("cannot append to '" + path_.string() + "': " + std::strerror(errno));
}

TensorBoardObserver::TensorBoardObserver(const std::filesystem::path& run_dir)
    : writer_((run_dir / kTensorBoardDir).string()) {}

void TensorBoardObserver::after_checkpoint(const IterationEnd& end) {
  writer_.add_scalars(end.metrics.scalars(), end.done, unix_time());
}

void TensorBoardObserver::add_scalars(const std::vector<std::pair<std::string, double>>& values, int step) {
  writer_.add_scalars(values, step, unix_time());
}

void TensorBoardObserver::flush() { writer_.flush(); }

KeptCheckpointObserver::KeptCheckpointObserver(const TrainConfig& config, std::filesystem::path run_dir,
                                               std::string checkpoint_path)
    : config_(config), run_dir_(std::move(run_dir)), checkpoint_path_(std::move(checkpoint_path)) {}

void KeptCheckpointObserver::after_checkpoint(const IterationEnd& end) {
  if (keeps_checkpoint_copy(config_, end.done)) keep_checkpoint_copy(run_dir_, checkpoint_path_, end.done);
}

TrainingEvaluationObserver::TrainingEvaluationObserver(const TrainConfig& config, std::string checkpoint_path,
                                                       std::filesystem::path csv_path, const Collectives& collectives,
                                                       TensorBoardObserver* tensorboard)
    : config_(config),
      checkpoint_path_(std::move(checkpoint_path)),
      csv_path_(std::move(csv_path)),
      collectives_(collectives),
      tensorboard_(tensorboard) {}

void TrainingEvaluationObserver::after_checkpoint(const IterationEnd& end) {
  if (!evaluates_during_training(config_, end.done)) return;
  // Every process reads the checkpoint rank 0 has just written.
  if (collectives_.distributed()) all_reduce_sum(collectives_, 0.0, "the checkpoint to evaluate");
  const EvalReport report = evaluate_during_training(config_, checkpoint_path_, collectives_);
  if (collectives_.rank() != 0) return;
  std::ofstream evaluations(csv_path_, std::ios::app);
  evaluations << training_evaluation_row(end.done, end.metrics.env_steps, report) + "\n" << std::flush;
  if (!evaluations) throw std::runtime_error("cannot append to '" + csv_path_.string() + "': " + std::strerror(errno));
  if (tensorboard_) {
    const MethodCurve& curve = report.methods.front();
    std::vector<std::pair<std::string, double>> values;
    for (size_t step = 0; step < curve.mean.size(); ++step) {
      values.push_back({"eval_" + report.split + "/return_step_" + std::to_string(step), curve.mean[step]});
    }
    tensorboard_->add_scalars(values, end.done);
  }
}

}  // namespace metarl::meta
