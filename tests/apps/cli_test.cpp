// The metarl command line as a user meets it: each bad input exits with code 2 and
// a message naming the problem; a tiny train + eval round trip exits 0.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <sstream>
#include <thread>
#include <vector>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/test_support.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  std::string output;
};

// Runs a shell command line; its stdout and exit code.
Result run_shell(const std::string& command) {
  Result result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe)) result.output += buffer.data();
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// metarl's stdout and stderr together, or stdout alone (stderr discarded).
Result run_metarl(const std::string& arguments, bool stdout_only = false) {
  return run_shell(std::string(METARL_CLI_PATH) + " " + arguments + (stdout_only ? " 2>/dev/null" : " 2>&1"));
}

// Starts metarl in the background with stdout/stderr to `log`; returns its pid.
pid_t spawn_metarl(const std::vector<std::string>& arguments, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen(log.c_str(), "w", stdout);
    ::dup2(::fileno(stdout), STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(METARL_CLI_PATH)};
    for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(METARL_CLI_PATH, argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 1000 + WTERMSIG(status) : -1;
}

// Lines of a file (metrics.csv grows while we read it).
std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Polls until metrics.csv has more than `rows` data rows (or 60 s pass).
bool wait_for_rows(const fs::path& metrics, size_t rows) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (lines_of(metrics).size() > rows + 1) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
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
  expect_usage_error(tiny_train("--env cheetah"), "unknown environment 'cheetah'; known environments: pendulum, point-nav");
}

TEST_F(Cli, UnknownAlgorithm) { expect_usage_error(tiny_train("--algo reptile"), "'algo': value 'reptile'"); }

TEST_F(Cli, NonPositiveCounts) {
  expect_usage_error(tiny_train("--iterations 0"), "'iterations': value '0'");
  expect_usage_error(tiny_train("--meta-batch -3"), "'meta_batch'");
  expect_usage_error(tiny_train("--rollouts 0"), "'rollouts': value '0'");
  expect_usage_error(tiny_train("--inner-steps 0"), "'inner_steps'");
  expect_usage_error("eval --checkpoint " + dir_.string() + " --tasks 0", "'tasks': value '0'");
  expect_usage_error("eval --checkpoint " + dir_.string() + " --rollouts -1", "'rollouts': value '-1'");
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
                                 " --split heldout --tasks 3 --rollouts 2 --steps 2 --threads 1 --json",
                                 /*stdout_only=*/true);
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  // stdout is exactly one JSON object (progress goes to stderr).
  EXPECT_EQ(eval.output.rfind("{\"env\": \"point-nav\", \"split\": \"heldout\"", 0), 0u) << eval.output;
  EXPECT_EQ(eval.output.find('\n'), eval.output.size() - 1) << eval.output;
  EXPECT_NE(eval.output.find("\"steps\": [0, 1, 2]"), std::string::npos) << eval.output;
  EXPECT_NE(eval.output.find("\"methods\": {\"meta-sgd\": {\"mean\": ["), std::string::npos) << eval.output;
  expect_usage_error("eval --checkpoint " + (dir_ / "run").string() + " --split validation", "'split': value 'validation'");

  // Evaluation options from YAML, with flags on top; --print-config reads back.
  const std::string eval_yaml = write("eval.yaml", "checkpoint: " + (dir_ / "run").string() +
                                                       "\nsplit: test\ntasks: 2\nrollouts: 2\nsteps: 1\n");
  const Result printed = run_metarl("eval --config " + eval_yaml + " --steps 0 --print-config");
  ASSERT_EQ(printed.exit_code, 0) << printed.output;
  EXPECT_NE(printed.output.find("steps: 0\n"), std::string::npos) << printed.output;
  EXPECT_NE(printed.output.find("split: test\n"), std::string::npos) << printed.output;
  const std::string printed_yaml = write("printed.yaml", printed.output);
  const Result from_file = run_metarl("eval --config " + printed_yaml + " --json", /*stdout_only=*/true);
  ASSERT_EQ(from_file.exit_code, 0) << from_file.output;
  EXPECT_NE(from_file.output.find("\"steps\": [0]"), std::string::npos) << from_file.output;
  expect_usage_error("eval --config " + write("typo.yaml", "checkpiont: x\n"), "did you mean 'checkpoint'");

  // eval kept its reports in the run directory; plot draws them.
  EXPECT_TRUE(fs::exists(dir_ / "run" / "eval_heldout.json"));
  const Result plot = run_metarl("plot " + (dir_ / "run").string(), /*stdout_only=*/true);
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  for (const char* image : {"learning_curve.svg", "adaptation_heldout.svg", "adaptation_test.svg", "alpha.svg"}) {
    EXPECT_NE(plot.output.find(image), std::string::npos) << plot.output;
    EXPECT_TRUE(fs::exists(dir_ / "run" / "plots" / image)) << image;
  }
  expect_usage_error("plot " + (dir_ / "nowhere").string(), "holds no run");
}

TEST_F(Cli, KillNineLeavesReadableFilesAndTheRunResumesAndStopsOnSigterm) {
  const fs::path run = dir_ / "run";
  const fs::path metrics = run / "metrics.csv";
  const std::vector<std::string> train{"train", "--iterations", "100000", "--meta-batch", "2", "--rollouts", "2",
                                       "--horizon", "10", "--hidden-sizes", "8", "--checkpoint-every", "3",
                                       "--out", run.string()};
  const pid_t first = spawn_metarl(train, (dir_ / "first.log").string());
  ASSERT_TRUE(wait_for_rows(metrics, 10)) << "no progress";
  ::kill(first, SIGKILL);
  EXPECT_EQ(wait_exit_code(first), 1000 + SIGKILL);

  // Every file is whole: the config reads back, the checkpoint evaluates, and every
  // metrics row has all 8 columns.
  EXPECT_EQ(run_metarl("train --config " + (run / "config.yaml").string() + " --print-config").exit_code, 0);
  const Result eval = run_metarl("eval --checkpoint " + run.string() + " --tasks 2 --rollouts 2 --steps 1 --json");
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
  const auto rows_before = lines_of(metrics);
  for (const auto& row : rows_before) EXPECT_EQ(std::count(row.begin(), row.end(), ','), 7) << row;

  // Resume, let it make progress, then SIGTERM: it saves and exits with 128 + 15.
  const pid_t second = spawn_metarl({"train", "--resume", run.string()}, (dir_ / "second.log").string());
  ASSERT_TRUE(wait_for_rows(metrics, rows_before.size() + 5)) << "resumed run made no progress";
  ::kill(second, SIGTERM);
  EXPECT_EQ(wait_exit_code(second), 128 + SIGTERM);
  std::ifstream log(dir_ / "second.log");
  const std::string second_log((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(second_log.find("resuming meta-sgd"), std::string::npos) << second_log;
  EXPECT_NE(second_log.find("--resume " + run.string()), std::string::npos) << second_log;

  // The checkpoint covers exactly the rows in metrics.csv.
  const auto rows_after = lines_of(metrics);
  const Result loads = run_metarl("eval --checkpoint " + run.string() + " --tasks 1 --rollouts 1 --steps 0 --json");
  ASSERT_EQ(loads.exit_code, 0) << loads.output;
  const std::string last_row = rows_after.back();
  const int last_iteration = std::stoi(last_row.substr(0, last_row.find(',')));
  EXPECT_EQ(static_cast<int>(rows_after.size()) - 1, last_iteration);
  EXPECT_GT(last_iteration, static_cast<int>(rows_before.size()) - 1);
  for (const auto& entry : fs::directory_iterator(run)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  }
  expect_usage_error("train --resume " + run.string() + " --iterations 5", "--resume continues a run");
  expect_usage_error("train --resume " + (dir_ / "nothing").string(), "does not exist");
}

TEST_F(Cli, ProgressIsOneRewrittenLineOnATerminalAndPlainLinesOtherwise) {
  // `script` runs the command on a pseudo-terminal.
  if (std::system("command -v script > /dev/null 2>&1") != 0) GTEST_SKIP() << "util-linux script is not installed";
  const std::string command = std::string(METARL_CLI_PATH) + " " + tiny_train("--iterations 3");
  const Result on_terminal = run_shell("script -qec '" + command + "' /dev/null");
  EXPECT_EQ(on_terminal.exit_code, 0) << on_terminal.output;
  EXPECT_NE(on_terminal.output.find("\r\033[2Kiter 3/3"), std::string::npos) << on_terminal.output;
  fs::remove_all(dir_ / "run");
  const Result piped = run_metarl(tiny_train("--iterations 3"));
  EXPECT_EQ(piped.output.find('\r'), std::string::npos);
  EXPECT_NE(piped.output.find("] iter 3/3"), std::string::npos) << piped.output;
  fs::remove_all(dir_ / "run");
  const Result quiet = run_metarl(tiny_train("--iterations 3 --quiet"));
  EXPECT_EQ(quiet.exit_code, 0);
  EXPECT_EQ(quiet.output.find("iter "), std::string::npos) << quiet.output;
}

}  // namespace
