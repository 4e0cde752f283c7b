#include "agents/baseline.h"

#include <stdexcept>

namespace metarl::agents {

torch::Tensor LinearFeatureBaseline::features(const Trajectories& trajectories) {
  const auto obs = trajectories.observations.to(torch::kDouble).clamp(-10.0, 10.0);
  const int64_t horizon = trajectories.horizon();
  auto time = torch::arange(horizon, obs.options()) / 100.0;  // [H]
  std::vector<int64_t> shape(obs.sizes().begin(), obs.sizes().end() - 1);
  shape.push_back(1);
  time = time.view({1, 1, horizon, 1}).expand(shape);  // [T, R, H, 1]
  return torch::cat({obs, obs.square(), time, time.square(), time.pow(3), torch::ones_like(time)}, -1);
}

torch::Tensor LinearFeatureBaseline::fit_predict(const Trajectories& trajectories, const torch::Tensor& returns) const {
  torch::NoGradGuard no_grad;
  const int64_t tasks = trajectories.num_tasks();
  const auto mask = trajectories.mask.to(torch::kDouble);
  const auto x = features(trajectories);
  const int64_t num_features = x.size(-1);
  const auto x_rows = x.reshape({tasks, -1, num_features});                      // [T, N, F]
  const auto x_valid = (x * mask.unsqueeze(-1)).reshape({tasks, -1, num_features});
  const auto y = (returns.to(torch::kDouble) * mask).reshape({tasks, -1, 1});      // [T, N, 1]
  const auto gram = x_valid.transpose(1, 2).bmm(x_valid);                         // [T, F, F]
  const auto moment = x_valid.transpose(1, 2).bmm(y);                             // [T, F, 1]
  const auto eye = torch::eye(num_features, gram.options());
  double ridge = ridge_;
  torch::Tensor coefficients;
  for (int attempt = 0; attempt < 5; ++attempt, ridge *= 10.0) {
    try {
      // at::linalg_solve, not torch::linalg::solve: LibTorch 2.11's <torch/torch.h> no
      // longer declares the torch::linalg namespace; the at:: function is in both.
      coefficients = at::linalg_solve(gram + ridge * eye, moment, /*left=*/true);
    } catch (const c10::Error&) {
      continue;  // singular at this ridge: raise it
    }
    if (torch::isfinite(coefficients).all().item<bool>()) break;
  }
  if (!coefficients.defined() || !torch::isfinite(coefficients).all().item<bool>()) {
    throw std::runtime_error("linear feature baseline: least-squares fit is not finite (returns diverged?)");
  }
  const auto values = x_rows.bmm(coefficients).reshape(mask.sizes()) * mask;
  return values.to(returns.scalar_type());
}

}  // namespace metarl::agents
