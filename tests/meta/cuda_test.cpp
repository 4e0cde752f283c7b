// The CUDA path against the CPU (issue F): one meta-iteration of Meta-SGD with Adam
// and one with TRPO from the same seed, evaluation, and checkpoints crossing devices
// both ways. They run wherever LibTorch sees a CUDA device and skip, saying why,
// where it does not (Debian's LibTorch has no CUDA).
//
// Tolerances: the same seed draws the same noise on the CPU for both devices, so the
// rollouts differ only by the float32 arithmetic of the policy's forward and the
// meta-gradient on each device (another summation order in cuBLAS, TF32 off). Over
// one iteration that moves returns by far less than 1e-3 relative and parameters by
// less than 1e-4; the environments are the same code on both.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <utility>

#include "agents/policy.h"
#include "meta/checkpoint.h"
#include "meta/eval/evaluation.h"
#include "meta/run/run_directory.h"
#include "meta/session/training_run.h"
#include "meta/trainer.h"
#include "tests/support/small_configs.h"
#include "tests/support/test_support.h"

namespace metarl::meta {
namespace {

#define METARL_SKIP_WITHOUT_CUDA()                                                                            \
  if (!torch::cuda::is_available()) {                                                                         \
    GTEST_SKIP() << "no CUDA device: torch::cuda::is_available() is false (this LibTorch or machine has none)"; \
  }

// Largest difference of two parameter lists, wherever each lives, within `tolerance`.
void expect_close(const agents::ParameterList& a, const agents::ParameterList& b, double tolerance,
                  const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto difference = (a[i].detach().to(torch::kCPU) - b[i].detach().to(torch::kCPU)).abs().max().item<double>();
    EXPECT_LE(difference, tolerance) << what << " " << i;
  }
}

void expect_same_iteration(TrainConfig config) {
  config.runtime.device = "cpu";
  MetaTrainer cpu(config);
  config.runtime.device = "cuda";
  MetaTrainer cuda(config);
  for (int i = 0; i < 2; ++i) {
    const auto a = cpu.run_iteration();
    const auto b = cuda.run_iteration();
    EXPECT_NEAR(a.return_before, b.return_before, 1e-3 * (1.0 + std::abs(a.return_before))) << "iteration " << i;
    EXPECT_NEAR(a.return_after, b.return_after, 1e-3 * (1.0 + std::abs(a.return_after))) << "iteration " << i;
    EXPECT_EQ(a.step_metric("backtracks"), b.step_metric("backtracks")) << "iteration " << i;
  }
  expect_close(cpu.learner().theta(), cuda.learner().theta(), 1e-4, "theta");
  expect_close(cpu.learner().alpha(), cuda.learner().alpha(), 1e-4, "alpha");
}

TEST(Cuda, MetaSgdWithAdamTakesTheCpusStep) {
  METARL_SKIP_WITHOUT_CUDA();
  auto config = metarl::testing::small_point_nav_config("adam");
  expect_same_iteration(config);
  config.runtime.env_on_device = true;  // the environment on the GPU too
  expect_same_iteration(config);
}

TEST(Cuda, MetaSgdWithTrpoTakesTheCpusStep) {
  METARL_SKIP_WITHOUT_CUDA();
  auto config = metarl::testing::small_point_nav_config("trpo");
  expect_same_iteration(config);
  config.env = "cartpole";  // a categorical policy
  config.runtime.env_on_device = true;
  expect_same_iteration(config);
}

class CudaRuns : public metarl::testing::ScratchDirTest {};

TEST_F(CudaRuns, EvaluationOnCudaEqualsTheCpus) {
  METARL_SKIP_WITHOUT_CUDA();
  auto config = metarl::testing::small_point_nav_config("adam");
  config.iterations = 3;
  TrainRunOptions run;
  run.out_dir = (dir_ / "run").string();
  run_training(config, run);
  EvalOptions options;
  options.checkpoints = {run.out_dir};
  options.random = true;
  options.protocol.tasks = 6;
  options.protocol.rollouts = 5;
  options.protocol.steps = 2;
  const auto cpu = evaluate(options);
  options.runtime.device = "cuda";
  const auto cuda = evaluate(options);
  options.runtime.env_on_device = true;
  const auto cuda_env = evaluate(options);
  for (const auto* report : {&cuda, &cuda_env}) {
    ASSERT_EQ(report->methods.size(), cpu.methods.size());
    for (size_t m = 0; m < cpu.methods.size(); ++m) {
      for (size_t s = 0; s < cpu.methods[m].mean.size(); ++s) {
        EXPECT_NEAR(report->methods[m].mean[s], cpu.methods[m].mean[s], 1e-3 * (1.0 + std::abs(cpu.methods[m].mean[s])))
            << cpu.methods[m].name << " step " << s;
      }
    }
  }
}

TEST_F(CudaRuns, CheckpointsResumeAcrossDevicesBothWays) {
  METARL_SKIP_WITHOUT_CUDA();
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"cuda", "cpu"}, {"cpu", "cuda"}}) {
    for (const std::string optimizer : {"adam", "promp", "trpo"}) {
      auto config = metarl::testing::small_point_nav_config(optimizer);
      config.runtime.device = from;
      MetaTrainer first(config);
      first.run_iteration();
      first.run_iteration();
      const std::string path = (dir_ / (from + "-" + optimizer + ".pt")).string();
      first.save_checkpoint(path);
      config.runtime.device = to;
      MetaTrainer resumed(config);
      resumed.restore(path);  // Adam's moments follow the parameters' device
      expect_close(first.learner().meta_parameters(), resumed.learner().meta_parameters(), 0.0,
                   from + " -> " + to + " " + optimizer);
      const auto metrics = resumed.run_iteration();
      EXPECT_TRUE(std::isfinite(metrics.meta_loss)) << from << " -> " << to << " " << optimizer;
      EXPECT_EQ(metrics.iteration, 3);
    }
  }
}

}  // namespace
}  // namespace metarl::meta
