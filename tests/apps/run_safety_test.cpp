// Issue L, through the command line as a user meets it: nothing a user made is mixed,
// lost or left unusable. One test per finding of the probe:
//  1. a run directory is one process's at a time (a lock, released on any death);
//  2. reads are bounded and messages quote a bounded, escaped prefix of a value;
//  3. a run that fails before its first checkpoint can be run again without --force;
//  4. --resume refuses a metrics.csv with rows missing;
//  5. eval and train refuse sizes that cannot fit before allocating them;
//  6. --force leaves nothing of the previous run; eval never overwrites a report;
//  7. train applies check-env's guards to plug-ins and names the env, row and step of
//     a value that is not finite; a non-std exception is an error, not an abort;
//  8. YAML duplicates, several documents and complex keys are usage errors; stale
//     temporary files are removed at the next start; I/O errors carry errno's text.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/cli_support.h"
#include "tests/support/test_support.h"

namespace {

namespace fs = std::filesystem;
using namespace metarl::testing::cli;
using metarl::testing::file_text;

class RunSafety : public metarl::testing::ScratchDirTest {
 protected:
  std::string run_dir() const { return (dir_ / "run").string(); }

  // A tiny but complete training run into run_dir(), with a constant outer step
  // (point-nav's defaults decay it over the run), so that it can be extended.
  std::string tiny_train(const std::string& extra) const {
    return "train --iterations 2 --meta-batch 2 --rollouts 2 --horizon 10 --hidden-sizes 8 --threads 1 --quiet "
           "--outer-lr-decay none --out " +
           run_dir() + " " + extra;
  }

  std::string write(const std::string& name, const std::string& contents) const {
    const auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  static void expect_exit(const Result& result, int code, const std::string& expected_text,
                          const std::string& what) {
    EXPECT_EQ(result.exit_code, code) << what << "\n" << result.output;
    EXPECT_NE(result.output.find(expected_text), std::string::npos)
        << what << ": expected '" << expected_text << "' in:\n" << result.output;
  }
};

std::string test_plugin(const std::string& kind) {
  return std::string(METARL_TEST_PLUGIN_DIR) + "/libmetarl_test_plugin_" + kind + ".so";
}

// 1. Two processes on one directory: the second is refused naming the first's pid,
// whatever it asks (a new run with --force, a resume); a kill -9 releases the lock.
TEST_F(RunSafety, ARunDirectoryIsOneProcessAtATime) {
  const fs::path metrics = dir_ / "run" / "metrics.csv";
  const pid_t first = spawn_metarl({"train", "--iterations", "100000", "--meta-batch", "2", "--rollouts", "2",
                                    "--horizon", "10", "--hidden-sizes", "8", "--threads", "1", "--quiet",
                                    "--checkpoint-every", "1", "--out", run_dir()},
                                   (dir_ / "first.log").string());
  ASSERT_TRUE(wait_for_rows(metrics, 2)) << file_text(dir_ / "first.log");
  const std::string holder = "is in use by process " + std::to_string(first);
  expect_exit(run_metarl(tiny_train("--force --seed 2")), 2, holder, "a second run with --force");
  expect_exit(run_metarl("train --resume " + run_dir()), 2, holder, "a resume");
  EXPECT_EQ(::kill(first, 0), 0) << "the first run must still be running";
  ::kill(first, SIGKILL);
  EXPECT_EQ(wait_exit_code(first), 1000 + SIGKILL);
  // The OS released the lock with the process: the directory takes a new run.
  const Result next = run_metarl(tiny_train("--force --seed 2"));
  EXPECT_EQ(next.exit_code, 0) << next.output;
}

// 1. The probe's race: two runs with seeds 1 and 2 started together into one
// directory. One of them runs; the other is refused; the directory holds one run.
TEST_F(RunSafety, TwoRunsStartedTogetherLeaveOneRun) {
  auto start = [&](const std::string& seed) {
    return spawn_metarl({"train", "--iterations", "6", "--meta-batch", "2", "--rollouts", "2", "--horizon", "10",
                         "--hidden-sizes", "8", "--threads", "1", "--quiet", "--checkpoint-every", "1", "--seed", seed,
                         "--outer-lr-decay", "none",
                         "--out", run_dir()},
                        (dir_ / ("seed" + seed + ".log")).string());
  };
  const pid_t one = start("1");
  const pid_t two = start("2");
  const int code_one = wait_exit_code(one);
  const int code_two = wait_exit_code(two);
  EXPECT_EQ(std::min(code_one, code_two), 0) << file_text(dir_ / "seed1.log") << file_text(dir_ / "seed2.log");
  EXPECT_EQ(std::max(code_one, code_two), 2) << file_text(dir_ / "seed1.log") << file_text(dir_ / "seed2.log");
  const std::string winner = code_one == 0 ? "1" : "2";
  const std::string config = file_text(dir_ / "run" / "config.yaml");
  EXPECT_NE(config.find("\nseed: " + winner + "\n"), std::string::npos) << config;
  // The checkpoint is the winner's too: resuming continues that seed's run.
  const Result resumed = run_metarl("train --resume " + run_dir() + " --iterations 7");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(lines_of(dir_ / "run" / "metrics.csv").size(), 8u);
}

// 2. Configs are regular files of bounded size; values in messages are bounded and
// escaped; a huge layer list is refused before it is split.
TEST_F(RunSafety, ReadsAreBoundedAndMessagesQuoteABoundedEscapedValue) {
  expect_exit(run_metarl("train --config /dev/zero --print-config"), 2, "is not a regular file", "/dev/zero");
  const std::string fifo = (dir_ / "fifo.yaml").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_exit(run_metarl("train --config " + fifo + " --print-config"), 2, "is not a regular file", "a FIFO");
  const std::string big = write("big.yaml", "env: point-nav\n" + std::string(2 << 20, '#') + "\n");
  expect_exit(run_metarl("train --config " + big + " --print-config"), 2, "a config holds at most 1048576",
              "a 2 MB config");
  expect_exit(run_metarl("train --config " + (dir_ / "absent.yaml").string()), 2, "does not exist",
              "a missing config");
  // Checkpoints: a device is not read; a large file that is not one is refused by its
  // header, not read whole.
  expect_exit(run_metarl("eval --checkpoint /dev/zero"), 2, "is not a regular file", "/dev/zero as a checkpoint");
  const std::string not_a_checkpoint = write("big.pt", std::string(3 << 20, 'x'));
  expect_exit(run_metarl("eval --checkpoint " + not_a_checkpoint), 2,
              "does not start with a metarl checkpoint header", "a 3 MB file as a checkpoint");

  // A 100 kB value: the message quotes 120 bytes of it and says how long it was.
  const Result long_value = run_metarl(tiny_train("--set env=" + std::string(100000, 'x')));
  expect_exit(long_value, 2, "... (100000 bytes)", "a 100 kB value");
  EXPECT_LT(long_value.output.size(), 2000u);
  const Result long_list = run_metarl(tiny_train("--set hidden_sizes=" + std::string(100000, '1')));
  expect_exit(long_list, 2, "config key 'hidden_sizes'", "a 100 kB layer list");
  EXPECT_LT(long_list.output.size(), 2000u);

  // A terminal escape in a config reaches the message escaped, not the terminal.
  const std::string escape = write("escape.yaml", "env: \"a\\e[31mb\"\n");
  const Result escaped = run_metarl("train --config " + escape + " --print-config");
  expect_exit(escaped, 2, "a\\x1b[31mb", "an escape sequence");
  EXPECT_EQ(escaped.output.find('\x1b'), std::string::npos) << escaped.output;
}

// 3. A failure before the first checkpoint: the message says so (no checkpoint is
// claimed), --resume says to run again, and running again needs no --force. A
// divergence repeats with the same config, so its message names the keys to change
// (with their values) instead of advising the same command.
TEST_F(RunSafety, AFailureBeforeTheFirstCheckpointCanBeRunAgain) {
  const std::string diverges = "train --iterations 15 --meta-batch 4 --rollouts 4 --horizon 20 --hidden-sizes 8 "
                               "--threads 1 --quiet --checkpoint-every 1000 --set inner_lr=1000 --out " + run_dir();
  const Result failed = run_metarl(diverges);
  expect_exit(failed, 1, "the step sizes are too large for this problem: lower inner_lr 1000, outer_lr 0.003, alpha_lr_scale 1 (",
              "divergence");
  expect_exit(failed, 1, "no checkpoint was written yet, so the same command fails the same way", "divergence");
  EXPECT_NE(failed.output.find("training diverged at iteration "), std::string::npos) << failed.output;
  EXPECT_EQ(failed.output.find("the last checkpoint"), std::string::npos) << failed.output;
  EXPECT_EQ(failed.output.find("again with the same command"), std::string::npos) << failed.output;
  // TRPO's step is its trust region: max_kl, not outer_lr.
  const Result trpo = run_metarl("train --iterations 3 --meta-batch 4 --rollouts 4 --horizon 20 --hidden-sizes 8 "
                                 "--threads 1 --quiet --algo maml --optimizer trpo --set inner_lr=1000 --out " +
                                 (dir_ / "trpo").string());
  expect_exit(trpo, 1, "lower inner_lr 1000, max_kl 0.01 (config keys", "TRPO's divergence");
  expect_exit(run_metarl("train --resume " + run_dir()), 2, "holds no checkpoint", "--resume without one");
  // eval knows it is a run, one without a checkpoint yet.
  const Result evaluated = run_metarl("eval " + run_dir() + " --tasks 2 --rollouts 2 --steps 1 --no-save");
  expect_exit(evaluated, 2, "run '" + run_dir() + "' holds no checkpoint yet: its training stopped before its first",
              "eval without a checkpoint");
  EXPECT_EQ(evaluated.output.find("expected a run directory"), std::string::npos) << evaluated.output;
  // The same command again: not "already holds a run"; it runs (and diverges again).
  const Result again = run_metarl(diverges);
  expect_exit(again, 1, "training diverged", "the same command again");
  EXPECT_EQ(again.output.find("already holds a run"), std::string::npos) << again.output;
  // And a healthy run takes the directory without --force.
  EXPECT_EQ(run_metarl(tiny_train("")).exit_code, 0);
}

// 4. --resume continues only a complete history: rows missing are refused (a hole or
// no metrics.csv at all); rows after the checkpoint (work a crash lost) are dropped.
TEST_F(RunSafety, ResumeRefusesAHistoryWithRowsMissing) {
  ASSERT_EQ(run_metarl(tiny_train("--iterations 4 --checkpoint-every 1")).exit_code, 0);
  const fs::path metrics = dir_ / "run" / "metrics.csv";
  const auto rows = lines_of(metrics);
  ASSERT_EQ(rows.size(), 5u);
  {
    std::ofstream out(metrics);  // rows 1, 2 and 4: row 3 lost
    out << rows[0] << "\n" << rows[1] << "\n" << rows[2] << "\n" << rows[4] << "\n";
  }
  expect_exit(run_metarl("train --resume " + run_dir() + " --iterations 6"), 2,
              "metrics.csv holds rows of iterations 1-2, 4, the checkpoint covers iterations 1-4", "a hole");
  {
    std::ofstream out(metrics);  // rows 1 and 2 only
    out << rows[0] << "\n" << rows[1] << "\n" << rows[2] << "\n";
  }
  expect_exit(run_metarl("train --resume " + run_dir() + " --iterations 6"), 2, "holds rows of iterations 1-2,",
              "a truncated history");
  fs::remove(metrics);
  expect_exit(run_metarl("train --resume " + run_dir() + " --iterations 6"), 2, "metrics.csv is missing",
              "no history");
  // Restored, with a row past the checkpoint (a crash after the row, before the save).
  {
    std::ofstream out(metrics);
    for (const auto& row : rows) out << row << "\n";
    out << "5" << rows[4].substr(1) << "\n";
  }
  ASSERT_EQ(run_metarl("train --resume " + run_dir() + " --iterations 6").exit_code, 0);
  const auto resumed = lines_of(metrics);
  ASSERT_EQ(resumed.size(), 7u);
  for (size_t i = 1; i < resumed.size(); ++i) EXPECT_EQ(resumed[i].rfind(std::to_string(i) + ",", 0), 0u);
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(resumed[i], rows[i]);
}

// 5. Sizes that cannot fit are refused before anything is allocated: one task's
// rollouts in eval (the per-batch budget cannot split them), a training iteration
// larger than the machine's memory.
TEST_F(RunSafety, SizesThatCannotFitAreRefusedBeforeAllocating) {
  // Horizon 100: 100000 rollouts of one task are 10^7 samples, four times the budget.
  ASSERT_EQ(run_metarl("train --iterations 1 --meta-batch 2 --rollouts 2 --horizon 100 --hidden-sizes 8 --threads 1 "
                       "--quiet --out " + run_dir()).exit_code,
            0);
  expect_exit(run_metarl("eval " + run_dir() + " --tasks 1 --rollouts 100000 --steps 1 --no-save"), 2,
              "samples of one task exceed what one batch may hold", "eval's single task");
  const Result huge = run_metarl("train --meta-batch 100000 --rollouts 100 --horizon 100000 --hidden-sizes 8 "
                                 "--threads 1 --quiet --out " + (dir_ / "huge").string());
  expect_exit(huge, 2, "one meta-iteration holds 100000 tasks x 100 rollouts x 100000 steps x 2 stages", "training");
  EXPECT_NE(huge.output.find("GB of memory; reduce meta_batch, rollouts or horizon"), std::string::npos)
      << huge.output;
  EXPECT_FALSE(fs::exists(dir_ / "huge" / "config.yaml"));
}

// 6. --force removes everything the previous run wrote (its evaluation and plots too,
// so a plot of the new run shows nothing of the old); files of the user's stay.
TEST_F(RunSafety, ForceLeavesNothingOfThePreviousRun) {
  ASSERT_EQ(run_metarl(tiny_train("")).exit_code, 0);
  ASSERT_EQ(run_metarl("eval " + run_dir() + " --split heldout --tasks 2 --rollouts 2 --steps 1 --quiet").exit_code,
            0);
  ASSERT_TRUE(fs::exists(dir_ / "run" / "eval_heldout.json"));
  ASSERT_EQ(run_metarl("eval " + run_dir() + " --split heldout --tasks 2 --rollouts 2 --rounds 2 --quiet").exit_code,
            0);
  ASSERT_TRUE(fs::exists(dir_ / "run" / "eval_heldout_rounds.json"));
  ASSERT_TRUE(fs::exists(dir_ / "run" / "eval_heldout_rounds.tasks.jsonl"));
  ASSERT_EQ(run_metarl("plot " + run_dir()).exit_code, 0);
  ASSERT_TRUE(fs::exists(dir_ / "run" / "plots" / "adaptation_heldout.svg"));
  ASSERT_TRUE(fs::exists(dir_ / "run" / "plots" / "rounds_heldout.svg"));
  ASSERT_TRUE(fs::exists(dir_ / "run" / "eval_heldout.tasks.jsonl"));
  write("run/notes.txt", "mine\n");
  write("run/eval_notes.jsonl", "{\"mine\": 1}\n");  // look-alikes of metarl's reports
  write("run/eval_notes.json", "{}\n");
  ASSERT_EQ(run_metarl(tiny_train("--env cartpole --force")).exit_code, 0);
  EXPECT_FALSE(fs::exists(dir_ / "run" / "eval_heldout.json"));
  EXPECT_FALSE(fs::exists(dir_ / "run" / "eval_heldout.tasks.jsonl"));
  EXPECT_FALSE(fs::exists(dir_ / "run" / "eval_heldout_rounds.json"));
  EXPECT_FALSE(fs::exists(dir_ / "run" / "eval_heldout_rounds.tasks.jsonl"));
  EXPECT_EQ(file_text(dir_ / "run" / "eval_notes.jsonl"), "{\"mine\": 1}\n");
  EXPECT_EQ(file_text(dir_ / "run" / "eval_notes.json"), "{}\n");
  EXPECT_FALSE(fs::exists(dir_ / "run" / "plots"));
  EXPECT_EQ(file_text(dir_ / "run" / "notes.txt"), "mine\n");
  const Result plot = run_metarl("plot " + run_dir(), /*stdout_only=*/true);
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  EXPECT_EQ(plot.output.find("adaptation_heldout.svg"), std::string::npos) << plot.output;
}

// 6. eval keeps a report it made: a second evaluation of the same split and measure
// is refused (the saved file unchanged) unless --force; --no-save prints only.
TEST_F(RunSafety, EvalNeverOverwritesAReportWithoutForce) {
  ASSERT_EQ(run_metarl(tiny_train("")).exit_code, 0);
  const std::string eval = "eval " + run_dir() + " --split test --steps 1 --quiet --rollouts 2 ";
  ASSERT_EQ(run_metarl(eval + "--tasks 4").exit_code, 0);
  const fs::path report = dir_ / "run" / "eval_test.json";
  const std::string saved = file_text(report);
  expect_exit(run_metarl(eval + "--tasks 2"), 2, "already holds this evaluation's report", "a second eval");
  EXPECT_EQ(file_text(report), saved);
  const Result printed = run_metarl(eval + "--tasks 2 --no-save --json", /*stdout_only=*/true);
  ASSERT_EQ(printed.exit_code, 0) << printed.output;
  EXPECT_EQ(file_text(report), saved);
  ASSERT_EQ(run_metarl(eval + "--tasks 2 --force").exit_code, 0);
  EXPECT_NE(file_text(report), saved);
  // A discounted report goes beside the undiscounted one, not over it.
  ASSERT_EQ(run_metarl(eval + "--tasks 2 --return-discount 0.99").exit_code, 0);
  EXPECT_TRUE(fs::exists(dir_ / "run" / "eval_test_discounted.json"));
}

// 6. A run directory that cannot take a file is found before any work. (Root writes
// to a read-only directory, so the check needs an ordinary user.)
TEST_F(RunSafety, AReadOnlyRunDirectoryIsFoundBeforeAnyWork) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: a read-only directory is writable";
  ASSERT_EQ(run_metarl(tiny_train("")).exit_code, 0);
  ASSERT_EQ(::chmod(run_dir().c_str(), 0555), 0);
  const Result eval = run_metarl("eval " + run_dir() + " --tasks 2 --rollouts 2 --steps 1");
  expect_exit(eval, 2, "cannot take the report", "eval");
  EXPECT_EQ(eval.output.find("step 1"), std::string::npos) << "no table before the refusal:\n" << eval.output;
  expect_exit(run_metarl("train --resume " + run_dir() + " --iterations 3"), 2, "is not writable", "resume");
  ::chmod(run_dir().c_str(), 0755);
}

// 7. Faults check-env finds stop train at start-up; faults it cannot see (they appear
// in a batch larger than its own) stop the run naming the environment, row and step.
TEST_F(RunSafety, TrainGuardsAgainstPluginsThatBreakTheirContract) {
  const std::string plugin = "--plugin " + test_plugin("faulty") + " ";
  const std::string sizes = " --iterations 2 --meta-batch 4 --rollouts 4 --hidden-sizes 8 --threads 1 --quiet --out ";
  auto train = [&](const std::string& env) {
    return run_metarl(plugin + "train --env " + env + sizes + (dir_ / env).string());
  };
  expect_exit(train("test-drift-flag-seven"), 1, "terminated is 7, expected 0 or 1", "a flag of 7");
  expect_exit(train("test-drift-misnamed"), 1, "registered as 'test-drift-misnamed'", "a misnamed spec");
  EXPECT_FALSE(fs::exists(dir_ / "test-drift-misnamed" / "config.yaml")) << "refused before the directory";
  expect_exit(train("test-drift-throws-late"), 1,
              "environment 'test-drift-throws-late' threw an exception that is not a std::exception in step_rows",
              "a non-std exception");
  expect_exit(train("test-drift-nan-late"), 1,
              "environment 'test-drift-nan-late' returned a reward that is not finite (NaN or infinity) at row 8, "
              "step 2",
              "NaN");
  const Result nan = train("test-drift-nan-late");  // the directory holds no checkpoint: it runs again
  EXPECT_NE(nan.output.find("no checkpoint was written yet"), std::string::npos) << nan.output;
}

// 8. YAML that says one thing twice, holds several documents or uses a list as a key
// is a usage error (exit 2), not a silent last-one-wins.
TEST_F(RunSafety, AmbiguousYamlIsAUsageError) {
  expect_exit(run_metarl("train --config " + write("twice.yaml", "seed: 1\nenv: point-nav\nseed: 2\n") +
                         " --print-config"),
              2, "key 'seed' appears twice (again at line 3)", "a duplicate key");
  expect_exit(run_metarl("train --config " + write("two.yaml", "seed: 1\n---\nseed: 2\n") + " --print-config"), 2,
              "holds more than one YAML document", "two documents");
  expect_exit(run_metarl("train --config " + write("complex.yaml", "? [a, b]\n: 1\n") + " --print-config"), 2,
              "is not a name", "a complex key");
}

// 8. Temporary files of writes a kill interrupted go at the next start; those of a
// live process stay (it is still writing them).
TEST_F(RunSafety, StaleTemporaryFilesAreRemovedAtTheNextStart) {
  ASSERT_EQ(run_metarl(tiny_train("--iterations 2")).exit_code, 0);
  // A pid that cannot be running: above the kernel's largest (pid_max is at most 2^22).
  const fs::path stale = dir_ / "run" / "config.yaml.tmp.9999999";
  const fs::path live = dir_ / "run" / ("metrics.csv.tmp." + std::to_string(::getpid()));
  write("run/config.yaml.tmp.9999999", "half a config");
  write("run/metrics.csv.tmp." + std::to_string(::getpid()), "being written");
  // A user's files that look like temporaries: not metarl's names, or not a pid.
  const std::vector<std::string> users = {"paper.tmp.final", "analysis.tmp.old", "draft.tmp.v2", "notes.tmp.9999999",
                                          "checkpoint.pt.tmp.final", "eval_mine.txt.tmp.9999999", ".tmp.9999999"};
  for (const auto& name : users) write("run/" + name, "the user's");
  ASSERT_EQ(run_metarl("train --resume " + run_dir() + " --iterations 3").exit_code, 0);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));
  for (const auto& name : users) EXPECT_TRUE(fs::exists(dir_ / "run" / name)) << name;
  fs::remove(live);
}

// 8b. The same look-alikes beside a new run (README: "other files stay")
// (meta_tests checks the rule itself, meta::is_stale_temporary).
TEST_F(RunSafety, AUsersLookAlikeTemporariesStayBesideANewRun) {
  fs::create_directories(dir_ / "run");
  const std::vector<std::string> users = {"paper.tmp.final", "keep.txt", "draft.tmp.v2", "results.csv.tmp.9999999"};
  for (const auto& name : users) write("run/" + name, "the user's");
  write("run/eval_test.json.tmp.9999999", "half a report");
  ASSERT_EQ(run_metarl(tiny_train("--iterations 2")).exit_code, 0);
  for (const auto& name : users) EXPECT_TRUE(fs::exists(dir_ / "run" / name)) << name;
  EXPECT_FALSE(fs::exists(dir_ / "run" / "eval_test.json.tmp.9999999"));

}

}  // namespace
