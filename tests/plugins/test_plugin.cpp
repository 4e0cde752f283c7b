// Plug-ins for the tests, one source built once per kind (tests/plugins/CMakeLists.txt
// defines TEST_PLUGIN_<KIND>): a good one, one whose environment breaks a conformance
// check, one whose environments break their contract in the ways training must catch
// (faulty), and one for each way the loader must refuse a plug-in (envs/plugin.h).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "envs/batched_env.h"
#include "envs/plugin.h"
#include "envs/registry.h"

namespace {

using metarl::Rng;
using metarl::envs::BatchedEnv;
using metarl::envs::EnvRegistry;
using metarl::envs::EnvSpec;
using metarl::envs::TaskDistribution;
using metarl::envs::TaskParameter;

// How a test environment misbehaves. The "late" faults appear only in a batch of more
// rows than the conformance checks use (8), on rows 8 and up: faults that check-env
// cannot see and a run meets mid-rollout.
enum class Fault {
  kNone,
  kEscapes,        // declares observation bounds [-0.5, 0.5] and leaves them
  kFlagSeven,      // terminated = 7 instead of 0 or 1
  kMisnamed,       // spec().name differs from the registered name
  kThrowsIntLate,  // step_rows throws an int (not a std::exception)
  kNanLate,        // reward and observation NaN from a row's third step
};

constexpr int kConformanceRows = 8;

// test-drift: a point on a line moves by its action (clipped to [-1, 1] per step) and
// is rewarded by minus its distance to an unobserved goal; `fault` says how it breaks
// its contract, if it does.
class Drift final : public BatchedEnv {
 public:
  Drift(const char* name, Fault fault, int batch_size, std::uint64_t seed)
      : BatchedEnv(make_spec(name, fault), make_tasks(), batch_size, seed),
        fault_(fault),
        late_faults_(batch_size > kConformanceRows),
        x_(static_cast<size_t>(batch_size)),
        steps_(static_cast<size_t>(batch_size)) {}

 protected:
  void reset_row(int row, Rng& rng) override {
    x_[row] = static_cast<float>(rng.uniform(-0.1, 0.1));
    steps_[row] = 0;
    observation_row(row)[0] = x_[row];
  }

  void step_rows(const float* actions, int begin, int end) override {
    if (fault_ == Fault::kThrowsIntLate && late_faults_) throw 42;
    for (int r = begin; r < end; ++r) {
      x_[r] += std::clamp(actions[r], -1.0f, 1.0f);
      ++steps_[r];
      observation_row(r)[0] = x_[r];
      reward_buffer()[r] = static_cast<float>(-std::abs(x_[r] - task_value(r, 0)));
      terminated_buffer()[r] = fault_ == Fault::kFlagSeven ? 7 : 0;
      if (fault_ == Fault::kNanLate && late_faults_ && r >= kConformanceRows && steps_[r] >= 3) {
        observation_row(r)[0] = std::numeric_limits<float>::quiet_NaN();
        reward_buffer()[r] = std::numeric_limits<float>::quiet_NaN();
      }
    }
  }

 private:
  static EnvSpec make_spec(const char* name, Fault fault) {
    const bool escapes = fault == Fault::kEscapes;
    EnvSpec spec;
    spec.name = fault == Fault::kMisnamed ? std::string(name) + "-by-another-name" : std::string(name);
    spec.description = "a point on a line moves by its action towards an unobserved goal";
    spec.observation_dim = 1;
    spec.action_dim = 1;
    spec.action_low = {-1.0f};
    spec.action_high = {1.0f};
    const float bound = escapes ? 0.5f : std::numeric_limits<float>::infinity();
    spec.observation_low = {-bound};
    spec.observation_high = {bound};
    spec.max_episode_steps = 20;
    return spec;
  }

  static TaskDistribution make_tasks() {
    TaskParameter goal;
    goal.name = "goal";
    goal.unit = "m";
    goal.description = "goal position on the line";
    goal.train_low = -1.0;
    goal.train_high = 1.0;
    goal.heldout_low = -2.0;
    goal.heldout_high = 2.0;
    return TaskDistribution({goal});
  }

  Fault fault_;
  bool late_faults_;            // more rows than the conformance checks use
  std::vector<float> x_;        // [B] position, m
  std::vector<int> steps_;      // [B] steps since the row's reset
};

void add_drift(EnvRegistry& registry, const char* name, Fault fault = Fault::kNone) {
  registry.add({name, "test plug-in: a point on a line, unobserved goal",
                [name, fault](int batch_size, std::uint64_t seed) {
                  return std::make_unique<Drift>(name, fault, batch_size, seed);
                }});
}

[[maybe_unused]] void register_good(EnvRegistry& registry) { add_drift(registry, "test-drift"); }
[[maybe_unused]] void register_nonconforming(EnvRegistry& registry) {
  add_drift(registry, "test-drift-escapes", Fault::kEscapes);
}
[[maybe_unused]] void register_faulty(EnvRegistry& registry) {
  add_drift(registry, "test-drift-flag-seven", Fault::kFlagSeven);
  add_drift(registry, "test-drift-misnamed", Fault::kMisnamed);
  add_drift(registry, "test-drift-throws-late", Fault::kThrowsIntLate);
  add_drift(registry, "test-drift-nan-late", Fault::kNanLate);
}
[[maybe_unused]] void register_nothing(EnvRegistry& /*registry*/) {}
[[maybe_unused]] void register_point_nav(EnvRegistry& registry) { add_drift(registry, "point-nav"); }
[[maybe_unused]] void register_throws(EnvRegistry& /*registry*/) {
  throw std::runtime_error("the simulator licence file is missing");
}

}  // namespace

#if defined(TEST_PLUGIN_GOOD)
METARL_PLUGIN(register_good)
#elif defined(TEST_PLUGIN_NONCONFORMING)
METARL_PLUGIN(register_nonconforming)
#elif defined(TEST_PLUGIN_FAULTY)
METARL_PLUGIN(register_faulty)
#elif defined(TEST_PLUGIN_EMPTY)
METARL_PLUGIN(register_nothing)
#elif defined(TEST_PLUGIN_CLASH)
METARL_PLUGIN(register_point_nav)
#elif defined(TEST_PLUGIN_THROWS)
METARL_PLUGIN(register_throws)
#elif defined(TEST_PLUGIN_WRONG_ABI)
// Built against a header of another plug-in ABI.
METARL_PLUGIN_DECLARE(register_good, METARL_PLUGIN_ABI_VERSION + 1, METARL_VERSION, METARL_PLUGIN_CXX11_ABI)
#elif defined(TEST_PLUGIN_WRONG_VERSION)
METARL_PLUGIN_DECLARE(register_good, METARL_PLUGIN_ABI_VERSION, "9.9.0", METARL_PLUGIN_CXX11_ABI)
#elif defined(TEST_PLUGIN_WRONG_STRING_ABI)
METARL_PLUGIN_DECLARE(register_good, METARL_PLUGIN_ABI_VERSION, METARL_VERSION, 1 - METARL_PLUGIN_CXX11_ABI)
#else
#error "define one TEST_PLUGIN_<KIND> (tests/plugins/CMakeLists.txt)"
#endif
