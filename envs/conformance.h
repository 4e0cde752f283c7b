#pragma once
// The environment conformance suite, as a library: every registered environment,
// built in or plugged in, must pass every check. tests/envs/conformance_test.cpp runs
// each check as a GoogleTest case over every registered name, and `metarl check-env
// NAME` runs them all on one environment — a plug-in's too (`metarl --plugin LIB
// check-env NAME`). No test framework here: a check returns pass or fail and a
// message that says where it failed (row, step, component, values).
//
// The contracts, from ../shared/style.md (EnvPool, gymnax, Brax):
//   spec_shapes_and_bounds            the spec validates and carries the registered name; rewards
//                                     and observations stay finite and inside the declared bounds
//   same_seed_same_rollout            same seed → bit-identical rollout; another seed → another
//                                     rollout, unless the spec declares a deterministic reset, in
//                                     which case the start may not depend on the seed
//   truncated_at_the_time_limit       truncated exactly when max_episode_steps steps have elapsed;
//                                     elapsed steps restart at every automatic reset
//   task_change_stays_in_its_row      changing one row's task changes that row's rollout only
//   auto_reset_keeps_the_task         automatic resets never change a row's task
//   heldout_outside_training_ranges   held-out tasks lie in the held-out box and outside the
//                                     training box
//   split_step_same_rollout           a step split over threads (row ranges) gives the
//                                     bit-identical rollout of one thread
//   task_process_stays_in_range       a random walk on every parameter that varies keeps each
//                                     split's tasks in its box, moves only those parameters,
//                                     and the environment steps every round's tasks (task
//                                     processes act on the task layout alone, with no code
//                                     of the environment's own)

#include <string>
#include <vector>

#include "envs/registry.h"

namespace metarl::envs {

struct CheckResult {
  bool passed = true;
  std::string message;  // why it failed; empty when it passed
};

// Each check builds its own environments from `registry` (8 rows, fixed seeds, tasks
// from the train split) and catches what they throw: an exception is a failure whose
// message names it.
CheckResult check_spec_shapes_and_bounds(const std::string& env_name,
                                         const EnvRegistry& registry = EnvRegistry::global());
CheckResult check_same_seed_same_rollout(const std::string& env_name,
                                         const EnvRegistry& registry = EnvRegistry::global());
CheckResult check_truncated_at_the_time_limit(const std::string& env_name,
                                              const EnvRegistry& registry = EnvRegistry::global());
CheckResult check_task_change_stays_in_its_row(const std::string& env_name,
                                               const EnvRegistry& registry = EnvRegistry::global());
CheckResult check_auto_reset_keeps_the_task(const std::string& env_name,
                                            const EnvRegistry& registry = EnvRegistry::global());
CheckResult check_heldout_outside_training_ranges(const std::string& env_name,
                                                  const EnvRegistry& registry = EnvRegistry::global());
CheckResult check_split_step_same_rollout(const std::string& env_name,
                                          const EnvRegistry& registry = EnvRegistry::global());
CheckResult check_task_process_stays_in_range(const std::string& env_name,
                                              const EnvRegistry& registry = EnvRegistry::global());

struct ConformanceCheck {
  const char* name;         // as in the list above
  const char* description;  // the contract, one line
  CheckResult (*run)(const std::string& env_name, const EnvRegistry& registry);
};

// All the checks above, in that order.
const std::vector<ConformanceCheck>& conformance_checks();

struct CheckOutcome {
  std::string check;  // ConformanceCheck::name
  CheckResult result;
};

// Runs every check on one environment. Throws UsageError naming the known
// environments when `env_name` is not registered.
std::vector<CheckOutcome> check_conformance(const std::string& env_name,
                                            const EnvRegistry& registry = EnvRegistry::global());

}  // namespace metarl::envs
