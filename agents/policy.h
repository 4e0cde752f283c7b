#pragma once
// Policies whose forward is a pure function of observations and an explicit
// parameter list, so that adapted parameters θ' = θ − α ⊙ g are just another list
// and gradients flow through them. (Module::clone() was rejected for adaptation:
// it copies under no-grad and cuts the meta-gradient.)
//
// Two parameter layouts, told apart by the rank of the first weight:
//   shared        W [out, in],    b [out],    log_std [A];    obs [..., obs_dim]
//   task-batched  W [T, out, in], b [T, out], log_std [T, A]; obs [T, N, obs_dim]
// The task-batched forward computes all T tasks' policies with batched matrix
// products (baddbmm) in one graph: this is what makes per-task adaptation fast.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agents/options.h"
#include "agents/policy_kernels.h"

namespace metarl::agents {

using ParameterList = std::vector<torch::Tensor>;

struct ParameterSpec {
  std::string name;             // e.g. "layer0.weight"
  std::vector<int64_t> shape;   // shared layout
};

// A multilayer perceptron as a pure function: layers = [W0, b0, W1, b1, ...],
// activation between layers, none after the last. Shared or task-batched layout.
torch::Tensor mlp_forward(const torch::Tensor& input, const ParameterList& params, size_t num_layers,
                          Activation activation);

// True when the parameter list carries a leading task dimension.
bool is_task_batched(const ParameterList& params);
// Every parameter expanded to [T, ...] (a view: no copy, gradients flow back to the
// shared tensors, summed over tasks).
ParameterList expand_to_tasks(const ParameterList& params, int64_t num_tasks);
ParameterList detach(const ParameterList& params);

class Policy {
 public:
  virtual ~Policy() = default;

  virtual int observation_dim() const = 0;
  virtual int action_dim() const = 0;
  // A one-line description of the architecture, stored in checkpoints and compared
  // when one is loaded.
  virtual std::string architecture() const = 0;
  virtual std::vector<ParameterSpec> parameter_specs() const = 0;
  // Freshly initialised parameters (shared layout), deterministic in `seed`.
  virtual ParameterList initial_parameters(std::uint64_t seed, const torch::TensorOptions& options) const = 0;

  // log π(action | observation), summed over action components: [...] for
  // observations [..., obs_dim] and actions [..., action_dim].
  virtual torch::Tensor log_prob(const torch::Tensor& observations, const torch::Tensor& actions,
                                 const ParameterList& params) const = 0;
  // KL(π_old ‖ π_new) per observation, [...]; for trust regions and diagnostics.
  virtual torch::Tensor kl_divergence(const torch::Tensor& observations, const ParameterList& old_params,
                                      const ParameterList& new_params) const = 0;
  // The random numbers of one sample() for observations whose shape before obs_dim is
  // `batch_shape`, drawn on the CPU from `generator`: Gaussian standard normals
  // [..., action_dim] float32, or categorical uniforms [..., 1] double. A rollout can
  // draw every step's noise first, in sample()'s order, and act on the device after.
  virtual torch::Tensor draw_noise(c10::IntArrayRef batch_shape, at::Generator& generator) const = 0;
  // Actions from draw_noise()'s numbers, computed on the observations' device:
  // [..., action_dim] float32 there. No graph is recorded.
  virtual torch::Tensor act(const torch::Tensor& observations, const ParameterList& params,
                            const torch::Tensor& noise) const = 0;
  // Actions for observations with noise drawn on the CPU from `generator` (so a seed
  // pins a rollout whatever the device): act(observations, params, draw_noise(...)),
  // [..., action_dim] float32 on the CPU.
  torch::Tensor sample(const torch::Tensor& observations, const ParameterList& params,
                       at::Generator& generator) const;
  // The analytic products at task-batched parameters on fixed rows (agents/policy_kernels.h):
  // observations [T, …, obs_dim], actions [T, …, action_dim] (undefined when only the
  // KL's products are wanted). nullptr for a policy without analytic kernels: callers
  // then differentiate with autograd.
  virtual std::unique_ptr<PolicyLinearization> linearize(const torch::Tensor& observations,
                                                         const torch::Tensor& actions,
                                                         const ParameterList& params) const {
    (void)observations, (void)actions, (void)params;
    return nullptr;
  }
};

// A per-action vector parameter (log σ: [A] shared, [T, A] task-batched) shaped to
// broadcast against outputs [..., A] of `observations` ([T, 1, ..., 1, A] task-batched).
torch::Tensor broadcast_action_vector(const torch::Tensor& vector, const torch::Tensor& observations,
                                      const ParameterList& params);

// Shapes of an MLP's layers [W0 [h0, in], b0 [h0], ..., Wn [out, h_{n-1}], bn [out]],
// named "layer<i>.weight" / "layer<i>.bias".
std::vector<ParameterSpec> mlp_parameter_specs(int64_t input_size, const std::vector<int64_t>& hidden_sizes,
                                               int64_t output_size);
// Xavier-uniform matrices and zero vectors (as pytorch-maml-rl), drawn in double on
// the CPU from a generator seeded with `seed`, in spec order, so the values depend on
// the seed alone; then converted to `options`.
ParameterList initial_mlp_parameters(const std::vector<ParameterSpec>& specs, std::uint64_t seed,
                                     const torch::TensorOptions& options);
// mlp_forward over observations [..., obs_dim] (shared parameters) or [T, ..., obs_dim]
// (task-batched): [..., out] / [T, ..., out].
torch::Tensor mlp_apply(const torch::Tensor& observations, const ParameterList& params, size_t num_layers,
                        Activation activation);

// Gaussian MLP policy with a learned, state-independent log standard deviation:
// a ~ N(μ_θ(s), diag(exp(2·log_std))). Parameters: [W0, b0, ..., Wn, bn, log_std].
class GaussianMlpPolicy final : public Policy {
 public:
  using Options = MlpOptions;

  GaussianMlpPolicy(int observation_dim, int action_dim, Options options);

  int observation_dim() const override { return observation_dim_; }
  int action_dim() const override { return action_dim_; }
  std::string architecture() const override;
  std::vector<ParameterSpec> parameter_specs() const override;
  ParameterList initial_parameters(std::uint64_t seed, const torch::TensorOptions& options) const override;
  torch::Tensor log_prob(const torch::Tensor& observations, const torch::Tensor& actions,
                         const ParameterList& params) const override;
  torch::Tensor kl_divergence(const torch::Tensor& observations, const ParameterList& old_params,
                              const ParameterList& new_params) const override;
  torch::Tensor draw_noise(c10::IntArrayRef batch_shape, at::Generator& generator) const override;
  torch::Tensor act(const torch::Tensor& observations, const ParameterList& params,
                    const torch::Tensor& noise) const override;
  std::unique_ptr<PolicyLinearization> linearize(const torch::Tensor& observations, const torch::Tensor& actions,
                                                 const ParameterList& params) const override;

  // μ_θ(s): [..., action_dim].
  torch::Tensor mean(const torch::Tensor& observations, const ParameterList& params) const;
  // log σ broadcastable against mean(): [1.., action_dim] (shared) or [T, 1, A].
  torch::Tensor log_std(const torch::Tensor& observations, const ParameterList& params) const;

  const Options& options() const { return options_; }
  size_t num_layers() const { return options_.hidden_sizes.size() + 1; }

 private:
  int observation_dim_;
  int action_dim_;
  Options options_;
};

// Categorical MLP policy for discrete actions: π(a | s) = softmax(f_θ(s))_a over
// `num_actions` logits. Parameters: [W0, b0, ..., Wn, bn]. As the environments
// expect, an action is one component holding the index as a float: action_dim() = 1.
class CategoricalMlpPolicy final : public Policy {
 public:
  using Options = MlpOptions;  // init_log_std is unused

  CategoricalMlpPolicy(int observation_dim, int num_actions, Options options);

  int observation_dim() const override { return observation_dim_; }
  int action_dim() const override { return 1; }
  int num_actions() const { return num_actions_; }
  std::string architecture() const override;
  std::vector<ParameterSpec> parameter_specs() const override;
  ParameterList initial_parameters(std::uint64_t seed, const torch::TensorOptions& options) const override;
  torch::Tensor log_prob(const torch::Tensor& observations, const torch::Tensor& actions,
                         const ParameterList& params) const override;
  torch::Tensor kl_divergence(const torch::Tensor& observations, const ParameterList& old_params,
                              const ParameterList& new_params) const override;
  torch::Tensor draw_noise(c10::IntArrayRef batch_shape, at::Generator& generator) const override;
  torch::Tensor act(const torch::Tensor& observations, const ParameterList& params,
                    const torch::Tensor& noise) const override;
  std::unique_ptr<PolicyLinearization> linearize(const torch::Tensor& observations, const torch::Tensor& actions,
                                                 const ParameterList& params) const override;

  // log softmax of the logits: [..., num_actions].
  torch::Tensor log_probabilities(const torch::Tensor& observations, const ParameterList& params) const;
  size_t num_layers() const { return options_.hidden_sizes.size() + 1; }

 private:
  int observation_dim_;
  int num_actions_;
  Options options_;
};

}  // namespace metarl::agents
