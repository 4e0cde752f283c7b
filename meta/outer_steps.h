#pragma once
// The outer steps' registry: one line per step (outer_steps.cpp), each step's factory
// and OuterStepTraits from its own file pair (meta/outer_step.h says what a step is).
// Everything that picks or asks about a step by its `optimizer` name comes here.

#include <memory>
#include <string>
#include <vector>

#include "meta/outer_step.h"

namespace metarl::meta {

// The registry, in the order of the `optimizer` key's choices.
const std::vector<OuterStepEntry>& outer_steps();
std::vector<std::string> outer_step_names();
// The entry named `optimizer` (TrainConfig::optimizer); UsageError naming the known ones.
const OuterStepEntry& outer_step_entry(const std::string& optimizer);
// Every registered step's metrics.csv columns (OuterStepTraits::metric_columns), each
// once, in the registry's order: every run's metrics.csv has them all.
const std::vector<StepMetricColumn>& outer_step_metric_columns();
std::vector<std::string> outer_step_metric_column_names();
// "adam (…), trpo (…), promp (…)".
std::string outer_step_descriptions();
// The step context.config.optimizer names. UsageError for an unknown name, or options
// the step cannot take (naming the key).
std::unique_ptr<OuterStep> make_outer_step(const OuterStepContext& context);

}  // namespace metarl::meta
