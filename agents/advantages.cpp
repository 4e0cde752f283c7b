#include "agents/advantages.h"

#include "agents/baseline.h"

namespace metarl::agents {

torch::Tensor discounted_cumsum(const torch::Tensor& x, double discount) {
  const int64_t horizon = x.size(-1);
  const auto steps = torch::arange(horizon, x.options());
  const auto lag = steps.unsqueeze(0) - steps.unsqueeze(1);  // [t, j] = j − t
  const auto upper = lag.ge(0);
  // pow on the clamped lag keeps d^(negative) (and 0^negative = inf) out of the matrix.
  const auto discount_matrix = torch::where(upper, torch::pow(discount, lag.clamp_min(0)), torch::zeros_like(lag));
  return torch::matmul(x, discount_matrix.t());
}

torch::Tensor discounted_returns(const torch::Tensor& rewards, const torch::Tensor& mask, double gamma) {
  return discounted_cumsum(rewards * mask, gamma) * mask;
}

torch::Tensor generalized_advantages(const torch::Tensor& rewards, const torch::Tensor& values,
                                     const torch::Tensor& mask, double gamma, double lambda) {
  using torch::indexing::Slice;
  const auto next_mask = torch::cat({mask.index({"...", Slice(1, torch::indexing::None)}),
                                     torch::zeros_like(mask.index({"...", Slice(0, 1)}))}, -1);
  const auto next_values = torch::cat({values.index({"...", Slice(1, torch::indexing::None)}),
                                       torch::zeros_like(values.index({"...", Slice(0, 1)}))}, -1) * next_mask;
  const auto deltas = (rewards + gamma * next_values - values) * mask;
  return discounted_cumsum(deltas, gamma * lambda) * mask;
}

torch::Tensor normalize_per_task(const torch::Tensor& advantages, const torch::Tensor& mask) {
  std::vector<int64_t> reduce_dims;
  for (int64_t d = 1; d < advantages.dim(); ++d) reduce_dims.push_back(d);
  const auto count = mask.sum(reduce_dims, /*keepdim=*/true).clamp_min(1.0);
  const auto mean = (advantages * mask).sum(reduce_dims, true) / count;
  const auto centred = (advantages - mean) * mask;
  const auto std = (centred.square().sum(reduce_dims, true) / count).sqrt();
  return centred / (std + 1e-8);
}

torch::Tensor compute_advantages(const Trajectories& trajectories, const AdvantageOptions& options) {
  torch::NoGradGuard no_grad;
  const auto returns = discounted_returns(trajectories.rewards, trajectories.mask, options.gamma);
  const auto values = options.use_baseline
                          ? LinearFeatureBaseline(options.baseline_ridge).fit_predict(trajectories, returns)
                          : torch::zeros_like(returns);
  auto advantages =
      generalized_advantages(trajectories.rewards, values, trajectories.mask, options.gamma, options.gae_lambda);
  if (options.normalize) advantages = normalize_per_task(advantages, trajectories.mask);
  return advantages;
}

}  // namespace metarl::agents
