// Task processes (envs/task_process.h): each form moves its parameter as documented,
// stays inside the split's range, leaves the other parameters alone, is reproducible
// from the rng, and every bad term is refused naming it.

#include "envs/task_process.h"

#include <gtest/gtest.h>

#include <cmath>

#include "envs/errors.h"

namespace metarl::envs {
namespace {

// goal in [-0.5, 0.5] (held out [-1, 1]), mass in [1, 2] (held out [0.5, 3]), a fixed one.
TaskDistribution distribution() {
  return TaskDistribution({{"goal", "m", "goal", 0.0, -0.5, 0.5, -1.0, 1.0},
                           {"mass", "kg", "mass", 1.5, 1.0, 2.0, 0.5, 3.0},
                           {"fixed", "", "held fixed", 7.0, 7.0, 7.0, 7.0, 7.0}});
}

TaskBatch tasks(int n, Split split = Split::kTrain, std::uint64_t seed = 3) {
  Rng rng(seed);
  return distribution().sample(n, split, rng);
}

TEST(TaskProcess, StationaryProcessRepeatsTheTasks) {
  const TaskProcess process(distribution(), {}, Split::kTrain);
  Rng rng(1);
  const auto first = tasks(5);
  const auto sequence = process.sequence(first, 4, rng);
  ASSERT_EQ(sequence.size(), 4u);
  for (const auto& round : sequence) EXPECT_EQ(round.values, first.values);
}

TEST(TaskProcess, DriftAddsItsStepAndClipsAtTheRange) {
  const TaskProcess process(distribution(), {{"goal", TaskProcessKind::kDrift, 0.3}}, Split::kTrain);
  TaskBatch first{1, 3, {-0.4, 1.2, 7.0}};
  Rng rng(1);
  const auto sequence = process.sequence(first, 5, rng);
  EXPECT_NEAR(sequence[1].at(0, 0), -0.1, 1e-12);
  EXPECT_NEAR(sequence[2].at(0, 0), 0.2, 1e-12);
  EXPECT_DOUBLE_EQ(sequence[3].at(0, 0), 0.5);  // 0.5 clipped at the training range's end
  EXPECT_DOUBLE_EQ(sequence[4].at(0, 0), 0.5);
  for (const auto& round : sequence) {
    EXPECT_DOUBLE_EQ(round.at(0, 1), 1.2);  // no process: as drawn
    EXPECT_DOUBLE_EQ(round.at(0, 2), 7.0);
  }
}

TEST(TaskProcess, ScaleMultipliesAndTheHeldOutSplitClipsAtItsOwnRange) {
  const TaskProcess train(distribution(), {{"mass", TaskProcessKind::kScale, 0.5}}, Split::kTrain);
  const TaskProcess heldout(distribution(), {{"mass", TaskProcessKind::kScale, 0.5}}, Split::kHeldOut);
  TaskBatch first{1, 3, {0.0, 2.0, 7.0}};
  Rng rng(1);
  EXPECT_DOUBLE_EQ(train.sequence(first, 3, rng)[2].at(0, 1), 1.0);    // 2 → 1 → clipped at 1
  EXPECT_DOUBLE_EQ(heldout.sequence(first, 3, rng)[2].at(0, 1), 0.5);  // 2 → 1 → 0.5
}

TEST(TaskProcess, WalkStaysInRangeHasItsStepSizeAndIsReproducible) {
  const double step = 0.05;
  const TaskProcess process(distribution(), {{"goal", TaskProcessKind::kWalk, step}}, Split::kTrain);
  const auto first = tasks(4000);
  Rng rng(11);
  const auto sequence = process.sequence(first, 3, rng);
  double sum = 0.0;
  double sum_squares = 0.0;
  int interior = 0;
  for (int t = 0; t < first.num_tasks; ++t) {
    for (int r = 0; r < 3; ++r) {
      EXPECT_GE(sequence[r].at(t, 0), -0.5);
      EXPECT_LE(sequence[r].at(t, 0), 0.5);
      EXPECT_EQ(sequence[r].at(t, 1), first.at(t, 1));
    }
    // Away from the ends no reflection happens: the step is N(0, step²).
    if (std::abs(first.at(t, 0)) < 0.5 - 6 * step) {
      const double d = sequence[1].at(t, 0) - first.at(t, 0);
      sum += d;
      sum_squares += d * d;
      ++interior;
    }
  }
  ASSERT_GT(interior, 1200);  // |goal| < 0.2: 40% of the tasks
  const double mean = sum / interior;
  const double std = std::sqrt(sum_squares / interior - mean * mean);
  EXPECT_NEAR(mean, 0.0, 4 * step / std::sqrt(interior));
  EXPECT_NEAR(std, step, 0.1 * step);
  Rng again(11);
  EXPECT_EQ(process.sequence(first, 3, again)[2].values, sequence[2].values);
}

TEST(TaskProcess, WalkReflectsAtTheEnds) {
  // A step as wide as the range, from the ends: every value lands inside, some near each end.
  const TaskProcess process(distribution(), {{"goal", TaskProcessKind::kWalk, 1.0}}, Split::kTrain);
  TaskBatch first{1000, 3, {}};
  for (int t = 0; t < 1000; ++t) first.values.insert(first.values.end(), {t % 2 ? 0.5 : -0.5, 1.5, 7.0});
  Rng rng(5);
  const auto next = process.next(first, rng);
  int near_low = 0;
  int near_high = 0;
  for (int t = 0; t < 1000; ++t) {
    ASSERT_GE(next.at(t, 0), -0.5);
    ASSERT_LE(next.at(t, 0), 0.5);
    near_low += next.at(t, 0) < -0.4;
    near_high += next.at(t, 0) > 0.4;
  }
  EXPECT_GT(near_low, 50);
  EXPECT_GT(near_high, 50);
}

TEST(TaskProcess, SwitchRedrawsAtItsHazardRate) {
  const double hazard = 0.2;
  const TaskProcess process(distribution(), {{"mass", TaskProcessKind::kSwitch, hazard}}, Split::kTrain);
  const auto first = tasks(5000);
  Rng rng(2);
  const auto next = process.next(first, rng);
  int switched = 0;
  for (int t = 0; t < first.num_tasks; ++t) {
    EXPECT_GE(next.at(t, 1), 1.0);
    EXPECT_LE(next.at(t, 1), 2.0);
    EXPECT_EQ(next.at(t, 0), first.at(t, 0));
    switched += next.at(t, 1) != first.at(t, 1);
  }
  // Binomial(5000, 0.2): standard deviation 28.
  EXPECT_NEAR(switched, hazard * first.num_tasks, 5 * 28.3);
}

TEST(TaskProcess, HeldOutSwitchDrawsFromTheHeldOutRange) {
  const TaskProcess process(distribution(), {{"mass", TaskProcessKind::kSwitch, 1.0}}, Split::kHeldOut);
  const auto first = tasks(2000, Split::kHeldOut);
  Rng rng(2);
  const auto next = process.next(first, rng);
  double low = 10.0;
  double high = 0.0;
  for (int t = 0; t < first.num_tasks; ++t) {
    low = std::min(low, next.at(t, 1));
    high = std::max(high, next.at(t, 1));
  }
  EXPECT_LT(low, 0.6);
  EXPECT_GT(high, 2.9);
}

TEST(TaskProcess, FormatsAsItIsWritten) {
  EXPECT_EQ(format_task_process({{"goal", TaskProcessKind::kWalk, 0.05}, {"mass", TaskProcessKind::kScale, 0.9}}),
            "[goal=walk(0.05), mass=scale(0.9)]");
  EXPECT_EQ(format_task_process({}), "[]");
}

// The message of the UsageError `make` throws ("" when none).
template <typename Make>
std::string refusal(Make make) {
  try {
    make();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(TaskProcess, RefusesBadTermsNamingThem) {
  const auto make = [](TaskProcessTerm term, Split split = Split::kTrain) {
    return refusal([&] { TaskProcess(distribution(), {term}, split); });
  };
  std::string message = make({"goals", TaskProcessKind::kWalk, 0.1});
  EXPECT_NE(message.find("'goals=walk(0.1)'"), std::string::npos) << message;
  EXPECT_NE(message.find("goal, mass, fixed"), std::string::npos) << message;
  message = make({"goal", TaskProcessKind::kWalk, 1.5});
  EXPECT_NE(message.find("(0, 1]"), std::string::npos) << message;
  EXPECT_EQ(make({"goal", TaskProcessKind::kWalk, 1.5}, Split::kHeldOut), "");  // the held-out range is 2 wide
  EXPECT_NE(make({"goal", TaskProcessKind::kWalk, 0.0}), "");
  EXPECT_NE(make({"goal", TaskProcessKind::kWalk, -0.1}), "");
  EXPECT_NE(make({"goal", TaskProcessKind::kSwitch, 1.5}).find("(0, 1]"), std::string::npos);
  EXPECT_NE(make({"goal", TaskProcessKind::kSwitch, 0.0}), "");
  EXPECT_NE(make({"goal", TaskProcessKind::kDrift, 0.0}), "");
  EXPECT_NE(make({"goal", TaskProcessKind::kDrift, -2.0}), "");
  EXPECT_EQ(make({"goal", TaskProcessKind::kDrift, -0.2}), "");
  EXPECT_NE(make({"mass", TaskProcessKind::kScale, 1.0}).find("not 1"), std::string::npos);
  EXPECT_NE(make({"mass", TaskProcessKind::kScale, 0.0}), "");
  EXPECT_NE(make({"mass", TaskProcessKind::kScale, 11.0}), "");
  message = make({"fixed", TaskProcessKind::kDrift, 0.1});
  EXPECT_NE(message.find("held fixed at 7"), std::string::npos) << message;
  message = refusal([] {
    TaskProcess(distribution(), {{"goal", TaskProcessKind::kWalk, 0.1}, {"goal", TaskProcessKind::kDrift, 0.1}},
                Split::kTrain);
  });
  EXPECT_NE(message.find("one process per parameter"), std::string::npos) << message;
}

// Where a task changes inside an online segment: round 1 at the episode's start, later
// rounds at each of the segment's m steps equally often (10 000 draws per step value's
// expected count of 2 000; 4.5 binomial standard deviations is ±180), the same draws
// from the same stream, and segment_start draws nothing.
TEST(TaskChangeSteps, RandomStepsAreUniformOverTheSegmentAndSegmentStartDrawsNothing) {
  Rng rng(17);
  const auto steps = draw_task_change_steps(TaskChangeStep::kRandom, 2000, 6, 5, rng);
  ASSERT_EQ(steps.size(), 6u);
  EXPECT_EQ(steps[0], std::vector<int>(2000, 0));
  std::vector<int> counts(5, 0);
  for (size_t round = 1; round < steps.size(); ++round) {
    ASSERT_EQ(steps[round].size(), 2000u);
    for (int step : steps[round]) {
      ASSERT_GE(step, 0);
      ASSERT_LT(step, 5);
      ++counts[static_cast<size_t>(step)];
    }
  }
  for (int count : counts) EXPECT_NEAR(count, 2000, 180);
  Rng again(17);
  EXPECT_EQ(draw_task_change_steps(TaskChangeStep::kRandom, 2000, 6, 5, again), steps);

  Rng untouched(17);
  const auto state = untouched.state();
  EXPECT_EQ(draw_task_change_steps(TaskChangeStep::kSegmentStart, 3, 4, 5, untouched),
            std::vector<std::vector<int>>(4, std::vector<int>(3, 0)));
  EXPECT_EQ(untouched.state(), state);
  EXPECT_THROW(draw_task_change_steps(TaskChangeStep::kRandom, 3, 4, 0, untouched), std::invalid_argument);
  EXPECT_EQ(enum_name(task_change_step_names(), TaskChangeStep::kRandom), "random");
}

}  // namespace
}  // namespace metarl::envs
