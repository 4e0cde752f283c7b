#include "agents/surrogate.h"

namespace metarl::agents {

namespace {
torch::Tensor masked_task_mean(const torch::Tensor& x, const torch::Tensor& mask) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < x.dim(); ++d) dims.push_back(d);
  return (x * mask).sum(dims) / mask.sum(dims).clamp_min(1.0);
}
}  // namespace

torch::Tensor reinforce_loss(const torch::Tensor& log_probs, const torch::Tensor& advantages,
                             const torch::Tensor& mask) {
  return -masked_task_mean(log_probs * advantages, mask);
}

torch::Tensor importance_weighted_loss(const torch::Tensor& log_probs, const torch::Tensor& old_log_probs,
                                       const torch::Tensor& advantages, const torch::Tensor& mask) {
  return -masked_task_mean(torch::exp(log_probs - old_log_probs) * advantages, mask);
}

}  // namespace metarl::agents
