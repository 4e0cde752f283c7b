#pragma once
// Trust-region policy optimisation (Schulman et al. 2015) as MAML uses it for the
// outer step: minimise a surrogate loss subject to mean KL(π_old ‖ π_new) ≤ max_kl,
// where both are functions of the meta-parameters through the inner adaptation.
// The step is the natural gradient H⁻¹g found by conjugate gradient on
// Hessian-vector products of the KL (H v = ∇(∇KL · v), differentiated through the
// adaptation, hence third order in the inner loss), scaled to the trust region's
// boundary, then shrunk by backtracking until the loss improves within the region.

#include <torch/torch.h>

#include <functional>

#include "agents/policy.h"
#include "meta/parallel/collectives.h"

namespace metarl::meta {

// TRPO's step (the `trpo` outer step's options, meta/outer_trpo.h); defaults of MAML and pytorch-maml-rl.
struct TrpoOptions {
  double max_kl = 0.01;            // trust region radius (nats, mean over post-adaptation states)
  int cg_iterations = 10;          // conjugate-gradient iterations for H⁻¹g
  double cg_damping = 1e-5;        // Tikhonov damping: (H + damping·I) v
  int line_search_steps = 15;      // backtracking attempts before giving up on the iteration
  double line_search_ratio = 0.8;  // step scale factor per attempt
};

// The surrogate loss and mean KL(π_old ‖ π_current) at the parameters' current values.
struct SurrogateAndKl {
  torch::Tensor loss;  // 0-dim
  torch::Tensor kl;    // 0-dim
};
// Called with differentiable = true once, to build the graphs that the gradient and
// the Hessian-vector products differentiate (second order through adaptation), and
// with false for each line-search candidate (values only).
using SurrogateAndKlFn = std::function<SurrogateAndKl(bool differentiable)>;

struct TrpoStepResult {
  double loss_before = 0;  // surrogate loss at the old parameters
  double loss_after = 0;   // at the accepted parameters (= loss_before when rejected)
  double kl = 0;           // mean KL of the accepted step (0 when rejected)
  int backtracks = -1;     // line-search shrinks before acceptance; -1: no step accepted
  bool finite = true;      // false when the gradient or the curvature was not finite
};

// Solves (A + 0 I) x = b for a symmetric positive-definite A given as a product
// function, in at most `iterations` steps (stops early when the residual² < 1e-10).
torch::Tensor conjugate_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& product,
                                 const torch::Tensor& b, int iterations);

// v ↦ H v for the KL's Hessian H at the old parameters, on flat vectors.
using HessianProductFn = std::function<torch::Tensor(const torch::Tensor&)>;
// The surrogate's gradient at the old parameters, flat (this process's share).
using LossGradientFn = std::function<torch::Tensor()>;

// Updates `parameters` (leaf tensors, requires_grad) in place by one TRPO step.
// On rejection they keep their old values. Never applies a non-finite step.
// `kl_hessian_product` may be empty: H v is then ∇(∇KL · v) by autograd through
// evaluate(true)'s graph (third order through an adaptation step).
// `loss_gradient` may be empty too: the gradient is then autograd's through
// evaluate(true)'s graph; given, evaluate is only called with false (values).
// With several processes `evaluate` returns this process's share of the surrogate and
// the KL (sums over its tasks, normalised by the whole batch), `kl_hessian_product`
// its share of H v and `loss_gradient` its share of the gradient; trpo_step sums them
// over the processes, so every process takes the same step.
TrpoStepResult trpo_step(const agents::ParameterList& parameters, const SurrogateAndKlFn& evaluate,
                         const TrpoOptions& options, const HessianProductFn& kl_hessian_product = {},
                         const Collectives& collectives = single_process(), const LossGradientFn& loss_gradient = {});

// Flattens tensors into one vector (the layout of trpo_step's products).
torch::Tensor flatten_parameters(const std::vector<torch::Tensor>& tensors);

}  // namespace metarl::meta
