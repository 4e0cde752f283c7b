#pragma once
// Policy-gradient surrogate losses, per task.

#include <torch/torch.h>

namespace metarl::agents {

// REINFORCE with a baseline: L_t = −Σ mask · log π · A / Σ mask, one value per
// task: [T] for inputs [T, R, H]. Its gradient is the policy-gradient estimate.
torch::Tensor reinforce_loss(const torch::Tensor& log_probs, const torch::Tensor& advantages,
                             const torch::Tensor& mask);

// The importance-weighted form, −Σ mask · exp(log π − log π_old) · A / Σ mask: [T].
// At log π_old = log π.detach() its value is −mean A and its gradient equals
// reinforce_loss's; TRPO evaluates it away from the sampling policy.
torch::Tensor importance_weighted_loss(const torch::Tensor& log_probs, const torch::Tensor& old_log_probs,
                                       const torch::Tensor& advantages, const torch::Tensor& mask);

}  // namespace metarl::agents
