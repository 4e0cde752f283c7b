// The conformance suite as GoogleTest cases: every registered environment must pass
// every check of envs/conformance.h (spec and bounds, seeding, truncation at the time
// limit, per-row task independence, auto-reset keeping the task, held-out tasks
// outside the training ranges, task processes inside each split's ranges). The checks
// live in the library so that `metarl check-env NAME` runs the same suite on any
// environment, plug-ins included.
//
// A plug-in's environments join the instantiation when METARL_TEST_PLUGINS names the
// libraries (':'-separated), e.g.
//   METARL_TEST_PLUGINS=libpoint_velocity.so envs_tests --gtest_filter='Registered/Conformance.*'

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "envs/conformance.h"
#include "envs/plugin.h"
#include "envs/registry.h"

namespace metarl::envs {
namespace {

std::vector<std::string> load_test_plugins_and_list_environments() {
  if (const char* plugins = std::getenv("METARL_TEST_PLUGINS")) {
    std::istringstream paths(plugins);
    for (std::string path; std::getline(paths, path, ':');) {
      if (path.empty()) continue;
      try {
        load_plugin(path);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "METARL_TEST_PLUGINS: %s\n", e.what());
        std::exit(2);
      }
    }
  }
  auto names = EnvRegistry::global().names();
  // Mixtures of families (envs/mixture_env.h): discrete and continuous, three sizes of
  // observation, three time limits.
  names.push_back("cartpole,pendulum");
  names.push_back("cartpole,pendulum,point-nav");
  return names;
}

// Every registered name, after loading the plug-ins of METARL_TEST_PLUGINS; a plug-in
// that does not load ends the run. GoogleTest evaluates the generator once per
// TEST_P, hence the one-time initialisation.
const std::vector<std::string>& environments_under_test() {
  static const std::vector<std::string> names = load_test_plugins_and_list_environments();
  return names;
}

class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  static void expect_pass(const CheckResult& result) { EXPECT_TRUE(result.passed) << result.message; }
};

TEST_P(Conformance, SpecShapesAndBounds) { expect_pass(check_spec_shapes_and_bounds(GetParam())); }

TEST_P(Conformance, SameSeedSameRolloutOtherSeedOtherRollout) {
  expect_pass(check_same_seed_same_rollout(GetParam()));
}

TEST_P(Conformance, TruncatedExactlyAtTheTimeLimit) { expect_pass(check_truncated_at_the_time_limit(GetParam())); }

TEST_P(Conformance, ChangingOneRowsTaskChangesOnlyThatRow) {
  expect_pass(check_task_change_stays_in_its_row(GetParam()));
}

TEST_P(Conformance, AutomaticResetNeverChangesTheTask) { expect_pass(check_auto_reset_keeps_the_task(GetParam())); }

TEST_P(Conformance, HeldOutTasksLieOutsideTheTrainingRanges) {
  expect_pass(check_heldout_outside_training_ranges(GetParam()));
}

TEST_P(Conformance, SplittingAStepOverThreadsChangesNothing) {
  expect_pass(check_split_step_same_rollout(GetParam()));
}

TEST_P(Conformance, TaskProcessesStayInTheSplitsRanges) {
  expect_pass(check_task_process_stays_in_range(GetParam()));
}

// One TEST_P per check: a check added to the library without a case here fails this.
TEST(ConformanceSuite, EveryLibraryCheckHasATestCase) { EXPECT_EQ(conformance_checks().size(), 8u); }

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (auto& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Registered, Conformance, ::testing::ValuesIn(environments_under_test()), test_name);

}  // namespace
}  // namespace metarl::envs
