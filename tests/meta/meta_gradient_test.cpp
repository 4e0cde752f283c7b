// Meta-SGD's meta-gradient, checked against central finite differences in double
// precision on a fixed batch of rollouts, and the one-pass per-task adaptation
// against T separate adaptations.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>

#include "agents/autograd.h"
#include "agents/sampler.h"
#include "envs/errors.h"
#include "envs/point_nav.h"
#include "meta/meta_learner.h"

namespace metarl::meta {
namespace {

using agents::ParameterList;
using agents::Trajectories;

const auto f64 = torch::TensorOptions().dtype(torch::kDouble);

Trajectories slice_task(const Trajectories& batch, int64_t task) {
  auto one = [&](const torch::Tensor& x) { return x.slice(0, task, task + 1); };
  return {one(batch.observations), one(batch.actions), one(batch.rewards), one(batch.mask)};
}

class MetaGradientTest : public ::testing::Test {
 protected:
  static constexpr int kTasks = 3;
  static constexpr int kRollouts = 4;
  static constexpr int kHorizon = 6;

  void SetUp() override {
    torch::manual_seed(0);
    // tanh keeps the objective smooth, so finite differences are accurate.
    policy_ = std::make_shared<agents::GaussianMlpPolicy>(
        2, 2, agents::GaussianMlpPolicy::Options{{8, 8}, agents::Activation::kTanh, -0.5});
    learner_ = std::make_unique<MetaLearner>(policy_, Algorithm::kMetaSgd, 0.1, 3, f64);
    {
      torch::NoGradGuard no_grad;
      for (auto& a : learner_->alpha()) a.add_(0.05 * torch::randn_like(a));  // α differs per entry
    }
    envs::PointNav env(kTasks * kRollouts, 1);
    agents::Sampler sampler(env, *policy_, kTasks, kRollouts, kHorizon, torch::kCPU, 2);
    Rng rng(4);
    const auto tasks = env.task_distribution().sample(kTasks, envs::Split::kTrain, rng);
    const auto theta32 = ParameterList{agents::detach(learner_->theta())};
    ParameterList float_params;
    for (const auto& p : theta32) float_params.push_back(p.to(torch::kFloat32));
    pre_ = sampler.sample(float_params, tasks).to(f64);
    post_ = sampler.sample(float_params, tasks).to(f64);
    advantage_options_.normalize = true;
  }

  torch::Tensor objective(bool create_graph) const {
    const auto adapted = learner_->adapt_step(learner_->theta(), pre_, advantage_options_, create_graph);
    return learner_->meta_loss(adapted, post_, advantage_options_);
  }

  // Central difference of the objective along one entry of `tensor`.
  double finite_difference(torch::Tensor& tensor, int64_t flat_index, double epsilon) const {
    auto flat = tensor.detach().view({-1});
    const double original = flat[flat_index].item<double>();
    flat[flat_index] = original + epsilon;
    const double plus = objective(false).item<double>();
    flat[flat_index] = original - epsilon;
    const double minus = objective(false).item<double>();
    flat[flat_index] = original;
    return (plus - minus) / (2.0 * epsilon);
  }

  std::shared_ptr<agents::GaussianMlpPolicy> policy_;
  std::unique_ptr<MetaLearner> learner_;
  Trajectories pre_;
  Trajectories post_;
  agents::AdvantageOptions advantage_options_;
};

TEST_F(MetaGradientTest, SecondOrderGradientInThetaAndAlphaMatchesFiniteDifferences) {
  const ParameterList inputs = learner_->meta_parameters();  // θ then α
  ASSERT_EQ(inputs.size(), 2 * learner_->theta().size());
  const auto analytic = agents::gradients(objective(true), inputs, {});
  const auto first_order = agents::gradients(objective(false), inputs, {});

  torch::manual_seed(5);
  double largest_first_order_error = 0.0;
  int checked = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto tensor = inputs[i];
    const int64_t count = tensor.numel();
    // Every entry of small tensors, a random sample of large ones.
    const auto indices = count <= 8 ? torch::arange(count) : torch::randperm(count).slice(0, 0, 8);
    for (int64_t k = 0; k < indices.numel(); ++k) {
      const int64_t index = indices[k].item<int64_t>();
      const double numeric = finite_difference(tensor, index, 1e-5);
      const double exact = analytic[i].reshape({-1})[index].item<double>();
      EXPECT_NEAR(exact, numeric, 1e-7 + 1e-5 * std::abs(numeric))
          << (i < learner_->theta().size() ? "theta " : "alpha ") << i % learner_->theta().size() << " entry "
          << index;
      largest_first_order_error =
          std::max(largest_first_order_error, std::abs(first_order[i].reshape({-1})[index].item<double>() - numeric));
      ++checked;
    }
  }
  EXPECT_GT(checked, 60);
  // The second-order terms matter here: dropping them (first order) is visibly wrong,
  // so this test would catch create_graph being lost.
  EXPECT_GT(largest_first_order_error, 1e-4);
}

TEST_F(MetaGradientTest, OneBackwardPassGivesEachTasksOwnAdaptation) {
  const auto together = learner_->adapt_step(learner_->theta(), pre_, advantage_options_, false);
  for (int64_t t = 0; t < kTasks; ++t) {
    const auto task_batch = slice_task(pre_, t);
    const auto loss = learner_->inner_loss(learner_->theta(), task_batch, advantage_options_).sum();
    const auto grads = agents::gradients(loss, learner_->theta(), {});
    for (size_t i = 0; i < grads.size(); ++i) {
      const auto separate = learner_->theta()[i] - learner_->alpha()[i] * grads[i];
      EXPECT_TRUE(torch::allclose(together[i][t], separate, 0.0, 1e-13)) << "task " << t << " parameter " << i;
    }
  }
}

TEST_F(MetaGradientTest, TwoInnerStepsContinueFromTheTaskBatchedParameters) {
  const auto first = learner_->adapt_step(learner_->theta(), pre_, advantage_options_, true);
  const auto second = learner_->adapt_step(first, post_, advantage_options_, true);
  ASSERT_EQ(second[0].sizes()[0], kTasks);
  const auto loss = learner_->meta_loss(second, post_, advantage_options_);
  const auto grads = agents::gradients(loss, learner_->meta_parameters(), {});
  for (const auto& g : grads) EXPECT_TRUE(torch::isfinite(g).all().item<bool>());
  EXPECT_GT(grads.back().abs().sum().item<double>(), 0.0);  // α gets gradient through both steps
}

TEST(Maml, UsesOneFixedScalarStepAndOnlyOptimisesTheta) {
  auto policy = std::make_shared<agents::GaussianMlpPolicy>(
      2, 2, agents::GaussianMlpPolicy::Options{{4}, agents::Activation::kRelu, 0.0});
  MetaLearner maml(policy, Algorithm::kMaml, 0.25, 1, f64);
  EXPECT_FALSE(maml.learns_alpha());
  EXPECT_EQ(maml.meta_parameters().size(), maml.theta().size());
  for (const auto& a : maml.alpha()) {
    EXPECT_EQ(a.dim(), 0);
    EXPECT_DOUBLE_EQ(a.item<double>(), 0.25);
    EXPECT_FALSE(a.requires_grad());
  }
  EXPECT_THROW(parse_algorithm("reptile"), UsageError);
}

}  // namespace
}  // namespace metarl::meta
