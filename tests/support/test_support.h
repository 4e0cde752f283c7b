#pragma once
// Helpers shared by the test suites.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "envs/errors.h"
#include "envs/task_distribution.h"

namespace metarl::testing {

// point-nav tasks from goal coordinates: {{x0, y0}, {x1, y1}, ...}.
inline envs::TaskBatch goal_tasks(const std::vector<std::pair<double, double>>& goals) {
  envs::TaskBatch batch{static_cast<int>(goals.size()), 2, {}};
  for (const auto& [x, y] : goals) {
    batch.values.push_back(x);
    batch.values.push_back(y);
  }
  return batch;
}

// The whole text of a file ("" when it cannot be read).
inline std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A run's metrics.csv (its file name is meta::kMetricsFile) line by line without the two
// wall-clock columns, wall_clock and seconds (the last two: time differs between runs).
inline std::vector<std::string> metrics_without_seconds(const std::filesystem::path& metrics_csv) {
  std::ifstream in(metrics_csv);
  std::vector<std::string> rows;
  std::string line;
  while (std::getline(in, line)) {
    const std::string without_seconds = line.substr(0, line.rfind(','));
    rows.push_back(without_seconds.substr(0, without_seconds.rfind(',')));
  }
  return rows;
}

// The message of the UsageError `action` throws, or "(no error)".
inline std::string usage_error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

// A fixture with an empty scratch directory per test, removed afterwards.
class ScratchDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("metarl_" + std::string(info->test_suite_name()) + "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

}  // namespace metarl::testing
