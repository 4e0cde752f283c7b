#include "meta/eval/training_evaluation.h"

#include <cstdio>

#include "meta/eval/evaluation.h"

namespace metarl::meta {

// eval_every's evaluation of the checkpoint just written: `metarl eval`'s protocol,
// its default seed (the same tasks at every evaluation), every process its share.
EvalReport evaluate_during_training(const TrainConfig& config, const std::string& checkpoint_path,
                                    const Collectives& collectives) {
  EvalOptions options;
  options.checkpoints = {checkpoint_path};
  options.protocol = config.evaluation.protocol;
  options.runtime = config.runtime;  // the shared part: device, env_on_device, threads, blas_kernels
  return evaluate(options, {}, collectives);
}

std::string training_evaluation_header(int steps) {
  std::string header = "iteration,env_steps,split,tasks,rollouts";
  for (int step = 0; step <= steps; ++step) {
    header += ",return_step_" + std::to_string(step) + ",ci95_step_" + std::to_string(step);
  }
  for (int step = 1; step <= steps; ++step) {
    header += ",gain_step_" + std::to_string(step) + ",gain_ci95_step_" + std::to_string(step);
  }
  return header;
}

std::string training_evaluation_row(int iteration, std::int64_t env_steps, const EvalReport& report) {
  std::string row = std::to_string(iteration) + "," + (env_steps < 0 ? "" : std::to_string(env_steps)) + "," +
                    report.split + "," +
                    std::to_string(report.tasks) + "," + std::to_string(report.rollouts);
  char cell[64];
  const MethodCurve& curve = report.methods.front();
  for (size_t step = 0; step < curve.mean.size(); ++step) {
    std::snprintf(cell, sizeof(cell), ",%.6g,%.6g", curve.mean[step], curve.ci95[step]);
    row += cell;
  }
  for (size_t step = 1; step < curve.gain_mean.size(); ++step) {
    std::snprintf(cell, sizeof(cell), ",%.6g,%.6g", curve.gain_mean[step], curve.gain_ci95[step]);
    row += cell;
  }
  return row;
}

}  // namespace metarl::meta
