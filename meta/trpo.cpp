#include "meta/trpo.h"

#include <cmath>
#include <optional>

#include "agents/autograd.h"
#include "meta/phase_clock.h"

namespace metarl::meta {

using agents::ParameterList;

torch::Tensor flatten_parameters(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> flat;
  flat.reserve(tensors.size());
  for (const auto& t : tensors) flat.push_back(t.reshape({-1}));
  return torch::cat(flat);
}

namespace {

torch::Tensor flatten(const std::vector<torch::Tensor>& tensors) { return flatten_parameters(tensors); }

// Writes a flat vector back into the parameters' shapes.
void assign(const ParameterList& parameters, const torch::Tensor& flat) {
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (const auto& p : parameters) {
    const int64_t n = p.numel();
    p.copy_(flat.slice(0, offset, offset + n).view_as(p));
    offset += n;
  }
}

}  // namespace

torch::Tensor conjugate_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& product,
                                 const torch::Tensor& b, int iterations) {
  auto x = torch::zeros_like(b);
  auto r = b.clone();
  auto p = b.clone();
  double r_dot_r = r.dot(r).item<double>();
  for (int i = 0; i < iterations && r_dot_r >= 1e-10; ++i) {
    const auto z = product(p);
    const double p_dot_z = p.dot(z).item<double>();
    if (!(p_dot_z > 0.0)) break;  // not positive definite along p (or NaN): keep x
    const double step = r_dot_r / p_dot_z;
    x.add_(p, step);
    r.add_(z, -step);
    const double next = r.dot(r).item<double>();
    p = r + (next / r_dot_r) * p;
    r_dot_r = next;
  }
  return x;
}

TrpoStepResult trpo_step(const ParameterList& parameters, const SurrogateAndKlFn& evaluate,
                         const TrpoOptions& options, const HessianProductFn& kl_hessian_product,
                         const Collectives& collectives, const LossGradientFn& loss_gradient_fn) {
  // Sums over the processes (identities in one process).
  auto sum_value = [&](const torch::Tensor& value, const char* what) {
    return all_reduce_sum(collectives, value.item<double>(), what);
  };
  TrpoStepResult result;
  std::optional<PhaseScope> meta_gradient(std::in_place, Phase::kMetaGradient);
  const SurrogateAndKl at_old = evaluate(/*differentiable=*/!loss_gradient_fn);
  result.loss_before = sum_value(at_old.loss, "the TRPO surrogate");
  result.loss_after = result.loss_before;

  agents::GradOptions keep;
  keep.retain_graph = true;
  const auto loss_gradient = all_reduce_sum(
      collectives,
      loss_gradient_fn ? loss_gradient_fn() : flatten(agents::gradients(at_old.loss, parameters, keep)).detach(),
      "the meta-gradient");
  meta_gradient.reset();
  torch::Tensor kl_gradient;
  if (!kl_hessian_product) {
    PhaseScope setup(Phase::kCurvatureSetup);
    agents::GradOptions differentiable;
    differentiable.create_graph = true;
    kl_gradient = flatten(agents::gradients(at_old.kl, parameters, differentiable));
  }
  // H v + damping·v; the autograd form reuses the one graph of ∇KL for every product.
  auto fisher_product = [&](const torch::Tensor& v) {
    PhaseScope products(Phase::kCurvatureProducts);
    if (kl_hessian_product) return kl_hessian_product(v) + options.cg_damping * v;
    const auto grad_dot_v = kl_gradient.dot(v);
    return all_reduce_sum(collectives, flatten(agents::gradients(grad_dot_v, parameters, keep)).detach(),
                          "a KL curvature product") +
           options.cg_damping * v;
  };
  if (!torch::isfinite(loss_gradient).all().item<bool>()) {
    result.finite = false;
    return result;
  }

  const auto direction = conjugate_gradient(fisher_product, loss_gradient, options.cg_iterations);
  // Largest step along the direction with ½ sᵀHs = max_kl (the KL's quadratic model).
  const double curvature = 0.5 * direction.dot(fisher_product(direction)).item<double>();
  if (!std::isfinite(curvature) || curvature <= 0.0) {
    result.finite = std::isfinite(curvature);
    return result;
  }
  const auto full_step = direction * std::sqrt(options.max_kl / curvature);

  const auto old_values = flatten(agents::detach(parameters)).clone();
  PhaseScope line_search(Phase::kLineSearch);
  double scale = 1.0;
  for (int attempt = 0; attempt < options.line_search_steps; ++attempt, scale *= options.line_search_ratio) {
    assign(parameters, old_values - scale * full_step);
    const SurrogateAndKl candidate = evaluate(/*differentiable=*/false);
    const double loss = sum_value(candidate.loss, "a line-search surrogate");
    const double kl = sum_value(candidate.kl, "a line-search KL");
    if (std::isfinite(loss) && std::isfinite(kl) && loss < result.loss_before && kl < options.max_kl) {
      result.loss_after = loss;
      result.kl = kl;
      result.backtracks = attempt;
      return result;
    }
  }
  assign(parameters, old_values);
  return result;
}

}  // namespace metarl::meta
