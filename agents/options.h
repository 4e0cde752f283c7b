#pragma once
// The agent's options as plain data: what a config sets and the agents/ code reads.
// Torch-free, so that meta/config.h (and everything that only configures) compiles
// without LibTorch's headers. Each enum has one table of names (envs/enum_names.h).

#include <cstdint>
#include <string>
#include <vector>

#include "envs/enum_names.h"

namespace metarl::agents {

enum class Activation { kRelu, kTanh };
const EnumNames<Activation>& activation_names();  // relu, tanh
std::string to_string(Activation activation);
// Throws UsageError naming the value and the choices.
Activation parse_activation(const std::string& name);

struct MlpOptions {
  std::vector<int64_t> hidden_sizes{100, 100};
  Activation activation = Activation::kRelu;
  double init_log_std = 0.0;  // Gaussian only: log σ at initialisation; 0 → σ = 1 as in MAML
  // A mixture of environment families only (agents/mixed_head_policy.h): whether the
  // trunk reads the one-hot of the row's family, or must find the family by adapting.
  bool family_observed = true;
};

struct AdvantageOptions {
  double gamma = 0.99;       // discount
  double gae_lambda = 1.0;   // 1 → Monte-Carlo return minus baseline (MAML's choice)
  bool normalize = true;     // per task: zero mean, unit std over valid steps
  double baseline_ridge = 1e-5;
  // false → no baseline (V = 0, so advantages are the discounted returns): the
  // estimator tests need REINFORCE exactly, without a baseline fitted on the same batch.
  bool use_baseline = true;
};

// How the inner (adaptation) objective is written (agents/surrogate.h): the three
// share the gradient's value and differ in the second derivatives the meta-gradient
// takes through θ' = θ − α ⊙ ∇L(θ).
enum class Estimator { kPlain, kDice, kLvc };
const EnumNames<Estimator>& estimator_names();  // plain, dice, lvc
std::string to_string(Estimator estimator);
// Throws UsageError naming the value and the choices.
Estimator parse_estimator(const std::string& name);

// How the meta-gradient's and TRPO's derivatives are computed: by the policies'
// analytic kernels (agents/policy_kernels.h), where a policy has them, or by autograd's
// generic double backward (the reference; and the fallback for other policies).
enum class Kernels { kAnalytic, kAutograd };
const EnumNames<Kernels>& kernels_names();  // analytic, autograd
std::string to_string(Kernels kernels);

// How a policy's continuous action reaches the environment.
enum class ActionSpace {
  // The policy's action is the environment's; the environment clips it to its box.
  kEnvironment,
  // The policy acts in [-1, 1] per dimension, mapped linearly onto the environment's
  // [low, high] and clipped there: rllab's normalize(), which MAML's and Meta-SGD's
  // point experiments ran under (on point-nav, velocity = 0.1 · a). The policy's own
  // σ and step sizes are then in units of half the action range.
  kNormalized,
};
const EnumNames<ActionSpace>& action_space_names();  // environment, normalized
std::string to_string(ActionSpace space);
// Throws std::invalid_argument naming the value and the choices (the sampler's
// contract; the action_space config key reports a UsageError).
ActionSpace parse_action_space(const std::string& name);

}  // namespace metarl::agents
