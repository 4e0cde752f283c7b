#pragma once
// Meta-training: one meta-iteration samples T training tasks, rolls out θ on each,
// adapts all tasks at once (k inner steps, each on fresh rollouts of the current
// adapted policies), rolls out the adapted policies, and hands the samples to the
// outer step (meta/outer_step.h: Adam, TRPO or ProMP), which updates θ and α. The
// `pretrained` baseline runs the same loop without adaptation: policy gradient on
// rollouts of θ over the whole task distribution. The run directory around it
// (config.yaml, metrics.csv, checkpoint.pt): meta/run/run_directory.h.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "meta/config.h"
#include "meta/experiment.h"
#include "meta/iteration_metrics.h"
#include "meta/meta_learner.h"
#include "meta/outer_step.h"

namespace metarl::meta {

// A meta-iteration met a value that is not finite; nothing was applied. The message
// names the iteration and what diverged; run_training adds where the last good state is.
class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class MetaTrainer {
 public:
  // Validates the config against the environment and device (and the outer step
  // against its options); throws UsageError. With `collectives` of several processes
  // this trainer holds its share of every meta-batch's tasks (meta/parallel/collectives.h);
  // every process must be started with the same config and the same build (refused
  // otherwise, naming the rank that differs).
  explicit MetaTrainer(TrainConfig config, std::shared_ptr<const Collectives> collectives = single_process_shared());
  // The outer step holds references into the experiment: the trainer stays put.
  MetaTrainer(const MetaTrainer&) = delete;
  MetaTrainer& operator=(const MetaTrainer&) = delete;

  const TrainConfig& config() const { return experiment_.config; }
  int iterations_done() const { return iteration_; }
  MetaLearner& learner() { return *experiment_.learner; }
  const MetaLearner& learner() const { return *experiment_.learner; }
  const envs::BatchedEnv& env() const { return *experiment_.env; }
  // Tasks of every meta-batch this process holds (all of them with one process).
  int local_tasks() const { return experiment_.local_tasks; }
  const Collectives& collectives() const { return *collectives_; }

  // One meta-iteration. Throws std::runtime_error naming what diverged (θ, α,
  // returns, meta-loss, meta-gradient) when something is not finite; the outer
  // step is never applied with a non-finite gradient.
  IterationMetrics run_iteration();

  // θ, α, the outer step's state, every random-number state and the iteration count.
  // With several processes every one must call it (the environment rows' streams are
  // gathered from all); rank 0 alone writes `path`.
  void save_checkpoint(const std::string& path) const;
  // Continues from a checkpoint written by a trainer with the same config: the
  // following iterations are the ones the original run would have made. Throws
  // UsageError when the checkpoint is unreadable or belongs to another run shape.
  void restore(const std::string& checkpoint_path);

 private:
  std::shared_ptr<const Collectives> collectives_;
  Experiment experiment_;
  std::unique_ptr<OuterStep> outer_step_;
  int iteration_ = 0;
  // Totals of this trainer's iterations (IterationMetrics::env_steps, wall_clock); a
  // run directory replaces them with the run's own across resumes.
  std::int64_t env_steps_ = 0;
  double seconds_ = 0.0;
};

}  // namespace metarl::meta
