#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "envs/errors.h"
#include "envs/point_nav.h"
#include "envs/task_distribution.h"

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

}  // namespace
}  // namespace metarl::envs
