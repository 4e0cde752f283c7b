#pragma once
// Policy-gradient surrogate losses, per task.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "agents/options.h"
#include "agents/policy_kernels.h"

namespace metarl::agents {

// How the inner (adaptation) objective is written. All three have the same value of
// the gradient — the policy-gradient estimate Σ_t ∇log π(a_t|s_t) Â_t — and differ in
// their second derivatives, which is what the meta-gradient differentiates through
// θ' = θ − α ⊙ ∇L(θ):
//   plain  Σ_t log π_t · Â_t. Its Hessian keeps only Σ_t ∇²log π_t · Â_t and drops
//          the score terms of the sampling distribution: biased (ProMP, Rothfuss et
//          al. 2018, §4), though it is what most implementations differentiate.
//   dice   Σ_t (□(a_≤t) − □(a_<t)) · Â_t with the magic box □(S) = exp(Σ_S log π −
//          ⊥Σ_S log π) (DiCE, Foerster et al. 2018, in the advantage form of Loaded
//          DiCE, Farquhar et al. 2019). Its Hessian adds Σ_t Â_t (s_t s_tᵀ + s_t S_<tᵀ
//          + S_<t s_tᵀ), s_t = ∇log π_t, S_<t = Σ_{t'<t} s_t': unbiased.
//   lvc    Σ_t □(a_t) · Â_t = Σ_t π_t/⊥π_t · Â_t (ProMP eq. 9): keeps s_t s_tᵀ and
//          drops the cross-time terms; biased, with much lower variance than dice.
// (Estimator and its names: agents/options.h.)

// The inner loss −objective / Σ mask per task: [T] for log_probs, advantages and
// mask [T, R, H]. Advantages are constants (detached).
//
// `behaviour_log_probs` (optional, [T, R, H]): the log-probabilities of the policy
// that sampled the rollouts, when it is not the one being differentiated (ProMP's
// later steps on one batch). The boxes' denominators are then that policy's, so lvc
// is Σ_t π_t/π_behaviour,t · Â_t, ProMP's J^LVC (its eq. 12), and dice the same over
// the prefixes; undefined, they are the current policy's, detached. plain has no
// ratio to take: std::invalid_argument with a behaviour policy.
torch::Tensor inner_objective_loss(const torch::Tensor& log_probs, const torch::Tensor& advantages,
                                   const torch::Tensor& mask, Estimator estimator,
                                   const torch::Tensor& behaviour_log_probs = {});

// REINFORCE with a baseline: L_t = −Σ mask · log π · A / Σ mask, one value per
// task: [T] for inputs [T, R, H]. Its gradient is the policy-gradient estimate.
torch::Tensor reinforce_loss(const torch::Tensor& log_probs, const torch::Tensor& advantages,
                             const torch::Tensor& mask);

// The importance-weighted form, −Σ mask · exp(log π − log π_old) · A / Σ mask: [T].
// At log π_old = log π.detach() its value is −mean A and its gradient equals
// reinforce_loss's; TRPO evaluates it away from the sampling policy.
torch::Tensor importance_weighted_loss(const torch::Tensor& log_probs, const torch::Tensor& old_log_probs,
                                       const torch::Tensor& advantages, const torch::Tensor& mask);

// The same inner loss, summed over tasks, differentiated by a policy's analytic
// kernels instead of autograd (on-policy: no behaviour policy). With the row weights
// ŵ_r = mask_r Â_r / Σ mask (per task) and s_r = ∇ log π_r:
//   gradient (every estimator)  −Σ_r ŵ_r s_r
//   plain   H v = −Σ_r ŵ_r ∇² log π_r v
//   lvc     H v = −Σ_r ŵ_r (∇² log π_r v + s_r (s_r · v))
//   dice    H v = −Σ_r ŵ_r ∇² log π_r v − Σ_r s_r [ŵ_r (c_r + C_r) + mask_r D_r]
//           with c_r = s_r · v, C_r = Σ_{r' < r} mask c (earlier steps of the rollout)
//           and D_r = Σ_{r' > r} ŵ c (later ones): the s S_<ᵀ + S_< sᵀ terms.
// Results in the linearisation's task-batched shapes; advantages and mask [T, R, H].
// H v: InnerLossHessian below.
std::vector<torch::Tensor> inner_loss_gradient(const PolicyLinearization& policy, const torch::Tensor& advantages,
                                               const torch::Tensor& mask);
// The inner loss's Hessian-vector products H v at a linearisation point, in the
// estimator's form above; the row weights and the policy's backward pass are kept
// for every product (it may outlive `policy`).
class InnerLossHessian {
 public:
  InnerLossHessian(const PolicyLinearization& policy, const torch::Tensor& advantages, const torch::Tensor& mask,
                   Estimator estimator);
  std::vector<torch::Tensor> product(const std::vector<torch::Tensor>& v) const;

 private:
  Estimator estimator_;
  torch::Tensor mask_;               // [T, R, H]
  torch::Tensor weights_;            // ŵ [T, R, H]
  torch::Tensor curvature_weights_;  // −ŵ as rows [T, N]
  std::unique_ptr<LogProbHessian> log_prob_hessian_;
};

}  // namespace metarl::agents
