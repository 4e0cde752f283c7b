#include "agents/surrogate.h"

#include <stdexcept>

#include "envs/errors.h"

namespace metarl::agents {

namespace {
torch::Tensor masked_task_mean(const torch::Tensor& x, const torch::Tensor& mask) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < x.dim(); ++d) dims.push_back(d);
  return (x * mask).sum(dims) / mask.sum(dims).clamp_min(1.0);
}

// DiCE's magic box □ of a log-probability sum: value 1, and every derivative of it
// is the sum's derivative times □ (so the score terms appear at every order).
torch::Tensor magic_box(const torch::Tensor& log_prob_sum) { return torch::exp(log_prob_sum - log_prob_sum.detach()); }

// ŵ = mask · Â / Σ mask per task: [T, R, H].
torch::Tensor row_weights(const torch::Tensor& advantages, const torch::Tensor& mask) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < mask.dim(); ++d) dims.push_back(d);
  return mask * advantages.detach() / mask.sum(dims, /*keepdim=*/true).clamp_min(1.0);
}

// [T, R, H] ↔ the linearisation's rows [T, N].
torch::Tensor as_rows(const torch::Tensor& x) { return x.reshape({x.size(0), -1}); }
}  // namespace

torch::Tensor inner_objective_loss(const torch::Tensor& log_probs, const torch::Tensor& advantages,
                                   const torch::Tensor& mask, Estimator estimator,
                                   const torch::Tensor& behaviour_log_probs) {
  const bool off_policy = behaviour_log_probs.defined();
  switch (estimator) {
    case Estimator::kPlain:
      if (off_policy) {
        throw std::invalid_argument("inner_objective_loss: the plain estimator has no likelihood ratio to weight "
                                    "by a behaviour policy (use lvc or dice)");
      }
      return reinforce_loss(log_probs, advantages, mask);
    case Estimator::kLvc:
      if (off_policy) return -masked_task_mean(torch::exp(log_probs - behaviour_log_probs) * advantages, mask);
      return -masked_task_mean(magic_box(log_probs) * advantages, mask);
    case Estimator::kDice: {
      // Σ_{t' ≤ t} log π over each rollout's valid steps: [T, R, H]. Padding after
      // the episode's end adds 0, and its advantages are 0 under the mask.
      const auto through_t = torch::cumsum(log_probs * mask, -1);
      const auto before_t = through_t - log_probs * mask;
      if (off_policy) {
        const auto behaviour_through_t = torch::cumsum(behaviour_log_probs * mask, -1);
        const auto behaviour_before_t = behaviour_through_t - behaviour_log_probs * mask;
        return -masked_task_mean(
            (torch::exp(through_t - behaviour_through_t) - torch::exp(before_t - behaviour_before_t)) * advantages,
            mask);
      }
      return -masked_task_mean((magic_box(through_t) - magic_box(before_t)) * advantages, mask);
    }
  }
  throw std::logic_error("inner_objective_loss: unknown estimator");
}

torch::Tensor reinforce_loss(const torch::Tensor& log_probs, const torch::Tensor& advantages,
                             const torch::Tensor& mask) {
  return -masked_task_mean(log_probs * advantages, mask);
}

torch::Tensor importance_weighted_loss(const torch::Tensor& log_probs, const torch::Tensor& old_log_probs,
                                       const torch::Tensor& advantages, const torch::Tensor& mask) {
  return -masked_task_mean(torch::exp(log_probs - old_log_probs) * advantages, mask);
}

std::vector<torch::Tensor> inner_loss_gradient(const PolicyLinearization& policy, const torch::Tensor& advantages,
                                               const torch::Tensor& mask) {
  return policy.log_prob_gradient(-as_rows(row_weights(advantages, mask)));
}

InnerLossHessian::InnerLossHessian(const PolicyLinearization& policy, const torch::Tensor& advantages,
                                   const torch::Tensor& mask, Estimator estimator)
    : estimator_(estimator), mask_(mask) {
  weights_ = row_weights(advantages, mask);
  curvature_weights_ = -as_rows(weights_);
  log_prob_hessian_ = policy.log_prob_hessian(curvature_weights_);
}

std::vector<torch::Tensor> InnerLossHessian::product(const std::vector<torch::Tensor>& v) const {
  switch (estimator_) {
    case Estimator::kPlain:
      return log_prob_hessian_->product(v, {});
    case Estimator::kLvc:
      return log_prob_hessian_->product(v, [&](const torch::Tensor& c) { return curvature_weights_ * c; });
    case Estimator::kDice:
      return log_prob_hessian_->product(v, [&](const torch::Tensor& c_rows) {
        const auto c = c_rows.reshape(mask_.sizes()) * mask_;
        const auto earlier = torch::cumsum(c, -1) - c;  // C_r
        const auto weighted = weights_ * c;
        const auto later = weighted.sum(-1, /*keepdim=*/true) - torch::cumsum(weighted, -1);  // D_r
        return -as_rows(weights_ * (c + earlier) + mask_ * later);
      });
  }
  throw std::logic_error("InnerLossHessian: unknown estimator");
}

}  // namespace metarl::agents
