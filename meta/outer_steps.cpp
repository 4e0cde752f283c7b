#include "meta/outer_steps.h"

#include "envs/errors.h"
#include "meta/outer_adam.h"
#include "meta/outer_promp.h"
#include "meta/outer_trpo.h"

namespace metarl::meta {

const std::vector<OuterStepEntry>& outer_steps() {
  // The registry: one line per outer step.
  static const std::vector<OuterStepEntry> steps{
      {"adam", "Adam through the inner steps", make_adam_step, adam_step_traits()},
      {"trpo", "MAML's TRPO, a KL trust region on the adapted policies", make_trpo_step, trpo_step_traits()},
      {"promp", "ProMP's clipped surrogate with a KL penalty, several steps per batch", make_promp_step,
       promp_step_traits()},
  };
  return steps;
}

std::vector<std::string> outer_step_names() {
  std::vector<std::string> names;
  for (const auto& entry : outer_steps()) names.push_back(entry.name);
  return names;
}

std::string outer_step_descriptions() {
  std::string out;
  for (const auto& entry : outer_steps()) out += (out.empty() ? "" : ", ") + entry.name + " (" + entry.description + ")";
  return out;
}

const OuterStepEntry& outer_step_entry(const std::string& optimizer) {
  for (const auto& entry : outer_steps()) {
    if (entry.name == optimizer) return entry;
  }
  std::string known;
  for (const auto& name : outer_step_names()) known += (known.empty() ? "" : ", ") + name;
  throw UsageError("optimizer '" + optimizer + "' is not one of: " + known);
}

std::unique_ptr<OuterStep> make_outer_step(const OuterStepContext& context) {
  return outer_step_entry(context.config.optimizer).make(context);
}

}  // namespace metarl::meta
