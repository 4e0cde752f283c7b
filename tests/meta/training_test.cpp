// Training end to end on point-nav at reduced size: the post-adaptation return
// rises, checkpoints round-trip, evaluation shows adaptation, and bad checkpoints
// are rejected with UsageError.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <stdexcept>

#include "envs/errors.h"
#include "meta/checkpoint.h"
#include "meta/eval/evaluation.h"
#include "meta/experiment.h"
#include "meta/outer_promp.h"
#include "meta/outer_steps.h"
#include "meta/outer_trpo.h"
#include "meta/run/run_directory.h"
#include "meta/session/training_run.h"
#include "meta/trainer.h"
#include "tests/support/test_support.h"

namespace metarl::meta {
namespace {

namespace fs = std::filesystem;

TrainConfig small_config() {
  TrainConfig config;
  config.env = "point-nav";
  config.meta_batch = 10;
  config.rollouts = 10;
  config.policy.hidden_sizes = {32, 32};
  config.iterations = 30;
  config.outer_lr = 0.01;
  config.runtime.threads = 1;
  config.seed = 7;
  return config;
}

using TrainingOnDisk = metarl::testing::ScratchDirTest;

TEST(Training, ShortRunRaisesThePostAdaptationReturn) {
  MetaTrainer trainer(small_config());
  std::vector<IterationMetrics> history;
  for (int i = 0; i < 30; ++i) history.push_back(trainer.run_iteration());
  auto mean_after = [&](int from, int to) {
    double sum = 0.0;
    for (int i = from; i < to; ++i) sum += history[i].return_after;
    return sum / (to - from);
  };
  const double early = mean_after(0, 3);
  const double late = mean_after(25, 30);
  // Random initialisation scores about −80 after adaptation on point-nav; a learnt
  // initialisation reaches −30 or better within these iterations.
  EXPECT_GT(late, early + 15.0) << "early " << early << ", late " << late;
  EXPECT_NE(history.back().alpha_min, history.back().alpha_max);  // Meta-SGD's α is learnt per entry
}

TEST(Training, SameSeedSameMetrics) {
  auto config = small_config();
  MetaTrainer a(config);
  MetaTrainer b(config);
  for (int i = 0; i < 3; ++i) {
    const auto ma = a.run_iteration();
    const auto mb = b.run_iteration();
    EXPECT_EQ(ma.return_before, mb.return_before);
    EXPECT_EQ(ma.return_after, mb.return_after);
    EXPECT_EQ(ma.meta_loss, mb.meta_loss);
  }
}

TEST_F(TrainingOnDisk, RunDirectoryCheckpointAndEvaluation) {
  auto config = small_config();
  TrainRunOptions run;
  run.out_dir = dir_.string();
  int calls = 0;
  run.on_iteration = [&](const IterationMetrics&, MetaTrainer&) { ++calls; };
  run_training(config, run);
  EXPECT_EQ(calls, config.iterations);
  for (const char* file : {kCheckpointFile, kConfigFile, kMetricsFile}) EXPECT_TRUE(fs::exists(dir_ / file)) << file;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << "left behind: " << entry.path();
  }
  std::ifstream metrics(dir_ / kMetricsFile);
  std::string line;
  int lines = 0;
  while (std::getline(metrics, line)) ++lines;
  EXPECT_EQ(lines, 1 + config.iterations);

  const auto checkpoint = load_checkpoint(dir_.string());
  EXPECT_EQ(checkpoint.iteration, config.iterations);
  EXPECT_EQ(checkpoint.env, "point-nav");
  EXPECT_EQ(checkpoint.algorithm, Algorithm::kMetaSgd);
  EXPECT_EQ(checkpoint.theta.size(), 7u);  // 3 layers × (W, b) + log_std

  // An occupied run directory is refused unless forced.
  EXPECT_THROW(run_training(config, run), UsageError);

  EvalOptions eval;
  eval.checkpoints = {dir_.string()};
  eval.protocol.split = envs::Split::kHeldOut;
  eval.protocol.tasks = 20;
  eval.protocol.rollouts = 10;
  eval.protocol.steps = 1;
  eval.runtime.threads = 1;
  const auto report = evaluate(eval);
  ASSERT_EQ(report.methods.size(), 1u);
  const auto& curve = report.methods[0];
  ASSERT_EQ(curve.mean.size(), 2u);
  EXPECT_GT(curve.mean[1] - curve.ci95[1], curve.mean[0] + curve.ci95[0])
      << "step 0: " << curve.mean[0] << " ± " << curve.ci95[0] << ", step 1: " << curve.mean[1] << " ± "
      << curve.ci95[1];
  const std::string json = report_json(report);
  EXPECT_NE(json.find("\"env\": \"point-nav\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"steps\": [0, 1]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"meta-sgd\": {\"algorithm\": \""), std::string::npos) << json;
}

TEST_F(TrainingOnDisk, ParameterCopyIsARunDirectoryWithTheEditedParameters) {
  // bench/alpha_ablation and bench/average_checkpoints write their copies this way.
  MetaTrainer trainer(small_config());
  const auto original = (dir_ / "original.pt").string();
  trainer.save_checkpoint(original);
  auto data = load_checkpoint(original);
  data.alpha[0] = torch::full_like(data.alpha[0], 0.25);
  const auto copy = (dir_ / "copy").string();
  write_parameter_copy(copy, data);
  EXPECT_TRUE(fs::exists(fs::path(copy) / kConfigFile));
  EXPECT_FALSE(fs::exists(copy + ".partial"));
  const auto read_back = load_checkpoint(copy);
  EXPECT_EQ(read_back.config_yaml, data.config_yaml);
  ASSERT_EQ(read_back.theta.size(), data.theta.size());
  for (size_t i = 0; i < data.theta.size(); ++i) {
    EXPECT_TRUE(torch::equal(read_back.theta[i], data.theta[i])) << "theta " << i;
    EXPECT_TRUE(torch::equal(read_back.alpha[i], data.alpha[i])) << "alpha " << i;
  }
  // An existing directory is refused, untouched.
  const auto before = fs::last_write_time(fs::path(copy) / kCheckpointFile);
  EXPECT_THROW(write_parameter_copy(copy, data), UsageError);
  EXPECT_EQ(fs::last_write_time(fs::path(copy) / kCheckpointFile), before);
}

TEST_F(TrainingOnDisk, BrokenCheckpointsAreUsageErrors) {
  EXPECT_THROW(load_checkpoint((dir_ / "missing").string()), UsageError);
  {
    std::ofstream garbage(dir_ / "garbage.pt");
    garbage << "this is not a checkpoint";
  }
  EXPECT_THROW(load_checkpoint((dir_ / "garbage.pt").string()), UsageError);

  auto config = small_config();
  MetaTrainer trainer(config);
  const auto path = (dir_ / "good.pt").string();
  trainer.save_checkpoint(path);
  EXPECT_NO_THROW(load_checkpoint(path));
  // Flip 16 bytes in the middle (inside tensor data): torch alone would load it.
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    const auto middle = static_cast<std::streamoff>(fs::file_size(path) / 2);
    std::string bytes(16, '\0');
    file.seekg(middle);
    file.read(bytes.data(), 16);
    for (auto& b : bytes) b = static_cast<char>(~b);
    file.seekp(middle);
    file.write(bytes.data(), 16);
  }
  try {
    load_checkpoint(path);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("checksum mismatch"), std::string::npos) << e.what();
  }
  // Truncate a good one to half its size.
  trainer.save_checkpoint(path);
  fs::resize_file(path, fs::file_size(path) / 2);
  try {
    load_checkpoint(path);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }

  // A checkpoint whose parameters do not fit the architecture its config builds.
  CheckpointData mismatched;
  mismatched.config_yaml = to_yaml(config);
  mismatched.env = "point-nav";
  mismatched.algorithm = Algorithm::kMetaSgd;
  mismatched.architecture = "gaussian-mlp obs=2 act=2 hidden=7 activation=relu";
  mismatched.theta = {torch::zeros({7, 2})};
  mismatched.alpha = {torch::zeros({7, 2})};
  fs::create_directories(dir_ / "mismatch");
  save_checkpoint((dir_ / "mismatch" / kCheckpointFile).string(), mismatched);
  EvalOptions eval;
  eval.checkpoints = {(dir_ / "mismatch").string()};
  eval.protocol.tasks = 2;
  eval.protocol.rollouts = 2;
  try {
    evaluate(eval);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("incompatible"), std::string::npos) << e.what();
  }
}

std::vector<std::string> metrics_without_seconds(const fs::path& run_dir) {
  return metarl::testing::metrics_without_seconds(run_dir / kMetricsFile);
}

TEST_F(TrainingOnDisk, InterruptedAndResumedRunEqualsAnUninterruptedOne) {
  auto config = small_config();
  config.iterations = 7;
  config.bookkeeping.checkpoint_every = 3;
  config.outer_lr_decay = OuterLrDecay::kLinear;
  TrainRunOptions straight;
  straight.out_dir = (dir_ / "straight").string();
  run_training(config, straight);

  TrainRunOptions interrupted;
  interrupted.out_dir = (dir_ / "interrupted").string();
  int iterations_seen = 0;
  interrupted.on_iteration = [&](const IterationMetrics&, MetaTrainer&) { ++iterations_seen; };
  interrupted.stop_requested = [&] { return iterations_seen + 1 == 4 ? 15 : 0; };  // SIGTERM during iteration 4
  try {
    run_training(config, interrupted);
    FAIL() << "expected Interrupted";
  } catch (const Interrupted& e) {
    EXPECT_EQ(e.signal_number(), 15);
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
  EXPECT_EQ(load_checkpoint(interrupted.out_dir).iteration, 4);  // saved on the way out, off the 3-step grid
  // Simulate lost work: a row written after the checkpoint must be dropped on resume.
  std::ofstream(dir_ / "interrupted" / kMetricsFile, std::ios::app) << "5,1,2,3,4,5,6,7\n";

  TrainRunOptions resumed;
  resumed.out_dir = interrupted.out_dir;
  resumed.resume = true;
  run_training(resumed_config(resumed.out_dir), resumed);

  const auto expected = metrics_without_seconds(dir_ / "straight");
  ASSERT_EQ(expected.size(), 8u);
  EXPECT_EQ(metrics_without_seconds(dir_ / "interrupted"), expected);
  const auto a = load_checkpoint(straight.out_dir);
  const auto b = load_checkpoint(resumed.out_dir);
  for (size_t i = 0; i < a.theta.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.theta[i], b.theta[i])) << "theta " << i;
    EXPECT_TRUE(torch::equal(a.alpha[i], b.alpha[i])) << "alpha " << i;
  }
}

// Issue N: a run recorded before the `kernels` key (its config has none) differentiated
// by autograd and resumes that way; a recorded key is kept.
TEST_F(TrainingOnDisk, ARunWithoutTheKernelsKeyResumesWithAutograd) {
  auto config = small_config();
  config.iterations = 1;
  config.kernels = agents::Kernels::kAnalytic;
  TrainRunOptions run;
  run.out_dir = (dir_ / "old").string();
  run_training(config, run);
  EXPECT_EQ(resumed_config(run.out_dir).kernels, agents::Kernels::kAnalytic);

  CheckpointData data = load_checkpoint(run.out_dir);
  const auto key = data.config_yaml.find("kernels: analytic\n");
  ASSERT_NE(key, std::string::npos) << data.config_yaml;
  data.config_yaml.erase(key, std::string("kernels: analytic\n").size());
  save_checkpoint(resolve_checkpoint_path(run.out_dir), data);
  EXPECT_EQ(resumed_config(run.out_dir).kernels, agents::Kernels::kAutograd);
}

// `metarl train --resume RUN --iterations N`: a finished run continued to N
// iterations ends exactly where a run started with N does, and its config.yaml and
// checkpoint say N. A decaying Adam schedule, or fewer iterations, is refused.
TEST_F(TrainingOnDisk, ExtendedRunEqualsOneStartedWithMoreIterations) {
  auto config = small_config();
  config.iterations = 5;
  TrainRunOptions straight;
  straight.out_dir = (dir_ / "straight").string();
  run_training(config, straight);

  config.iterations = 3;
  TrainRunOptions extended;
  extended.out_dir = (dir_ / "extended").string();
  run_training(config, extended);
  extended.resume = true;
  run_training(extended_config(resumed_config(extended.out_dir), 5), extended);

  EXPECT_EQ(metrics_without_seconds(dir_ / "extended"), metrics_without_seconds(dir_ / "straight"));
  const auto a = load_checkpoint(straight.out_dir);
  const auto b = load_checkpoint(extended.out_dir);
  EXPECT_EQ(b.iteration, 5);
  EXPECT_EQ(resumed_config(extended.out_dir).iterations, 5);
  const std::string written = metarl::testing::file_text(dir_ / "extended" / kConfigFile);
  EXPECT_NE(written.find("iterations: 5\n"), std::string::npos) << written;
  for (size_t i = 0; i < a.theta.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.theta[i], b.theta[i])) << "theta " << i;
    EXPECT_TRUE(torch::equal(a.alpha[i], b.alpha[i])) << "alpha " << i;
  }

  auto message = metarl::testing::usage_error_of([&] { extended_config(config, 2); });
  EXPECT_NE(message.find("--iterations 2"), std::string::npos) << message;
  EXPECT_NE(message.find("configured for 3"), std::string::npos) << message;
  config.outer_lr_decay = OuterLrDecay::kLinear;
  message = metarl::testing::usage_error_of([&] { extended_config(config, 10); });
  EXPECT_NE(message.find("outer_lr_decay linear"), std::string::npos) << message;
  config.optimizer = "trpo";  // TRPO takes no step size from the schedule
  EXPECT_EQ(extended_config(config, 10).iterations, 10);
}

TEST_F(TrainingOnDisk, DivergenceStopsTheRunAndKeepsTheLastGoodCheckpoint) {
  auto config = small_config();
  config.iterations = 10;
  config.bookkeeping.checkpoint_every = 2;
  TrainRunOptions run;
  run.out_dir = dir_.string();
  run.on_iteration = [](const IterationMetrics& m, MetaTrainer& trainer) {
    if (m.iteration == 3) {
      torch::NoGradGuard no_grad;
      trainer.learner().theta()[2].view({-1})[5] = std::numeric_limits<float>::quiet_NaN();
    }
  };
  try {
    run_training(config, run);
    FAIL() << "expected divergence";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("iteration 4"), std::string::npos) << message;
    EXPECT_NE(message.find("theta"), std::string::npos) << message;
  }
  const auto checkpoint = load_checkpoint(dir_.string());
  EXPECT_EQ(checkpoint.iteration, 2);
  for (const auto& t : checkpoint.theta) EXPECT_TRUE(torch::isfinite(t).all().item<bool>());

  MetaTrainer trainer(config);
  trainer.learner().alpha()[0].data().fill_(std::numeric_limits<float>::infinity());
  try {
    trainer.run_iteration();
    FAIL() << "expected divergence";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("alpha"), std::string::npos) << e.what();
  }
}

TEST_F(TrainingOnDisk, CheckpointsOfAnotherRunShapeOrEnvironmentAreRejected) {
  auto config = small_config();
  MetaTrainer trainer(config);
  const auto path = (dir_ / "run.pt").string();
  trainer.save_checkpoint(path);

  auto wider = config;
  wider.policy.hidden_sizes = {16, 16};
  MetaTrainer other(wider);
  try {
    other.restore(path);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("is incompatible"), std::string::npos) << e.what();
  }
  auto maml = config;
  maml.algo = Algorithm::kMaml;
  EXPECT_THROW(MetaTrainer(maml).restore(path), UsageError);  // another algorithm

  auto data = load_checkpoint(path);
  data.env = "cartpole-from-a-plugin";
  fs::create_directories(dir_ / "foreign");
  save_checkpoint((dir_ / "foreign" / kCheckpointFile).string(), data);
  EvalOptions eval;
  eval.checkpoints = {(dir_ / "foreign").string()};
  try {
    evaluate(eval);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("cartpole-from-a-plugin"), std::string::npos) << e.what();
  }
  // A checkpoint without the training state cannot be resumed.
  fs::create_directories(dir_ / "bare");
  save_checkpoint((dir_ / "bare" / kCheckpointFile).string(), load_checkpoint(path));
  EXPECT_THROW(MetaTrainer(config).restore((dir_ / "bare" / kCheckpointFile).string()), UsageError);
}

// alpha_lr_scale: Adam's first step moves every entry by about its step size (the
// bias-corrected m / √v is ±1), so α's largest move is the scale times θ's.
TEST(Training, AlphaLearningRateScaleScalesAlphasStepsOnly) {
  auto config = small_config();
  config.alpha_lr_scale = 10.0;
  MetaTrainer trainer(config);
  const auto theta_before = agents::detach(trainer.learner().theta());
  std::vector<torch::Tensor> theta_copy;
  for (const auto& t : theta_before) theta_copy.push_back(t.clone());
  std::vector<torch::Tensor> alpha_copy;
  for (const auto& a : trainer.learner().alpha()) alpha_copy.push_back(a.detach().clone());
  trainer.run_iteration();
  double theta_move = 0.0;
  double alpha_move = 0.0;
  for (size_t i = 0; i < theta_copy.size(); ++i) {
    theta_move = std::max(theta_move, (trainer.learner().theta()[i].detach() - theta_copy[i]).abs().max().item<double>());
    alpha_move = std::max(alpha_move, (trainer.learner().alpha()[i].detach() - alpha_copy[i]).abs().max().item<double>());
  }
  EXPECT_NEAR(theta_move, config.outer_lr, 0.1 * config.outer_lr);
  EXPECT_NEAR(alpha_move, 10.0 * config.outer_lr, 1.0 * config.outer_lr);
}

TEST_F(TrainingOnDisk, AScaledAlphaStepResumesBitForBit) {
  auto config = small_config();
  config.alpha_lr_scale = 5.0;
  config.horizon = 20;
  config.iterations = 4;
  config.bookkeeping.checkpoint_every = 2;
  MetaTrainer straight(config);
  for (int i = 0; i < 4; ++i) straight.run_iteration();
  MetaTrainer first(config);
  for (int i = 0; i < 2; ++i) first.run_iteration();
  const std::string path = (dir_ / "checkpoint.pt").string();
  first.save_checkpoint(path);
  MetaTrainer resumed(config);
  resumed.restore(path);
  for (int i = 0; i < 2; ++i) resumed.run_iteration();
  const auto a = straight.learner().meta_parameters();
  const auto b = resumed.learner().meta_parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "meta-parameter " << i;
}

TEST(Training, OuterLearningRateSchedules) {
  TrainConfig config;
  config.iterations = 100;
  config.outer_lr = 0.01;
  EXPECT_DOUBLE_EQ(outer_learning_rate(config, 50), 0.01);
  config.outer_lr_decay = OuterLrDecay::kLinear;
  EXPECT_DOUBLE_EQ(outer_learning_rate(config, 0), 0.01);
  EXPECT_DOUBLE_EQ(outer_learning_rate(config, 25), 0.0075);
  EXPECT_NEAR(outer_learning_rate(config, 99), 0.0001, 1e-15);
  config.outer_lr_decay = OuterLrDecay::kCosine;
  EXPECT_DOUBLE_EQ(outer_learning_rate(config, 0), 0.01);
  EXPECT_NEAR(outer_learning_rate(config, 50), 0.005, 1e-15);
  EXPECT_NEAR(outer_learning_rate(config, 25), 0.005 * (1 + std::sqrt(0.5)), 1e-15);
}

TEST(Training, AbsurdSizesAndUnknownNamesAreRejectedUpFront) {
  auto config = small_config();
  config.meta_batch = 100000;
  config.rollouts = 100000;
  EXPECT_THROW(MetaTrainer{config}, UsageError);
  config = small_config();
  config.env = "no-such-env";
  EXPECT_THROW(MetaTrainer{config}, UsageError);
  config = small_config();
  config.runtime.device = "cuda:7";
  if (!torch::cuda::is_available()) {
    EXPECT_THROW(MetaTrainer{config}, UsageError);
  }
}

TEST(Training, NormalizedActionsNeedAContinuousBoxAndNameTheKey) {
  auto config = small_config();
  config.action_space = agents::ActionSpace::kNormalized;
  EXPECT_NO_THROW(MetaTrainer{config});
  config.env = "cartpole";
  try {
    MetaTrainer trainer{config};
    FAIL() << "cartpole's discrete actions were accepted with action_space 'normalized'";
  } catch (const UsageError& error) {
    EXPECT_NE(std::string(error.what()).find("action_space 'normalized'"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("cartpole"), std::string::npos) << error.what();
  }
  EXPECT_THROW(set_config_value(config, "action_space", "normalised"), UsageError);
}

// ProMP's scale applies to normalized actions only: with the environment's own actions
// it is refused, naming the key, its value and what it needs.
TEST(Training, AnActionNormalizationScaleNeedsNormalizedActions) {
  auto config = small_config();
  set_config_value(config, "action_normalization_scale", "10");
  try {
    MetaTrainer trainer{config};
    FAIL() << "action_normalization_scale 10 was accepted with action_space 'environment'";
  } catch (const UsageError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("action_normalization_scale"), std::string::npos) << message;
    EXPECT_NE(message.find("10"), std::string::npos) << message;
    EXPECT_NE(message.find("action_space: normalized"), std::string::npos) << message;
  }
  config.action_space = agents::ActionSpace::kNormalized;
  EXPECT_NO_THROW(MetaTrainer{config});
  EXPECT_THROW(set_config_value(config, "action_normalization_scale", "0"), UsageError);
}

// An I/O error says why, with errno's text (issue L).
TEST(Checkpoint, WriteErrorsCarryTheSystemsReason) {
  try {
    metarl::meta::write_file_atomically("/nonexistent-directory/checkpoint.pt", "x");
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/nonexistent-directory/checkpoint.pt"), std::string::npos) << e.what();
  }
}

// An allocation failure is recognised, and said in one line without LibTorch's
// backtrace (run_training adds the sizes to it; tests/apps/run_safety_test.cpp).
TEST(Memory, AllocationFailuresAreRecognisedWithoutTheBacktrace) {
  EXPECT_EQ(allocation_failure_text(std::bad_alloc()), "out of memory (std::bad_alloc)");
  EXPECT_EQ(allocation_failure_text(std::runtime_error("training diverged")), "");
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer aborts on an allocation this size instead of failing it";
#else
  try {
    const auto tensor = at::empty({std::int64_t{1} << 50}, at::kFloat);  // 4 PiB
    FAIL() << "allocated " << tensor.numel() << " floats";
  } catch (const c10::Error& error) {
    const std::string text = allocation_failure_text(error);
    EXPECT_NE(text.find("can't allocate memory"), std::string::npos) << error.what();
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  }
#endif
}

// Every outer step says what the rest of metarl asks of it (no optimizer-name compares
// outside the registry): the keys it names exist, and it has a cost for bench.
TEST(OuterSteps, EachDeclaresItsTraitsWithRealConfigKeys) {
  ASSERT_EQ(outer_step_names(), (std::vector<std::string>{"adam", "trpo", "promp"}));
  for (const auto& entry : outer_steps()) {
    EXPECT_FALSE(entry.traits.step_size_keys.empty()) << entry.name;
    for (const auto& key : entry.traits.step_size_keys) {
      EXPECT_NE(train_config_schema().find(key), nullptr) << entry.name << ": " << key;
    }
    ASSERT_TRUE(entry.traits.forward_passes) << entry.name;
    EXPECT_GT(entry.traits.forward_passes(TrainConfig{}, 0.0), 0.0) << entry.name;
  }
  EXPECT_TRUE(outer_step_entry("adam").traits.follows_outer_lr);
  EXPECT_TRUE(outer_step_entry("promp").traits.follows_outer_lr);
  EXPECT_FALSE(outer_step_entry("trpo").traits.follows_outer_lr);
  EXPECT_THROW(outer_step_entry("sgd"), metarl::UsageError);
}

// A step's options, keys and metrics.csv columns are its own (its traits), and the
// table and the file they make are what they were when they lived in TrainConfig and
// IterationMetrics: the keys in the same place, the same header for every step.
TEST(OuterSteps, OwnTheirKeysOptionsAndColumns) {
  std::vector<std::string> names;
  for (const auto& key : train_config_keys()) names.push_back(key.name);
  auto at = [&](const std::string& name) { return std::find(names.begin(), names.end(), name) - names.begin(); };
  for (const auto& entry : outer_steps()) {
    for (const auto& key : entry.traits.config_keys) {
      EXPECT_LT(at(key.name), static_cast<long>(names.size())) << entry.name << ": " << key.name;
    }
  }
  EXPECT_EQ(at("max_kl"), at("outer_lr_decay") + 1);
  EXPECT_EQ(at("promp_clip"), at("line_search_ratio") + 1);
  EXPECT_EQ(at("hidden_sizes"), at("promp_target_kl") + 1);
  // A key writes the step's options struct; a const config reads its defaults without
  // an entry being added.
  TrainConfig config;
  const TrainConfig untouched;
  EXPECT_DOUBLE_EQ(trpo_options(untouched).max_kl, TrpoOptions{}.max_kl);
  set_config_value(config, "max_kl", "0.05");
  set_config_value(config, "promp_epochs", "7");
  EXPECT_DOUBLE_EQ(trpo_options(config).max_kl, 0.05);
  EXPECT_EQ(promp_options(config).epochs, 7);
  EXPECT_EQ(train_config_schema().find("max_kl")->get(config), "0.05");
  const TrainConfig copy = config;  // options travel with the config
  EXPECT_EQ(promp_options(copy).epochs, 7);
  EXPECT_EQ(to_yaml(copy), to_yaml(config));
  // One header for every step: TRPO's three columns and ProMP's kl, each once.
  EXPECT_EQ(outer_step_metric_column_names(), (std::vector<std::string>{"kl", "backtracks", "surrogate_improvement"}));
  EXPECT_EQ(IterationMetrics::csv_header(1, outer_step_metric_column_names()),
            "iteration,return_before,return_after,meta_loss,alpha_mean,alpha_min,alpha_max,kl,backtracks,"
            "surrogate_improvement,env_steps,wall_clock,seconds");
  // A step that does not report a column writes its absent value: Adam's kl 0,
  // backtracks 0, surrogate_improvement empty.
  IterationMetrics adam;
  for (const auto& column : outer_step_metric_columns()) adam.step_metrics.push_back({column, column.absent});
  EXPECT_EQ(adam.csv_row({"kl", "backtracks", "surrogate_improvement"}), "0,0,");
  IterationMetrics trpo = adam;
  for (auto& cell : trpo.step_metrics) {
    cell.value = cell.column.name == "kl" ? 0.004 : cell.column.name == "backtracks" ? -1 : 0;
  }
  EXPECT_EQ(trpo.csv_row({"kl", "backtracks", "surrogate_improvement"}), "0.004,-1,0");
}

}  // namespace
// What a run removes at its start: metarl's own files' temporaries whose writer is
// gone; a user's look-alikes, a live writer's and anything not NAME.tmp.PID stay.
TEST(RunDirectory, OnlyMetarlsOwnTemporariesOfADeadWriterAreStale) {
  auto gone = [](long) { return false; };
  auto alive = [](long) { return true; };
  using metarl::meta::is_stale_temporary;
  for (const char* own : {"checkpoint.pt.tmp.12", "config.yaml.tmp.12", "metrics.csv.tmp.12", "seeds.yaml.tmp.12",
                          "eval_during_training.csv.tmp.12", "eval_heldout_discounted.json.tmp.12",
                          "eval_test.tasks.jsonl.tmp.12", "eval_test_rounds.json.tmp.12",
                          "eval_heldout_rounds_discounted.tasks.jsonl.tmp.12", ".write-probe.tmp.12"}) {
    EXPECT_TRUE(is_stale_temporary(own, gone)) << own;
    EXPECT_FALSE(is_stale_temporary(own, alive)) << own;
  }
  for (const char* theirs : {"paper.tmp.final", "checkpoint.pt.tmp.final", "checkpoint.pt.tmp.", "notes.tmp.12",
                             "checkpoint.pt.tmp.1234567890", "eval_x.txt.tmp.12", "eval_notes.json.tmp.12", "eval_test_rounds_notes.json.tmp.12",
                             "config.yaml", ".tmp.12",
                             "my-checkpoint.pt.tmp.12", "checkpoint.pt.tmp.-12", "metrics.csv.tmp.12.bak"}) {
    EXPECT_FALSE(is_stale_temporary(theirs, gone)) << theirs;
  }
}


}  // namespace metarl::meta
