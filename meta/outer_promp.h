#pragma once
// `optimizer: promp`: Proximal Meta-Policy Search (Rothfuss, Lee, Clavera, Asfour &
// Abbeel, ICLR 2019), as its paper (eq. 12) and code (meta_algos/pro_mp.py) define it.
// On each batch of samples it takes `promp_epochs` Adam steps (step size outer_lr)
// on
//
//   L(θ, α) = −mean_tasks J^CLIP(θ') + mean_j η_j · mean_tasks KL(π_old,j ‖ π_j)
//
// where θ' is re-adapted from the current θ and α on the fixed inner rollouts with
// the LVC inner objective, importance-weighted by the policy that sampled them
// (agents::inner_objective_loss with behaviour log-probabilities: after the first
// epoch the policies no longer match); J^CLIP is PPO's clipped surrogate of the
// adapted policies on the post-adaptation rollouts, the ratio taken to the adapted
// policy that sampled them; and the penalty holds each inner step's policy π_j
// (θ for j = 0) near the one that sampled its rollouts, on those rollouts — the
// clip bounds only the post-adaptation policy. η_j starts at promp_kl_penalty and,
// with promp_adaptive_kl, halves or doubles after each iteration by that KL against
// promp_target_kl (ProMP's adapt_kl_coeff). Means are over each task's valid steps,
// then over tasks. ProMP's inner objective is LVC: another estimator is refused.

#include <torch/torch.h>

#include <memory>

#include "meta/outer_step.h"

namespace metarl::meta {

// The `promp` outer step's options (Rothfuss et al. 2019). Defaults are those of
// the paper's code for its point-mass and MuJoCo runs (run_scripts/pro-mp_run_*.py):
// clip 0.3, 5 steps per batch, a fixed KL coefficient 5e-4 (adaptive off, target 0.01);
// its Adam step size 1e-3 is `outer_lr`.
struct PrompOptions {
  double clip = 0.3;            // ε: the likelihood ratio of the adapted policies is clipped to [1 − ε, 1 + ε]
  int epochs = 5;               // outer gradient steps on each batch of samples (no re-sampling between)
  double kl_penalty = 5e-4;     // η: weight of KL(π_old ‖ π) of every inner step's policy on its own rollouts
  bool adaptive_kl = false;     // halve η when that KL < target/1.5, double it when > 1.5·target, per iteration
  double target_kl = 0.01;      // the target of adaptive_kl (nats)
};

// The promp step's options in `config` (config.step_options under "promp").
const PrompOptions& promp_options(const TrainConfig& config);
PrompOptions& promp_options(TrainConfig& config);

std::unique_ptr<OuterStep> make_promp_step(const OuterStepContext& context);
OuterStepTraits promp_step_traits();

// −J^CLIP per task: −Σ mask · min(r Â, clip(r, 1 − ε, 1 + ε) Â) / Σ mask with
// r = exp(log_probs − old_log_probs), for [T, R, H] inputs: [T]. Where the ratio has
// left the clip range in the advantage's favour the term is constant: no gradient
// pushes it further.
torch::Tensor clipped_surrogate_loss(const torch::Tensor& log_probs, const torch::Tensor& old_log_probs,
                                     const torch::Tensor& advantages, const torch::Tensor& mask, double clip);

// Per task, the mean over valid steps of KL(π_old ‖ π_new) on `observations`: [T].
torch::Tensor task_mean_kl(const agents::Policy& policy, const torch::Tensor& observations,
                           const agents::ParameterList& old_params, const agents::ParameterList& new_params,
                           const torch::Tensor& mask);

}  // namespace metarl::meta
