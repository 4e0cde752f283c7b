#pragma once
// The outer step: how one meta-iteration's samples update the meta-parameters θ (and
// Meta-SGD's α). One interface, one implementation per file pair, chosen by name
// from one registry (meta/outer_steps.h):
//
//   adam   meta/outer_adam.h    Adam on the REINFORCE meta-objective, differentiated
//                               through the inner steps
//   trpo   meta/outer_trpo.h    MAML's TRPO: a KL trust region on the adapted policies
//   promp  meta/outer_promp.h   ProMP (Rothfuss et al. 2019): clipped surrogate with a
//                               KL penalty, several gradient steps per batch
//
// A new outer step is one new file pair implementing OuterStep and its OuterStepTraits
// plus its line in the registry (and config keys for its options): the trainer, checkpoints, evaluation
// and the command line need no change (docs/architecture.md, "Add an outer step").

#include <torch/torch.h>

#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "agents/policy.h"
#include "agents/trajectories.h"
#include "meta/parallel/collectives.h"
#include "meta/config.h"
#include "meta/iteration_metrics.h"
#include "meta/meta_learner.h"

namespace metarl::meta {

// One meta-iteration's samples, as the outer step sees them.
struct MetaBatch {
  // The data of each adaptation step, in order: inner[j] was sampled by the policy
  // after j steps. Empty for the pretrained baseline (no adaptation in training).
  std::vector<agents::Trajectories> inner;
  // θ' of each task after the inner steps ([T, …]), which sampled `outer`; θ itself
  // for the pretrained baseline. It keeps the inner steps' graph back to θ and α
  // when the step differentiates_adaptation() (and first_order is off).
  agents::ParameterList adapted;
  agents::Trajectories outer;  // the meta-objective's data
  int iteration = 0;           // 0-based index of this meta-iteration
};

// What a step reports into metrics.csv.
struct OuterStepResult {
  double meta_loss = 0;  // its objective before the step (adam: REINFORCE; trpo: surrogate; promp: ProMP's)
  // The step's own diagnostics, by the metrics.csv column its traits declare
  // (OuterStepTraits::metric_columns): trpo's kl, backtracks, surrogate_improvement;
  // promp's kl.
  std::vector<StepMetric> diagnostics;
  // "" when the step went through (or was rejected cleanly); otherwise what was not
  // finite — "the meta-loss", "the meta-gradient", … — and nothing was applied.
  std::string non_finite;
};

// What a step is built from. The learner and the collectives outlive it.
struct OuterStepContext {
  const TrainConfig& config;
  MetaLearner& learner;
  torch::Device device;
  // With several processes each holds part of the meta-batch's tasks (MetaBatch is
  // that part): a step's means over tasks are this process's sums / config.meta_batch,
  // summed over the processes, as are its gradients and curvature products.
  const Collectives& collectives = single_process();
};

// A mean over the meta-batch's tasks from this process's mean over its own:
// `local_mean` · local_tasks / meta_batch, to be summed over the processes. The
// one-process mean itself, untouched (bit for bit), when there is one process.
torch::Tensor share_of_task_mean(const torch::Tensor& local_mean, const OuterStepContext& context, int64_t local_tasks);
// Sums the meta-parameters' gradients over the processes (no-op in one).
void all_reduce_gradients(const OuterStepContext& context, const MetaLearner& learner);

class OuterStep {
 public:
  virtual ~OuterStep() = default;
  // True when the step differentiates the meta-objective through batch.adapted, so the
  // meta-iteration must keep the inner steps' graph (create_graph). TRPO and ProMP
  // re-adapt from θ and α inside their own evaluations and need none.
  virtual bool differentiates_adaptation() const = 0;
  // Updates the learner's meta-parameters in place. Never applies a non-finite update.
  virtual OuterStepResult step(const MetaBatch& batch) = 0;
  // The step's own state for checkpoints (Adam's moments, ProMP's KL weight), in a
  // sub-archive of the checkpoint; a resumed run continues bit for bit.
  virtual void save(torch::serialize::OutputArchive& archive) const = 0;
  virtual void load(torch::serialize::InputArchive& archive) = 0;
};

using OuterStepFactory = std::function<std::unique_ptr<OuterStep>(const OuterStepContext&)>;

// What the rest of metarl asks of an outer step without building one, so that nothing
// outside the registry compares `optimizer` names. Each step's file declares its own.
struct OuterStepTraits {
  // Takes Adam's step size, outer_lr under the outer_lr_decay schedule (and α's share,
  // alpha_lr_scale): a resumed run whose schedule decays cannot be extended.
  bool follows_outer_lr = true;
  // Differentiates through the adaptation with the `kernels` key's choice (analytic
  // kernels or autograd); the others always use autograd.
  bool follows_kernels = false;
  // The config keys (besides inner_lr) that set how far one step moves θ and α, in the
  // order a diverged run's message names them with their values.
  std::vector<std::string> step_size_keys;
  // Forward-pass equivalents over the meta-batch's samples of the step itself (after
  // sampling and the inner steps), for bench's FLOP estimate; `backtracks` is the mean
  // number of line-search shrinks (TRPO's).
  std::function<double(const TrainConfig& config, double backtracks)> forward_passes;
  // The config keys of the step's own options (its struct in config.step_options,
  // bound with step_option()), in the order `--print-config` lists them.
  std::vector<ConfigKey<TrainConfig>> config_keys;
  // The metrics.csv columns the step reports in OuterStepResult::diagnostics. Every
  // run's metrics.csv has every registered step's columns (one header for all steps,
  // so runs compare column by column); a step that does not report one writes its
  // `absent` value there. Two steps declaring the same name declare the same column.
  std::vector<StepMetricColumn> metric_columns;
};

// A config key's field inside step `step`'s options struct, e.g.
// step_option("trpo", &TrpoOptions::max_kl); reading a const config writes nothing.
template <typename Options, typename T>
FieldRef<TrainConfig, T> step_option(const std::string& step, T Options::*member) {
  return {[step, member](TrainConfig& config) -> T& { return config.step_options.get<Options>(step).*member; },
          [step, member](const TrainConfig& config) -> const T& {
            return config.step_options.get<Options>(step).*member;
          }};
}

struct OuterStepEntry {
  std::string name;         // the `optimizer` config value
  std::string description;  // for the config key's help
  OuterStepFactory make;
  OuterStepTraits traits;
};

// Adam's step size for meta-iteration `iteration` (0-based) of config.iterations
// under config.outer_lr_decay (adam and promp).
double outer_learning_rate(const TrainConfig& config, int iteration);

// True when every defined tensor is finite.
bool all_finite(const agents::ParameterList& tensors);

// Adam over the learner's meta-parameters at config.outer_lr: one parameter group, or,
// with alpha_lr_scale ≠ 1 and a learned α, θ's group and α's group at the scaled step.
std::unique_ptr<torch::optim::Adam> make_meta_adam(const TrainConfig& config, const MetaLearner& learner);
// Sets the step size of meta-iteration `iteration` on every group (α's scaled).
void set_meta_adam_learning_rate(torch::optim::Adam& optimizer, const TrainConfig& config, int iteration);

// Moves Adam's moments to `device` after Optimizer::load: checkpoints load their
// tensors on the CPU (meta/checkpoint.h), so a run resumed on a GPU — or a GPU run
// resumed on the CPU — would otherwise step with moments on the other device.
void move_adam_state(torch::optim::Adam& optimizer, const torch::Device& device);

}  // namespace metarl::meta
