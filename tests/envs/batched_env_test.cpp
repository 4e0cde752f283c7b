// Contract of the batched environment base, on a small environment with random
// resets (point-nav's reset is deterministic, so it cannot show seeding).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "envs/batched_env.h"
#include "envs/row_workers.h"

namespace metarl::envs {
namespace {

// A 1D random walk: x starts uniform in [−1, 1] and moves by action · task "gain";
// terminated when |x| > 3; time limit 5. `row_delay` makes each row's step take at
// least that long (a sleep), as a physics engine's would.
class RandomStartWalk final : public BatchedEnv {
 public:
  RandomStartWalk(int batch_size, std::uint64_t seed, std::chrono::microseconds row_delay = {})
      : BatchedEnv(make_spec(), TaskDistribution({{"gain", "", "", 1.0, 0.5, 2.0, 0.25, 4.0}}), batch_size, seed),
        row_delay_(row_delay),
        x_(static_cast<size_t>(batch_size)) {}

  static EnvSpec make_spec() {
    EnvSpec spec;
    spec.name = "random-start-walk";
    spec.observation_dim = 1;
    spec.action_dim = 1;
    spec.action_low = {-1.0f};
    spec.action_high = {1.0f};
    spec.observation_low = {-std::numeric_limits<float>::infinity()};
    spec.observation_high = {std::numeric_limits<float>::infinity()};
    spec.max_episode_steps = 5;
    return spec;
  }

 protected:
  void reset_row(int row, Rng& rng) override {
    x_[row] = rng.uniform(-1.0, 1.0);
    observation_row(row)[0] = static_cast<float>(x_[row]);
  }
  void step_rows(const float* actions, int begin, int end) override {
    for (int r = begin; r < end; ++r) {
      if (row_delay_.count() > 0) std::this_thread::sleep_for(row_delay_);
      x_[r] += actions[r] * task_value(r, 0);
      observation_row(r)[0] = static_cast<float>(x_[r]);
      reward_buffer()[r] = static_cast<float>(-x_[r] * x_[r]);
      terminated_buffer()[r] = std::abs(x_[r]) > 3.0;
    }
  }

 private:
  std::chrono::microseconds row_delay_;
  std::vector<double> x_;
};

std::vector<float> rollout(std::uint64_t seed, int steps) {
  RandomStartWalk env(4, seed);
  env.reset();
  std::vector<float> trace(env.observations(), env.observations() + 4);
  const std::vector<float> actions{0.5f, -0.7f, 1.0f, 0.1f};
  for (int t = 0; t < steps; ++t) {
    env.step(actions.data());
    trace.insert(trace.end(), env.observations(), env.observations() + 4);
    trace.insert(trace.end(), env.rewards(), env.rewards() + 4);
  }
  return trace;
}

TEST(BatchedEnv, SameSeedGivesABitIdenticalRolloutAndAnotherSeedDoesNot) {
  const auto a = rollout(42, 12);  // 12 steps: spans auto-resets
  const auto b = rollout(42, 12);
  const auto c = rollout(43, 12);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(BatchedEnv, RowsDrawFromTheirOwnStreams) {
  // Row r's start depends on (seed, r) only, not on the batch size.
  RandomStartWalk small(2, 9);
  RandomStartWalk large(6, 9);
  small.reset();
  large.reset();
  EXPECT_EQ(small.observations()[0], large.observations()[0]);
  EXPECT_EQ(small.observations()[1], large.observations()[1]);
  EXPECT_NE(large.observations()[0], large.observations()[1]);
}

TEST(BatchedEnv, TruncationAndTerminationAreIndependent) {
  RandomStartWalk env(2, 1);
  const double gains[2] = {1.0, 1.0};
  env.set_task(0, &gains[0]);
  env.set_task(1, &gains[1]);
  env.reset();
  const float still[2] = {0.0f, 0.0f};
  for (int t = 1; t < 5; ++t) {
    env.step(still);
    EXPECT_FALSE(env.truncated()[0]);
  }
  env.step(still);
  EXPECT_TRUE(env.truncated()[0]);
  EXPECT_TRUE(env.truncated()[1]);
  EXPECT_FALSE(env.terminated()[0]);
}

TEST(BatchedEnv, AutoResetNeverChangesTheTask) {
  RandomStartWalk env(1, 3);
  const double gain = 4.0;
  env.set_task(0, &gain);
  env.reset();
  const float push[1] = {1.0f};
  env.step(push);  // |x| ≥ 3 after one step of 4
  ASSERT_TRUE(env.terminated()[0]);
  EXPECT_DOUBLE_EQ(env.task(0)[0], 4.0);
  EXPECT_LE(std::abs(env.observations()[0]), 1.0f);  // a fresh start in [−1, 1]
}

TEST(BatchedEnv, SlowStepsAreSplitOverThreadsWithoutChangingTheRollout) {
  // Rows that take ≥ 40 µs each: 8 rows are ≥ 320 µs, past the default threshold.
  RandomStartWalk one(8, 3, std::chrono::microseconds(40));
  RandomStartWalk split(8, 3, std::chrono::microseconds(40));
  split.set_step_threads(2);  // the default threshold: split once a step is measured slow
  EXPECT_EQ(split.step_threads(), 2);
  one.reset();
  split.reset();
  const std::vector<float> actions{0.5f, -0.7f, 1.0f, 0.1f, -1.0f, 0.3f, 0.9f, -0.2f};
  for (int t = 0; t < 12; ++t) {
    one.step(actions.data());
    split.step(actions.data());
    for (int r = 0; r < 8; ++r) {
      ASSERT_EQ(one.observations()[r], split.observations()[r]) << "step " << t << ", row " << r;
      ASSERT_EQ(one.rewards()[r], split.rewards()[r]) << "step " << t << ", row " << r;
      ASSERT_EQ(one.done(r), split.done(r)) << "step " << t << ", row " << r;
    }
  }
  // The first step runs on one thread (≥ 320 µs, past the threshold), the second is
  // timed split; after that the faster way wins, which depends on the machine.
  EXPECT_GE(split.split_steps(), 1);
  EXPECT_EQ(one.split_steps(), 0);
  EXPECT_THROW(split.set_step_threads(0), std::invalid_argument);
  split.set_step_threads(1);
  EXPECT_EQ(split.step_threads(), 1);
}

TEST(RowWorkers, RunsEveryPartOnceAndRethrowsAPartsException) {
  RowWorkers workers(3);
  EXPECT_EQ(workers.threads(), 3);
  for (int job = 0; job < 50; ++job) {
    std::vector<std::atomic<int>> calls(3);
    workers.run([&](int part) { ++calls[static_cast<size_t>(part)]; });
    for (const auto& count : calls) ASSERT_EQ(count.load(), 1) << "job " << job;
  }
  EXPECT_THROW(workers.run([](int part) {
    if (part == 2) throw std::runtime_error("part 2 failed");
  }),
               std::runtime_error);
  // Several parts fail: the lowest-numbered one's exception, whichever finished first.
  for (int job = 0; job < 20; ++job) {
    try {
      workers.run([](int part) {
        if (part > 0) throw std::runtime_error("part " + std::to_string(part));
      });
      FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
      ASSERT_STREQ(e.what(), "part 1") << "job " << job;
    }
  }
  // Still usable after a failed job.
  std::atomic<int> total{0};
  workers.run([&](int part) { total += part; });
  EXPECT_EQ(total.load(), 0 + 1 + 2);
  EXPECT_THROW(RowWorkers(0), std::invalid_argument);
}

TEST(EnvSpec, ValidateNamesTheBadField) {
  auto spec = RandomStartWalk::make_spec();
  spec.max_episode_steps = 0;
  try {
    spec.validate();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("max_episode_steps"), std::string::npos);
  }
}

}  // namespace
}  // namespace metarl::envs
