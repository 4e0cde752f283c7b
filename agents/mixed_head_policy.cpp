#include "agents/mixed_head_policy.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "envs/errors.h"

namespace metarl::agents {

namespace {
// A masked logit: exp of it underflows to exactly 0 in float32 and float64 against any
// logit a trunk produces, and it stays finite (−∞ would make 0 · ∞ = NaN in the KL).
constexpr double kMaskedLogit = -1e9;
}  // namespace

MixedHeadMlpPolicy::MixedHeadMlpPolicy(int observation_dim, std::vector<envs::EnvSpec::Family> families,
                                       Options options)
    : observation_dim_(observation_dim), families_(std::move(families)), options_(std::move(options)) {
  const int k = num_families();
  if (k < 2 || observation_dim <= k) {
    throw std::invalid_argument("MixedHeadMlpPolicy: needs at least two families and an observation beyond the "
                                "family indicator");
  }
  for (auto size : options_.hidden_sizes) {
    if (size <= 0) throw UsageError("hidden_sizes: every layer size must be positive, got " + std::to_string(size));
  }
  padded_dim_ = observation_dim - k;
  continuous_dim_ = 0;
  num_logits_ = 0;
  for (const auto& family : families_) {
    if (family.discrete_actions) num_logits_ = std::max(num_logits_, family.num_actions);
    else continuous_dim_ = std::max(continuous_dim_, family.action_dim);
  }
  continuous_mask_ = torch::zeros({k, continuous_dim_});
  discrete_ = torch::zeros({k});
  logit_mask_ = torch::zeros({k, num_logits_});
  for (int f = 0; f < k; ++f) {
    const auto& family = families_[f];
    if (family.discrete_actions) {
      discrete_[f] = 1.0;
      logit_mask_[f].narrow(0, 0, family.num_actions).fill_(1.0);
    } else {
      continuous_mask_[f].narrow(0, 0, family.action_dim).fill_(1.0);
    }
  }
}

std::string MixedHeadMlpPolicy::architecture() const {
  std::ostringstream out;
  out << "mixed-head-mlp obs=" << observation_dim_ << " families=";
  for (int f = 0; f < num_families(); ++f) {
    const auto& family = families_[f];
    out << (f ? "," : "") << family.name << ":"
        << (family.discrete_actions ? "one-of-" + std::to_string(family.num_actions)
                                    : "act-" + std::to_string(family.action_dim));
  }
  out << " family_observed=" << (options_.family_observed ? "true" : "false") << " hidden=";
  for (size_t i = 0; i < options_.hidden_sizes.size(); ++i) out << (i ? "x" : "") << options_.hidden_sizes[i];
  out << " activation=" << to_string(options_.activation);
  return out.str();
}

std::vector<ParameterSpec> MixedHeadMlpPolicy::parameter_specs() const {
  const int input = options_.family_observed ? observation_dim_ : padded_dim_;
  auto specs = mlp_parameter_specs(input, options_.hidden_sizes, continuous_dim_ + num_logits_);
  if (continuous_dim_ > 0) specs.push_back({"log_std", {continuous_dim_}});
  return specs;
}

ParameterList MixedHeadMlpPolicy::initial_parameters(std::uint64_t seed, const torch::TensorOptions& options) const {
  auto params = initial_mlp_parameters(parameter_specs(), seed, options);
  if (continuous_dim_ > 0) params.back().fill_(options_.init_log_std);
  return params;
}

MixedHeadMlpPolicy::Heads MixedHeadMlpPolicy::heads(const torch::Tensor& observations) const {
  const auto indicator = observations.narrow(-1, padded_dim_, num_families());  // [..., K]
  const auto options = indicator.options();
  Heads h;
  h.continuous_mask = torch::matmul(indicator, continuous_mask_.to(options));
  h.discrete = torch::matmul(indicator, discrete_.to(options));
  h.logit_allowed = torch::matmul(indicator, logit_mask_.to(options)) > 0.5;
  return h;
}

torch::Tensor MixedHeadMlpPolicy::trunk(const torch::Tensor& observations, const ParameterList& params) const {
  const auto input = options_.family_observed ? observations : observations.narrow(-1, 0, padded_dim_);
  return mlp_apply(input, params, num_layers(), options_.activation);
}

torch::Tensor MixedHeadMlpPolicy::log_std(const torch::Tensor& observations, const ParameterList& params) const {
  return broadcast_action_vector(params.back(), observations, params);
}

torch::Tensor MixedHeadMlpPolicy::log_probabilities(const torch::Tensor& output, const Heads& heads) const {
  const auto logits = output.narrow(-1, continuous_dim_, num_logits_);
  return torch::log_softmax(torch::where(heads.logit_allowed, logits, torch::full_like(logits, kMaskedLogit)), -1);
}

torch::Tensor MixedHeadMlpPolicy::log_prob(const torch::Tensor& observations, const torch::Tensor& actions,
                                           const ParameterList& params) const {
  const auto h = heads(observations);
  const auto output = trunk(observations, params);
  torch::Tensor total;
  if (continuous_dim_ > 0) {
    const auto mu = output.narrow(-1, 0, continuous_dim_);
    const auto log_sigma = log_std(observations, params);
    const auto z = (actions.narrow(-1, 0, continuous_dim_) - mu) * torch::exp(-log_sigma);
    const double half_log_two_pi = 0.5 * std::log(2.0 * M_PI);
    total = ((-0.5 * z.square() - log_sigma - half_log_two_pi) * h.continuous_mask).sum(-1);
  }
  if (num_logits_ > 0) {
    const auto index = actions.narrow(-1, continuous_dim_, 1).to(torch::kLong).clamp(0, num_logits_ - 1);
    const auto discrete = log_probabilities(output, h).gather(-1, index).squeeze(-1) * h.discrete;
    total = total.defined() ? total + discrete : discrete;
  }
  return total;
}

torch::Tensor MixedHeadMlpPolicy::kl_divergence(const torch::Tensor& observations, const ParameterList& old_params,
                                                const ParameterList& new_params) const {
  const auto h = heads(observations);
  const auto old_output = trunk(observations, old_params);
  const auto new_output = trunk(observations, new_params);
  torch::Tensor total;
  if (continuous_dim_ > 0) {
    const auto mu_old = old_output.narrow(-1, 0, continuous_dim_);
    const auto mu_new = new_output.narrow(-1, 0, continuous_dim_);
    const auto log_sigma_old = log_std(observations, old_params);
    const auto log_sigma_new = log_std(observations, new_params);
    const auto var_old = torch::exp(2.0 * log_sigma_old);
    const auto var_new = torch::exp(2.0 * log_sigma_new);
    const auto per_component =
        log_sigma_new - log_sigma_old + (var_old + (mu_old - mu_new).square()) / (2.0 * var_new) - 0.5;
    total = (per_component * h.continuous_mask).sum(-1);
  }
  if (num_logits_ > 0) {
    const auto log_p_old = log_probabilities(old_output, h);
    const auto log_p_new = log_probabilities(new_output, h);
    const auto discrete = (torch::exp(log_p_old) * (log_p_old - log_p_new)).sum(-1) * h.discrete;
    total = total.defined() ? total + discrete : discrete;
  }
  return total;
}

torch::Tensor MixedHeadMlpPolicy::draw_noise(c10::IntArrayRef batch_shape, at::Generator& generator) const {
  std::vector<int64_t> shape(batch_shape.begin(), batch_shape.end());
  std::vector<torch::Tensor> parts;
  if (continuous_dim_ > 0) {
    shape.push_back(continuous_dim_);
    parts.push_back(at::randn(shape, generator, torch::TensorOptions().dtype(torch::kFloat32)).to(torch::kDouble));
    shape.pop_back();
  }
  if (num_logits_ > 0) {
    shape.push_back(1);
    parts.push_back(at::rand(shape, generator, torch::TensorOptions().dtype(torch::kDouble)));
  }
  return parts.size() == 1 ? parts.front() : torch::cat(parts, -1);
}

torch::Tensor MixedHeadMlpPolicy::act(const torch::Tensor& observations, const ParameterList& params,
                                      const torch::Tensor& noise) const {
  torch::NoGradGuard no_grad;
  const auto h = heads(observations);
  const auto output = trunk(observations, params);
  const auto on_device = noise.to(output.device());
  std::vector<torch::Tensor> parts;
  if (continuous_dim_ > 0) {
    // μ + σ ε in float32, as GaussianMlpPolicy; 0 on the components the row's family lacks.
    const auto mu = output.narrow(-1, 0, continuous_dim_).to(torch::kFloat32);
    const auto sigma = torch::exp(log_std(observations, params)).to(torch::kFloat32);
    const auto epsilon = on_device.narrow(-1, 0, continuous_dim_).to(torch::kFloat32);
    parts.push_back((mu + sigma * epsilon) * h.continuous_mask.to(torch::kFloat32));
  }
  if (num_logits_ > 0) {
    // Inverse CDF over the row's family's actions, as CategoricalMlpPolicy; 0 for a
    // continuous family's row.
    const auto cdf = torch::exp(log_probabilities(output, h)).to(torch::kDouble).cumsum(-1);
    const auto u = on_device.narrow(-1, continuous_dim_, 1) * cdf.narrow(-1, num_logits_ - 1, 1);
    const auto index = (cdf <= u).sum(-1, /*keepdim=*/true).clamp_max(num_logits_ - 1).to(torch::kFloat32);
    parts.push_back(index * h.discrete.unsqueeze(-1).to(torch::kFloat32));
  }
  return parts.size() == 1 ? parts.front() : torch::cat(parts, -1);
}

}  // namespace metarl::agents
