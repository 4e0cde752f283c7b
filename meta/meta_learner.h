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
#include <utility>
#include <vector>

#include "agents/advantages.h"
#include "agents/policy.h"
#include "agents/surrogate.h"
#include "agents/trajectories.h"
#include "meta/options.h"

namespace metarl::meta {

class MetaLearner {
 public:
  // θ from policy.initial_parameters(seed); α initialised to `inner_lr`. The
  // estimator shapes the inner loss's second derivatives (agents/surrogate.h); plain
  // is the one whose meta-gradient is the exact derivative for fixed rollouts.
  MetaLearner(std::shared_ptr<const agents::Policy> policy, Algorithm algorithm, double inner_lr,
              std::uint64_t seed, const torch::TensorOptions& options,
              agents::Estimator estimator = agents::Estimator::kPlain,
              agents::Kernels kernels = agents::Kernels::kAnalytic);

  const agents::Policy& policy() const { return *policy_; }
  Algorithm algorithm() const { return algorithm_; }
  bool learns_alpha() const { return algorithm_ == Algorithm::kMetaSgd; }
  agents::Estimator estimator() const { return estimator_; }
  // How LinearizedAdaptation and TRPO's curvature differentiate (agents::Kernels).
  agents::Kernels kernels() const { return kernels_; }

  // Leaf tensors, requires_grad. θ: the policy's parameter shapes.
  agents::ParameterList& theta() { return theta_; }
  const agents::ParameterList& theta() const { return theta_; }
  // Meta-SGD: leaves of θ's shapes, requires_grad. Others: 0-dim constants.
  agents::ParameterList& alpha() { return alpha_; }
  const agents::ParameterList& alpha() const { return alpha_; }
  // True when training adapts to each task before the outer step (not for pretrained).
  bool adapts_in_training() const { return algorithm_ == Algorithm::kMetaSgd || algorithm_ == Algorithm::kMaml; }
  // What the outer optimiser updates: θ, and α for Meta-SGD.
  agents::ParameterList meta_parameters() const;

  // Truncated back-propagation through the adaptation chain (Al-Shedivat et al., ICLR
  // 2018): of a chain of k inner steps only the last b are differentiated; the
  // parameters before them enter as θ plus a constant offset, θ + sg(θ'_{k−b} − θ), so
  // the meta-gradient reaches θ through them by the identity and α not at all.
  // b = 0 (the default) or b ≥ k: every step, the full meta-gradient.
  void set_backprop_steps(int steps);
  int backprop_steps() const { return backprop_steps_; }
  // The first differentiated step of a chain of `chain_steps`: k − b, or 0.
  int first_differentiated_step(int chain_steps) const;
  // Step `step` (0-based) of a chain of `chain_steps`: adapt_step, except that a step
  // before first_differentiated_step returns its values joined to θ by the identity
  // (values + θ − sg(θ), exactly the values; no path to α or through the step's
  // gradient). The one way the trainer, TRPO, ProMP and LinearizedAdaptation run a chain;
  // the chain starts at this learner's θ (step 0's `params` is θ itself).
  agents::ParameterList chain_step(const agents::ParameterList& params, int step, int chain_steps,
                                   const agents::Trajectories& trajectories,
                                   const agents::AdvantageOptions& advantage_options, bool create_graph,
                                   const torch::Tensor& behaviour_log_probs = {}) const;

  // Per-task inner loss (policy gradient with the linear baseline, written as the
  // estimator says): [T]. `behaviour_log_probs`: the sampling policy's
  // log-probabilities of the trajectories when it is not `params`' policy (ProMP's
  // later steps on one batch; agents::inner_objective_loss); undefined → on-policy.
  torch::Tensor inner_loss(const agents::ParameterList& params, const agents::Trajectories& trajectories,
                           const agents::AdvantageOptions& advantage_options,
                           const torch::Tensor& behaviour_log_probs = {}) const;

  // ∇L_t for every task at once, with respect to task-batched [T, …] inputs (which
  // must require grad): [T, …] per parameter.
  agents::ParameterList inner_gradients(const agents::ParameterList& batched_inputs,
                                        const agents::Trajectories& trajectories,
                                        const agents::AdvantageOptions& advantage_options, bool create_graph,
                                        const torch::Tensor& behaviour_log_probs = {}) const;

  // One adaptation step for all T tasks: returns θ'_t = params_t − α ⊙ ∇ L_t, task-
  // batched [T, …]. `params` is shared (θ itself, expanded here) or already
  // task-batched (a previous step's output). With create_graph the result stays
  // differentiable to second order in θ and α; without it the gradient is treated
  // as a constant (first-order meta-gradient, or evaluation).
  agents::ParameterList adapt_step(const agents::ParameterList& params, const agents::Trajectories& trajectories,
                                   const agents::AdvantageOptions& advantage_options, bool create_graph,
                                   const torch::Tensor& behaviour_log_probs = {}) const;

  // The meta-objective on post-adaptation rollouts: mean over tasks of the
  // REINFORCE loss of the adapted policies. Differentiating it through
  // adapt_step(create_graph) gives the meta-gradient in θ and α.
  torch::Tensor meta_loss(const agents::ParameterList& adapted, const agents::Trajectories& validation,
                          const agents::AdvantageOptions& advantage_options) const;

 private:
  std::shared_ptr<const agents::Policy> policy_;
  Algorithm algorithm_;
  agents::Estimator estimator_;
  agents::Kernels kernels_;
  agents::ParameterList theta_;
  agents::ParameterList alpha_;
  int backprop_steps_ = 0;  // b; 0 → every step
};

// The adaptation map (θ, α) ↦ θ' = U(θ, α) over k inner steps, linearised at the
// learner's current θ and α on fixed inner rollouts: products with its Jacobian J,
// forward (J v) and transposed (Jᵀ u). Step j maps θ_j to θ_{j+1} = θ_j − α ⊙ g_j(θ_j),
// so J_j v = v_θ − v_α ⊙ g_j − α ⊙ H_j v_θ and J_jᵀ u = (u − H_j(α ⊙ u), −Σ_t u ⊙ g_j),
// with H_j w the inner loss's Hessian-vector product in the estimator's form: the
// policy's analytic kernels (agents/policy_kernels.h) when the learner's kernels are
// analytic and the policy has them, else one double backward. With truncated
// back-propagation (MetaLearner::set_backprop_steps) the steps before the last b are
// values only and J is the product of the last b steps' Jacobians applied to (v_θ, 0):
// the same map MetaLearner::chain_step differentiates. TRPO uses it for the KL's Hessian at the old parameters, which
// is exactly Jᵀ F J there (F: the KL's Hessian in θ'): ∇_θ' KL vanishes at θ' old.
class LinearizedAdaptation {
 public:
  LinearizedAdaptation(const MetaLearner& learner, const std::vector<agents::Trajectories>& inner_batches,
                       const agents::AdvantageOptions& advantage_options);

  // θ' at the linearisation point, detached, task-batched [T, …].
  const agents::ParameterList& adapted() const { return adapted_; }
  // J v: v_theta in θ's shapes, v_alpha in α's (empty for fixed α). Result [T, …].
  agents::ParameterList forward(const agents::ParameterList& v_theta, const agents::ParameterList& v_alpha) const;
  // Jᵀ u for u [T, …]: (θ's shapes, α's shapes — empty for fixed α).
  std::pair<agents::ParameterList, agents::ParameterList> transposed(const agents::ParameterList& u) const;

 private:
  struct Step {
    agents::ParameterList input;     // θ_j, [T, …], requires grad (a fresh leaf or an expanded view of one)
    agents::ParameterList gradient;  // g_j(θ_j) [T, …], with its graph for H_j w (autograd)
    // Analytic kernels: the policy linearised at θ_j on the step's rollouts, and its
    // inner loss's Hessian products; no graph then.
    std::shared_ptr<const agents::PolicyLinearization> policy_at_input;
    std::shared_ptr<const agents::InnerLossHessian> inner_hessian;
  };
  agents::ParameterList hessian_product(const Step& step, const agents::ParameterList& w) const;

  const MetaLearner& learner_;
  std::vector<Step> steps_;
  agents::ParameterList adapted_;
};

}  // namespace metarl::meta
