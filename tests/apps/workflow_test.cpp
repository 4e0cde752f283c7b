// Issue I, the research workflow through the command line: each environment's
// training defaults, seed groups (train --seeds, eval and plot of a group).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/cli_support.h"
#include "tests/support/test_support.h"

namespace {

namespace fs = std::filesystem;
using namespace metarl::testing::cli;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value of `key` in an effective config as --print-config prints it.
std::string config_value(const std::string& yaml, const std::string& key) {
  std::istringstream lines(yaml);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + ": ", 0) == 0) return line.substr(key.size() + 2);
  }
  return "<missing>";
}

class Workflow : public metarl::testing::ScratchDirTest {
 protected:
  // Tiny sizes: the group machinery, not learning, is under test. A constant outer step
  // (point-nav's defaults decay it over the run), so that runs can be extended.
  static std::string tiny() {
    return "--iterations 2 --meta-batch 2 --rollouts 2 --horizon 10 --hidden-sizes 8 --threads 1 --quiet "
           "--outer-lr-decay none";
  }
};

TEST_F(Workflow, EachEnvironmentStartsFromItsTrainingDefaults) {
  // Pendulum's documented settings (docs/results.md): GAE λ 0.95, Adam 0.005 decaying.
  const Result pendulum = run_metarl("train --env pendulum --print-config", true);
  ASSERT_EQ(pendulum.exit_code, 0) << pendulum.output;
  EXPECT_EQ(config_value(pendulum.output, "gae_lambda"), "0.95");
  EXPECT_EQ(config_value(pendulum.output, "outer_lr"), "0.005");
  EXPECT_EQ(config_value(pendulum.output, "outer_lr_decay"), "linear");
  // metarl's own defaults stay for another environment.
  const Result nav = run_metarl("train --env point-nav --print-config", true);
  EXPECT_EQ(config_value(nav.output, "gae_lambda"), "1");
  EXPECT_EQ(config_value(nav.output, "outer_lr"), "0.003");
  EXPECT_EQ(config_value(nav.output, "iterations"), "300");
  EXPECT_EQ(config_value(run_metarl("train --env cartpole --print-config", true).output, "iterations"), "100");
  // The user's flags, --set and --config come on top of them.
  EXPECT_EQ(config_value(run_metarl("train --env pendulum --gae-lambda 1 --print-config", true).output, "gae_lambda"),
            "1");
  EXPECT_EQ(config_value(run_metarl("train --env pendulum --set outer_lr=0.01 --print-config", true).output,
                         "outer_lr"),
            "0.01");
  const std::string config = (dir_ / "mine.yaml").string();
  std::ofstream(config) << "env: pendulum\nouter_lr_decay: cosine\n";
  const Result from_file = run_metarl("train --config " + config + " --print-config", true);
  EXPECT_EQ(config_value(from_file.output, "outer_lr_decay"), "cosine");
  EXPECT_EQ(config_value(from_file.output, "gae_lambda"), "0.95");  // the file named pendulum
}

TEST_F(Workflow, TheShippedConfigsAreTheEnvironmentDefaults) {
  // `metarl train --env E` and `--config configs/...` are one run: docs/results.md's
  // figures for the configs are the defaults' figures.
  const std::string root = METARL_SOURCE_DIR;
  const std::pair<std::string, std::string> pairs[] = {
      {"point-nav", root + "/configs/point-nav-meta-sgd.yaml"},
      {"cartpole", root + "/configs/envs/cartpole-meta-sgd.yaml"},
      {"pendulum", root + "/configs/envs/pendulum-meta-sgd.yaml"},
      {"box2d-nav", root + "/configs/envs/box2d-nav-meta-sgd.yaml"},
      {"halfcheetah-vel", root + "/configs/mujoco/halfcheetah-vel-meta-sgd.yaml"},
      {"halfcheetah-dir", root + "/configs/mujoco/halfcheetah-dir-meta-sgd.yaml"},
      {"ant-dir", root + "/configs/mujoco/ant-dir-meta-sgd.yaml"}};
  for (const auto& [env, file] : pairs) {
    const Result defaults = run_metarl("train --env " + env + " --print-config", true);
    const Result shipped = run_metarl("train --config " + file + " --print-config", true);
    ASSERT_EQ(defaults.exit_code, 0) << defaults.output;
    EXPECT_EQ(defaults.output, shipped.output) << env;
  }
}

TEST_F(Workflow, EnvsSaysWhatTheDefaultsAreTunedFor) {
  const Result result = run_metarl("envs pendulum");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("training defaults"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("gae_lambda: 0.95"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("tuned for:"), std::string::npos) << result.output;
  const Result help = run_metarl("train --help");
  EXPECT_NE(help.output.find("an environment's training defaults"), std::string::npos) << help.output;
}

TEST_F(Workflow, ASeedGroupIsOneRunPerSeedEachAsIfTrainedAlone) {
  const fs::path group = dir_ / "group";
  const Result trained = run_metarl("train --seeds 1-2,5 --jobs 2 " + tiny() + " --out " + group.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(read_file(group / "seeds.yaml").find("seeds: [1, 2, 5]"), std::string::npos);
  for (const char* seed : {"seed-1", "seed-2", "seed-5"}) {
    EXPECT_TRUE(fs::exists(group / seed / "checkpoint.pt")) << seed;
  }
  EXPECT_NE(read_file(group / "seed-5" / "config.yaml").find("seed: 5\n"), std::string::npos);
  // Seed 2 of the group is the run `--seed 2` trains alone, bit for bit (the two
  // wall-clock columns aside).
  const fs::path alone = dir_ / "alone";
  ASSERT_EQ(run_metarl("train --seed 2 " + tiny() + " --out " + alone.string()).exit_code, 0);
  auto without_seconds = [](const std::string& csv) {
    std::istringstream lines(csv);
    std::string out;
    for (std::string line; std::getline(lines, line);) {
      const std::string up_to_seconds = line.substr(0, line.rfind(','));
      out += up_to_seconds.substr(0, up_to_seconds.rfind(',')) + "\n";
    }
    return out;
  };
  EXPECT_EQ(without_seconds(read_file(group / "seed-2" / "metrics.csv")),
            without_seconds(read_file(alone / "metrics.csv")));
  EXPECT_EQ(read_file(group / "seed-2" / "config.yaml"), read_file(alone / "config.yaml"));
}

TEST_F(Workflow, SeedGroupsRefuseWhatTheyCannotDo) {
  const fs::path group = dir_ / "group";
  auto expect_usage_error = [](const std::string& arguments, const std::string& text) {
    const Result result = run_metarl(arguments);
    EXPECT_EQ(result.exit_code, 2) << arguments << "\n" << result.output;
    EXPECT_NE(result.output.find(text), std::string::npos) << arguments << "\nexpected '" << text << "' in\n"
                                                           << result.output;
  };
  expect_usage_error("train --seeds 1-3 --seed 4 " + tiny() + " --out " + group.string(), "drop --seed");
  expect_usage_error("train --seeds 1-3 --set seed=4 " + tiny() + " --out " + group.string(), "drop --seed");
  expect_usage_error("train --seeds 3-1 " + tiny() + " --out " + group.string(), "--seeds");
  expect_usage_error("train --seeds 1,1 " + tiny() + " --out " + group.string(), "distinct");
  expect_usage_error("train --seeds x " + tiny() + " --out " + group.string(), "--seeds 'x': expected seeds");
  expect_usage_error("train --seeds 1-2 --env pointnav " + tiny() + " --out " + group.string(),
                     "unknown environment 'pointnav'");
  EXPECT_FALSE(fs::exists(group)) << "nothing is written for a refused group";
  ASSERT_EQ(run_metarl("train --seeds 1-2 " + tiny() + " --out " + group.string()).exit_code, 0);
  expect_usage_error("train --seeds 1-2 " + tiny() + " --out " + group.string(), "already holds a seed group");
  const fs::path single = dir_ / "single";
  ASSERT_EQ(run_metarl("train " + tiny() + " --out " + single.string()).exit_code, 0);
  expect_usage_error("train --seeds 1-2 " + tiny() + " --out " + single.string(), "holds a single run");
}

TEST_F(Workflow, ASeedGroupResumesEverySeedAndFailsAsAWholeOnlyWhereASeedFailed) {
  const fs::path group = dir_ / "group";
  ASSERT_EQ(run_metarl("train --seeds 1-2 --jobs 1 " + tiny() + " --out " + group.string()).exit_code, 0);
  // Extending the group extends every seed.
  const Result extended = run_metarl("train --resume " + group.string() + " --iterations 3 --quiet");
  ASSERT_EQ(extended.exit_code, 0) << extended.output;
  for (const char* seed : {"seed-1", "seed-2"}) {
    const std::string csv = read_file(group / seed / "metrics.csv");
    EXPECT_NE(csv.find("\n3,"), std::string::npos) << seed << "\n" << csv;
  }
  // A seed that fails is named; the others still finish.
  std::ofstream(group / "seed-1" / "checkpoint.pt") << "not a checkpoint";
  const Result failed = run_metarl("train --resume " + group.string() + " --iterations 4");
  EXPECT_NE(failed.exit_code, 0);
  EXPECT_NE(failed.output.find("1 of 2 seeds failed (seed 1"), std::string::npos) << failed.output;
  EXPECT_NE(read_file(group / "seed-2" / "metrics.csv").find("\n4,"), std::string::npos);
  // A seed that never started (or stopped before its first checkpoint) starts afresh on
  // resume, from the group's config, as the seed it is.
  fs::remove_all(group / "seed-1");
  const Result restarted = run_metarl("train --resume " + group.string() + " --quiet");
  ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
  EXPECT_TRUE(fs::exists(group / "seed-1" / "checkpoint.pt"));
  EXPECT_NE(read_file(group / "seed-1" / "config.yaml").find("\nseed: 1\n"), std::string::npos);
  EXPECT_NE(read_file(group / "seed-1" / "config.yaml").find("\nmeta_batch: 2\n"), std::string::npos)
      << "the group's config, not metarl's defaults";
}

TEST_F(Workflow, EvalOfASeedGroupReportsTheMeanOverSeedsAndKeepsEachSeed) {
  const fs::path group = dir_ / "group";
  ASSERT_EQ(run_metarl("train --seeds 1-3 " + tiny() + " --out " + group.string()).exit_code, 0);
  const Result table = run_metarl("eval " + group.string() + " --tasks 4 --rollouts 2 --steps 1 --quiet");
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("meta-sgd (" + group.string() + "/seed-2)"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("seed groups: mean over seeds"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("meta-sgd (" + group.string() + ", 3 seeds)"), std::string::npos) << table.output;
  const std::string json = read_file(group / "eval_test.json");
  EXPECT_NE(json.find("\"groups\": {\"meta-sgd (" + group.string() + ", 3 seeds)\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"seeds\": [1, 2, 3]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"seed_means\": [["), std::string::npos) << json;
  // Per task, as JSON lines: its parameters and every method's return at every step.
  std::istringstream lines(read_file(group / "eval_test.tasks.jsonl"));
  int tasks = 0;
  for (std::string line; std::getline(lines, line); ++tasks) {
    EXPECT_EQ(line.rfind("{\"task\": " + std::to_string(tasks) + ", \"parameters\": {\"goal_x\": ", 0), 0u) << line;
    EXPECT_NE(line.find("\"meta-sgd (" + group.string() + "/seed-3)\": ["), std::string::npos) << line;
  }
  EXPECT_EQ(tasks, 4);
  // A run outside the groups keeps its paired comparisons (with each seed).
  const fs::path single = dir_ / "single";
  ASSERT_EQ(run_metarl("train --algo maml " + tiny() + " --out " + single.string()).exit_code, 0);
  const Result mixed =
      run_metarl("eval " + group.string() + " " + single.string() + " --tasks 4 --rollouts 2 --steps 1 --no-save --quiet");
  ASSERT_EQ(mixed.exit_code, 0) << mixed.output;
  EXPECT_NE(mixed.output.find("meta-sgd (" + group.string() + "/seed-1) - maml"), std::string::npos) << mixed.output;
  // A group of one seed has no spread across seeds: its interval is not given.
  const fs::path lone = dir_ / "lone";
  ASSERT_EQ(run_metarl("train --seeds 4 " + tiny() + " --out " + lone.string()).exit_code, 0);
  const Result one = run_metarl("eval " + lone.string() + " --tasks 4 --rollouts 2 --steps 1 --no-save --quiet");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_NE(one.output.find("±    n/a"), std::string::npos) << one.output;
  // A group with a seed still missing its checkpoint is named, not half evaluated.
  fs::remove(group / "seed-3" / "checkpoint.pt");
  const Result missing = run_metarl("eval " + group.string() + " --tasks 4 --rollouts 2 --steps 1 --no-save");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("seed-3' holds no checkpoint yet"), std::string::npos) << missing.output;
}

// A group whose seeds stand at different iterations (a group resume that failed
// part-way) is refused, naming each seed's iteration; --mixed-iterations averages them
// and says so on stderr, in the table and in the JSON.
TEST_F(Workflow, EvalRefusesASeedGroupWhoseSeedsStandAtDifferentIterations) {
  const fs::path group = dir_ / "group";
  ASSERT_EQ(run_metarl("train --seeds 1,3 " + tiny() + " --out " + group.string()).exit_code, 0);
  const Result extended = run_metarl("train --resume " + (group / "seed-3").string() + " --iterations 4 --quiet");
  ASSERT_EQ(extended.exit_code, 0) << extended.output;
  const std::string eval = "eval " + group.string() + " --tasks 4 --rollouts 2 --steps 1 --quiet";
  const std::string named = "seed group '" + group.string() +
                            "': its seeds' checkpoints stand at different iterations (seed 1 at 2, seed 3 at 4); "
                            "the group's config.yaml says iterations: 2";
  const Result refused = run_metarl(eval);
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find(named), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("--mixed-iterations"), std::string::npos) << refused.output;
  EXPECT_FALSE(fs::exists(group / "eval_test.json"));
  const Result averaged = run_metarl(eval + " --mixed-iterations");
  ASSERT_EQ(averaged.exit_code, 0) << averaged.output;
  EXPECT_NE(averaged.output.find("metarl: warning: " + named), std::string::npos) << averaged.output;
  EXPECT_NE(averaged.output.find("\nwarning: " + named), std::string::npos) << "in the table:\n" << averaged.output;
  EXPECT_NE(read_file(group / "eval_test.json").find("\"warnings\": [\"" + named), std::string::npos);
}

// metrics.csv as rows of cells, the header first.
std::vector<std::vector<std::string>> csv_cells(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    size_t start = 0;
    while (true) {
      const size_t comma = line.find(',', start);
      cells.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    rows.push_back(cells);
  }
  return rows;
}

size_t column(const std::vector<std::vector<std::string>>& rows, const std::string& name) {
  const auto& header = rows.front();
  const auto it = std::find(header.begin(), header.end(), name);
  EXPECT_NE(it, header.end()) << "no column " << name;
  return static_cast<size_t>(it - header.begin());
}

TEST_F(Workflow, MetricsCarryEnvironmentStepsWallClockAndEveryInnerStep) {
  const fs::path run = dir_ / "run";
  // Point-nav never ends an episode early: 2 tasks x 2 rollouts x 10 steps x 3 stages
  // (before, after step 1, after step 2) = 120 valid steps per iteration.
  ASSERT_EQ(run_metarl("train --inner-steps 2 " + tiny() + " --out " + run.string()).exit_code, 0);
  auto rows = csv_cells(run / "metrics.csv");
  ASSERT_EQ(rows.size(), 3u);
  const size_t steps = column(rows, "env_steps");
  const size_t clock = column(rows, "wall_clock");
  const size_t seconds = column(rows, "seconds");
  EXPECT_EQ(seconds, rows.front().size() - 1) << "seconds stays the last column";
  EXPECT_EQ(rows[1][steps], "120");
  EXPECT_EQ(rows[2][steps], "240");
  EXPECT_EQ(rows[2][column(rows, "return_step_2")], rows[2][column(rows, "return_after")]);
  EXPECT_NE(rows[2][column(rows, "return_step_1")], "");
  EXPECT_EQ(rows[2][column(rows, "surrogate_improvement")], "") << "Adam has no surrogate";
  EXPECT_NEAR(std::stod(rows[2][clock]), std::stod(rows[1][seconds]) + std::stod(rows[2][seconds]), 2e-3);
  // A resume continues the totals.
  ASSERT_EQ(run_metarl("train --resume " + run.string() + " --iterations 3 --quiet").exit_code, 0);
  rows = csv_cells(run / "metrics.csv");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[3][steps], "360");
  EXPECT_GE(std::stod(rows[3][clock]), std::stod(rows[2][clock]));
  // One inner step: no per-step columns (return_after is the one).
  ASSERT_EQ(run_metarl("train " + tiny() + " --out " + (dir_ / "one").string()).exit_code, 0);
  const auto header = csv_cells(dir_ / "one" / "metrics.csv").front();
  EXPECT_EQ(std::find(header.begin(), header.end(), "return_step_1"), header.end());
}

TEST_F(Workflow, TrpoLogsWhatItsStepImprovedAndItsKl) {
  const fs::path run = dir_ / "run";
  ASSERT_EQ(run_metarl("train --optimizer trpo " + tiny() + " --out " + run.string()).exit_code, 0);
  const auto rows = csv_cells(run / "metrics.csv");
  for (size_t r = 1; r < rows.size(); ++r) {
    const double improvement = std::stod(rows[r][column(rows, "surrogate_improvement")]);
    const double kl = std::stod(rows[r][column(rows, "kl")]);
    EXPECT_GE(improvement, 0.0) << "the line search accepts only improvements";
    EXPECT_LE(kl, 0.01 * 1.0001) << "inside the trust region (max_kl 0.01)";
    if (rows[r][column(rows, "backtracks")] != "-1") {
      EXPECT_GT(improvement, 0.0);
    }
  }
}

TEST_F(Workflow, ARunStartedByAnOlderMetarlKeepsItsColumnsOnResume) {
  const fs::path run = dir_ / "run";
  ASSERT_EQ(run_metarl("train " + tiny() + " --out " + run.string()).exit_code, 0);
  // The header and rows an older metarl wrote: no env_steps, surrogate_improvement or wall_clock.
  auto rows = csv_cells(run / "metrics.csv");
  std::string old = "iteration,return_before,return_after,meta_loss,alpha_mean,alpha_min,alpha_max,kl,backtracks,seconds\n";
  for (size_t r = 1; r < rows.size(); ++r) {
    for (size_t c = 0; c < 9; ++c) old += rows[r][c] + ",";
    old += rows[r].back() + "\n";
  }
  std::ofstream(run / "metrics.csv") << old;
  ASSERT_EQ(run_metarl("train --resume " + run.string() + " --iterations 3 --quiet").exit_code, 0);
  rows = csv_cells(run / "metrics.csv");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows.front().size(), 10u);
  EXPECT_EQ(rows[3].size(), 10u) << "the new row has the file's columns";
  EXPECT_EQ(rows[3][0], "3");
  // Plotting it by environment steps says why it cannot.
  const Result plot = run_metarl("plot " + run.string() + " --x env-steps");
  EXPECT_EQ(plot.exit_code, 2);
  EXPECT_NE(plot.output.find("has no env_steps column"), std::string::npos) << plot.output;
}

TEST_F(Workflow, KeptCheckpointsAndEvaluationsDuringTrainingLeaveTrainingAsItWas) {
  const fs::path logged = dir_ / "logged";
  const fs::path plain = dir_ / "plain";
  const std::string sizes =
      "--iterations 4 --meta-batch 2 --rollouts 2 --horizon 10 --hidden-sizes 8 --threads 1 --quiet --outer-lr-decay none";
  ASSERT_EQ(run_metarl("train " + sizes + " --keep-checkpoints 2 --eval-every 2 --eval-tasks 3 --eval-rollouts 2 "
                       "--eval-steps 2 --tensorboard --out " + logged.string())
                .exit_code,
            0);
  ASSERT_EQ(run_metarl("train " + sizes + " --out " + plain.string()).exit_code, 0);
  // Training is the same with and without them (every column but the wall-clock ones).
  auto without_time = [](std::vector<std::vector<std::string>> rows) {
    for (auto& row : rows) row.resize(row.size() - 2);
    return rows;
  };
  EXPECT_EQ(without_time(csv_cells(logged / "metrics.csv")), without_time(csv_cells(plain / "metrics.csv")));
  EXPECT_TRUE(fs::exists(logged / "checkpoints" / "iteration-000002.pt"));
  EXPECT_TRUE(fs::exists(logged / "checkpoints" / "iteration-000004.pt"));
  EXPECT_FALSE(fs::exists(plain / "checkpoints"));
  // The evaluations: one row per eval_every, on the same tasks each time.
  const auto evaluations = csv_cells(logged / "eval_during_training.csv");
  ASSERT_EQ(evaluations.size(), 3u);
  EXPECT_EQ(evaluations[0][0], "iteration");
  EXPECT_EQ(evaluations[1][0], "2");
  EXPECT_EQ(evaluations[2][0], "4");
  EXPECT_EQ(evaluations[2][column(evaluations, "split")], "heldout");
  EXPECT_NE(std::find(evaluations[0].begin(), evaluations[0].end(), "gain_step_2"), evaluations[0].end());
  // They are what `metarl eval` says of the kept checkpoint, with the same sizes.
  const Result eval = run_metarl("eval " + (logged / "checkpoints" / "iteration-000002.pt").string() +
                                 " --split heldout --tasks 3 --rollouts 2 --steps 2 --json --quiet", true);
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  char expected[64];
  std::snprintf(expected, sizeof(expected), "\"mean\": [%s, ", evaluations[1][column(evaluations, "return_step_0")].c_str());
  EXPECT_NE(eval.output.find(expected), std::string::npos) << expected << "\n" << eval.output;
  // TensorBoard's event file holds the scalars under the columns' names.
  std::vector<fs::path> events;
  for (const auto& entry : fs::directory_iterator(logged / "tensorboard")) events.push_back(entry.path());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].filename().string().rfind("events.out.tfevents.", 0), 0u);
  const std::string bytes = read_file(events[0]);
  for (const char* tag : {"return_after", "env_steps", "wall_clock", "eval_heldout/return_step_1"}) {
    EXPECT_NE(bytes.find(tag), std::string::npos) << tag;
  }
  // A resume drops evaluations past the checkpoint, then adds its own.
  std::ofstream(logged / "eval_during_training.csv", std::ios::app) << "6,0,heldout,3,2,1,1,1,1,1,1,1,1,1,1\n";
  ASSERT_EQ(run_metarl("train --resume " + logged.string() + " --iterations 6").exit_code, 0);
  const auto resumed = csv_cells(logged / "eval_during_training.csv");
  ASSERT_EQ(resumed.size(), 4u);
  EXPECT_EQ(resumed[3][0], "6");
  EXPECT_NE(resumed[3][1], "0");
  // --force takes all of it away with the run.
  ASSERT_EQ(run_metarl("train --force " + sizes + " --out " + logged.string()).exit_code, 0);
  EXPECT_FALSE(fs::exists(logged / "checkpoints"));
  EXPECT_FALSE(fs::exists(logged / "tensorboard"));
  EXPECT_FALSE(fs::exists(logged / "eval_during_training.csv"));
}

TEST_F(Workflow, PlotsForPapersComeAsSvgOrPdfAtAChosenSizeAndOverlayRuns) {
  const fs::path group = dir_ / "group";
  const fs::path single = dir_ / "single";
  ASSERT_EQ(run_metarl("train --seeds 1-2 " + tiny() + " --out " + group.string()).exit_code, 0);
  ASSERT_EQ(run_metarl("train --algo maml " + tiny() + " --out " + single.string()).exit_code, 0);
  ASSERT_EQ(run_metarl("eval " + group.string() + " --tasks 3 --rollouts 2 --steps 1 --quiet").exit_code, 0);
  // A group: the mean over seeds with its band, in the group's own plots folder.
  const Result plot = run_metarl("plot " + group.string() + " --width 900 --height 500 --smooth 2", true);
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  const std::string curve = read_file(group / "plots" / "learning_curve.svg");
  EXPECT_NE(curve.find("width=\"9"), std::string::npos) << "900 pixels, or a little more for the legend";
  EXPECT_NE(curve.find("2 seeds"), std::string::npos);
  EXPECT_NE(curve.find("moving average of 2"), std::string::npos);
  EXPECT_NE(curve.find("<polygon"), std::string::npos) << "a CI band across seeds";
  const std::string adaptation = read_file(group / "plots" / "adaptation_test.svg");
  EXPECT_NE(adaptation.find("95% CI across seeds"), std::string::npos);
  EXPECT_FALSE(fs::exists(group / "plots" / "alpha.svg")) << "seeds learn different alphas";
  // A seed that has not finished an iteration yet is left out, not an error.
  fs::create_directories(group / "seed-7");
  std::ofstream(group / "seed-7" / "metrics.csv") << "iteration,return_before,return_after\n";
  std::ofstream(group / "seeds.yaml") << "seeds: [1, 2, 7]\n";
  EXPECT_EQ(run_metarl("plot " + group.string(), true).exit_code, 0);
  // Several runs: one overlay, which needs a folder.
  const Result overlay_refused = run_metarl("plot " + group.string() + " " + single.string());
  EXPECT_EQ(overlay_refused.exit_code, 2);
  EXPECT_NE(overlay_refused.output.find("give --out DIR"), std::string::npos) << overlay_refused.output;
  const fs::path out = dir_ / "figures";
  const Result overlay = run_metarl("plot " + group.string() + " " + single.string() + " --out " + out.string() +
                                    " --format pdf --x env-steps", true);
  ASSERT_EQ(overlay.exit_code, 0) << overlay.output;
  const std::string pdf = read_file(out / "learning_curves.pdf");
  EXPECT_EQ(pdf.rfind("%PDF-1.4", 0), 0u);
  EXPECT_NE(pdf.find("environment steps"), std::string::npos);
  EXPECT_NE(pdf.find("Learning curves on point-nav"), std::string::npos);
  EXPECT_NE(pdf.find("(maml, "), std::string::npos) << "the single run's legend entry";
  EXPECT_NE(pdf.find("\\(2 seeds\\)"), std::string::npos) << "the group's legend entry (parentheses escaped in PDF)";
  const Result bad = run_metarl("plot " + single.string() + " --format png");
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
