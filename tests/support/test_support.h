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
