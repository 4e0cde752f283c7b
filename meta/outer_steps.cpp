#include "meta/outer_steps.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

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

const std::vector<StepMetricColumn>& outer_step_metric_columns() {
  static const std::vector<StepMetricColumn> columns = [] {
    std::vector<StepMetricColumn> all;
    for (const auto& entry : outer_steps()) {
      for (const auto& column : entry.traits.metric_columns) {
        const auto same = std::find_if(all.begin(), all.end(),
                                       [&](const StepMetricColumn& c) { return c.name == column.name; });
        if (same == all.end()) {
          all.push_back(column);
        } else if (same->integer != column.integer ||
                   !(same->absent == column.absent || (std::isnan(same->absent) && std::isnan(column.absent)))) {
          // Two declarations of one column must agree: a programming error in a registration.
          throw std::logic_error("outer step '" + entry.name + "' declares metrics.csv column '" + column.name +
                                 "' unlike an earlier step");
        }
      }
    }
    return all;
  }();
  return columns;
}

std::vector<std::string> outer_step_metric_column_names() {
  std::vector<std::string> names;
  for (const auto& column : outer_step_metric_columns()) names.push_back(column.name);
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
