#pragma once
// Training configs small enough for a unit test, shared by the outer-step suites.

#include <string>

#include "meta/config.h"

namespace metarl::testing {

// point-nav, 6 tasks × 6 rollouts of 30 steps, a 2×16 policy, one thread, seed 3,
// with the named outer step (its own defaults otherwise).
inline meta::TrainConfig small_point_nav_config(const std::string& optimizer) {
  meta::TrainConfig config;
  config.env = "point-nav";
  config.meta_batch = 6;
  config.rollouts = 6;
  config.horizon = 30;
  config.policy.hidden_sizes = {16, 16};
  config.optimizer = optimizer;
  config.runtime.threads = 1;
  config.seed = 3;
  return config;
}

}  // namespace metarl::testing
