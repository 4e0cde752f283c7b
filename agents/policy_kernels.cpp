#include "agents/policy_kernels.h"

#include <cmath>
#include <stdexcept>

namespace metarl::agents {

namespace {

// x [T, N, in] · Wᵀ [T, in, out] (+ b [T, 1, out]): [T, N, out].
torch::Tensor affine(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  return torch::baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2));
}

// Observations [T, d1, ..., k] → rows [T, N, k].
torch::Tensor task_rows(const torch::Tensor& x) { return x.reshape({x.size(0), -1, x.size(-1)}); }

void check_task_batched(const ParameterList& params, size_t needed, const char* who) {
  if (params.size() < needed || params.front().dim() != 3) {
    throw std::invalid_argument(std::string(who) + ": needs task-batched parameters [T, …]");
  }
}

}  // namespace

MlpPass mlp_pass(const torch::Tensor& rows, const ParameterList& layers, size_t num_layers, Activation activation) {
  MlpPass pass;
  torch::Tensor h = rows;
  for (size_t layer = 0; layer < num_layers; ++layer) {
    pass.layer_inputs.push_back(h);
    auto z = affine(h, layers[2 * layer], layers[2 * layer + 1]);
    if (layer + 1 == num_layers) {
      pass.output = z;
      break;
    }
    if (activation == Activation::kTanh) {
      h = torch::tanh(z);
      auto slope = 1.0 - h.square();             // tanh' = 1 − tanh²
      pass.curvatures.push_back(-2.0 * h * slope);  // tanh'' = −2 tanh · tanh'
      pass.slopes.push_back(std::move(slope));
    } else {
      h = torch::relu(z);
      pass.slopes.push_back((z > 0).to(z.dtype()));  // relu' (0 at z = 0, as autograd's)
    }
  }
  return pass;
}

MlpTangent mlp_tangent(const MlpPass& pass, const ParameterList& layers, const ParameterList& direction,
                       size_t num_layers) {
  MlpTangent tangent;
  torch::Tensor rh;  // R h_l; undefined while it is 0 (the rows do not move)
  for (size_t layer = 0; layer < num_layers; ++layer) {
    tangent.layer_inputs.push_back(rh);
    // R z = V h + W R h + v_b
    auto rz = affine(pass.layer_inputs[layer], direction[2 * layer], direction[2 * layer + 1]);
    if (rh.defined()) rz = torch::baddbmm(rz, rh, layers[2 * layer].transpose(1, 2));
    if (layer + 1 == num_layers) {
      tangent.output = rz;
      break;
    }
    rh = pass.slopes[layer] * rz;
    tangent.pre_activations.push_back(std::move(rz));
  }
  return tangent;
}

ParameterList mlp_backward(const MlpPass& pass, const ParameterList& layers, const torch::Tensor& output_gradient,
                           size_t num_layers) {
  ParameterList gradients(2 * num_layers);
  torch::Tensor delta = output_gradient;  // ∂E/∂z_l [T, N, out_l]
  for (size_t l = num_layers; l-- > 0;) {
    gradients[2 * l] = torch::bmm(delta.transpose(1, 2), pass.layer_inputs[l]);
    gradients[2 * l + 1] = delta.sum(1);
    if (l > 0) delta = pass.slopes[l - 1] * torch::bmm(delta, layers[2 * l]);
  }
  return gradients;
}

MlpBackwardPass mlp_backward_pass(const MlpPass& pass, const ParameterList& layers, const torch::Tensor& output_gradient,
                                  size_t num_layers, Activation activation) {
  MlpBackwardPass backward;
  backward.deltas.resize(num_layers);
  if (activation == Activation::kTanh) backward.curvature_backs.resize(num_layers - 1);
  torch::Tensor delta = output_gradient;
  for (size_t l = num_layers; l-- > 0;) {
    backward.deltas[l] = delta;
    if (l == 0) break;
    const auto back = torch::bmm(delta, layers[2 * l]);  // δ_l W_l [T, N, out_{l-1}]
    if (activation == Activation::kTanh) backward.curvature_backs[l - 1] = pass.curvatures[l - 1] * back;
    delta = pass.slopes[l - 1] * back;
  }
  return backward;
}

ParameterList mlp_backward_tangent(const MlpPass& pass, const MlpBackwardPass& backward, const MlpTangent& tangent,
                                   const ParameterList& layers, const ParameterList& direction,
                                   const torch::Tensor& output_gradient_tangent, size_t num_layers) {
  ParameterList products(2 * num_layers);
  torch::Tensor delta_tangent = output_gradient_tangent;  // R δ_l
  for (size_t l = num_layers; l-- > 0;) {
    const auto& delta = backward.deltas[l];
    // R(δᵀ h) = (R δ)ᵀ h + δᵀ R h
    auto weight_product = torch::bmm(delta_tangent.transpose(1, 2), pass.layer_inputs[l]);
    if (tangent.layer_inputs[l].defined()) {
      weight_product = torch::baddbmm(weight_product, delta.transpose(1, 2), tangent.layer_inputs[l]);
    }
    products[2 * l] = std::move(weight_product);
    products[2 * l + 1] = delta_tangent.sum(1);
    if (l == 0) break;
    // R δ_{l-1} = σ' ⊙ ((R δ_l) W_l + δ_l V_l) + σ'' ⊙ (δ_l W_l) ⊙ R z_{l-1}
    auto next = torch::baddbmm(torch::bmm(delta_tangent, layers[2 * l]), delta, direction[2 * l]);
    next.mul_(pass.slopes[l - 1]);
    if (!backward.curvature_backs.empty()) next.addcmul_(backward.curvature_backs[l - 1], tangent.pre_activations[l - 1]);
    delta_tangent = std::move(next);
  }
  return products;
}

namespace {

// a ~ N(μ_θ(s), diag σ²), log σ a parameter [T, A]. With z = (a − μ)/σ per component:
//   log π = Σ_d −½ z² − log σ − ½ log 2π
//   ∂/∂μ = z/σ,        ∂/∂log σ = z² − 1
//   ∂²/∂μ² = −1/σ²,    ∂²/∂μ∂log σ = −2z/σ,    ∂²/∂(log σ)² = −2z²
// and KL(π₀ ‖ π)'s Hessian at π = π₀ is diag(1/σ²) in μ and 2 in log σ, 0 across.
class GaussianMlpLinearization final : public PolicyLinearization {
 public:
  GaussianMlpLinearization(const torch::Tensor& observations, const torch::Tensor& actions, const ParameterList& params,
                           size_t num_layers, Activation activation)
      : params_(params), num_layers_(num_layers), activation_(activation) {
    check_task_batched(params, 2 * num_layers + 1, "GaussianMlpPolicy::linearize");
    pass_ = mlp_pass(task_rows(observations), params, num_layers, activation);
    const auto log_sigma = params.back().unsqueeze(1);  // [T, 1, A]
    inverse_sigma_ = torch::exp(-log_sigma);
    log_sigma_ = log_sigma;
    if (actions.defined()) {
      z_ = (task_rows(actions) - pass_.output) * inverse_sigma_;
      score_mean_ = z_ * inverse_sigma_;
      score_log_sigma_ = z_.square() - 1.0;
    }
  }

  torch::Tensor log_probs() const override {
    require_actions();
    const double half_log_two_pi = 0.5 * std::log(2.0 * M_PI);
    return (-0.5 * z_.square() - log_sigma_ - half_log_two_pi).sum(-1);
  }

  ParameterList log_prob_gradient(const torch::Tensor& weights) const override {
    require_actions();
    const auto w = weights.unsqueeze(-1);  // [T, N, 1]
    auto gradient = mlp_backward(pass_, params_, w * score_mean_, num_layers_);
    gradient.push_back((w * score_log_sigma_).sum(1));
    return gradient;
  }

  std::unique_ptr<LogProbHessian> log_prob_hessian(const torch::Tensor& curvature_weights) const override;

  ParameterList kl_hessian_product(const ParameterList& v, const torch::Tensor& weights) const override {
    const auto tangent = mlp_tangent(pass_, params_, v, num_layers_);
    const auto w = weights.unsqueeze(-1);
    auto product = mlp_backward(pass_, params_, w * tangent.output * inverse_sigma_.square(), num_layers_);
    product.push_back(2.0 * v.back() * weights.sum(1, /*keepdim=*/true));
    return product;
  }

 private:
  // With a = the curvature weights and v_s the direction's log σ piece [T, 1, A]:
  //   R(a ∂ log π/∂μ)      = −a (R μ/σ² + 2 (z/σ) v_s)
  //   R(a ∂ log π/∂ log σ) = −2a ((z/σ) R μ + z² v_s)
  //   c                    = Σ_d (z/σ) R μ + (z² − 1) v_s
  class Hessian;

  void require_actions() const {
    if (!z_.defined()) throw std::logic_error("GaussianMlpPolicy::linearize: no actions given for log π");
  }

  ParameterList params_;
  size_t num_layers_;
  Activation activation_;
  MlpPass pass_;
  torch::Tensor log_sigma_;        // [T, 1, A]
  torch::Tensor inverse_sigma_;    // 1/σ [T, 1, A]
  torch::Tensor z_;                // (a − μ)/σ [T, N, A]
  torch::Tensor score_mean_;       // z/σ
  torch::Tensor score_log_sigma_;  // z² − 1
};

class GaussianMlpLinearization::Hessian final : public LogProbHessian {
 public:
  // Holds copies of the linearisation's tensor handles (no copy of their data), so
  // it stays valid after the linearisation is gone.
  Hessian(const GaussianMlpLinearization& point, const torch::Tensor& curvature_weights) : point_(point) {
    const auto a = curvature_weights.unsqueeze(-1);  // [T, N, 1]
    backward_ =
        mlp_backward_pass(point.pass_, point.params_, a * point.score_mean_, point.num_layers_, point.activation_);
    weighted_inverse_variance_ = a * point.inverse_sigma_.square();
    weighted_two_score_ = 2.0 * a * point.score_mean_;
    log_sigma_curvature_ = -2.0 * (a * point.z_.square()).sum(1);  // [T, A]
  }

  ParameterList product(const ParameterList& v,
                        const std::function<torch::Tensor(const torch::Tensor&)>& score_weights) const override {
    const auto tangent = mlp_tangent(point_.pass_, point_.params_, v, point_.num_layers_);
    const auto& mean_tangent = tangent.output;  // R μ [T, N, A]
    const auto& log_sigma_direction = v.back();  // [T, A]
    const auto v_s = log_sigma_direction.unsqueeze(1);
    auto output_gradient_tangent = -torch::addcmul(mean_tangent * weighted_inverse_variance_, weighted_two_score_, v_s);
    auto log_sigma_product = log_sigma_curvature_ * log_sigma_direction - (weighted_two_score_ * mean_tangent).sum(1);
    if (score_weights) {
      const auto derivative = torch::addcmul(point_.score_mean_ * mean_tangent, point_.score_log_sigma_, v_s).sum(-1);
      const auto b = score_weights(derivative).unsqueeze(-1);
      output_gradient_tangent.addcmul_(b, point_.score_mean_);
      log_sigma_product = log_sigma_product + (b * point_.score_log_sigma_).sum(1);
    }
    auto product = mlp_backward_tangent(point_.pass_, backward_, tangent, point_.params_, v, output_gradient_tangent,
                                        point_.num_layers_);
    product.push_back(std::move(log_sigma_product));
    return product;
  }

 private:
  const GaussianMlpLinearization point_;  // the linearisation point (tensor handles)
  MlpBackwardPass backward_;
  torch::Tensor weighted_inverse_variance_;  // a/σ² [T, N, A]
  torch::Tensor weighted_two_score_;         // 2a z/σ [T, N, A]
  torch::Tensor log_sigma_curvature_;        // Σ_r −2 a z² [T, A]
};

std::unique_ptr<LogProbHessian> GaussianMlpLinearization::log_prob_hessian(const torch::Tensor& curvature_weights) const {
  require_actions();
  return std::make_unique<Hessian>(*this, curvature_weights);
}

// π(a|s) = softmax(o)_a over logits o [T, N, K], p = softmax(o):
//   ∂ log π/∂o = e_a − p,   ∂² log π/∂o² = −(diag p − p pᵀ)
// and KL(π₀ ‖ π)'s Hessian in o at π = π₀ is diag p − p pᵀ.
class CategoricalMlpLinearization final : public PolicyLinearization {
 public:
  CategoricalMlpLinearization(const torch::Tensor& observations, const torch::Tensor& actions,
                              const ParameterList& params, size_t num_layers, Activation activation)
      : params_(params), num_layers_(num_layers), activation_(activation) {
    check_task_batched(params, 2 * num_layers, "CategoricalMlpPolicy::linearize");
    pass_ = mlp_pass(task_rows(observations), params, num_layers, activation);
    log_p_ = torch::log_softmax(pass_.output, -1);
    p_ = torch::exp(log_p_);
    if (actions.defined()) {
      index_ = task_rows(actions).to(torch::kLong);  // [T, N, 1]
      score_ = -p_;
      score_.scatter_add_(-1, index_, torch::ones_like(index_, p_.options()));  // e_a − p
    }
  }

  torch::Tensor log_probs() const override {
    require_actions();
    return log_p_.gather(-1, index_).squeeze(-1);
  }

  ParameterList log_prob_gradient(const torch::Tensor& weights) const override {
    require_actions();
    return mlp_backward(pass_, params_, weights.unsqueeze(-1) * score_, num_layers_);
  }

  std::unique_ptr<LogProbHessian> log_prob_hessian(const torch::Tensor& curvature_weights) const override;

  ParameterList kl_hessian_product(const ParameterList& v, const torch::Tensor& weights) const override {
    const auto tangent = mlp_tangent(pass_, params_, v, num_layers_);
    return mlp_backward(pass_, params_, weights.unsqueeze(-1) * fisher(tangent.output), num_layers_);
  }

 private:
  // R(a ∂ log π/∂o) = −a (diag p − p pᵀ) R o;  c = (e_a − p) · R o.
  class Hessian;

  // (diag p − p pᵀ) x per row: p ⊙ (x − p·x)
  torch::Tensor fisher(const torch::Tensor& x) const { return p_ * (x - (p_ * x).sum(-1, /*keepdim=*/true)); }

  void require_actions() const {
    if (!index_.defined()) throw std::logic_error("CategoricalMlpPolicy::linearize: no actions given for log π");
  }

  ParameterList params_;
  size_t num_layers_;
  Activation activation_;
  MlpPass pass_;
  torch::Tensor log_p_;  // [T, N, K]
  torch::Tensor p_;
  torch::Tensor index_;  // [T, N, 1]
  torch::Tensor score_;  // e_a − p
};

class CategoricalMlpLinearization::Hessian final : public LogProbHessian {
 public:
  // Holds copies of the linearisation's tensor handles, as the Gaussian's does.
  Hessian(const CategoricalMlpLinearization& point, const torch::Tensor& curvature_weights)
      : point_(point), weights_(curvature_weights.unsqueeze(-1)) {
    backward_ =
        mlp_backward_pass(point.pass_, point.params_, weights_ * point.score_, point.num_layers_, point.activation_);
  }

  ParameterList product(const ParameterList& v,
                        const std::function<torch::Tensor(const torch::Tensor&)>& score_weights) const override {
    const auto tangent = mlp_tangent(point_.pass_, point_.params_, v, point_.num_layers_);
    auto output_gradient_tangent = -weights_ * point_.fisher(tangent.output);
    if (score_weights) {
      const auto derivative = (point_.score_ * tangent.output).sum(-1);
      output_gradient_tangent.addcmul_(score_weights(derivative).unsqueeze(-1), point_.score_);
    }
    return mlp_backward_tangent(point_.pass_, backward_, tangent, point_.params_, v, output_gradient_tangent,
                                point_.num_layers_);
  }

 private:
  const CategoricalMlpLinearization point_;  // the linearisation point (tensor handles)
  torch::Tensor weights_;  // a [T, N, 1]
  MlpBackwardPass backward_;
};

std::unique_ptr<LogProbHessian> CategoricalMlpLinearization::log_prob_hessian(const torch::Tensor& curvature_weights) const {
  require_actions();
  return std::make_unique<Hessian>(*this, curvature_weights);
}

}  // namespace

std::unique_ptr<PolicyLinearization> linearize_gaussian_mlp(const torch::Tensor& observations,
                                                            const torch::Tensor& actions, const ParameterList& params,
                                                            size_t num_layers, Activation activation) {
  return std::make_unique<GaussianMlpLinearization>(observations, actions, params, num_layers, activation);
}

std::unique_ptr<PolicyLinearization> linearize_categorical_mlp(const torch::Tensor& observations,
                                                               const torch::Tensor& actions,
                                                               const ParameterList& params, size_t num_layers,
                                                               Activation activation) {
  return std::make_unique<CategoricalMlpLinearization>(observations, actions, params, num_layers, activation);
}

}  // namespace metarl::agents
