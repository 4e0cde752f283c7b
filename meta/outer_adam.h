#pragma once
// `optimizer: adam`: the meta-objective (the REINFORCE loss of the adapted policies on
// their own rollouts, MetaLearner::meta_loss) differentiated through the inner steps
// into θ and α, one Adam step per meta-iteration at outer_learning_rate().

#include <memory>

#include "meta/outer_step.h"

namespace metarl::meta {

std::unique_ptr<OuterStep> make_adam_step(const OuterStepContext& context);
OuterStepTraits adam_step_traits();

}  // namespace metarl::meta
