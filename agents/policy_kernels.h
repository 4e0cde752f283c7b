#pragma once
// Analytic first- and second-order products of the policies metarl ships (issue N),
// written as the MLP's own passes instead of autograd's generic double backward.
//
// For a task-batched MLP z_l = W_l h_l + b_l, h_{l+1} = σ(z_l), output o = z_{L-1}:
//   forward (R-op)  the derivative of every row's output along a parameter direction v:
//                   R z_l = V_l h_l + W_l R h_l + v_b,  R h_{l+1} = σ'(z_l) R z_l;
//   backward        Σ_rows δ · ∂o/∂θ for output gradients δ [T, N, out];
//   backward's R-op Pearlmutter (1994): the derivative of that backward pass along v
//                   when δ itself changes by R δ, which adds the σ'' and V terms.
// The policies' heads add their log-density's first and second derivatives in the
// output (closed forms below), so every product metarl's meta-gradient and TRPO take
// is one or two passes of batched matrix products and a few fused element-wise ones:
//   the inner loss's Hessian-vector product  Σ_r a_r ∇²log π_r v + Σ_r b_r ∇log π_r,
//   the KL's Hessian at the old policy       Jᵀ M J v (Gauss–Newton, exact there),
// with a_r, b_r the estimator's row weights (agents/surrogate.h's analytic forms).
// Autograd stays the reference (tests compare the two) and the fallback for policies
// without these kernels (Policy::linearize returns nullptr).

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

#include "agents/options.h"

namespace metarl::agents {

using ParameterList = std::vector<torch::Tensor>;

// One forward pass of a task-batched MLP on rows [T, N, in], kept for the products.
struct MlpPass {
  std::vector<torch::Tensor> layer_inputs;  // h_l [T, N, in_l] per layer (h_0: the rows)
  std::vector<torch::Tensor> slopes;        // σ'(z_l) [T, N, out_l] per hidden layer
  std::vector<torch::Tensor> curvatures;    // σ''(z_l) per hidden layer (tanh); empty for ReLU (σ'' = 0)
  torch::Tensor output;                     // o [T, N, out]
};

// layers: [W0 [T, out, in], b0 [T, out], ...], num_layers pairs (a task-batched
// parameter list may carry more entries after them, e.g. a Gaussian's log σ).
MlpPass mlp_pass(const torch::Tensor& rows, const ParameterList& layers, size_t num_layers, Activation activation);

// The R-op forward along `direction` (the same layout as `layers`).
struct MlpTangent {
  std::vector<torch::Tensor> pre_activations;  // R z_l [T, N, out_l] per hidden layer
  std::vector<torch::Tensor> layer_inputs;     // R h_l per layer (undefined for l = 0: the rows are fixed)
  torch::Tensor output;                        // R o [T, N, out]
};
MlpTangent mlp_tangent(const MlpPass& pass, const ParameterList& layers, const ParameterList& direction,
                       size_t num_layers);

// Σ_rows output_gradient · ∂o/∂θ: [W0, b0, ...] in the layers' task-batched shapes.
ParameterList mlp_backward(const MlpPass& pass, const ParameterList& layers, const torch::Tensor& output_gradient,
                           size_t num_layers);

// A backward pass kept for its R-op: what does not depend on the direction v.
struct MlpBackwardPass {
  std::vector<torch::Tensor> deltas;           // δ_l = ∂E/∂z_l [T, N, out_l] per layer
  std::vector<torch::Tensor> curvature_backs;  // σ''(z_l) ⊙ (δ_{l+1} W_{l+1}) per hidden layer (tanh only)
};
MlpBackwardPass mlp_backward_pass(const MlpPass& pass, const ParameterList& layers, const torch::Tensor& output_gradient,
                                  size_t num_layers, Activation activation);

// The derivative of the backward pass's parameter gradients along `direction`, when
// the output gradient δ moves by R δ = `output_gradient_tangent`: Pearlmutter's R-op,
// R(δ_lᵀ h_l) = (R δ_l)ᵀ h_l + δ_lᵀ R h_l and R δ_{l-1} = σ' ⊙ (R δ_l W_l + δ_l V_l)
// + σ'' ⊙ R z_{l-1} ⊙ (δ_l W_l). With δ = 0 (the KL at its minimum) this is
// mlp_backward(output_gradient_tangent), which needs no backward pass.
ParameterList mlp_backward_tangent(const MlpPass& pass, const MlpBackwardPass& backward, const MlpTangent& tangent,
                                   const ParameterList& layers, const ParameterList& direction,
                                   const torch::Tensor& output_gradient_tangent, size_t num_layers);

// Σ_r a_r ∇² log π_r v + Σ_r b_r ∇ log π_r at a linearisation point, for curvature
// weights a [T, N] fixed at construction (what does not depend on v is computed
// once: the output gradients a ∂ log π/∂o through every layer). It keeps its own
// handles to the linearisation's tensors, so it may outlive the PolicyLinearization.
class LogProbHessian {
 public:
  virtual ~LogProbHessian() = default;
  // b = score_weights(c) may depend on the rows' derivatives c_r = ∇ log π_r · v along
  // v (one forward pass serves both); score_weights may be empty (b = 0).
  virtual ParameterList product(const ParameterList& v,
                                const std::function<torch::Tensor(const torch::Tensor&)>& score_weights) const = 0;
};

// A policy linearised at task-batched parameters θ [T, …] on fixed rows (observations
// [T, …, obs_dim], and the actions taken there when log-probabilities are needed):
// the quantities of log π and KL that the meta-gradient and TRPO need, analytic.
// Row weights and row derivatives are [T, N] with N the rows of a task in order.
class PolicyLinearization {
 public:
  virtual ~PolicyLinearization() = default;

  // log π(a_r | s_r): [T, N].
  virtual torch::Tensor log_probs() const = 0;
  // Σ_r weights_r ∇θ log π_r, per task: θ's task-batched shapes.
  virtual ParameterList log_prob_gradient(const torch::Tensor& weights) const = 0;
  // The products Σ_r a_r ∇² log π_r v + Σ_r b_r ∇ log π_r for a = curvature_weights.
  virtual std::unique_ptr<LogProbHessian> log_prob_hessian(const torch::Tensor& curvature_weights) const = 0;
  // Σ_r weights_r ∇²_θ KL(π_θ₀(·|s_r) ‖ π_θ(·|s_r)) v at θ = θ₀, the linearisation point:
  // Jᵀ M J v with M the head's Fisher information per row.
  virtual ParameterList kl_hessian_product(const ParameterList& v, const torch::Tensor& weights) const = 0;
};

// The shipped policies' linearisations (agents/policy.h's GaussianMlpPolicy and
// CategoricalMlpPolicy call these from Policy::linearize). `params` task-batched;
// `actions` may be undefined when only kl_hessian_product is wanted.
std::unique_ptr<PolicyLinearization> linearize_gaussian_mlp(const torch::Tensor& observations,
                                                            const torch::Tensor& actions, const ParameterList& params,
                                                            size_t num_layers, Activation activation);
std::unique_ptr<PolicyLinearization> linearize_categorical_mlp(const torch::Tensor& observations,
                                                               const torch::Tensor& actions,
                                                               const ParameterList& params, size_t num_layers,
                                                               Activation activation);

}  // namespace metarl::agents
