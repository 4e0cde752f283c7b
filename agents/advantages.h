#pragma once
// Discounted returns, generalised advantage estimation and advantage
// normalisation over masked [T, R, H] batches. Every rollout is one episode from
// its first step (the mask is a prefix of ones), so discounted sums are one matrix
// product with the [H, H] discount matrix D[t, j] = d^(j−t) for j ≥ t: no Python-
// style loop over time, and the same code runs on the GPU. The horizon end is
// not bootstrapped: the value after the last step is 0, as in MAML.

#include <torch/torch.h>

#include "agents/options.h"
#include "agents/trajectories.h"

namespace metarl::agents {

// out[..., t] = Σ_{j ≥ t} discount^(j−t) · x[..., j], for x [..., H].
torch::Tensor discounted_cumsum(const torch::Tensor& x, double discount);
// G_t over valid steps: [T, R, H].
torch::Tensor discounted_returns(const torch::Tensor& rewards, const torch::Tensor& mask, double gamma);
// GAE(γ, λ) with V(s_{t+1}) = 0 past the episode's last valid step: [T, R, H].
torch::Tensor generalized_advantages(const torch::Tensor& rewards, const torch::Tensor& values,
                                     const torch::Tensor& mask, double gamma, double lambda);
// Per task (dim 0): (a − mean) / (std + 1e-8) over valid steps; 0 where mask is 0.
torch::Tensor normalize_per_task(const torch::Tensor& advantages, const torch::Tensor& mask);

// The whole pipeline: returns → linear baseline fit per task → GAE → optional
// normalisation. Detached [T, R, H] in the trajectories' dtype.
torch::Tensor compute_advantages(const Trajectories& trajectories, const AdvantageOptions& options);

}  // namespace metarl::agents
