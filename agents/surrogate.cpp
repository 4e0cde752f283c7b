#include "agents/surrogate.h"

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
}  // namespace

std::string to_string(Estimator estimator) {
  switch (estimator) {
    case Estimator::kPlain: return "plain";
    case Estimator::kDice: return "dice";
    case Estimator::kLvc: return "lvc";
  }
  return "unknown";
}

Estimator parse_estimator(const std::string& name) {
  for (auto estimator : {Estimator::kPlain, Estimator::kDice, Estimator::kLvc}) {
    if (name == to_string(estimator)) return estimator;
  }
  throw UsageError("estimator '" + name + "' is not one of: plain, dice, lvc");
}

torch::Tensor inner_objective_loss(const torch::Tensor& log_probs, const torch::Tensor& advantages,
                                   const torch::Tensor& mask, Estimator estimator) {
  switch (estimator) {
    case Estimator::kPlain:
      return reinforce_loss(log_probs, advantages, mask);
    case Estimator::kLvc:
      return -masked_task_mean(magic_box(log_probs) * advantages, mask);
    case Estimator::kDice: {
      // Σ_{t' ≤ t} log π over each rollout's valid steps: [T, R, H]. Padding after
      // the episode's end adds 0, and its advantages are 0 under the mask.
      const auto through_t = torch::cumsum(log_probs * mask, -1);
      const auto before_t = through_t - log_probs * mask;
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

}  // namespace metarl::agents
