#include "meta/outer_adam.h"

#include <cmath>
#include <optional>

#include "meta/phase_clock.h"

namespace metarl::meta {

namespace {

class AdamStep final : public OuterStep {
 public:
  explicit AdamStep(const OuterStepContext& context)
      : context_(context),
        config_(context.config),
        learner_(context.learner),
        device_(context.device),
        optimizer_(make_meta_adam(config_, learner_)) {}

  bool differentiates_adaptation() const override { return true; }

  OuterStepResult step(const MetaBatch& batch) override {
    OuterStepResult result;
    std::optional<PhaseScope> meta_gradient(std::in_place, Phase::kMetaGradient);
    const auto loss = share_of_task_mean(learner_.meta_loss(batch.adapted, batch.outer, config_.advantages), context_,
                                         batch.outer.num_tasks());
    result.meta_loss = all_reduce_sum(context_.collectives, loss.item<double>(), "the meta-loss");
    if (!std::isfinite(result.meta_loss)) {
      result.non_finite = "the meta-loss";
      return result;
    }
    set_meta_adam_learning_rate(*optimizer_, config_, batch.iteration);
    optimizer_->zero_grad();
    loss.backward();
    all_reduce_gradients(context_, learner_);
    meta_gradient.reset();
    agents::ParameterList gradients;
    for (const auto& p : learner_.meta_parameters()) gradients.push_back(p.grad());
    if (!all_finite(gradients)) {
      result.non_finite = "the meta-gradient";
      return result;
    }
    optimizer_->step();
    return result;
  }

  void save(torch::serialize::OutputArchive& archive) const override { optimizer_->save(archive); }
  void load(torch::serialize::InputArchive& archive) override {
    optimizer_->load(archive);
    move_adam_state(*optimizer_, device_);
  }

 private:
  OuterStepContext context_;
  const TrainConfig& config_;
  MetaLearner& learner_;
  torch::Device device_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

}  // namespace

std::unique_ptr<OuterStep> make_adam_step(const OuterStepContext& context) {
  return std::make_unique<AdamStep>(context);
}

OuterStepTraits adam_step_traits() {
  OuterStepTraits traits;
  traits.follows_outer_lr = true;
  traits.step_size_keys = {"outer_lr", "alpha_lr_scale"};
  traits.forward_passes = [](const TrainConfig& config, double /*backtracks*/) {
    // The outer loss, and the backward through the differentiated adaptation steps.
    return 1 + 2 + 6.0 * differentiated_inner_steps(config);
  };
  return traits;
}

}  // namespace metarl::meta
