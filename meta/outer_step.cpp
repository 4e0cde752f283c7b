#include "meta/outer_step.h"

#include <cmath>

#include "envs/errors.h"

namespace metarl::meta {

double outer_learning_rate(const TrainConfig& config, int iteration) {
  const double progress = static_cast<double>(iteration) / config.iterations;  // in [0, 1)
  switch (config.outer_lr_decay) {
    case OuterLrDecay::kLinear: return config.outer_lr * (1.0 - progress);
    case OuterLrDecay::kCosine: return config.outer_lr * 0.5 * (1.0 + std::cos(M_PI * progress));
    case OuterLrDecay::kNone: break;
  }
  return config.outer_lr;
}

std::unique_ptr<torch::optim::Adam> make_meta_adam(const TrainConfig& config, const MetaLearner& learner) {
  if (config.alpha_lr_scale == 1.0 || !learner.learns_alpha()) {
    // One group: the checkpoint layout of every run before alpha_lr_scale existed.
    return std::make_unique<torch::optim::Adam>(learner.meta_parameters(), torch::optim::AdamOptions(config.outer_lr));
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(learner.theta(), std::make_unique<torch::optim::AdamOptions>(config.outer_lr));
  groups.emplace_back(learner.alpha(),
                      std::make_unique<torch::optim::AdamOptions>(config.outer_lr * config.alpha_lr_scale));
  return std::make_unique<torch::optim::Adam>(std::move(groups), torch::optim::AdamOptions(config.outer_lr));
}

void set_meta_adam_learning_rate(torch::optim::Adam& optimizer, const TrainConfig& config, int iteration) {
  const double learning_rate = outer_learning_rate(config, iteration);
  auto& groups = optimizer.param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    // Group 1, when there is one, is α's.
    const double scale = g == 1 ? config.alpha_lr_scale : 1.0;
    static_cast<torch::optim::AdamOptions&>(groups[g].options()).lr(learning_rate * scale);
  }
}

void move_adam_state(torch::optim::Adam& optimizer, const torch::Device& device) {
  // Whatever the map's key type (it changed across LibTorch versions), every entry is
  // one parameter's AdamParamState.
  for (auto& entry : optimizer.state()) {
    auto& state = static_cast<torch::optim::AdamParamState&>(*entry.second);
    state.exp_avg(state.exp_avg().to(device));
    state.exp_avg_sq(state.exp_avg_sq().to(device));
    if (state.max_exp_avg_sq().defined()) state.max_exp_avg_sq(state.max_exp_avg_sq().to(device));
  }
}

torch::Tensor share_of_task_mean(const torch::Tensor& local_mean, const OuterStepContext& context,
                                 int64_t local_tasks) {
  if (!context.collectives.distributed()) return local_mean;
  return local_mean * (static_cast<double>(local_tasks) / context.config.meta_batch);
}

void all_reduce_gradients(const OuterStepContext& context, const MetaLearner& learner) {
  if (!context.collectives.distributed()) return;
  std::vector<torch::Tensor> gradients;
  for (const auto& p : learner.meta_parameters()) {
    if (p.grad().defined()) gradients.push_back(p.mutable_grad());
  }
  context.collectives.all_reduce_sum(gradients, "the meta-gradient");
}

bool all_finite(const agents::ParameterList& tensors) {
  for (const auto& t : tensors) {
    if (t.defined() && !torch::isfinite(t).all().item<bool>()) return false;
  }
  return true;
}

}  // namespace metarl::meta
