#include "agents/policy.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "envs/errors.h"

namespace metarl::agents {

namespace F = torch::nn::functional;

torch::Tensor Policy::sample(const torch::Tensor& observations, const ParameterList& params,
                             at::Generator& generator) const {
  const auto batch_shape = observations.sizes().slice(0, observations.dim() - 1);
  return act(observations, params, draw_noise(batch_shape, generator)).to(torch::kCPU).contiguous();
}

bool is_task_batched(const ParameterList& params) {
  // The first tensor is always the first layer's weight: [out, in] or [T, out, in].
  return !params.empty() && params.front().dim() == 3;
}

ParameterList expand_to_tasks(const ParameterList& params, int64_t num_tasks) {
  ParameterList out;
  out.reserve(params.size());
  for (const auto& p : params) {
    std::vector<int64_t> shape{num_tasks};
    shape.insert(shape.end(), p.sizes().begin(), p.sizes().end());
    out.push_back(p.unsqueeze(0).expand(shape));
  }
  return out;
}

ParameterList detach(const ParameterList& params) {
  ParameterList out;
  out.reserve(params.size());
  for (const auto& p : params) out.push_back(p.detach());
  return out;
}

torch::Tensor mlp_forward(const torch::Tensor& input, const ParameterList& params, size_t num_layers,
                          Activation activation) {
  const bool batched = is_task_batched(params);
  torch::Tensor h = input;
  for (size_t layer = 0; layer < num_layers; ++layer) {
    const auto& weight = params[2 * layer];
    const auto& bias = params[2 * layer + 1];
    if (batched) {
      // h [T, N, in] · Wᵀ [T, in, out] + b [T, 1, out] → [T, N, out]
      h = torch::baddbmm(bias.unsqueeze(1), h, weight.transpose(1, 2));
    } else {
      h = F::linear(h, weight, bias);
    }
    if (layer + 1 < num_layers) h = activation == Activation::kRelu ? torch::relu(h) : torch::tanh(h);
  }
  return h;
}

namespace {

// Observations [T, d1, ..., obs_dim] → [T, N, obs_dim] for the batched forward.
torch::Tensor flatten_task_rows(const torch::Tensor& observations) {
  return observations.reshape({observations.size(0), -1, observations.size(-1)});
}

// Output rows [T, N, k] back to the observations' leading shape [T, d1, ..., k].
torch::Tensor unflatten_task_rows(const torch::Tensor& rows, const torch::Tensor& observations) {
  std::vector<int64_t> shape(observations.sizes().begin(), observations.sizes().end() - 1);
  shape.push_back(rows.size(-1));
  return rows.reshape(shape);
}

void check_hidden_sizes(const std::vector<int64_t>& hidden_sizes) {
  for (auto size : hidden_sizes) {
    if (size <= 0) throw UsageError("hidden_sizes: every layer size must be positive, got " + std::to_string(size));
  }
}

std::string describe_mlp(const char* kind, int observation_dim, const char* output, int output_size,
                         const MlpOptions& options) {
  std::ostringstream out;
  out << kind << " obs=" << observation_dim << " " << output << "=" << output_size << " hidden=";
  for (size_t i = 0; i < options.hidden_sizes.size(); ++i) out << (i ? "x" : "") << options.hidden_sizes[i];
  out << " activation=" << to_string(options.activation);
  return out.str();
}

}  // namespace

std::vector<ParameterSpec> mlp_parameter_specs(int64_t input_size, const std::vector<int64_t>& hidden_sizes,
                                               int64_t output_size) {
  std::vector<ParameterSpec> specs;
  int64_t in = input_size;
  const size_t layers = hidden_sizes.size() + 1;
  for (size_t layer = 0; layer < layers; ++layer) {
    const int64_t out = layer + 1 < layers ? hidden_sizes[layer] : output_size;
    const std::string prefix = "layer" + std::to_string(layer);
    specs.push_back({prefix + ".weight", {out, in}});
    specs.push_back({prefix + ".bias", {out}});
    in = out;
  }
  return specs;
}

ParameterList initial_mlp_parameters(const std::vector<ParameterSpec>& specs, std::uint64_t seed,
                                     const torch::TensorOptions& options) {
  at::Generator generator = at::detail::createCPUGenerator(seed);
  ParameterList params;
  for (const auto& spec : specs) {
    torch::Tensor value;
    if (spec.shape.size() == 2) {
      const double bound = std::sqrt(6.0 / static_cast<double>(spec.shape[0] + spec.shape[1]));
      value = torch::empty(spec.shape, torch::kDouble).uniform_(-bound, bound, generator);
    } else {
      value = torch::zeros(spec.shape, torch::kDouble);
    }
    params.push_back(value.to(options));
  }
  return params;
}

torch::Tensor mlp_apply(const torch::Tensor& observations, const ParameterList& params, size_t num_layers,
                        Activation activation) {
  if (!is_task_batched(params)) return mlp_forward(observations, params, num_layers, activation);
  auto rows = mlp_forward(flatten_task_rows(observations), params, num_layers, activation);
  return unflatten_task_rows(rows, observations);
}

GaussianMlpPolicy::GaussianMlpPolicy(int observation_dim, int action_dim, Options options)
    : observation_dim_(observation_dim), action_dim_(action_dim), options_(std::move(options)) {
  if (observation_dim <= 0 || action_dim <= 0) {
    throw std::invalid_argument("GaussianMlpPolicy: observation and action sizes must be positive");
  }
  check_hidden_sizes(options_.hidden_sizes);
}

std::string GaussianMlpPolicy::architecture() const {
  return describe_mlp("gaussian-mlp", observation_dim_, "act", action_dim_, options_);
}

std::vector<ParameterSpec> GaussianMlpPolicy::parameter_specs() const {
  auto specs = mlp_parameter_specs(observation_dim_, options_.hidden_sizes, action_dim_);
  specs.push_back({"log_std", {action_dim_}});
  return specs;
}

ParameterList GaussianMlpPolicy::initial_parameters(std::uint64_t seed, const torch::TensorOptions& options) const {
  auto params = initial_mlp_parameters(parameter_specs(), seed, options);
  params.back().fill_(options_.init_log_std);  // log_std: a vector, initialised to zeros above
  return params;
}

torch::Tensor GaussianMlpPolicy::mean(const torch::Tensor& observations, const ParameterList& params) const {
  return mlp_apply(observations, params, num_layers(), options_.activation);
}

torch::Tensor broadcast_action_vector(const torch::Tensor& vector, const torch::Tensor& observations,
                                      const ParameterList& params) {
  if (!is_task_batched(params)) return vector;
  // [T, A] → [T, 1, ..., 1, A] to broadcast against [T, d1, ..., A].
  std::vector<int64_t> shape(static_cast<size_t>(observations.dim()), 1);
  shape.front() = vector.size(0);
  shape.back() = vector.size(1);
  return vector.reshape(shape);
}

torch::Tensor GaussianMlpPolicy::log_std(const torch::Tensor& observations, const ParameterList& params) const {
  return broadcast_action_vector(params.back(), observations, params);
}

torch::Tensor GaussianMlpPolicy::log_prob(const torch::Tensor& observations, const torch::Tensor& actions,
                                          const ParameterList& params) const {
  const auto mu = mean(observations, params);
  const auto log_sigma = log_std(observations, params);
  const auto z = (actions - mu) * torch::exp(-log_sigma);
  const double half_log_two_pi = 0.5 * std::log(2.0 * M_PI);
  return (-0.5 * z.square() - log_sigma - half_log_two_pi).sum(-1);
}

torch::Tensor GaussianMlpPolicy::kl_divergence(const torch::Tensor& observations, const ParameterList& old_params,
                                               const ParameterList& new_params) const {
  const auto mu_old = mean(observations, old_params);
  const auto mu_new = mean(observations, new_params);
  const auto log_sigma_old = log_std(observations, old_params);
  const auto log_sigma_new = log_std(observations, new_params);
  const auto var_old = torch::exp(2.0 * log_sigma_old);
  const auto var_new = torch::exp(2.0 * log_sigma_new);
  return (log_sigma_new - log_sigma_old + (var_old + (mu_old - mu_new).square()) / (2.0 * var_new) - 0.5).sum(-1);
}

torch::Tensor GaussianMlpPolicy::draw_noise(c10::IntArrayRef batch_shape, at::Generator& generator) const {
  std::vector<int64_t> shape(batch_shape.begin(), batch_shape.end());
  shape.push_back(action_dim_);
  return at::randn(shape, generator, torch::TensorOptions().dtype(torch::kFloat32));
}

torch::Tensor GaussianMlpPolicy::act(const torch::Tensor& observations, const ParameterList& params,
                                     const torch::Tensor& noise) const {
  torch::NoGradGuard no_grad;
  // μ + σ ε in float32: the same two operations, in the same order, on any device.
  const auto mu = mean(observations, params).to(torch::kFloat32);
  const auto sigma = torch::exp(log_std(observations, params)).to(torch::kFloat32);
  return mu + sigma * noise.to(mu.device());
}

std::unique_ptr<PolicyLinearization> GaussianMlpPolicy::linearize(const torch::Tensor& observations,
                                                                 const torch::Tensor& actions,
                                                                 const ParameterList& params) const {
  return linearize_gaussian_mlp(observations, actions, params, num_layers(), options_.activation);
}

CategoricalMlpPolicy::CategoricalMlpPolicy(int observation_dim, int num_actions, Options options)
    : observation_dim_(observation_dim), num_actions_(num_actions), options_(std::move(options)) {
  if (observation_dim <= 0 || num_actions < 2) {
    throw std::invalid_argument("CategoricalMlpPolicy: needs a positive observation size and at least 2 actions");
  }
  check_hidden_sizes(options_.hidden_sizes);
}

std::string CategoricalMlpPolicy::architecture() const {
  return describe_mlp("categorical-mlp", observation_dim_, "actions", num_actions_, options_);
}

std::vector<ParameterSpec> CategoricalMlpPolicy::parameter_specs() const {
  return mlp_parameter_specs(observation_dim_, options_.hidden_sizes, num_actions_);
}

ParameterList CategoricalMlpPolicy::initial_parameters(std::uint64_t seed,
                                                       const torch::TensorOptions& options) const {
  return initial_mlp_parameters(parameter_specs(), seed, options);
}

torch::Tensor CategoricalMlpPolicy::log_probabilities(const torch::Tensor& observations,
                                                      const ParameterList& params) const {
  return torch::log_softmax(mlp_apply(observations, params, num_layers(), options_.activation), -1);
}

torch::Tensor CategoricalMlpPolicy::log_prob(const torch::Tensor& observations, const torch::Tensor& actions,
                                             const ParameterList& params) const {
  // actions [..., 1] hold indices as floats (exact for any realistic action count).
  const auto index = actions.to(torch::kLong);
  return log_probabilities(observations, params).gather(-1, index).squeeze(-1);
}

torch::Tensor CategoricalMlpPolicy::kl_divergence(const torch::Tensor& observations, const ParameterList& old_params,
                                                  const ParameterList& new_params) const {
  const auto log_p_old = log_probabilities(observations, old_params);
  const auto log_p_new = log_probabilities(observations, new_params);
  return (torch::exp(log_p_old) * (log_p_old - log_p_new)).sum(-1);
}

torch::Tensor CategoricalMlpPolicy::draw_noise(c10::IntArrayRef batch_shape, at::Generator& generator) const {
  // One uniform per row for inverse-CDF sampling, drawn on the CPU from `generator`
  // (torch::multinomial would draw on the policy's device).
  std::vector<int64_t> shape(batch_shape.begin(), batch_shape.end());
  shape.push_back(1);
  return at::rand(shape, generator, torch::TensorOptions().dtype(torch::kDouble));
}

torch::Tensor CategoricalMlpPolicy::act(const torch::Tensor& observations, const ParameterList& params,
                                        const torch::Tensor& noise) const {
  torch::NoGradGuard no_grad;
  const auto probabilities = torch::exp(log_probabilities(observations, params)).to(torch::kDouble);
  const auto cdf = probabilities.cumsum(-1);
  const auto u = noise.to(cdf.device()) * cdf.narrow(-1, num_actions_ - 1, 1);
  // Index of the first cumulative probability above u, clamped against rounding.
  const auto index = (cdf <= u).sum(-1, /*keepdim=*/true).clamp_max(num_actions_ - 1);
  return index.to(torch::kFloat32);
}

std::unique_ptr<PolicyLinearization> CategoricalMlpPolicy::linearize(const torch::Tensor& observations,
                                                                    const torch::Tensor& actions,
                                                                    const ParameterList& params) const {
  return linearize_categorical_mlp(observations, actions, params, num_layers(), options_.activation);
}

}  // namespace metarl::agents
