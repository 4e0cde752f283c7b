// The metarl command line as a user meets it: each bad input exits with code 2 and
// a message naming the problem; a tiny train + eval round trip exits 0.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/test_support.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

Result run_metarl(const std::string& arguments) {
  const std::string command = std::string(METARL_CLI_PATH) + " " + arguments + " 2>&1";
  Result result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe)) result.output += buffer.data();
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class Cli : public metarl::testing::ScratchDirTest {
 protected:
  std::string write(const std::string& name, const std::string& contents) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << contents;
    return path;
  }

  // A tiny but complete training run.
  std::string tiny_train(const std::string& extra) {
    return "train --iterations 2 --meta-batch 2 --rollouts 2 --horizon 10 --hidden-sizes 8 --threads 1 --out " +
           (dir_ / "run").string() + " " + extra;
  }

  void expect_usage_error(const std::string& arguments, const std::string& expected_text) {
    const Result result = run_metarl(arguments);
    EXPECT_EQ(result.exit_code, 2) << arguments << "\n" << result.output;
    EXPECT_NE(result.output.find(expected_text), std::string::npos)
        << arguments << "\nexpected '" << expected_text << "' in:\n" << result.output;
  }

};

TEST_F(Cli, EnvsListsPointNavWithItsRanges) {
  const Result result = run_metarl("envs");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("point-nav"), std::string::npos);
  EXPECT_NE(result.output.find("goal_x"), std::string::npos);
  EXPECT_NE(result.output.find("[-0.7, 0.7]"), std::string::npos);
  expect_usage_error("envs nowhere", "unknown environment 'nowhere'");
}

TEST_F(Cli, UnknownEnvironmentListsTheKnownOnes) {
  expect_usage_error(tiny_train("--env cheetah"), "unknown environment 'cheetah'; known environments: point-nav");
}

TEST_F(Cli, UnknownAlgorithm) { expect_usage_error(tiny_train("--algo reptile"), "'algo': value 'reptile'"); }

TEST_F(Cli, NonPositiveCounts) {
  expect_usage_error(tiny_train("--iterations 0"), "'iterations': value '0'");
  expect_usage_error(tiny_train("--meta-batch -3"), "'meta_batch'");
  expect_usage_error(tiny_train("--rollouts 0"), "'rollouts': value '0'");
  expect_usage_error(tiny_train("--inner-steps 0"), "'inner_steps'");
  expect_usage_error("eval --checkpoint " + dir_.string() + " --tasks 0", "--tasks 0");
  expect_usage_error("eval --checkpoint " + dir_.string() + " --rollouts -1", "--rollouts -1");
}

TEST_F(Cli, AbsurdSizes) {
  expect_usage_error(tiny_train("--meta-batch 1000000000000"), "'meta_batch'");
  expect_usage_error(tiny_train("--meta-batch 100000 --rollouts 100000"), "environment rows");
}

TEST_F(Cli, ConfigFileProblemsNameTheFileAndKey) {
  expect_usage_error(tiny_train("--config " + (dir_ / "absent.yaml").string()), "absent.yaml");
  expect_usage_error(tiny_train("--config " + write("broken.yaml", "iterations: [1, 2\n")), "malformed YAML");
  expect_usage_error(tiny_train("--config " + write("typo.yaml", "meta_bath: 4\n")), "did you mean 'meta_batch'");
  expect_usage_error(tiny_train("--config " + write("type.yaml", "gamma: high\n")), "'gamma': value 'high'");
  expect_usage_error(tiny_train("--set inner_lr"), "expected key=value");
  expect_usage_error("train --iterations 1", "--out");
}

TEST_F(Cli, CheckpointProblems) {
  expect_usage_error("eval --checkpoint " + (dir_ / "nothing").string(), "does not exist");
  write("checkpoint.pt", "not a checkpoint");
  expect_usage_error("eval --checkpoint " + dir_.string(), "not a usable metarl checkpoint");
  expect_usage_error("eval", "--checkpoint");
}

TEST_F(Cli, DeviceWithoutCuda) {
  const Result probe = run_metarl(tiny_train("--device cuda --print-config"));
  ASSERT_EQ(probe.exit_code, 0) << probe.output;
  // On a machine with CUDA this is a valid request; elsewhere a usage error.
  const Result result = run_metarl(tiny_train("--device cuda:63"));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("cuda:63"), std::string::npos) << result.output;
}

TEST_F(Cli, TrainThenEvalRoundTrip) {
  const Result train = run_metarl(tiny_train("--seed 3"));
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(train.output.find("iter 2/2"), std::string::npos) << train.output;
  EXPECT_TRUE(fs::exists(dir_ / "run" / "checkpoint.pt"));
  EXPECT_TRUE(fs::exists(dir_ / "run" / "metrics.csv"));
  EXPECT_TRUE(fs::exists(dir_ / "run" / "config.yaml"));

  expect_usage_error(tiny_train("--seed 3"), "already holds a run");
  EXPECT_EQ(run_metarl(tiny_train("--seed 3 --force --quiet")).exit_code, 0);

  // The saved effective config reads back through --config.
  const Result again = run_metarl("train --config " + (dir_ / "run" / "config.yaml").string() + " --print-config");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("horizon: 10"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("hidden_sizes: [8]"), std::string::npos) << again.output;

  const Result eval = run_metarl("eval --checkpoint " + (dir_ / "run").string() +
                                 " --split heldout --tasks 3 --rollouts 2 --steps 2 --threads 1 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_EQ(eval.output.rfind("{\"env\": \"point-nav\", \"split\": \"heldout\"", 0), 0u) << eval.output;
  EXPECT_NE(eval.output.find("\"steps\": [0, 1, 2]"), std::string::npos) << eval.output;
  EXPECT_NE(eval.output.find("\"methods\": {\"meta-sgd\": {\"mean\": ["), std::string::npos) << eval.output;
  expect_usage_error("eval --checkpoint " + (dir_ / "run").string() + " --split validation", "split 'validation'");
}

}  // namespace
