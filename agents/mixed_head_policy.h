#pragma once
// One policy over a mixture of environment families (envs/mixture_env.h, issue Q):
// one MLP trunk, a Gaussian head for the continuous families and a categorical head
// for the discrete ones, each row using its own family's head only.
//
// Observations [..., D + K]: the family's padded observation, then a one-hot of the K
// families, which selects each row's head. The trunk reads all D + K components when
// the family is observed (MlpOptions::family_observed), the first D otherwise — then
// the family is one more thing adaptation must find from the rewards.
// Trunk output [..., C + M]: the Gaussian mean over C (the largest continuous family's
// action size), then M logits (the largest discrete family's action count).
// Actions [..., C (+ 1)]: a continuous family's row uses the first of the C components
// (its own action size; the rest are 0 and ignored), a discrete family's row the last
// component, its action's index; a discrete family's logits beyond its own action
// count are masked out. log π of a row is its own family's head's alone, so gradients
// and KL divergences of one family's rows never involve another family's head.
// Parameters: [W0, b0, ..., Wn, bn] and, when a family is continuous, log_std [C].

#include "agents/policy.h"
#include "envs/batched_env.h"

namespace metarl::agents {

class MixedHeadMlpPolicy final : public Policy {
 public:
  using Options = MlpOptions;

  // `families`: EnvSpec::families of the mixture; observation_dim = D + K.
  MixedHeadMlpPolicy(int observation_dim, std::vector<envs::EnvSpec::Family> families, Options options);

  int observation_dim() const override { return observation_dim_; }
  int action_dim() const override { return continuous_dim_ + (num_logits_ > 0 ? 1 : 0); }
  std::string architecture() const override;
  std::vector<ParameterSpec> parameter_specs() const override;
  ParameterList initial_parameters(std::uint64_t seed, const torch::TensorOptions& options) const override;
  torch::Tensor log_prob(const torch::Tensor& observations, const torch::Tensor& actions,
                         const ParameterList& params) const override;
  torch::Tensor kl_divergence(const torch::Tensor& observations, const ParameterList& old_params,
                              const ParameterList& new_params) const override;
  // Standard normals [..., C] then one uniform [..., 1] (when a family is discrete),
  // float64: [..., action_dim].
  torch::Tensor draw_noise(c10::IntArrayRef batch_shape, at::Generator& generator) const override;
  torch::Tensor act(const torch::Tensor& observations, const ParameterList& params,
                    const torch::Tensor& noise) const override;

  int num_families() const { return static_cast<int>(families_.size()); }
  const Options& options() const { return options_; }
  size_t num_layers() const { return options_.hidden_sizes.size() + 1; }

 private:
  struct Heads {
    torch::Tensor continuous_mask;  // [..., C] float: 1 on the row's family's action components
    torch::Tensor discrete;         // [...] float: 1 for a row of a discrete family
    torch::Tensor logit_allowed;    // [..., M] bool: the row's family's actions
  };
  Heads heads(const torch::Tensor& observations) const;
  // Trunk output [..., C + M].
  torch::Tensor trunk(const torch::Tensor& observations, const ParameterList& params) const;
  // log σ broadcastable against the mean [..., C].
  torch::Tensor log_std(const torch::Tensor& observations, const ParameterList& params) const;
  // log softmax over the row's family's logits; −∞-like (−1e9 below) elsewhere.
  torch::Tensor log_probabilities(const torch::Tensor& output, const Heads& heads) const;

  int observation_dim_;
  std::vector<envs::EnvSpec::Family> families_;
  Options options_;
  int padded_dim_;     // D
  int continuous_dim_;  // C
  int num_logits_;     // M
  torch::Tensor continuous_mask_;  // [K, C] float
  torch::Tensor discrete_;         // [K] float
  torch::Tensor logit_mask_;       // [K, M] float
};

}  // namespace metarl::agents
