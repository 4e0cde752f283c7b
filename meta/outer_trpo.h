#pragma once
// `optimizer: trpo`: MAML's outer step. Minimise the importance-weighted surrogate of
// the adapted policies, −mean(π'_new/π'_old · Â), subject to the mean KL(π'_old ‖
// π'_new) on the post-adaptation states ≤ max_kl; both are functions of (θ, α)
// through the re-adaptation on the same inner rollouts. The step is CG on the KL's
// Hessian (meta/trpo.h) scaled to the trust region's boundary, then a backtracking
// line search. The Hessian is Jᵀ F J at the old point (LinearizedAdaptation,
// meta/meta_learner.h), its products computed by groups of tasks on `workers` threads.

#include <memory>

#include "meta/outer_step.h"
#include "meta/trpo.h"

namespace metarl::meta {

// The trpo step's options in `config` (config.step_options under "trpo").
const TrpoOptions& trpo_options(const TrainConfig& config);
TrpoOptions& trpo_options(TrainConfig& config);

std::unique_ptr<OuterStep> make_trpo_step(const OuterStepContext& context);
OuterStepTraits trpo_step_traits();

}  // namespace metarl::meta
