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
#include <iterator>
#include <string>

#include "tests/support/cli_support.h"
#include "tests/support/test_support.h"

namespace {

namespace fs = std::filesystem;
using namespace metarl::testing::cli;

class Cli : public metarl::testing::ScratchDirTest {
 protected:
  std::string write(const std::string& name, const std::string& contents) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << contents;
    return path;
  }

  // A tiny but complete training run, with a constant outer step (point-nav's defaults
  // decay it over the run), so that it can be extended.
  std::string tiny_train(const std::string& extra) {
    return "train --iterations 2 --meta-batch 2 --rollouts 2 --horizon 10 --hidden-sizes 8 --threads 1 "
           "--outer-lr-decay none --out " +
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
  expect_usage_error(tiny_train("--env cheetah"), "unknown environment 'cheetah'; known environments: ant-dir, ant-fwd-back, box2d-nav, cartpole, "
                                                    "halfcheetah-dir, halfcheetah-legs, halfcheetah-vel, pendulum, point-nav");
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
  // A file where the run directory (or a folder above it) should be: one usage error.
  const std::string file = write("afile", "the user's");
  const std::string small = "train --iterations 1 --meta-batch 2 --rollouts 2 --horizon 10 --hidden-sizes 8 --out ";
  expect_usage_error(small + file, "--out '" + file + "': it exists and is not a directory");
  expect_usage_error(small + file + "/sub/run", "--out '" + file + "/sub/run': '" + file + "' exists and is not a directory");
  // A seed group's directory: the same mistake, the same usage error.
  expect_usage_error(small + file + "/group --seeds 1-2", "--out '" + file + "/group': '" + file + "' exists and is not a directory");
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

  // A finished run trains longer with --resume --iterations; nothing else may change.
  const std::string run = (dir_ / "run").string();
  const Result extended = run_metarl("train --resume " + run + " --iterations 3");
  ASSERT_EQ(extended.exit_code, 0) << extended.output;
  EXPECT_NE(extended.output.find("iter 3/3"), std::string::npos) << extended.output;
  EXPECT_EQ(lines_of(dir_ / "run" / "metrics.csv").size(), 4u);  // header + 3 iterations
  expect_usage_error("train --resume " + run + " --iterations 2", "a resumed run can only be extended");
  expect_usage_error("train --resume " + run + " --seed 4", "drop --seed");

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
  EXPECT_NE(eval.output.find(", \"env\": \"point-nav\", \"split\": \"heldout\""), std::string::npos)
      << eval.output;
  EXPECT_EQ(eval.output.find('\n'), eval.output.size() - 1) << eval.output;
  EXPECT_NE(eval.output.find("\"steps\": [0, 1, 2]"), std::string::npos) << eval.output;
  EXPECT_NE(eval.output.find("\"methods\": {\"meta-sgd\": {\"algorithm\": \""), std::string::npos) << eval.output;
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

TEST_F(Cli, EvalComparesRunsAndTheRandomBaselineInOneTable) {
  auto train = [&](const std::string& name, const std::string& algo, int seed) {
    const Result result = run_metarl("train --algo " + algo + " --seed " + std::to_string(seed) +
                                     " --iterations 2 --meta-batch 2 --rollouts 2 --horizon 10 --hidden-sizes 8"
                                     " --threads 1 --quiet --out " + (dir_ / name).string());
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return (dir_ / name).string();
  };
  const std::string a = train("a", "meta-sgd", 1);
  const std::string b = train("b", "maml", 2);
  const std::string c = train("c", "meta-sgd", 3);
  const std::string runs = a + " " + b + " " + c;
  const std::string sizes = " --tasks 3 --rollouts 2 --steps 2 --threads 1";

  // A title line, a column header, then one row per method in command-line order,
  // the random baseline last; two meta-sgd runs carry their run directories.
  const Result table = run_metarl("eval " + runs + " --random --step-sizes 0.1,0.05" + sizes, /*stdout_only=*/true);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  const auto rows = [&] {
    std::vector<std::string> lines;
    std::istringstream in(table.output);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }();
  // Header, column titles, four methods; then the paired gains: a title and four rows;
  // then the paired differences between methods: a title and two rows for each of
  // the six pairs (after as many steps, and against the second's best step).
  ASSERT_EQ(rows.size(), 2u + 4u + 1u + 4u + 1u + 2u * 6u) << table.output;
  EXPECT_EQ(rows[6].rfind("gain over step 0, paired per task", 0), 0u) << table.output;
  EXPECT_EQ(rows[11].rfind("difference between methods, paired per task", 0), 0u) << table.output;
  EXPECT_EQ(rows[12].rfind("meta-sgd (" + a + ") - maml ", 0), 0u) << table.output;
  EXPECT_EQ(rows[13].rfind("meta-sgd (" + a + ") - maml at step ", 0), 0u) << table.output;
  EXPECT_EQ(rows[23].rfind("meta-sgd (" + c + ") - random at step ", 0), 0u) << table.output;
  EXPECT_EQ(rows[1].rfind("method ", 0), 0u) << table.output;
  EXPECT_NE(rows[1].find("step 2"), std::string::npos) << table.output;
  const std::vector<std::string> names{"meta-sgd (" + a + ") ", "maml ", "meta-sgd (" + c + ") ", "random "};
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(rows[2 + i].rfind(names[i], 0), 0u) << names[i] << " in:\n" << table.output;
    // mean ± CI for steps 0, 1, 2
    size_t cells = 0;
    for (size_t at = rows[2 + i].find("±"); at != std::string::npos; at = rows[2 + i].find("±", at + 1)) ++cells;
    EXPECT_EQ(cells, 3u) << rows[2 + i];
    EXPECT_EQ(rows[7 + i].rfind(names[i], 0), 0u) << names[i] << " in:\n" << table.output;
  }

  // --json: the same methods in the same order, one object on one line.
  // (--force: the table above saved this evaluation's report already.)
  const Result json =
      run_metarl("eval " + runs + " --random --step-sizes 0.1,0.05 --json --force" + sizes, /*stdout_only=*/true);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_EQ(json.output.find('\n'), json.output.size() - 1) << json.output;
  size_t previous = 0;
  for (const std::string& name : {"meta-sgd (" + a + ")", std::string("maml"), "meta-sgd (" + c + ")",
                                 std::string("random")}) {
    const auto at = json.output.find("\"" + name + "\": {\"algorithm\": \"");
    ASSERT_NE(at, std::string::npos) << name << " in:\n" << json.output;
    EXPECT_GT(at, previous) << name;
    previous = at;
  }
  // Provenance: the report names what it evaluated and how.
  for (const char* field : {"{\"metarl_version\": \"", "\"seed\": 1000, \"random_seed\": 1, "}) {
    EXPECT_NE(json.output.find(field), std::string::npos) << field << " in:\n" << json.output;
  }
  const auto maml = json.output.find("\"maml\": {\"algorithm\": \"maml\", \"run\": \"" + b +
                                     "\", \"checkpoint_iteration\": 2, \"checkpoint_checksum\": \"");
  ASSERT_NE(maml, std::string::npos) << json.output;
  const auto checksum_at = json.output.find("\"checkpoint_checksum\": \"", maml) + 24;
  const std::string checksum = json.output.substr(checksum_at, json.output.find('"', checksum_at) - checksum_at);
  EXPECT_EQ(checksum.size(), 16u) << checksum;
  EXPECT_EQ(checksum.find_first_not_of("0123456789abcdef"), std::string::npos) << checksum;
  EXPECT_NE(json.output.find("\"step_sizes\": [0.1, 0.05]", maml), std::string::npos) << json.output;
  EXPECT_NE(json.output.find("\"checkpoint_checksum\": \"\", \"step_sizes\": [0.1, 0.05]"), std::string::npos)
      << "the random baseline: no checkpoint, the scheduled steps\n" << json.output;
  EXPECT_NE(json.output.find("\"step_sizes\": \"learned\""), std::string::npos) << json.output;
  // The random baseline on its own schedule (MAML's scripts stepped each baseline at its
  // own size); maml keeps the shared one.
  const Result own = run_metarl("eval " + b + " --random --step-sizes 0.1,0.05 --random-step-sizes 0.5 --json --no-save" +
                                    sizes,
                                /*stdout_only=*/true);
  ASSERT_EQ(own.exit_code, 0) << own.output;
  EXPECT_NE(own.output.find("\"step_sizes\": [0.1, 0.05]", own.output.find("\"maml\": {")), std::string::npos)
      << own.output;
  EXPECT_NE(own.output.find("\"step_sizes\": [0.5, 0.5]", own.output.find("\"random\": {")), std::string::npos)
      << own.output;
  // Per-task returns: steps 0..2, three tasks each.
  const auto task_returns = json.output.find("\"task_returns\": [[", maml);
  ASSERT_NE(task_returns, std::string::npos) << json.output;
  const std::string nested = json.output.substr(task_returns, json.output.find("]]", task_returns) - task_returns);
  EXPECT_EQ(std::count(nested.begin(), nested.end(), '['), 4) << nested;  // the outer list and 3 steps
  EXPECT_EQ(std::count(nested.begin(), nested.end(), ','), 8) << nested;  // 3 x 3 numbers

  // Every run directory keeps the whole comparison, and its plot shows every method.
  for (const auto& run : {a, b, c}) {
    EXPECT_EQ(metarl::testing::file_text(fs::path(run) / "eval_test.json"), json.output) << run;
  }
  ASSERT_EQ(run_metarl("plot " + b, /*stdout_only=*/true).exit_code, 0);
  const std::string svg = metarl::testing::file_text(fs::path(b) / "plots" / "adaptation_test.svg");
  for (const char* legend : {">maml</text>", ">random</text>"}) EXPECT_NE(svg.find(legend), std::string::npos) << legend;

  // The runs as a YAML list, and printed back as one.
  const std::string eval_yaml = write("runs.yaml", "checkpoint: [" + a + ", " + b + "]\nrandom: true\n");
  const Result from_yaml =
      run_metarl("eval --config " + eval_yaml + " --json --no-save" + sizes, /*stdout_only=*/true);
  ASSERT_EQ(from_yaml.exit_code, 0) << from_yaml.output;
  EXPECT_NE(from_yaml.output.find("\"methods\": {\"meta-sgd\": {\"algorithm\": \""), std::string::npos) << from_yaml.output;
  EXPECT_NE(from_yaml.output.find("\"random\": {\"algorithm\": \""), std::string::npos) << from_yaml.output;
  const Result printed = run_metarl("eval " + a + " " + b + " --print-config");
  EXPECT_NE(printed.output.find("checkpoint: [" + a + ", " + b + "]\n"), std::string::npos) << printed.output;

  expect_usage_error("eval " + a + " --checkpoint " + b, "RUN_DIR arguments and --checkpoint");
  expect_usage_error("eval " + a + " --step-sizes 0.1,0", "'step_sizes': value '0.1,0'");
  expect_usage_error("eval " + a + " " + a + "/ --no-save", "is given twice");
}

TEST_F(Cli, EvalOverRoundsReportsEveryModeSavesBesideTheStepReportAndRefusesWhatDoesNotApply) {
  ASSERT_EQ(run_metarl(tiny_train("--quiet")).exit_code, 0);
  const std::string run = (dir_ / "run").string();
  const std::string sizes = " --tasks 3 --rollouts 2 --threads 1 --quiet";
  const Result table =
      run_metarl("eval " + run + " --rounds 3 --task-process 'goal_x=walk(0.1),goal_y=drift(-0.1)'" + sizes,
                 /*stdout_only=*/true);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  for (const std::string expected :
       {"3 task sequences of 3 rounds", "[goal_x=walk(0.1), goal_y=drift(-0.1)]", "meta-sgd continuous ",
        "meta-sgd restart ", "meta-sgd none ", "meta-sgd continuous - meta-sgd restart", "rounds 2.."}) {
    EXPECT_NE(table.output.find(expected), std::string::npos) << expected << " in\n" << table.output;
  }
  EXPECT_TRUE(fs::exists(dir_ / "run" / "eval_test_rounds.json"));
  EXPECT_TRUE(fs::exists(dir_ / "run" / "eval_test_rounds.tasks.jsonl"));
  EXPECT_FALSE(fs::exists(dir_ / "run" / "eval_test.json"));  // the step report is another file
  // The step protocol's report lands beside it, and neither replaces the other.
  ASSERT_EQ(run_metarl("eval " + run + " --steps 1" + sizes).exit_code, 0);
  EXPECT_TRUE(fs::exists(dir_ / "run" / "eval_test.json"));
  expect_usage_error("eval " + run + " --rounds 3" + sizes, "eval_test_rounds.json");
  expect_usage_error("eval " + run + " --rounds 0 --no-save", "'rounds': value '0'");
  expect_usage_error("eval " + run + " --rounds 3 --steps 1 --no-save", "config key 'steps'");
  expect_usage_error("eval " + run + " --task-process 'goal_x=walk(0.1)' --no-save", "needs rounds of at least 2");
  expect_usage_error("eval " + run + " --rounds 3 --task-process 'mass=walk(0.1)' --no-save",
                     "a task parameter of this environment (goal_x, goal_y)");
  expect_usage_error("eval " + run + " --rounds 3 --task-process 'goal_x=walk(2)' --no-save",
                     "the width of the training range of 'goal_x'");
  expect_usage_error("eval " + run + " --rounds 3 --task-process 'goal_x=jump(2)' --no-save", "NAME=walk(STD)");
}

TEST_F(Cli, RandomBaselineAloneNeedsAnEnvironment) {
  const Result random = run_metarl("eval --random --env point-nav --tasks 2 --rollouts 2 --steps 1 --threads 1 --json",
                                   /*stdout_only=*/true);
  ASSERT_EQ(random.exit_code, 0) << random.output;
  EXPECT_NE(random.output.find(", \"env\": \"point-nav\", \"split\": \"test\""), std::string::npos)
      << random.output;
  EXPECT_NE(random.output.find("\"methods\": {\"random\": {\"algorithm\": \""), std::string::npos) << random.output;
  expect_usage_error("eval --random", "--random without a run needs --env NAME");
  expect_usage_error("eval --random --env cheetah --tasks 2 --rollouts 2", "unknown environment 'cheetah'");
  expect_usage_error("eval --env point-nav", "nothing to evaluate");
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
  // metrics row has all of the header's columns.
  EXPECT_EQ(run_metarl("train --config " + (run / "config.yaml").string() + " --print-config").exit_code, 0);
  const Result eval = run_metarl("eval --checkpoint " + run.string() + " --tasks 2 --rollouts 2 --steps 1 --json");
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
  const auto rows_before = lines_of(metrics);
  ASSERT_FALSE(rows_before.empty());
  const auto commas = std::count(rows_before.front().begin(), rows_before.front().end(), ',');  // the header
  for (const auto& row : rows_before) EXPECT_EQ(std::count(row.begin(), row.end(), ','), commas) << row;

  // Resume, let it make progress, then SIGTERM: it saves and exits with 128 + 15.
  const pid_t second = spawn_metarl({"train", "--resume", run.string()}, (dir_ / "second.log").string());
  ASSERT_TRUE(wait_for_rows(metrics, rows_before.size() + 5)) << "resumed run made no progress";
  ::kill(second, SIGTERM);
  EXPECT_EQ(wait_exit_code(second), 128 + SIGTERM);
  const std::string second_log = metarl::testing::file_text(dir_ / "second.log");
  EXPECT_NE(second_log.find("resuming meta-sgd"), std::string::npos) << second_log;
  EXPECT_NE(second_log.find("--resume " + run.string()), std::string::npos) << second_log;

  // The checkpoint covers exactly the rows in metrics.csv.
  const auto rows_after = lines_of(metrics);
  const Result loads =
      run_metarl("eval --checkpoint " + run.string() + " --tasks 1 --rollouts 1 --steps 0 --json --no-save");
  ASSERT_EQ(loads.exit_code, 0) << loads.output;
  const std::string last_row = rows_after.back();
  const int last_iteration = std::stoi(last_row.substr(0, last_row.find(',')));
  EXPECT_EQ(static_cast<int>(rows_after.size()) - 1, last_iteration);
  EXPECT_GT(last_iteration, static_cast<int>(rows_before.size()) - 1);
  for (const auto& entry : fs::directory_iterator(run)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  }
  expect_usage_error("train --resume " + run.string() + " --meta-batch 5", "--resume continues a run");
  expect_usage_error("train --resume " + run.string() + " --iterations 5", "a resumed run can only be extended");
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

// Plug-ins (envs/plugin.h): tests/plugins/ builds a good one, one whose environment
// leaves its declared bounds, and one for each way the loader refuses a library.
std::string test_plugin(const std::string& kind) {
  return std::string(METARL_TEST_PLUGIN_DIR) + "/libmetarl_test_plugin_" + kind + ".so";
}

TEST_F(Cli, PluginEnvironmentsReachEverySubcommand) {
  const std::string plugin = "--plugin " + test_plugin("good") + " ";
  const Result envs = run_metarl(plugin + "envs");
  ASSERT_EQ(envs.exit_code, 0) << envs.output;
  EXPECT_NE(envs.output.find("test-drift\n"), std::string::npos) << envs.output;
  EXPECT_NE(envs.output.find("point-nav\n"), std::string::npos) << envs.output;

  const Result check = run_metarl(plugin + "check-env test-drift", /*stdout_only=*/true);
  ASSERT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("  PASS  spec_shapes_and_bounds\n"), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("  8 of 8 checks passed\n"), std::string::npos) << check.output;

  const Result train = run_metarl(plugin + tiny_train("--env test-drift --quiet"));
  ASSERT_EQ(train.exit_code, 0) << train.output;
  const std::string run = (dir_ / "run").string();
  const Result eval = run_metarl(plugin + "eval --checkpoint " + run + " --split heldout --tasks 2 --rollouts 2 "
                                 "--steps 1 --threads 1 --json", /*stdout_only=*/true);
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find(", \"env\": \"test-drift\""), std::string::npos) << eval.output;
  const Result plot = run_metarl(plugin + "plot " + run, /*stdout_only=*/true);
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  EXPECT_NE(plot.output.find("adaptation_heldout.svg"), std::string::npos) << plot.output;

  // Without the plug-in its run cannot be read, and the message says what is missing.
  expect_usage_error("eval --checkpoint " + run, "unknown environment 'test-drift'");
  expect_usage_error("eval --checkpoint " + run, "metarl --plugin LIB");
  // --plugin is an option of metarl itself, so it goes before the subcommand.
  expect_usage_error("envs " + plugin, "--plugin");
}

TEST_F(Cli, CheckEnvExitsOneWhenACheckFailsAndTwoForAnUnknownName) {
  const Result builtin = run_metarl("check-env point-nav", /*stdout_only=*/true);
  EXPECT_EQ(builtin.exit_code, 0) << builtin.output;
  const Result bad = run_metarl("--plugin " + test_plugin("nonconforming") + " check-env test-drift-escapes");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("  FAIL  spec_shapes_and_bounds: row 0, step "), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("outside its declared bounds [-0.5, 0.5]"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("  PASS  truncated_at_the_time_limit\n"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("  7 of 8 checks passed\n"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("metarl: failed: not conforming: test-drift-escapes (1 of 8 checks failed)"),
            std::string::npos)
      << bad.output;
  expect_usage_error("check-env cheetah", "unknown environment 'cheetah'");
  // No name: every registered environment, a plug-in's included.
  const Result all = run_metarl("--plugin " + test_plugin("good") + " check-env", /*stdout_only=*/true);
  EXPECT_EQ(all.exit_code, 0) << all.output;
  for (const char* env : {"ant-dir\n", "ant-fwd-back\n", "box2d-nav\n", "cartpole\n", "halfcheetah-dir\n",
                          "halfcheetah-legs\n", "halfcheetah-vel\n", "pendulum\n", "point-nav\n", "test-drift\n"}) {
    EXPECT_NE(all.output.find(env), std::string::npos) << env << all.output;
  }
  size_t summaries = 0;
  for (size_t at = all.output.find("checks passed"); at != std::string::npos;
       at = all.output.find("checks passed", at + 1)) {
    ++summaries;
  }
  EXPECT_EQ(summaries, 10u) << all.output;  // nine built in and the plug-in's
}

// Issue N: the command line runs the BLAS kernels the `blas_kernels` key asks for,
// starting itself again with OPENBLAS_CORETYPE (OpenBLAS reads it when it loads), and
// keeps a value the user set.
TEST_F(Cli, BenchRunsTheBlasKernelsTheKeyAsksForAndKeepsTheUsersChoice) {
  const std::string bench = std::string(METARL_CLI_PATH) + " bench --skip-envs --skip-meta --json";
  auto field = [](const std::string& json, const std::string& name) {
    const std::string key = "\"" + name + "\": \"";
    const size_t at = json.find(key);
    if (at == std::string::npos) return std::string("<no ") + name + ">";
    const size_t begin = at + key.size();
    return json.substr(begin, json.find('"', begin) - begin);
  };
  // OpenBLAS's own choice, as this environment starts it.
  const Result own = run_shell("env -u OPENBLAS_CORETYPE " + bench + " --blas-kernels openblas 2>&1");
  ASSERT_EQ(own.exit_code, 0) << own.output;
  const std::string own_kernels = field(own.output, "kernels");
  const std::string supported = field(own.output, "cpu_supports");
  if (own_kernels.empty() || supported.empty() || field(own.output, "library").find("DYNAMIC_ARCH") == std::string::npos) {
    GTEST_SKIP() << "not an OpenBLAS with DYNAMIC_ARCH on x86-64 (no kernels to choose): " << own.output;
  }
  EXPECT_EQ(field(own.output, "coretype"), "");

  // auto: the CPU's fastest kernels when OpenBLAS fell back, else its own choice.
  const bool fell_back = own.output.find("\"fallback\": true") != std::string::npos;
  const Result chosen = run_shell("env -u OPENBLAS_CORETYPE " + bench + " 2>&1");
  ASSERT_EQ(chosen.exit_code, 0) << chosen.output;
  EXPECT_EQ(field(chosen.output, "kernels"), fell_back ? supported : own_kernels) << chosen.output;
  EXPECT_EQ(field(chosen.output, "coretype"), fell_back ? supported : "") << chosen.output;

  // A core by name (Prescott's run on every x86-64 CPU): restarted onto them.
  const Result named = run_shell("env -u OPENBLAS_CORETYPE " + bench + " --blas-kernels prescott 2>&1");
  ASSERT_EQ(named.exit_code, 0) << named.output;
  EXPECT_EQ(field(named.output, "kernels"), "Prescott") << named.output;

  // The user's value is kept by auto, and a core that contradicts it is a usage error.
  const Result users = run_shell("OPENBLAS_CORETYPE=Prescott " + bench + " 2>&1");
  ASSERT_EQ(users.exit_code, 0) << users.output;
  EXPECT_EQ(field(users.output, "kernels"), "Prescott") << users.output;
  if (supported != "Prescott") {
    const Result clash = run_shell("OPENBLAS_CORETYPE=Prescott " + bench + " --blas-kernels sandybridge 2>&1");
    EXPECT_EQ(clash.exit_code, 2) << clash.output;
    EXPECT_NE(clash.output.find("conflicts with OPENBLAS_CORETYPE=Prescott"), std::string::npos) << clash.output;
  }

  // A run records its kernels, says which ran, and a resume runs on them again.
  const std::string run = (dir_ / "run").string();
  const Result trained = run_shell("env -u OPENBLAS_CORETYPE " + std::string(METARL_CLI_PATH) + " " +
                                   tiny_train("--blas-kernels prescott") + " 2>&1");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("BLAS: "), std::string::npos) << trained.output;
  EXPECT_NE(trained.output.find("Prescott kernels"), std::string::npos) << trained.output;
  std::ifstream config_file(dir_ / "run" / "config.yaml");
  const std::string config((std::istreambuf_iterator<char>(config_file)), std::istreambuf_iterator<char>());
  EXPECT_NE(config.find("blas_kernels: prescott\n"), std::string::npos) << config;
  const Result resumed = run_shell("env -u OPENBLAS_CORETYPE " + std::string(METARL_CLI_PATH) + " train --resume " +
                                   run + " --iterations 3 2>&1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("Prescott kernels"), std::string::npos) << resumed.output;
  // An evaluation on other kernels than the run's says so.
  if (supported == "Haswell" || supported == "SkylakeX" || supported == "Cooperlake") {
    const Result evaluated = run_shell("env -u OPENBLAS_CORETYPE " + std::string(METARL_CLI_PATH) + " eval " + run +
                                       " --tasks 2 --rollouts 2 --steps 1 --no-save --quiet --blas-kernels haswell 2>&1");
    ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
    EXPECT_NE(evaluated.output.find("was trained with blas_kernels prescott"), std::string::npos) << evaluated.output;
  }
}

// --help says what each key takes and its built-in default.
TEST_F(Cli, HelpShowsEachKeysTypeAndDefault) {
  const Result train = run_metarl("train --help", /*stdout_only=*/true);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  for (const char* shown : {"--env NAME=point-nav", "--iterations INT=300", "--inner-lr REAL=0.1",
                            "--algo CHOICE=meta-sgd", "--hidden-sizes SIZES=[100, 100]", "--seed UINT64=1",
                            "--device DEVICE=cpu"}) {
    EXPECT_NE(train.output.find(shown), std::string::npos) << shown << " in:\n" << train.output;
  }
  EXPECT_EQ(train.output.find(" TEXT="), std::string::npos) << train.output;
  const Result eval = run_metarl("eval --help", /*stdout_only=*/true);
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  for (const char* shown : {"--tasks INT=40", "--split CHOICE=test", "--step-sizes LIST"}) {
    EXPECT_NE(eval.output.find(shown), std::string::npos) << shown << " in:\n" << eval.output;
  }
}

// A mistyped flag gets the closest option of its subcommand; an unknown environment
// is refused before --print-config prints a config that cannot run.
TEST_F(Cli, UnknownFlagsSuggestTheClosestAndPrintConfigChecksTheEnvironment) {
  expect_usage_error("train --itrations 3 --out " + (dir_ / "x").string(), "did you mean '--iterations'?");
  expect_usage_error("eval --taks 3 " + (dir_ / "x").string(), "did you mean '--tasks'? (for '--taks')");
  const Result far = run_metarl("train --zzzzzzzzzz 1 --out " + (dir_ / "x").string());
  EXPECT_EQ(far.exit_code, 2) << far.output;
  EXPECT_EQ(far.output.find("did you mean"), std::string::npos) << far.output;
  const Result printed = run_metarl("train --env pointnav --print-config");
  EXPECT_EQ(printed.exit_code, 2) << printed.output;
  EXPECT_NE(printed.output.find("unknown environment 'pointnav'"), std::string::npos) << printed.output;
  EXPECT_EQ(printed.output.find("env: pointnav"), std::string::npos) << printed.output;
  // A refused run announces nothing before its error.
  const Result refused = run_metarl("train --env pointnav --out " + (dir_ / "x").string());
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_EQ(refused.output.rfind("metarl: error: unknown environment 'pointnav'", 0), 0u) << refused.output;
}

// A bad value, a missing value or a missing file is no misspelt flag: CLI11's message
// says what is wrong and no suggestion repeats the flag that was typed. A misspelt
// subcommand gets the closest one.
TEST_F(Cli, ValueErrorsSuggestNothingAndMisspeltSubcommandsGetTheClosest) {
  const std::string out = " --out " + (dir_ / "x").string();
  for (const std::string& arguments :
       {"train --env point-nav --nproc 0" + out, "train --env point-nav --seeds 1-2 --jobs 0" + out,
        "plot --width abc " + dir_.string(), "plot --format png " + dir_.string(), "plot --x time " + dir_.string(),
        std::string("eval --checkpoint"), "train --config " + (dir_ / "missing.yaml").string() + out}) {
    const Result result = run_metarl(arguments);
    EXPECT_EQ(result.exit_code, 2) << arguments << "\n" << result.output;
    EXPECT_EQ(result.output.find("did you mean"), std::string::npos) << arguments << "\n" << result.output;
  }
  expect_usage_error("trian --env point-nav", "metarl: did you mean 'train'? (for 'trian')");
  expect_usage_error("--plugin x.so chek-env", "metarl: did you mean 'check-env'? (for 'chek-env')");
  const Result far = run_metarl("zzzzzzzz");
  EXPECT_EQ(far.exit_code, 2) << far.output;
  EXPECT_EQ(far.output.find("did you mean"), std::string::npos) << far.output;
}

TEST_F(Cli, RefusedPluginsAreUsageErrorsNamingThePathAndTheProblem) {
  auto expect_refused = [&](const std::string& path, const std::string& problem) {
    expect_usage_error("--plugin " + path + " envs", "metarl: error: plug-in '" + path + "' " + problem);
  };
  expect_refused((dir_ / "libabsent.so").string(), "does not exist; expected the path of a shared library");
  expect_refused(dir_.string(), "is not a file");
  expect_refused(write("libtext.so", "not a library\n"), "is not a loadable shared library (");
  expect_refused(test_plugin("no_entry"), "has no metarl entry point (metarl_plugin_abi_version)");
  expect_refused(test_plugin("empty"), "registers no environment");
  expect_refused(test_plugin("clash"),
                 "registers environment 'point-nav', which is already taken (a built-in environment)");
  expect_refused(test_plugin("throws"), "failed in its register function: the simulator licence file is missing");
  expect_refused(test_plugin("wrong_abi"), "was built for plug-in ABI version ");
  expect_refused(test_plugin("wrong_version"), "was built against metarl 9.9.0, expected ");
  expect_refused(test_plugin("wrong_string_abi"), "was built with the std::string ABI _GLIBCXX_USE_CXX11_ABI=");

  // Several plug-ins load in order; a name may be taken by an earlier one.
  const std::string good = test_plugin("good");
  const Result two = run_metarl("--plugin " + good + " --plugin " + test_plugin("nonconforming") + " envs");
  EXPECT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("test-drift-escapes\n"), std::string::npos) << two.output;
  expect_usage_error("--plugin " + good + " --plugin " + test_plugin("good_again") + " envs",
                     "plug-in '" + test_plugin("good_again") + "' registers environment 'test-drift', which is "
                     "already taken (registered by plug-in '" + good + "')");
  expect_usage_error("--plugin " + good + " --plugin " + good + " envs", "plug-in '" + good + "' is already loaded");
}

}  // namespace
