#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "envs/errors.h"
#include "envs/pendulum.h"
#include "envs/point_nav.h"
#include "envs/task_distribution.h"
#include "envs/task_layout.h"

namespace metarl::envs {
namespace {

TEST(TaskDistribution, TrainAndTestTasksLieInTheTrainingRanges) {
  const auto tasks = PointNav::make_task_distribution();
  Rng rng(5);
  for (Split split : {Split::kTrain, Split::kTest}) {
    const auto batch = tasks.sample(2000, split, rng);
    ASSERT_EQ(batch.num_tasks, 2000);
    for (int t = 0; t < batch.num_tasks; ++t) {
      EXPECT_TRUE(tasks.in_training_range(batch.task(t)));
    }
  }
}

TEST(TaskDistribution, PointNavHeldOutGoalsLieInTheRingOutsideTheTrainingSquare) {
  const auto tasks = PointNav::make_task_distribution();
  Rng rng(11);
  const auto batch = tasks.sample(5000, Split::kHeldOut, rng);
  double largest = 0.0;
  for (int t = 0; t < batch.num_tasks; ++t) {
    const double reach = std::max(std::abs(batch.at(t, 0)), std::abs(batch.at(t, 1)));
    EXPECT_GT(reach, 0.5);
    EXPECT_LE(reach, 0.7);
    largest = std::max(largest, reach);
  }
  EXPECT_GT(largest, 0.69);  // the whole ring is used, not just its inner edge
}

TEST(TaskDistribution, SeedStreamsAreReproducibleAndSplitsDiffer) {
  const auto tasks = PointNav::make_task_distribution();
  Rng a(derive_seed(3, split_stream(Split::kTest)));
  Rng b(derive_seed(3, split_stream(Split::kTest)));
  Rng c(derive_seed(3, split_stream(Split::kTrain)));
  const auto ta = tasks.sample(10, Split::kTest, a);
  const auto tb = tasks.sample(10, Split::kTest, b);
  const auto tc = tasks.sample(10, Split::kTrain, c);
  EXPECT_EQ(ta.values, tb.values);
  EXPECT_NE(ta.values, tc.values);
}

TEST(TaskDistribution, UniformTrainingSamplesHaveTheRightMoments) {
  // Uniform on [−0.5, 0.5]: mean 0, variance 1/12. 20000 draws: standard error of
  // the mean 0.002, of the variance ~0.0005.
  const auto tasks = PointNav::make_task_distribution();
  Rng rng(17);
  const auto batch = tasks.sample(20000, Split::kTrain, rng);
  double sum = 0.0;
  double sum_squares = 0.0;
  for (int t = 0; t < batch.num_tasks; ++t) {
    sum += batch.at(t, 0);
    sum_squares += batch.at(t, 0) * batch.at(t, 0);
  }
  const double mean = sum / batch.num_tasks;
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(sum_squares / batch.num_tasks - mean * mean, 1.0 / 12.0, 0.003);
}

TEST(TaskDistribution, RejectsInconsistentRangesAndUnknownSplits) {
  EXPECT_THROW(TaskDistribution({{"m", "kg", "", 1.0, 2.0, 1.0, 0.0, 3.0}}), std::invalid_argument);
  EXPECT_THROW(TaskDistribution({{"m", "kg", "", 1.0, 0.5, 2.0, 1.0, 3.0}}), std::invalid_argument);
  const TaskDistribution no_heldout({{"m", "kg", "", 1.0, 0.5, 2.0, 0.5, 2.0}});
  Rng rng(0);
  EXPECT_THROW(no_heldout.sample(1, Split::kHeldOut, rng), UsageError);
  EXPECT_THROW(parse_split("validation"), UsageError);
  EXPECT_EQ(parse_split("heldout"), Split::kHeldOut);
}

// A run's task ranges: the named parameters take them (mass held fixed, the target a
// narrower training range inside a held-out band), the rest keep the environment's.
TEST(TaskDistribution, WithRangesReplacesTheNamedParametersRangesOnly) {
  const auto own = Pendulum::make_task_distribution();
  const auto narrowed = own.with_ranges({{"mass", 0.5, 0.5, 0.5, 0.5}, {"target_angle", -0.5, 0.5, -0.9, 0.9}});
  const int mass = own.index_of("mass");
  const int gravity = own.index_of("gravity");
  const int target = own.index_of("target_angle");
  EXPECT_EQ(narrowed.parameters()[gravity].train_low, own.parameters()[gravity].train_low);
  EXPECT_EQ(narrowed.parameters()[gravity].heldout_high, own.parameters()[gravity].heldout_high);
  EXPECT_EQ(narrowed.defaults(1).values, own.defaults(1).values);
  Rng rng(23);
  const auto train = narrowed.sample(2000, Split::kTrain, rng);
  double widest = 0.0;
  for (int t = 0; t < train.num_tasks; ++t) {
    EXPECT_EQ(train.at(t, mass), 0.5);
    EXPECT_LE(std::abs(train.at(t, target)), 0.5);
    widest = std::max(widest, std::abs(train.at(t, target)));
  }
  EXPECT_GT(widest, 0.49);
  // Held-out tasks: the other parameters still extrapolate, so a held-out task is
  // outside the training box in the target or in one of them.
  const auto heldout = narrowed.sample(2000, Split::kHeldOut, rng);
  int target_outside = 0;
  for (int t = 0; t < heldout.num_tasks; ++t) {
    EXPECT_EQ(heldout.at(t, mass), 0.5);
    EXPECT_LE(std::abs(heldout.at(t, target)), 0.9);
    EXPECT_FALSE(narrowed.in_training_range(heldout.task(t)));
    if (std::abs(heldout.at(t, target)) > 0.5) ++target_outside;
  }
  EXPECT_GT(target_outside, 0);
  EXPECT_LT(target_outside, heldout.num_tasks);
}

TEST(TaskDistribution, WithRangesNamesTheParameterOfEveryBadRange) {
  const auto own = Pendulum::make_task_distribution();
  auto message = [&](std::vector<TaskRangeOverride> ranges) {
    try {
      own.with_ranges(ranges);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto text = message({{"weight", 1, 1, 1, 1}});
  EXPECT_NE(text.find("'weight'"), std::string::npos) << text;
  EXPECT_NE(text.find("mass, length, gravity, max_torque, target_angle"), std::string::npos) << text;
  EXPECT_NE(message({{"mass", 1, 1, 1, 1}, {"mass", 1, 1, 1, 1}}).find("twice"), std::string::npos);
  text = message({{"mass", 1.2, 0.8, 0.5, 1.5}});
  EXPECT_NE(text.find("'mass'"), std::string::npos) << text;
  EXPECT_NE(text.find("[1.2, 0.8]"), std::string::npos) << text;
  EXPECT_NE(message({{"mass", 0.8, 1.2, 0.9, 1.5}}).find("containing the training range"), std::string::npos);
  text = message({{"target_angle", -1, 1, -2, 2}});
  EXPECT_NE(text.find("'target_angle'"), std::string::npos) << text;
  EXPECT_NE(text.find("[-2, 2] leaves the environment's held-out range"), std::string::npos) << text;
  // The environment's end is printed exactly: π/2, not 1.5708.
  text = message({{"target_angle", -1, 1, -1.6, 1.6}});
  EXPECT_NE(text.find("[-1.5707963267948966, 1.5707963267948966]"), std::string::npos) << text;
  // A held-out box barely wider than the training box: held-out sampling would not end.
  text = message({{"mass", 1, 1, 1, 1},
                  {"length", 1, 1, 1, 1},
                  {"gravity", 10, 10, 10, 10},
                  {"max_torque", 2, 2, 2, 2},
                  {"target_angle", -0.5, 0.5, -0.5, 0.5000001}});
  EXPECT_NE(text.find("held-out ranges are so close to the training ranges"), std::string::npos) << text;
  EXPECT_NE(text.find("at least 0.1%"), std::string::npos) << text;
  const double nan = std::nan("");
  EXPECT_NE(message({{"mass", nan, 1, 0.5, 1.5}}).find("invalid"), std::string::npos);
  // Every parameter fixed: no held-out tasks exist.
  const auto fixed = own.with_ranges({{"mass", 1, 1, 1, 1},
                                      {"length", 1, 1, 1, 1},
                                      {"gravity", 10, 10, 10, 10},
                                      {"max_torque", 2, 2, 2, 2},
                                      {"target_angle", 0, 0, 0, 0}});
  EXPECT_FALSE(fixed.has_heldout());
  Rng rng(1);
  EXPECT_THROW(fixed.sample(1, Split::kHeldOut, rng), UsageError);
  EXPECT_EQ(fixed.sample(3, Split::kTrain, rng).values, fixed.defaults(3).values);
}

}  // namespace
}  // namespace metarl::envs

namespace metarl::envs {
namespace {

struct ThreeFields {
  double first = 1.5;
  double second = -2.0;
  double third = 0.25;
};

TEST(TaskLayout, RowsFollowTheListAndDefaultsComeFromTheStruct) {
  // Listed in another order than declared: the row order is the list's, and reading a
  // row back goes by member, so no index can disagree with it.
  const TaskLayout<ThreeFields> layout({
      {&ThreeFields::third, "third", "m", "listed first", 0.0, 1.0, -1.0, 2.0},
      {&ThreeFields::first, "first", "kg", "listed second", 1.0, 2.0, 0.5, 3.0},
      {&ThreeFields::second, "second", "s", "listed third", -3.0, -1.0, -4.0, 0.0},
  });
  const auto& parameters = layout.distribution().parameters();
  ASSERT_EQ(parameters.size(), 3u);
  EXPECT_EQ(parameters[0].name, "third");
  EXPECT_EQ(parameters[0].unit, "m");
  EXPECT_EQ(parameters[0].default_value, 0.25);
  EXPECT_EQ(parameters[1].default_value, 1.5);
  EXPECT_EQ(parameters[2].default_value, -2.0);
  EXPECT_EQ(parameters[2].heldout_low, -4.0);
  EXPECT_EQ(layout.index_of(&ThreeFields::first), 1);
  EXPECT_EQ(layout.distribution().index_of("first"), layout.index_of(&ThreeFields::first));
  const double row[3] = {0.5, 1.75, -1.5};
  const ThreeFields task = layout.read(row);
  EXPECT_EQ(task.third, 0.5);
  EXPECT_EQ(task.first, 1.75);
  EXPECT_EQ(task.second, -1.5);
  EXPECT_EQ(layout.values(task), (std::vector<double>{0.5, 1.75, -1.5}));
  // Sampled rows read back inside their fields' ranges.
  Rng rng(3);
  const auto sampled = layout.distribution().sample(50, Split::kTrain, rng);
  for (int t = 0; t < sampled.num_tasks; ++t) {
    const ThreeFields drawn = layout.read(sampled.task(t));
    ASSERT_GE(drawn.first, 1.0);
    ASSERT_LE(drawn.first, 2.0);
    ASSERT_GE(drawn.second, -3.0);
    ASSERT_LE(drawn.second, -1.0);
  }
}

TEST(TaskLayout, AFieldLeftOutOrListedTwiceIsAnError) {
  EXPECT_THROW(TaskLayout<ThreeFields>({{&ThreeFields::first, "first", "kg", "", 1.0, 2.0, 0.5, 3.0},
                                        {&ThreeFields::second, "second", "s", "", -3.0, -1.0, -4.0, 0.0}}),
               std::logic_error);
  EXPECT_THROW(TaskLayout<ThreeFields>({{&ThreeFields::first, "first", "kg", "", 1.0, 2.0, 0.5, 3.0},
                                        {&ThreeFields::first, "again", "kg", "", 1.0, 2.0, 0.5, 3.0},
                                        {&ThreeFields::second, "second", "s", "", -3.0, -1.0, -4.0, 0.0}}),
               std::logic_error);
  // The ranges follow TaskDistribution's rules: a held-out range must hold the training range.
  EXPECT_THROW(TaskLayout<ThreeFields>({{&ThreeFields::first, "first", "kg", "", 1.0, 2.0, 1.5, 3.0},
                                        {&ThreeFields::second, "second", "s", "", -3.0, -1.0, -4.0, 0.0},
                                        {&ThreeFields::third, "third", "m", "", 0.0, 1.0, -1.0, 2.0}}),
               std::invalid_argument);
}

}  // namespace
}  // namespace metarl::envs
