#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "envs/errors.h"
#include "meta/config.h"
#include "meta/eval/evaluation.h"
#include "meta/trainer.h"
#include "tests/support/test_support.h"

namespace metarl::meta {
namespace {

using metarl::testing::usage_error_of;

TEST(Config, EffectiveConfigReadsBackToTheSameConfig) {
  TrainConfig config;
  config.algo = Algorithm::kMaml;
  config.inner_lr = 0.05;
  config.policy.hidden_sizes = {64, 32, 16};
  config.first_order = true;
  config.seed = 123456789012345ULL;
  config.advantages.gamma = 0.995;
  TrainConfig read_back;
  load_config_yaml(read_back, to_yaml(config), "test");
  EXPECT_EQ(to_yaml(read_back), to_yaml(config));
  EXPECT_EQ(read_back.policy.hidden_sizes, (std::vector<std::int64_t>{64, 32, 16}));
  EXPECT_EQ(read_back.seed, 123456789012345ULL);
  EXPECT_DOUBLE_EQ(read_back.advantages.gamma, 0.995);
  EXPECT_NE(to_yaml(config).find("inner_lr: 0.05\n"), std::string::npos);
}

// Every YAML file under configs/ is a command in docs/results.md or README.md: each
// must load and set up a trainer (environment, policy, action space, optimiser),
// so a renamed key or environment breaks here rather than in a user's run.
TEST(Config, EveryShippedConfigLoadsAndSetsUpATrainer) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(METARL_SOURCE_DIR "/configs")) {
    // configs/eval/ holds `metarl eval` configs (tests/meta/evaluation_test.cpp loads them).
    if (entry.path().extension() == ".yaml" && entry.path().parent_path().filename() != "eval") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 6u) << "configs/ should hold the quick-start, MAML-protocol and environment configs";
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    TrainConfig config;
    ASSERT_NO_THROW(load_config_file(config, file.string()));
    EXPECT_NO_THROW(MetaTrainer trainer(config));
  }
}

TEST(Config, UnknownKeysAreErrorsWithASuggestion) {
  TrainConfig config;
  const auto message = usage_error_of([&] { load_config_yaml(config, "iteratons: 5\n", "run.yaml"); });
  EXPECT_NE(message.find("run.yaml"), std::string::npos) << message;
  EXPECT_NE(message.find("'iteratons'"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'iterations'"), std::string::npos) << message;
  EXPECT_NE(usage_error_of([&] { apply_override(config, "meta-batch=4"); }).find("'meta_batch'"), std::string::npos);
}

TEST(Config, WrongTypesAndOutOfRangeValuesNameTheKeyValueAndRange) {
  TrainConfig config;
  auto message = usage_error_of([&] { load_config_yaml(config, "iterations: many\n", "f.yaml"); });
  EXPECT_NE(message.find("'iterations'"), std::string::npos) << message;
  EXPECT_NE(message.find("'many'"), std::string::npos) << message;
  EXPECT_NE(message.find("integer in [1,"), std::string::npos) << message;
  message = usage_error_of([&] { set_config_value(config, "meta_batch", "0"); });
  EXPECT_NE(message.find("'0'"), std::string::npos) << message;
  message = usage_error_of([&] { set_config_value(config, "gamma", "1.5"); });
  EXPECT_NE(message.find("[0, 1]"), std::string::npos) << message;
  message = usage_error_of([&] { set_config_value(config, "algo", "reptile"); });
  EXPECT_NE(message.find("meta-sgd maml"), std::string::npos) << message;
  EXPECT_NE(usage_error_of([&] { set_config_value(config, "hidden_sizes", "100,abc"); }).find("hidden_sizes"),
            std::string::npos);
  EXPECT_NE(usage_error_of([&] { set_config_value(config, "rollouts", "1e12"); }).find("rollouts"), std::string::npos);
  EXPECT_NE(usage_error_of([&] { set_config_value(config, "device", "tpu"); }).find("cpu, cuda or cuda:N"),
            std::string::npos);
  EXPECT_NE(usage_error_of([&] { set_config_value(config, "first_order", "maybe"); }).find("true or false"),
            std::string::npos);
}

TEST(Config, MalformedOrMisshapenYamlIsAnError) {
  TrainConfig config;
  EXPECT_NE(usage_error_of([&] { load_config_yaml(config, "iterations: [1, 2\n", "bad.yaml"); }).find("malformed YAML"),
            std::string::npos);
  EXPECT_NE(usage_error_of([&] { load_config_yaml(config, "- a\n- b\n", "list.yaml"); }).find("mapping"),
            std::string::npos);
  EXPECT_NE(usage_error_of([&] { load_config_yaml(config, "algo:\n  name: maml\n", "nested.yaml"); }).find("'algo'"),
            std::string::npos);
  EXPECT_NE(usage_error_of([&] { load_config_file(config, "/nonexistent/metarl.yaml"); }).find("cannot be read"),
            std::string::npos);
  load_config_yaml(config, "", "empty.yaml");  // an empty file changes nothing
  const TrainConfig defaults;  // named: GCC 12 warns (wrongly) about a temporary's vector here
  EXPECT_EQ(to_yaml(config), to_yaml(defaults));
}

TEST(Config, OverridesAndListsApply) {
  TrainConfig config;
  apply_override(config, "inner_steps=3");
  apply_override(config, "hidden_sizes=[32, 32]");
  load_config_yaml(config, "hidden_sizes: [64, 8]\nnormalize_advantages: false\n", "f.yaml");
  EXPECT_EQ(config.inner_steps, 3);
  EXPECT_EQ(config.policy.hidden_sizes, (std::vector<std::int64_t>{64, 8}));
  EXPECT_FALSE(config.advantages.normalize);
  EXPECT_NE(usage_error_of([&] { apply_override(config, "inner_steps"); }).find("key=value"), std::string::npos);
}

TEST(Config, TaskRangesReadBackInTheirShortestFormAndBadOnesNameTheKey) {
  TrainConfig config;
  load_config_yaml(config, "task_ranges: [mass=0.5, length=0.8..1.2, target_angle=-0.5..0.5/-0.9..0.9, gravity=10/8..12]\n",
                   "f.yaml");
  ASSERT_EQ(config.task_ranges.size(), 4u);
  const auto& target = config.task_ranges[2];
  EXPECT_EQ(target.parameter, "target_angle");
  EXPECT_EQ(target.train_low, -0.5);
  EXPECT_EQ(target.train_high, 0.5);
  EXPECT_EQ(target.heldout_low, -0.9);
  EXPECT_EQ(target.heldout_high, 0.9);
  EXPECT_EQ(config.task_ranges[0].heldout_high, 0.5);  // fixed: all four ends
  EXPECT_EQ(config.task_ranges[1].heldout_low, 0.8);   // a training range alone: no extrapolation
  EXPECT_EQ(config.task_ranges[3].train_high, 10.0);
  EXPECT_EQ(config.task_ranges[3].heldout_low, 8.0);
  const std::string yaml = to_yaml(config);
  EXPECT_NE(yaml.find("task_ranges: [mass=0.5, length=0.8..1.2, target_angle=-0.5..0.5/-0.9..0.9, gravity=10/8..12]\n"),
            std::string::npos)
      << yaml;
  TrainConfig read_back;
  load_config_yaml(read_back, yaml, "config.yaml");
  EXPECT_EQ(to_yaml(read_back), yaml);
  apply_override(read_back, "task_ranges=[]");
  EXPECT_TRUE(read_back.task_ranges.empty());
  apply_override(read_back, "task_ranges=mass=1.25");
  ASSERT_EQ(read_back.task_ranges.size(), 1u);
  EXPECT_EQ(read_back.task_ranges[0].train_low, 1.25);
  apply_override(read_back, "task_ranges=[ ]");
  EXPECT_TRUE(read_back.task_ranges.empty());
  apply_override(read_back, "task_ranges=mass=1, ");  // a trailing comma, as YAML's flow lists allow
  EXPECT_EQ(read_back.task_ranges.size(), 1u);
  for (const std::string bad : {"mass", "=1", "mass=", "mass=1..", "mass=a..b", "mass=1/2/3", "mass=inf"}) {
    const auto message = usage_error_of([&] { set_config_value(config, "task_ranges", bad); });
    EXPECT_NE(message.find("config key 'task_ranges'"), std::string::npos) << bad << ": " << message;
    EXPECT_NE(message.find("NAME=LOW..HIGH"), std::string::npos) << bad << ": " << message;
  }
  // Which parameters exist is the environment's: the trainer names it and the parameter.
  config = TrainConfig{};
  config.env = "pendulum";
  set_config_value(config, "task_ranges", "mass=0.5, weight=1");
  const auto message = usage_error_of([&] { MetaTrainer trainer(config); });
  EXPECT_NE(message.find("config key 'task_ranges'"), std::string::npos) << message;
  EXPECT_NE(message.find("environment 'pendulum'"), std::string::npos) << message;
  EXPECT_NE(message.find("'weight'"), std::string::npos) << message;
}

// eval_every evaluates held-out tasks only after the first checkpoints: a run whose
// task_ranges leave none is refused before it starts.
TEST(Config, EvalEveryOnHeldOutTasksNeedsTaskRangesThatLeaveSome) {
  TrainConfig config;
  config.meta_batch = 2;
  config.rollouts = 2;
  config.horizon = 5;
  set_config_value(config, "task_ranges", "goal_x=-0.5..0.5, goal_y=-0.5..0.5");
  config.evaluation.every = 5;
  const auto message = usage_error_of([&] { MetaTrainer trainer(config); });
  EXPECT_NE(message.find("config key 'eval_split'"), std::string::npos) << message;
  EXPECT_NE(message.find("no held-out tasks"), std::string::npos) << message;
  EXPECT_NE(message.find("goal_x=-0.5..0.5"), std::string::npos) << message;
  config.evaluation.protocol.split = envs::Split::kTest;
  EXPECT_NO_THROW(MetaTrainer trainer(config));
  config.evaluation.protocol.split = envs::Split::kHeldOut;
  config.evaluation.every = 0;
  EXPECT_NO_THROW(MetaTrainer trainer(config));
}

TEST(Config, RealsAreWrittenAsAPersonWouldAndReadBackExactly) {
  for (const double value : {10.0, 1500.0, 0.2, -0.9, 1e-7, 3e20, 0.1 + 0.2, -12.0}) {
    const std::string text = config_values::format_real(value);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), value) << text;
  }
  EXPECT_EQ(config_values::format_real(10.0), "10");
  EXPECT_EQ(config_values::format_real(1500.0), "1500");
  EXPECT_EQ(config_values::format_real(-12.0), "-12");
  EXPECT_EQ(config_values::format_real(0.2), "0.2");
  EXPECT_EQ(config_values::format_real(1e-7), "1e-07");
}

TEST(EvalConfig, ReadsBackAndRejectsBadValues) {
  const auto& schema = eval_config_schema();
  EvalOptions options;
  schema.load_yaml(options, "checkpoint: runs/nav\nsplit: heldout\ntasks: 12\nsteps: 2\n", "eval.yaml");
  EXPECT_EQ(options.checkpoints, (std::vector<std::string>{"runs/nav"}));
  EXPECT_EQ(options.protocol.split, envs::Split::kHeldOut);
  EXPECT_EQ(options.protocol.tasks, 12);
  EvalOptions read_back;
  schema.load_yaml(read_back, schema.to_yaml(options), "printed");
  EXPECT_EQ(schema.to_yaml(read_back), schema.to_yaml(options));
  EXPECT_NE(usage_error_of([&] { schema.load_yaml(options, "split: validation\n", "e.yaml"); }).find("train test heldout"),
            std::string::npos);
  EXPECT_NE(usage_error_of([&] { schema.apply_override(options, "taks=3"); }).find("did you mean 'tasks'"),
            std::string::npos);
  EXPECT_NE(usage_error_of([&] { schema.set(options, "steps", "101"); }).find("[0, 100]"), std::string::npos);
  EXPECT_NE(usage_error_of([] { EvalOptions{}.validate(); }).find("--checkpoint"), std::string::npos);
}

// Issue I: `metarl train --env E` starts from E's training defaults.
TEST(EnvironmentDefaults, TheRegisteredSettingsComeOnTopOfMetarlsOwn) {
  const TrainConfig pendulum = environment_default_config("pendulum");
  EXPECT_EQ(pendulum.env, "pendulum");
  EXPECT_DOUBLE_EQ(pendulum.advantages.gae_lambda, 0.95);
  EXPECT_DOUBLE_EQ(pendulum.outer_lr, 0.005);
  EXPECT_EQ(pendulum.outer_lr_decay, OuterLrDecay::kLinear);
  EXPECT_EQ(pendulum.meta_batch, TrainConfig{}.meta_batch);  // not in its defaults
  // Unknown to the registry: metarl's own (the run's check names the environment).
  EXPECT_EQ(to_yaml(environment_default_config("no-such-env")), to_yaml(TrainConfig{}));
  // Every built-in environment's defaults are valid keys.
  for (const auto& name : envs::EnvRegistry::global().names()) EXPECT_NO_THROW(environment_default_config(name)) << name;
}

TEST(EnvironmentDefaults, ABadDefaultNamesTheEnvironmentAndTheKey) {
  envs::EnvRegistry registry;
  const auto point_nav = envs::EnvRegistry::global().find("point-nav")->make;
  registry.add({"typo-env", "bad defaults", point_nav, "outer_lrr: 0.1\n", ""});
  registry.add({"env-env", "names itself", point_nav, "env: point-nav\n", ""});
  registry.add({"range-env", "out of range", point_nav, "iterations: 0\n", ""});
  const std::string typo = usage_error_of([&] { environment_default_config("typo-env", registry); });
  EXPECT_NE(typo.find("environment 'typo-env''s training defaults"), std::string::npos) << typo;
  EXPECT_NE(typo.find("did you mean 'outer_lr'"), std::string::npos) << typo;
  EXPECT_NE(usage_error_of([&] { environment_default_config("env-env", registry); }).find("'env' is not"),
            std::string::npos);
  EXPECT_NE(usage_error_of([&] { environment_default_config("range-env", registry); }).find("'iterations'"),
            std::string::npos);
}

}  // namespace
}  // namespace metarl::meta
