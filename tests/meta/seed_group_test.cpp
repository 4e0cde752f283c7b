// Seed groups' arithmetic (meta/run/seed_group.h): seed lists, Student's t, the summary
// over seeds and the comparison of two groups (in the step and the rounds reports),
// against numbers worked by hand.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "envs/errors.h"
#include "meta/eval/group_statistics.h"
#include "meta/eval/rounds_report.h"
#include "meta/run/seed_group.h"

namespace {

using namespace metarl::meta;

TEST(SeedGroup, SeedListsAreRangesAndItems) {
  EXPECT_EQ(parse_seed_list("--seeds", "1-5"), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(parse_seed_list("--seeds", "7"), (std::vector<std::uint64_t>{7}));
  EXPECT_EQ(parse_seed_list("--seeds", "1-3, 10,0"), (std::vector<std::uint64_t>{1, 2, 3, 10, 0}));
  for (const std::string bad : {"", "3-1", "1,,2", "a", "1-", "-2", "1,1", "1-3,2", "0-1000", "1.5"}) {
    try {
      parse_seed_list("--seeds", bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const metarl::UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--seeds"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(parse_seed_list("--seeds", "0-999").size(), 1000u);
  // A reversed range says so, and how to write it.
  try {
    parse_seed_list("--seeds", "1,3-1");
    ADD_FAILURE() << "accepted a reversed range";
  } catch (const metarl::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--seeds '1,3-1': the range 3-1 is reversed (write 1-3)"), std::string::npos)
        << e.what();
  }
}

TEST(SeedGroup, StudentTQuantilesMatchTheTable) {
  EXPECT_DOUBLE_EQ(student_t95(1), 12.706);
  EXPECT_DOUBLE_EQ(student_t95(2), 4.303);
  EXPECT_DOUBLE_EQ(student_t95(4), 2.776);
  EXPECT_DOUBLE_EQ(student_t95(30), 2.042);
  EXPECT_DOUBLE_EQ(student_t95(60), 2.000);
  EXPECT_NEAR(student_t95(1000), 1.962, 0.001);
  for (int d = 1; d < 500; ++d) EXPECT_GE(student_t95(d), student_t95(d + 1)) << d;  // falls towards 1.96
  EXPECT_NEAR(student_t95(2.5), (4.303 + 3.182) / 2.0, 1e-12);  // Welch's fractional degrees
  EXPECT_THROW(student_t95(0), std::invalid_argument);
}

MethodCurve curve(const std::string& name, std::vector<std::vector<double>> task_returns) {
  MethodCurve c;
  c.name = name;
  c.algorithm = "meta-sgd";
  c.task_returns = task_returns;
  for (const auto& step : task_returns) {
    double mean = 0.0;
    for (double v : step) mean += v / static_cast<double>(step.size());
    c.mean.push_back(mean);
    c.ci95.push_back(0.0);
  }
  return c;
}

TEST(SeedGroup, TheSummaryTakesEachSeedAsOneValue) {
  // Three seeds, two tasks, steps 0 and 1. Seed means at step 1: 2, 4, 6.
  const std::vector<MethodCurve> seeds = {curve("s1", {{0, 0}, {1, 3}}), curve("s2", {{1, 1}, {4, 4}}),
                                          curve("s3", {{2, 2}, {5, 7}})};
  const GroupCurve group = summarize_group("g", "runs/g", {1, 2, 3}, seeds);
  ASSERT_EQ(group.mean.size(), 2u);
  EXPECT_DOUBLE_EQ(group.mean[0], 1.0);
  EXPECT_DOUBLE_EQ(group.mean[1], 4.0);
  // s = 2 over seed means 2, 4, 6: t95(2) · 2 / √3.
  EXPECT_NEAR(group.ci95[1], 4.303 * 2.0 / std::sqrt(3.0), 1e-12);
  // Gains 2, 3, 4: mean 3, s = 1.
  EXPECT_DOUBLE_EQ(group.gain_mean[1], 3.0);
  EXPECT_NEAR(group.gain_ci95[1], 4.303 / std::sqrt(3.0), 1e-12);
  // Per task over seeds at step 1: (1+4+5)/3 = 10/3 and (3+4+7)/3 = 14/3; two values,
  // s = √2·(2/3), half-width 1.96 · s / √2 = 1.96 · 2/3.
  EXPECT_NEAR(group.ci95_tasks[1], 1.96 * 2.0 / 3.0, 1e-12);
  EXPECT_EQ(group.members, (std::vector<std::string>{"s1", "s2", "s3"}));
  EXPECT_EQ(group.seed_means[2], (std::vector<double>{2.0, 6.0}));
  EXPECT_THROW(summarize_group("g", "runs/g", {1, 2}, seeds), std::invalid_argument);
}

TEST(SeedGroup, GroupsAreComparedWithWelchsT) {
  // a: seed means 2, 4, 6 (s² = 4); b: 1, 2 (s² = 0.5). Difference 4 − 1.5 = 2.5;
  // standard error² = 4/3 + 0.5/2; Welch degrees = se⁴ / ((4/3)²/2 + 0.25²/1) = 2.64,
  // between the table's 2 and 3.
  GroupCurve a;
  a.name = "a";
  a.seed_means = {{2}, {4}, {6}};
  a.mean = {4};
  GroupCurve b;
  b.name = "b";
  b.seed_means = {{1}, {2}};
  b.mean = {1.5};
  const auto comparisons = compare_groups({a, b});
  ASSERT_EQ(comparisons.size(), 1u);
  EXPECT_DOUBLE_EQ(comparisons[0].mean[0], 2.5);
  const double se2 = 4.0 / 3.0 + 0.5 / 2.0;
  const double degrees = se2 * se2 / ((4.0 / 3.0) * (4.0 / 3.0) / 2.0 + 0.25 * 0.25 / 1.0);
  const double t = 4.303 + (degrees - 2.0) * (3.182 - 4.303);
  EXPECT_NEAR(comparisons[0].ci95[0], t * std::sqrt(se2), 1e-12);
  // One seed has no spread to speak of: no interval, not a zero one.
  GroupCurve single;
  single.name = "one";
  single.seed_means = {{3}};
  single.mean = {3};
  EXPECT_TRUE(std::isnan(compare_groups({a, single})[0].ci95[0]));
  double mean = 0.0;
  double ci95 = 0.0;
  mean_and_t_ci95({3.0}, mean, ci95);
  EXPECT_EQ(mean, 3.0);
  EXPECT_TRUE(std::isnan(ci95));
}

// A rounds curve of one seed under one mode: per round its mean over sequences; rounds
// 2..K's mean as later_mean.
RoundsCurve rounds_curve(const std::string& name, const std::string& mode, std::vector<double> means) {
  RoundsCurve c;
  c.name = name;
  c.mode = mode;
  double later = 0.0;
  for (size_t r = 1; r < means.size(); ++r) later += means[r] / static_cast<double>(means.size() - 1);
  c.later_mean = later;
  c.ci95.assign(means.size(), 0.0);
  c.mean = std::move(means);
  return c;
}

TEST(SeedGroup, RoundsGroupsPairTheirModesBySeedAndCompareGroupsWithWelch) {
  // Group g, two seeds, 3 rounds. continuous: seed 1 (0, 4, 6) → later 5; seed 2 (2, 8, 10)
  // → later 9. none: seed 1 (0, 1, 1) → 1; seed 2 (2, 3, 5) → 4.
  const RoundsCurve c1 = rounds_curve("s1 continuous", "continuous", {0, 4, 6});
  const RoundsCurve c2 = rounds_curve("s2 continuous", "continuous", {2, 8, 10});
  const RoundsCurve n1 = rounds_curve("s1 none", "none", {0, 1, 1});
  const RoundsCurve n2 = rounds_curve("s2 none", "none", {2, 3, 5});
  const RoundsGroupCurve continuous = summarize_rounds_group("g continuous", "runs/g", {1, 2}, {&c1, &c2});
  const RoundsGroupCurve none = summarize_rounds_group("g none", "runs/g", {1, 2}, {&n1, &n2});
  EXPECT_EQ(continuous.mean, (std::vector<double>{1, 6, 8}));
  EXPECT_DOUBLE_EQ(continuous.later_mean, 7.0);
  // Later means 5, 9: s = 2√2, half-width t95(1) · s / √2 = 12.706 · 2.
  EXPECT_NEAR(continuous.later_ci95, 12.706 * 2.0, 1e-12);
  EXPECT_EQ(continuous.members, (std::vector<std::string>{"s1 continuous", "s2 continuous"}));
  EXPECT_THROW(summarize_rounds_group("bad", "runs/g", {1, 2}, {&c1, &n2}), std::invalid_argument);

  // Group h (another training), continuous only: later means 3, 4, 8.
  const RoundsCurve h1 = rounds_curve("h1 continuous", "continuous", {0, 3, 3});
  const RoundsCurve h2 = rounds_curve("h2 continuous", "continuous", {0, 4, 4});
  const RoundsCurve h3 = rounds_curve("h3 continuous", "continuous", {0, 8, 8});
  const RoundsGroupCurve other = summarize_rounds_group("h continuous", "runs/h", {1, 2, 3}, {&h1, &h2, &h3});

  const auto comparisons = compare_rounds_groups({continuous, none, other});
  ASSERT_EQ(comparisons.size(), 2u);
  // g's modes, paired by seed: later differences 5 − 1 = 4 and 9 − 4 = 5 → mean 4.5,
  // s = 1/√2, half-width 12.706 · (1/√2) / √2 = 12.706 / 2.
  EXPECT_EQ(comparisons[0].a, "g continuous");
  EXPECT_EQ(comparisons[0].b, "g none");
  EXPECT_TRUE(comparisons[0].paired_by_seed);
  EXPECT_DOUBLE_EQ(comparisons[0].later_mean, 4.5);
  EXPECT_NEAR(comparisons[0].later_ci95, 12.706 / 2.0, 1e-12);
  // Round 2, per seed 4 − 1 = 3 and 8 − 3 = 5: mean 4, s = √2, half-width 12.706.
  EXPECT_DOUBLE_EQ(comparisons[0].mean[1], 4.0);
  EXPECT_NEAR(comparisons[0].ci95[1], 12.706, 1e-12);
  // g against h under continuous: independent trainings, Welch over {5, 9} and {3, 4, 8}.
  EXPECT_EQ(comparisons[1].a, "g continuous");
  EXPECT_EQ(comparisons[1].b, "h continuous");
  EXPECT_FALSE(comparisons[1].paired_by_seed);
  EXPECT_DOUBLE_EQ(comparisons[1].later_mean, 7.0 - 5.0);
  EXPECT_DOUBLE_EQ(comparisons[1].later_ci95, welch_t_ci95({5, 9}, {3, 4, 8}));
  // s² = 8 and 7: se² = 4 + 7/3; degrees = se⁴ / (16/1 + (7/3)²/2).
  const double se2 = 4.0 + 7.0 / 3.0;
  const double degrees = se2 * se2 / (16.0 + (7.0 / 3.0) * (7.0 / 3.0) / 2.0);
  ASSERT_GT(degrees, 2.0);
  ASSERT_LT(degrees, 3.0);
  EXPECT_NEAR(comparisons[1].later_ci95, (4.303 + (degrees - 2.0) * (3.182 - 4.303)) * std::sqrt(se2), 1e-12);
}

TEST(SeedGroup, ARoundsGroupOfOneSeedHasNoInterval) {
  const RoundsCurve only = rounds_curve("s1 continuous", "continuous", {0, 4, 6});
  RoundsReport report;
  report.rounds = 3;
  report.curves = {only};
  report.groups = {summarize_rounds_group("g continuous (runs/g, 1 seed)", "runs/g", {1}, {&only})};
  EXPECT_DOUBLE_EQ(report.groups[0].later_mean, 5.0);
  EXPECT_TRUE(std::isnan(report.groups[0].later_ci95));
  EXPECT_TRUE(std::isnan(report.groups[0].ci95[1]));
  const std::string table = rounds_report_table(report);
  EXPECT_NE(table.find("g continuous (runs/g, 1 seed)"), std::string::npos) << table;
  EXPECT_NE(table.find("5.00 ±    n/a"), std::string::npos) << table;
  EXPECT_NE(rounds_report_json(report).find("\"later_mean\": 5, \"later_ci95\": null"), std::string::npos)
      << rounds_report_json(report);
}

}  // namespace
