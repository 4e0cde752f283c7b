#include "meta/outer_promp.h"

#include <cmath>
#include <optional>
#include <vector>

#include "agents/advantages.h"
#include "envs/errors.h"
#include "meta/phase_clock.h"

namespace metarl::meta {

using agents::ParameterList;

namespace {

// Σ over each task's valid steps / their count: [T] for x and mask [T, R, H].
torch::Tensor per_task_mean(const torch::Tensor& x, const torch::Tensor& mask) {
  return (x * mask).sum({1, 2}) / mask.sum({1, 2}).clamp_min(1.0);
}

class PrompStep final : public OuterStep {
 public:
  explicit PrompStep(const OuterStepContext& context)
      : context_(context),
        config_(context.config),
        learner_(context.learner),
        device_(context.device),
        optimizer_(make_meta_adam(config_, learner_)),
        kl_weights_(torch::full({std::max(config_.inner_steps, 1)}, promp_options(config_).kl_penalty, torch::kFloat64)) {}

  bool differentiates_adaptation() const override { return false; }

  OuterStepResult step(const MetaBatch& batch) override {
    const agents::Policy& policy = learner_.policy();
    const auto& advantage_options = config_.advantages;
    const size_t inner_steps = batch.inner.size();
    // The sampling policies, fixed for the whole batch: θ_old for inner step 0, then
    // each adapted policy that sampled the next batch, and the one that sampled `outer`.
    std::vector<ParameterList> sampling_params;
    {
      ParameterList theta_old;
      for (const auto& p : learner_.theta()) theta_old.push_back(p.detach().clone());
      sampling_params.push_back(std::move(theta_old));
      ParameterList params = sampling_params.front();
      for (size_t j = 0; j + 1 < inner_steps; ++j) {
        params = agents::detach(learner_.adapt_step(params, batch.inner[j], advantage_options, false));
        sampling_params.push_back(params);
      }
    }
    ParameterList old_adapted;
    for (const auto& p : batch.adapted) old_adapted.push_back(p.detach().clone());
    std::vector<torch::Tensor> behaviour_log_probs;
    torch::Tensor old_outer_log_probs;
    {
      torch::NoGradGuard no_grad;
      for (size_t j = 0; j < inner_steps; ++j) {
        behaviour_log_probs.push_back(
            policy.log_prob(batch.inner[j].observations, batch.inner[j].actions, sampling_params[j]));
      }
      old_outer_log_probs = policy.log_prob(batch.outer.observations, batch.outer.actions, old_adapted);
    }
    const auto outer_advantages = agents::compute_advantages(batch.outer, advantage_options);
    const bool second_order = !config_.first_order;
    const int64_t local_tasks = batch.outer.num_tasks();
    // Means over the batch's tasks, as this process's share (summed over the processes).
    auto task_mean = [&](const torch::Tensor& per_task) {
      return share_of_task_mean(per_task.mean(), context_, local_tasks);
    };

    // The objective at the current θ, α; `inner_kls` receives each inner step's mean KL.
    auto objective = [&](bool differentiable, std::vector<double>* inner_kls) {
      torch::Tensor penalty = torch::zeros({}, outer_advantages.options());
      ParameterList params = learner_.theta();
      for (size_t j = 0; j < inner_steps; ++j) {
        const auto& inner = batch.inner[j];
        const auto kl = task_mean(task_mean_kl(policy, inner.observations, sampling_params[j], params, inner.mask));
        if (inner_kls) inner_kls->push_back(all_reduce_sum(context_.collectives, kl.item<double>(), "a ProMP KL"));
        penalty = penalty + kl_weights_[static_cast<int64_t>(j)].item<double>() * kl;
        params = learner_.chain_step(params, static_cast<int>(j), static_cast<int>(inner_steps), inner,
                                     advantage_options, differentiable && second_order, behaviour_log_probs[j]);
      }
      if (inner_steps > 0) penalty = penalty / static_cast<double>(inner_steps);
      const auto log_probs = policy.log_prob(batch.outer.observations, batch.outer.actions, params);
      const auto surrogate = task_mean(clipped_surrogate_loss(log_probs, old_outer_log_probs, outer_advantages,
                                                              batch.outer.mask, promp_options(config_).clip));
      return std::make_pair(surrogate + penalty, params);
    };

    OuterStepResult result;
    set_meta_adam_learning_rate(*optimizer_, config_, batch.iteration);
    for (int epoch = 0; epoch < promp_options(config_).epochs; ++epoch) {
      std::optional<PhaseScope> meta_gradient(std::in_place, Phase::kMetaGradient);
      const auto loss = objective(/*differentiable=*/true, nullptr).first;
      const double value = all_reduce_sum(context_.collectives, loss.item<double>(), "the ProMP objective");
      if (epoch == 0) result.meta_loss = value;
      if (!std::isfinite(value)) {
        result.non_finite = "the meta-loss";
        return result;
      }
      optimizer_->zero_grad();
      loss.backward();
      all_reduce_gradients(context_, learner_);
      meta_gradient.reset();
      ParameterList gradients;
      for (const auto& p : learner_.meta_parameters()) gradients.push_back(p.grad());
      if (!all_finite(gradients)) {
        result.non_finite = "the meta-gradient";
        return result;
      }
      optimizer_->step();
    }

    // After the steps: how far the adapted policies moved (metrics.csv's kl), and each
    // inner step's KL for the adaptive penalty.
    std::vector<double> inner_kls;
    {
      const auto [loss, adapted] = objective(/*differentiable=*/false, &inner_kls);
      (void)loss;
      torch::NoGradGuard no_grad;
      result.diagnostics.push_back(
          {"kl", all_reduce_sum(context_.collectives,
                                task_mean(task_mean_kl(policy, batch.outer.observations, old_adapted,
                                                       agents::detach(adapted), batch.outer.mask))
                                    .item<double>(),
                                "the adapted policies' KL")});
    }
    if (promp_options(config_).adaptive_kl) {
      const double target = promp_options(config_).target_kl;
      for (size_t j = 0; j < inner_kls.size(); ++j) {
        auto weight = kl_weights_[static_cast<int64_t>(j)];
        if (inner_kls[j] < target / 1.5) weight.div_(2.0);
        else if (inner_kls[j] > target * 1.5) weight.mul_(2.0);
      }
    }
    return result;
  }

  void save(torch::serialize::OutputArchive& archive) const override {
    optimizer_->save(archive);
    archive.write("promp_kl_weights", kl_weights_);
  }

  void load(torch::serialize::InputArchive& archive) override {
    optimizer_->load(archive);
    move_adam_state(*optimizer_, device_);
    torch::Tensor weights;
    archive.read("promp_kl_weights", weights);
    if (weights.sizes() != kl_weights_.sizes()) {
      throw UsageError("ProMP state: " + std::to_string(weights.numel()) + " KL weights, the config has " +
                       std::to_string(kl_weights_.numel()) + " inner steps");
    }
    kl_weights_.copy_(weights);
  }

 private:
  OuterStepContext context_;
  const TrainConfig& config_;
  MetaLearner& learner_;
  torch::Device device_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  torch::Tensor kl_weights_;  // η_j per inner step, float64 [k]
};

}  // namespace

torch::Tensor clipped_surrogate_loss(const torch::Tensor& log_probs, const torch::Tensor& old_log_probs,
                                     const torch::Tensor& advantages, const torch::Tensor& mask, double clip) {
  const auto ratio = torch::exp(log_probs - old_log_probs);
  const auto clipped = torch::clamp(ratio, 1.0 - clip, 1.0 + clip);
  return -per_task_mean(torch::min(ratio * advantages, clipped * advantages), mask);
}

torch::Tensor task_mean_kl(const agents::Policy& policy, const torch::Tensor& observations,
                           const ParameterList& old_params, const ParameterList& new_params, const torch::Tensor& mask) {
  return per_task_mean(policy.kl_divergence(observations, old_params, new_params), mask);
}

std::unique_ptr<OuterStep> make_promp_step(const OuterStepContext& context) {
  if (context.config.estimator != agents::Estimator::kLvc) {
    throw UsageError("optimizer 'promp' adapts with ProMP's LVC inner objective; estimator '" +
                     agents::to_string(context.config.estimator) + "' is not it (set estimator: lvc)");
  }
  return std::make_unique<PrompStep>(context);
}

const PrompOptions& promp_options(const TrainConfig& config) {
  return config.step_options.get<PrompOptions>("promp");
}
PrompOptions& promp_options(TrainConfig& config) { return config.step_options.get<PrompOptions>("promp"); }

OuterStepTraits promp_step_traits() {
  using C = TrainConfig;
  using O = PrompOptions;
  OuterStepTraits traits;
  traits.follows_outer_lr = true;
  traits.step_size_keys = {"outer_lr", "alpha_lr_scale"};
  traits.config_keys = {
      real_key<C>("promp_clip", "ProMP: the adapted policies' likelihood ratio is clipped to [1 - clip, 1 + clip]",
                  step_option("promp", &O::clip), 1e-6, 10.0),
      int_key<C>("promp_epochs", "ProMP: outer gradient steps on each batch of samples",
                 step_option("promp", &O::epochs), 1, 1000),
      real_key<C>("promp_kl_penalty",
                  "ProMP: weight of the KL between old and new policy of every inner step, on its rollouts",
                  step_option("promp", &O::kl_penalty), 0.0, 1e6),
      bool_key<C>("promp_adaptive_kl",
                  "ProMP: halve the KL weight when that KL is below promp_target_kl / 1.5, double it above 1.5 "
                  "promp_target_kl",
                  step_option("promp", &O::adaptive_kl)),
      real_key<C>("promp_target_kl", "ProMP: the KL that promp_adaptive_kl steers towards (nats)",
                  step_option("promp", &O::target_kl), 1e-8, 10.0)};
  traits.metric_columns = {{"kl", 0.0, false}};
  // bench's estimate counts one pass of Adam's kind; ProMP's promp_epochs passes over
  // the batch are not modelled yet (bench's GFLOP figure for promp is a lower bound).
  traits.forward_passes = [](const TrainConfig& config, double /*backtracks*/) {
    // The re-adaptation: truncated steps forward and their inner gradients (3 passes),
    // differentiated ones with the backward through them (6).
    const double b = differentiated_inner_steps(config);
    return 1 + 2 + 6.0 * b + 3.0 * (config.inner_steps - b);
  };
  return traits;
}

}  // namespace metarl::meta
