// Multi-process training and evaluation through the command line (issue H), on the
// loopback with Gloo: N = 1, 2 and 3 processes give the same tasks and metrics (to a
// stated tolerance: only the order of floating-point sums differs), evaluation gives
// the same report bit for bit, a run resumes with another number of processes, a
// rank that is killed or hangs stops the others with a message naming it, and ranks
// started with different configs are refused.

#include <gtest/gtest.h>

#include <chrono>
#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/cli_support.h"
#include "tests/support/test_support.h"

namespace {

namespace fs = std::filesystem;
using namespace metarl::testing::cli;

// metrics.csv as numbers: one row per iteration, the columns before the two wall-clock
// ones (wall_clock, seconds); an empty cell (no TRPO surrogate with Adam) reads as 0.
std::vector<std::vector<double>> metrics_of(const fs::path& run) {
  std::vector<std::vector<double>> rows;
  const auto lines = lines_of(run / "metrics.csv");
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<double> row;
    std::stringstream in(lines[i]);
    for (std::string cell; std::getline(in, cell, ',');) row.push_back(cell.empty() ? 0.0 : std::stod(cell));
    row.resize(row.size() - 2);  // wall_clock, seconds
    rows.push_back(row);
  }
  return rows;
}

// Column 3 (meta_loss) can be a difference of nearly equal sums (1e-9 for TRPO's
// surrogate): compared absolutely. Every other column relatively.
void expect_same_metrics(const fs::path& a, const fs::path& b, double relative, const std::string& what) {
  const auto x = metrics_of(a);
  const auto y = metrics_of(b);
  ASSERT_EQ(x.size(), y.size()) << what;
  ASSERT_FALSE(x.empty()) << what;
  for (size_t i = 0; i < x.size(); ++i) {
    for (size_t c = 0; c < x[i].size(); ++c) {
      const double tolerance = c == 3 ? relative * (1.0 + std::abs(x[i][c])) : relative * std::max(1.0, std::abs(x[i][c]));
      EXPECT_NEAR(x[i][c], y[i][c], tolerance) << what << ": iteration " << i + 1 << " column " << c;
    }
  }
}

class Distributed : public metarl::testing::ScratchDirTest {
 protected:
  // `command` (a train command ending in "--out ") into NAME-1 alone and NAME-2 over two
  // processes: the same metrics to 1e-5 relative.
  void expect_two_processes_train_as_one(const std::string& command, const std::string& name) const {
    const auto one = dir_ / (name + "-1");
    const auto two = dir_ / (name + "-2");
    ASSERT_EQ(run_metarl(command + one.string()).exit_code, 0) << name;
    const Result result = run_metarl(command + two.string() + " --nproc 2");
    ASSERT_EQ(result.exit_code, 0) << result.output;
    expect_same_metrics(one, two, 1e-5, name + " with 2 processes");
  }

  std::string small(const std::string& optimizer) const {
    return "train --env point-nav --optimizer " + optimizer +
           " --iterations 3 --meta-batch 6 --rollouts 4 --horizon 30 --hidden-sizes 16 --threads 1 --workers 1 --seed 3"
           " --outer-lr-decay none --quiet --out ";  // constant: runs are extended
  }
};

// Adam and ProMP: the per-task work is the same in every process; the sums over tasks
// meet in another order (float64 on the wire), so metrics agree to ~1e-6 relative.
TEST_F(Distributed, OneTwoAndThreeProcessesTrainTheSameRun) {
  for (const std::string optimizer : {"adam", "promp"}) {
    const auto one = dir_ / (optimizer + "-1");
    ASSERT_EQ(run_metarl(small(optimizer) + one.string()).exit_code, 0) << optimizer;
    for (int processes : {2, 3}) {
      const auto many = dir_ / (optimizer + "-" + std::to_string(processes));
      const Result result = run_metarl(small(optimizer) + many.string() + " --nproc " + std::to_string(processes));
      ASSERT_EQ(result.exit_code, 0) << result.output;
      expect_same_metrics(one, many, 1e-5, optimizer + " with " + std::to_string(processes) + " processes");
      // Rank 0 alone writes the run directory, whole.
      EXPECT_TRUE(fs::exists(many / "checkpoint.pt"));
      EXPECT_EQ(metarl::testing::file_text(many / "config.yaml"), metarl::testing::file_text(one / "config.yaml"));
    }
  }
}

// A mixture of families (issue Q): each process holds a slice of the meta-batch's
// contiguous family blocks (here the cartpole tasks on one rank, pendulum's on the other).
TEST_F(Distributed, AMixtureOfFamiliesTrainsTheSameRunOverTwoProcesses) {
  std::string command = small("adam");
  command.replace(command.find("point-nav"), 9, "cartpole,pendulum");
  expect_two_processes_train_as_one(command, "mixture");
}

// Online segments whose task changes at a random step inside them (issue P): every
// process draws the whole meta-batch's change steps and takes its tasks' part.
TEST_F(Distributed, OnlineSegmentsWithTheTaskChangingInsideThemTrainTheSameRunOverTwoProcesses) {
  std::string command = small("adam");
  command.insert(command.rfind("--out "), "--adapt-every 10 --task-process 'goal_x=walk(0.1)' --task-change-step random ");
  expect_two_processes_train_as_one(command, "inside");
}

// TRPO: the same samples and adaptation, so the first iteration's returns agree; its
// conjugate gradient amplifies the sums' rounding in the step (as splitting the tasks
// over `workers` in one process does), so the step agrees to ~1e-3 only.
TEST_F(Distributed, TrpoTakesTheSameFirstStepUpToItsConjugateGradientsRounding) {
  const auto one = dir_ / "trpo-1";
  const auto two = dir_ / "trpo-2";
  ASSERT_EQ(run_metarl(small("trpo") + one.string() + " --iterations 1").exit_code, 0);
  const Result result = run_metarl(small("trpo") + two.string() + " --iterations 1 --nproc 2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto x = metrics_of(one);
  const auto y = metrics_of(two);
  ASSERT_EQ(x.size(), 1u);
  ASSERT_EQ(y.size(), 1u);
  EXPECT_NEAR(x[0][1], y[0][1], 1e-5 * std::abs(x[0][1]));  // return before adaptation
  EXPECT_NEAR(x[0][2], y[0][2], 1e-5 * std::abs(x[0][2]));  // after
  for (size_t c = 4; c <= 7; ++c) EXPECT_NEAR(x[0][c], y[0][c], 1e-2 * std::abs(x[0][c])) << "column " << c;
}

// Two reports that are the same text but for their numbers, which agree to `relative`
// (absolute for values below 1): a process's share of a task batch is a batch of
// another size, and some BLAS kernels (OpenBLAS's generic ones on a CPU model it does
// not know) round a row's products differently with the batch size, in the last bits.
void expect_same_report(const std::string& report_a, const std::string& report_b, double relative,
                        const std::string& what) {
  // Strings (names, a checkpoint's hex checksum such as "6f8b374085e06882", whose
  // "374085e06882" would read as a number out of range) are compared whole; the
  // numbers are looked for in the rest.
  static const std::regex quoted(R"("[^"]*")");
  const std::vector<std::string> strings_a(std::sregex_token_iterator(report_a.begin(), report_a.end(), quoted), {});
  const std::vector<std::string> strings_b(std::sregex_token_iterator(report_b.begin(), report_b.end(), quoted), {});
  ASSERT_EQ(strings_a, strings_b) << what << ": the reports' strings differ\n" << report_a << "\n" << report_b;
  const std::string a = std::regex_replace(report_a, quoted, "\"\"");
  const std::string b = std::regex_replace(report_b, quoted, "\"\"");
  static const std::regex number(R"(-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?)");
  const std::vector<std::string> text_a(std::sregex_token_iterator(a.begin(), a.end(), number, -1), {});
  const std::vector<std::string> text_b(std::sregex_token_iterator(b.begin(), b.end(), number, -1), {});
  ASSERT_EQ(text_a, text_b) << what << ": the reports differ in more than their numbers\n" << a << "\n" << b;
  const std::vector<std::string> numbers_a(std::sregex_token_iterator(a.begin(), a.end(), number), {});
  const std::vector<std::string> numbers_b(std::sregex_token_iterator(b.begin(), b.end(), number), {});
  ASSERT_EQ(numbers_a.size(), numbers_b.size()) << what;
  for (size_t i = 0; i < numbers_a.size(); ++i) {
    const double x = std::stod(numbers_a[i]);
    const double y = std::stod(numbers_b[i]);
    EXPECT_NEAR(x, y, relative * std::max(1.0, std::abs(x))) << what << ": number " << i << " of the report";
  }
}

TEST_F(Distributed, EvaluationOverProcessesIsTheOneProcessReport) {
  const auto run = dir_ / "run";
  ASSERT_EQ(run_metarl(small("adam") + run.string()).exit_code, 0);
  // Two task batches, each split over the processes; the oracles of the first three
  // tasks trained in shares too.
  const std::string eval = "eval " + run.string() +
                           " --random --tasks 7 --rollouts 3 --steps 2 --task-batch 4 --json --force"
                           " --oracle-tasks 3 --oracle-iterations 3 --oracle-rollouts 2";
  const Result alone = run_metarl(eval, /*stdout_only=*/true);
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  for (int processes : {2, 3}) {
    const Result shared = run_metarl(eval + " --nproc " + std::to_string(processes), /*stdout_only=*/true);
    ASSERT_EQ(shared.exit_code, 0) << shared.output;
    // Printed with 6 significant digits: a last-bit difference may move the 6th.
    expect_same_report(shared.output, alone.output, 2e-5, std::to_string(processes) + " processes");
  }
  EXPECT_NE(alone.output.find("\"oracle\": {\"tasks\": 3"), std::string::npos) << alone.output;
  // The rounds protocol shares its task sequences the same way, every mode of every round.
  const std::string rounds = "eval " + run.string() +
                             " --random --rounds 3 --task-process 'goal_x=walk(0.1)' --tasks 7 --rollouts 3"
                             " --task-batch 4 --json --no-save";
  const Result rounds_alone = run_metarl(rounds, /*stdout_only=*/true);
  ASSERT_EQ(rounds_alone.exit_code, 0) << rounds_alone.output;
  const Result rounds_shared = run_metarl(rounds + " --nproc 2", /*stdout_only=*/true);
  ASSERT_EQ(rounds_shared.exit_code, 0) << rounds_shared.output;
  expect_same_report(rounds_shared.output, rounds_alone.output, 2e-5, "rounds over 2 processes");
  EXPECT_NE(rounds_alone.output.find("\"random restart\""), std::string::npos) << rounds_alone.output;
  // Online segments with the task changing inside them: each task batch's share of the
  // change steps, in every process.
  const std::string inside = rounds + " --adapt-every 10 --task-change-step random";
  const Result inside_alone = run_metarl(inside, /*stdout_only=*/true);
  ASSERT_EQ(inside_alone.exit_code, 0) << inside_alone.output;
  const Result inside_shared = run_metarl(inside + " --nproc 2", /*stdout_only=*/true);
  ASSERT_EQ(inside_shared.exit_code, 0) << inside_shared.output;
  expect_same_report(inside_shared.output, inside_alone.output, 2e-5, "online rounds, changes inside, 2 processes");
  EXPECT_NE(inside_alone.output.find("\"task_change_step\": \"random\""), std::string::npos) << inside_alone.output;
}

// The checkpoint holds every environment row's stream in global order, so a run
// resumes with another number of processes and continues the one-process run.
TEST_F(Distributed, ARunResumesWithAnotherNumberOfProcesses) {
  const auto straight = dir_ / "straight";
  const auto moved = dir_ / "moved";
  ASSERT_EQ(run_metarl(small("adam") + straight.string() + " --iterations 4").exit_code, 0);
  ASSERT_EQ(run_metarl(small("adam") + moved.string() + " --iterations 2 --nproc 2").exit_code, 0);
  const Result resumed = run_metarl("train --resume " + moved.string() + " --iterations 4 --quiet --nproc 3");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  expect_same_metrics(straight, moved, 1e-5, "2 processes, resumed with 3");
}

// A two-process run in the background, under way: the launcher's pid and rank 1's.
struct BackgroundRun {
  pid_t launcher = 0;
  pid_t rank1 = 0;
};

BackgroundRun start_long_run(const fs::path& run, const std::string& log, const std::string& timeout) {
  std::vector<std::string> arguments{"train", "--env", "point-nav", "--iterations", "100000", "--meta-batch", "4",
                                     "--rollouts", "4", "--horizon", "30", "--hidden-sizes", "16", "--threads", "1",
                                     "--quiet", "--nproc", "2", "--dist-timeout", timeout, "--out", run.string()};
  BackgroundRun started;
  started.launcher = spawn_metarl(arguments, log);
  // Rank 1's pid from the launcher's report, once the run is under way.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && (started.rank1 == 0 || !fs::exists(run / "metrics.csv"))) {
    for (const auto& line : lines_of(log)) {
      const auto at = line.find("rank 1 (pid ");
      if (at != std::string::npos) started.rank1 = std::stoi(line.substr(at + 12));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!wait_for_rows(run / "metrics.csv", 1)) started.rank1 = 0;
  return started;
}

// A rank killed mid-run: the launcher names it and stops the others, which report the
// rank whose heartbeat stopped; the run ends within seconds, not at a timeout.
TEST_F(Distributed, AKilledRankStopsTheRunNamingIt) {
  const std::string log = (dir_ / "log.txt").string();
  const BackgroundRun run = start_long_run(dir_ / "run", log, "300");
  ASSERT_GT(run.rank1, 0) << metarl::testing::file_text(log);
  const auto killed = std::chrono::steady_clock::now();
  ::kill(run.rank1, SIGKILL);
  const int code = wait_exit_code(run.launcher);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  const std::string output = metarl::testing::file_text(log);
  EXPECT_EQ(code, 128 + SIGKILL) << output;
  EXPECT_LT(seconds, 30.0) << output;
  EXPECT_NE(output.find("rank 1 was killed by signal 9"), std::string::npos) << output;
  EXPECT_NE(output.find("rank(s) 1 stopped responding"), std::string::npos) << output;
}

// A rank that hangs (stopped, its connections open): the others wait the timeout, then
// name it; the launcher stops it.
TEST_F(Distributed, AHungRankStopsTheRunAfterTheTimeoutNamingIt) {
  const std::string log = (dir_ / "log.txt").string();
  const BackgroundRun run = start_long_run(dir_ / "run", log, "4");
  ASSERT_GT(run.rank1, 0) << metarl::testing::file_text(log);
  const auto stopped = std::chrono::steady_clock::now();
  ::kill(run.rank1, SIGSTOP);
  const int code = wait_exit_code(run.launcher);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  const std::string output = metarl::testing::file_text(log);
  EXPECT_NE(code, 0) << output;
  EXPECT_LT(seconds, 40.0) << output;
  EXPECT_NE(output.find("rank(s) 1 stopped responding"), std::string::npos) << output;
}

// Ranks started by hand (torchrun's variables) with different configs are refused
// before any work, naming the rank that differs.
TEST_F(Distributed, RanksWithDifferentConfigsAreRefused) {
  const std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(29000 + ::getpid() % 1000) +
                          " WORLD_SIZE=2 ";
  const std::string common = std::string(METARL_CLI_PATH) + " train --env point-nav --iterations 1 --meta-batch 4 "
                                                           "--rollouts 2 --horizon 10 --hidden-sizes 8 --quiet --out " +
                             (dir_ / "run").string();
  const Result result =
      run_shell("(" + env + "RANK=1 " + common + " --seed 2 > " + (dir_ / "rank1.txt").string() + " 2>&1 &) ; " + env +
                "RANK=0 " + common + " --seed 1 2>&1");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("rank 1 was started with another config or another metarl build"), std::string::npos)
      << result.output;
  EXPECT_FALSE(fs::exists(dir_ / "run" / "metrics.csv"));
}

TEST_F(Distributed, MalformedLaunchVariablesAreUsageErrors) {
  const std::string command = std::string(METARL_CLI_PATH) + " train --iterations 1 --out " + (dir_ / "r").string();
  Result result = run_shell("RANK=0 WORLD_SIZE=two MASTER_ADDR=127.0.0.1 MASTER_PORT=29999 " + command + " 2>&1");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("WORLD_SIZE='two' is invalid"), std::string::npos) << result.output;
  result = run_shell("RANK=0 WORLD_SIZE=2 MASTER_PORT=29999 " + command + " 2>&1");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("MASTER_ADDR is not"), std::string::npos) << result.output;
  result = run_shell(command + " --meta-batch 2 --nproc 3 2>&1");
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("at least one task per process (3 processes)"), std::string::npos) << result.output;
}

}  // namespace
