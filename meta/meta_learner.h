#pragma once
// Meta-SGD (Li, Zhou, Chen & Li, 2017) and MAML (Finn, Abbeel & Levine, 2017) on
// one code path. Both hold the initial policy parameters θ and a step size α, and
// adapt each task with θ'_t = θ − α ⊙ ∇θ L_t(θ). Meta-SGD learns α, a tensor of
// θ's shape per parameter; MAML keeps α a fixed scalar.
//
// The task dimension is a tensor dimension: θ is expanded (a view) to [T, …], the
// inner losses of all T tasks come from one task-batched forward, and one backward
// pass of their sum gives every task's gradient, since L_t depends only on slice t.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "agents/advantages.h"
#include "agents/policy.h"
#include "agents/trajectories.h"

namespace metarl::meta {

enum class Algorithm { kMetaSgd, kMaml };
std::string to_string(Algorithm algorithm);
// "meta-sgd" or "maml"; throws UsageError naming the value otherwise.
Algorithm parse_algorithm(const std::string& name);

class MetaLearner {
 public:
  // θ from policy.initial_parameters(seed); α initialised to `inner_lr`.
  MetaLearner(std::shared_ptr<const agents::Policy> policy, Algorithm algorithm, double inner_lr,
              std::uint64_t seed, const torch::TensorOptions& options);

  const agents::Policy& policy() const { return *policy_; }
  Algorithm algorithm() const { return algorithm_; }
  bool learns_alpha() const { return algorithm_ == Algorithm::kMetaSgd; }

  // Leaf tensors, requires_grad. θ: the policy's parameter shapes.
  agents::ParameterList& theta() { return theta_; }
  const agents::ParameterList& theta() const { return theta_; }
  // Meta-SGD: leaves of θ's shapes, requires_grad. MAML: 0-dim constants.
  agents::ParameterList& alpha() { return alpha_; }
  const agents::ParameterList& alpha() const { return alpha_; }
  // What the outer optimiser updates: θ, and α for Meta-SGD.
  agents::ParameterList meta_parameters() const;

  // Per-task inner loss (REINFORCE with the linear baseline): [T].
  torch::Tensor inner_loss(const agents::ParameterList& params, const agents::Trajectories& trajectories,
                           const agents::AdvantageOptions& advantage_options) const;

  // One adaptation step for all T tasks: returns θ'_t = params_t − α ⊙ ∇ L_t, task-
  // batched [T, …]. `params` is shared (θ itself, expanded here) or already
  // task-batched (a previous step's output). With create_graph the result stays
  // differentiable to second order in θ and α; without it the gradient is treated
  // as a constant (first-order meta-gradient, or evaluation).
  agents::ParameterList adapt_step(const agents::ParameterList& params, const agents::Trajectories& trajectories,
                                   const agents::AdvantageOptions& advantage_options, bool create_graph) const;

  // The meta-objective on post-adaptation rollouts: mean over tasks of the
  // REINFORCE loss of the adapted policies. Differentiating it through
  // adapt_step(create_graph) gives the meta-gradient in θ and α.
  torch::Tensor meta_loss(const agents::ParameterList& adapted, const agents::Trajectories& validation,
                          const agents::AdvantageOptions& advantage_options) const;

 private:
  std::shared_ptr<const agents::Policy> policy_;
  Algorithm algorithm_;
  agents::ParameterList theta_;
  agents::ParameterList alpha_;
};

}  // namespace metarl::meta
