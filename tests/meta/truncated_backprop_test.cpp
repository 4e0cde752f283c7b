// Truncated back-propagation through the adaptation chain (backprop_steps, issue P;
// MetaLearner::chain_step): on a three-step chain truncated to its last b steps, the
// meta-gradient against central finite differences of the function it is the exact
// gradient of — the last b steps started from θ plus the offset the first steps left,
// that offset held constant; the linearised adaptation TRPO uses against autograd
// through the same chain, for both kernels; TRPO's analytic step against its autograd
// twin; and training with every outer step, where b = inner_steps is the untruncated
// run to the bit and b < inner_steps another one.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <string>

#include "agents/autograd.h"
#include "agents/sampler.h"
#include "envs/errors.h"
#include "envs/point_nav.h"
#include "meta/experiment.h"
#include "meta/meta_learner.h"
#include "meta/outer_promp.h"
#include "meta/outer_trpo.h"
#include "meta/trainer.h"
#include "meta/trpo.h"
#include "tests/support/parameter_lists.h"
#include "tests/support/small_configs.h"

namespace metarl::meta {
namespace {

using agents::ParameterList;
using agents::Trajectories;
using metarl::testing::dot;
using metarl::testing::dot_graph;
using metarl::testing::random_like;

const auto f64 = torch::TensorOptions().dtype(torch::kDouble);

class TruncatedChain : public ::testing::TestWithParam<agents::Kernels> {
 protected:
  static constexpr int kTasks = 3;
  static constexpr int kRollouts = 4;
  static constexpr int kHorizon = 6;
  static constexpr int kChainSteps = 3;

  void SetUp() override {
    torch::manual_seed(0);
    // tanh keeps the objective smooth, so finite differences are accurate.
    policy_ = std::make_shared<agents::GaussianMlpPolicy>(2, 2,
                                                          agents::MlpOptions{{8, 8}, agents::Activation::kTanh, -0.5});
    learner_ = make_learner(GetParam());
    envs::PointNav env(kTasks * kRollouts, 1);
    agents::Sampler sampler(env, *policy_, kTasks, kRollouts, kHorizon, torch::kCPU, 2);
    Rng rng(4);
    const auto tasks = env.task_distribution().sample(kTasks, envs::Split::kTrain, rng);
    ParameterList float_params;
    for (const auto& p : learner_->theta()) float_params.push_back(p.detach().to(torch::kFloat32));
    for (int j = 0; j < kChainSteps; ++j) inner_.push_back(sampler.sample(float_params, tasks).to(f64));
    outer_ = sampler.sample(float_params, tasks).to(f64);
    options_.normalize = true;
  }

  // A Meta-SGD learner in double with α differing per entry; the same θ and α for
  // every call (seeded). The plain estimator: its meta-gradient is the exact derivative
  // for fixed rollouts (agents/surrogate.h), so finite differences check it.
  std::unique_ptr<MetaLearner> make_learner(agents::Kernels kernels) const {
    torch::manual_seed(1);
    auto learner = std::make_unique<MetaLearner>(policy_, Algorithm::kMetaSgd, 0.1, 3, f64,
                                                 agents::Estimator::kPlain, kernels);
    torch::NoGradGuard no_grad;
    for (auto& a : learner->alpha()) a.add_(0.05 * torch::randn_like(a));
    return learner;
  }

  // θ' after the whole chain through chain_step: differentiable as the learner's
  // truncation says.
  ParameterList chain(const MetaLearner& learner, bool create_graph) const {
    ParameterList params = learner.theta();
    for (int j = 0; j < kChainSteps; ++j) {
      params = learner.chain_step(params, j, kChainSteps, inner_[static_cast<size_t>(j)], options_, create_graph);
    }
    return params;
  }

  ParameterList meta_gradient(const MetaLearner& learner) const {
    return agents::gradients(learner.meta_loss(chain(learner, true), outer_, options_), learner.meta_parameters(), {});
  }

  std::shared_ptr<agents::GaussianMlpPolicy> policy_;
  std::unique_ptr<MetaLearner> learner_;
  std::vector<Trajectories> inner_;
  Trajectories outer_;
  agents::AdvantageOptions options_;
};

TEST_P(TruncatedChain, MetaGradientIsTheLastStepsFromAConstantOffsetByFiniteDifferences) {
  const auto full = meta_gradient(*learner_);
  for (int backprop_steps : {1, 2}) {
    learner_->set_backprop_steps(backprop_steps);
    const int first = kChainSteps - backprop_steps;
    ASSERT_EQ(learner_->first_differentiated_step(kChainSteps), first);
    const auto truncated = meta_gradient(*learner_);
    // The offset the first steps leave at the current θ, α: φ_first − θ, per task.
    ParameterList offset;
    {
      ParameterList params = agents::detach(learner_->theta());
      for (int j = 0; j < first; ++j) {
        params = agents::detach(learner_->adapt_step(params, inner_[static_cast<size_t>(j)], options_, false));
      }
      const auto theta = agents::expand_to_tasks(agents::detach(learner_->theta()), kTasks);
      for (size_t i = 0; i < params.size(); ++i) offset.push_back(params[i] - theta[i]);
    }
    // The function the truncated meta-gradient differentiates: the last b steps from
    // θ + offset, the offset a constant.
    auto objective = [&] {
      const auto theta = agents::expand_to_tasks(agents::detach(learner_->theta()), kTasks);
      ParameterList params;
      for (size_t i = 0; i < theta.size(); ++i) params.push_back(theta[i] + offset[i]);
      for (int j = first; j < kChainSteps; ++j) {
        params = learner_->adapt_step(params, inner_[static_cast<size_t>(j)], options_, false);
      }
      return learner_->meta_loss(params, outer_, options_).item<double>();
    };
    const ParameterList inputs = learner_->meta_parameters();  // θ then α
    torch::manual_seed(5);
    int checked = 0;
    double largest_difference_from_full = 0.0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto flat = inputs[i].detach().view({-1});
      const int64_t count = flat.numel();
      const auto indices = count <= 6 ? torch::arange(count) : torch::randperm(count).slice(0, 0, 6);
      for (int64_t k = 0; k < indices.numel(); ++k) {
        const int64_t index = indices[k].item<int64_t>();
        const double original = flat[index].item<double>();
        const double epsilon = 1e-5;
        flat[index] = original + epsilon;
        const double plus = objective();
        flat[index] = original - epsilon;
        const double minus = objective();
        flat[index] = original;
        const double numeric = (plus - minus) / (2.0 * epsilon);
        const double exact = truncated[i].reshape({-1})[index].item<double>();
        EXPECT_NEAR(exact, numeric, 1e-7 + 1e-5 * std::abs(numeric))
            << "b = " << backprop_steps << (i < learner_->theta().size() ? ", theta " : ", alpha ")
            << i % learner_->theta().size() << " entry " << index;
        largest_difference_from_full =
            std::max(largest_difference_from_full, std::abs(full[i].reshape({-1})[index].item<double>() - exact));
        ++checked;
      }
    }
    EXPECT_GT(checked, 50);
    // The truncation changes the gradient visibly: a test that lost it would fail above.
    EXPECT_GT(largest_difference_from_full, 1e-4) << "b = " << backprop_steps;
  }
}

TEST_P(TruncatedChain, EveryStepIsTheFullMetaGradientAndTheValuesNeverChange) {
  const auto full = meta_gradient(*learner_);
  const auto full_values = agents::detach(chain(*learner_, false));
  for (int backprop_steps : {kChainSteps, kChainSteps + 2, 1}) {
    learner_->set_backprop_steps(backprop_steps);
    // θ + (φ − θ) would round; the truncated steps' values pass through exactly.
    const auto values = agents::detach(chain(*learner_, true));
    for (size_t i = 0; i < values.size(); ++i) {
      EXPECT_TRUE(torch::equal(values[i], full_values[i])) << "b = " << backprop_steps << ", parameter " << i;
    }
    if (backprop_steps < kChainSteps) continue;
    const auto gradient = meta_gradient(*learner_);
    for (size_t i = 0; i < gradient.size(); ++i) {
      EXPECT_TRUE(torch::equal(gradient[i], full[i])) << "b = " << backprop_steps << ", meta-parameter " << i;
    }
  }
}

TEST_P(TruncatedChain, LinearizedAdaptationIsAutogradThroughTheTruncatedChain) {
  for (int backprop_steps : {1, 2}) {
    learner_->set_backprop_steps(backprop_steps);
    const LinearizedAdaptation linearized(*learner_, inner_, options_);
    const auto adapted = chain(*learner_, /*create_graph=*/true);
    for (size_t i = 0; i < adapted.size(); ++i) {
      EXPECT_TRUE(torch::allclose(adapted[i], linearized.adapted()[i], 0.0, 1e-12)) << i;
    }
    const auto u = random_like(adapted);
    const auto reference = agents::gradients(dot_graph(adapted, u), learner_->meta_parameters(), {});
    const auto [u_theta, u_alpha] = linearized.transposed(u);
    const size_t n = learner_->theta().size();
    for (size_t i = 0; i < n; ++i) {
      EXPECT_TRUE(torch::allclose(u_theta[i], reference[i], 1e-9, 1e-11)) << "b = " << backprop_steps << ", theta " << i;
      EXPECT_TRUE(torch::allclose(u_alpha[i], reference[n + i], 1e-9, 1e-11))
          << "b = " << backprop_steps << ", alpha " << i;
    }
    // J v is the adjoint of Jᵀ u on the truncated map too.
    const auto v_theta = random_like(learner_->theta());
    const auto v_alpha = random_like(learner_->alpha());
    const double left = dot(linearized.forward(v_theta, v_alpha), u);
    const double right = dot(v_theta, u_theta) + dot(v_alpha, u_alpha);
    EXPECT_NEAR(left, right, 1e-10 * std::max(1.0, std::abs(left))) << "b = " << backprop_steps;
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, TruncatedChain,
                         ::testing::Values(agents::Kernels::kAnalytic, agents::Kernels::kAutograd),
                         [](const auto& test_info) { return agents::to_string(test_info.param); });

TEST(TruncatedChainTrpo, TheAnalyticStepIsAutogradsStep) {
  // TRPO's analytic kernels take the meta-gradient as Jᵀ ∇θ' (LinearizedAdaptation), its
  // autograd twin by a backward through chain_step: on a truncated chain of three steps
  // they must take the same step (in double; see trpo_test.cpp's untruncated twin).
  const auto policy = std::make_shared<agents::GaussianMlpPolicy>(
      2, 2, agents::MlpOptions{{6, 6}, agents::Activation::kTanh, -0.5});
  MetaLearner analytic(policy, Algorithm::kMetaSgd, 0.1, 3, f64, agents::Estimator::kLvc, agents::Kernels::kAnalytic);
  MetaLearner autograd(policy, Algorithm::kMetaSgd, 0.1, 3, f64, agents::Estimator::kLvc, agents::Kernels::kAutograd);
  torch::manual_seed(2);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < analytic.alpha().size(); ++i) {
      analytic.alpha()[i].add_(0.05 * torch::randn_like(analytic.alpha()[i]));
      autograd.alpha()[i].copy_(analytic.alpha()[i]);
    }
  }
  envs::PointNav env(3 * 4, 1);
  agents::Sampler sampler(env, *policy, 3, 4, 5, torch::kCPU, 2);
  Rng rng(4);
  const auto tasks = env.task_distribution().sample(3, envs::Split::kTrain, rng);
  ParameterList float_params;
  for (const auto& p : analytic.theta()) float_params.push_back(p.detach().to(torch::kFloat32));
  MetaBatch batch;
  for (int j = 0; j < 3; ++j) batch.inner.push_back(sampler.sample(float_params, tasks).to(f64));
  batch.outer = sampler.sample(float_params, tasks).to(f64);
  agents::AdvantageOptions advantage_options;
  {
    ParameterList params = analytic.theta();
    for (const auto& inner : batch.inner) params = analytic.adapt_step(params, inner, advantage_options, false);
    batch.adapted = agents::detach(params);
  }
  const auto start = flatten_parameters(agents::detach(analytic.meta_parameters())).clone();
  for (int backprop_steps : {1, 2}) {
    TrainConfig config = metarl::testing::small_point_nav_config("trpo");
    config.algo = Algorithm::kMetaSgd;
    config.inner_steps = 3;
    config.backprop_steps = backprop_steps;
    ParameterList steps;
    for (MetaLearner* learner : {&analytic, &autograd}) {
      learner->set_backprop_steps(backprop_steps);
      {
        torch::NoGradGuard no_grad;
        int64_t offset = 0;
        for (const auto& p : learner->meta_parameters()) {
          p.copy_(start.slice(0, offset, offset + p.numel()).view_as(p));
          offset += p.numel();
        }
      }
      const auto result = make_trpo_step(OuterStepContext{config, *learner, torch::kCPU})->step(batch);
      ASSERT_TRUE(result.non_finite.empty()) << result.non_finite;
      steps.push_back(flatten_parameters(agents::detach(learner->meta_parameters())) - start);
    }
    ASSERT_GT(steps[1].norm().item<double>(), 0.0) << "the reference step was rejected, b = " << backprop_steps;
    // CG at MAML's damping amplifies double rounding to ~1e-6 of the step (trpo_test.cpp).
    EXPECT_LT((steps[0] - steps[1]).norm().item<double>(), 1e-5 * steps[1].norm().item<double>())
        << "b = " << backprop_steps;
  }
}

// The parameters after `inner` steps from θ, the first `first` of them held as θ plus a
// constant offset (their values, computed without a graph, minus θ): the reference the
// outer steps' truncated gradients are checked against, written without chain_step.
ParameterList offset_chain(const MetaLearner& learner, const std::vector<Trajectories>& inner, int first,
                           const agents::AdvantageOptions& options) {
  const int64_t tasks = inner.front().num_tasks();
  ParameterList values = agents::detach(learner.theta());
  for (int j = 0; j < first; ++j) {
    values = agents::detach(learner.adapt_step(values, inner[static_cast<size_t>(j)], options, false));
  }
  const auto theta = agents::expand_to_tasks(learner.theta(), tasks);
  ParameterList params;
  for (size_t i = 0; i < theta.size(); ++i) {
    params.push_back(first == 0 ? theta[i] : theta[i] + (values[i] - theta[i].detach()));
  }
  for (size_t j = static_cast<size_t>(first); j < inner.size(); ++j) {
    params = learner.adapt_step(params, inner[j], options, /*create_graph=*/true);
  }
  return params;
}

// The largest |a − b| over the lists, relative to the largest |b|.
double relative_difference(const ParameterList& a, const ParameterList& b) {
  double difference = 0.0;
  double scale = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference = std::max(difference, (a[i] - b[i]).abs().max().item<double>());
    scale = std::max(scale, b[i].abs().max().item<double>());
  }
  return difference / scale;
}

TEST(TruncatedChainTraining, AdamsMetaGradientIsTheOffsetChainsOnTheIterationsOwnRollouts) {
  // One training iteration with Adam, reproduced by hand from the same streams: its
  // meta-gradient (θ.grad and α.grad after the step) is the gradient of the outer loss
  // through the last step only, from θ plus the first step's offset.
  TrainConfig config = metarl::testing::small_point_nav_config("adam");
  config.algo = Algorithm::kMetaSgd;
  config.inner_steps = 2;
  config.backprop_steps = 1;
  MetaTrainer trainer(config);
  trainer.run_iteration();
  ParameterList trained_gradient;
  for (const auto& p : trainer.learner().meta_parameters()) trained_gradient.push_back(p.grad().clone());

  Experiment experiment(config);  // the same streams, fresh
  const MetaLearner& learner = *experiment.learner;
  const auto tasks =
      experiment.env->task_distribution().sample(config.meta_batch, envs::Split::kTrain, experiment.task_rng);
  std::vector<Trajectories> inner{experiment.sampler->sample(agents::detach(learner.theta()), tasks)};
  ParameterList values = agents::detach(learner.adapt_step(learner.theta(), inner[0], config.advantages, false));
  inner.push_back(experiment.sampler->sample(values, tasks));
  values = agents::detach(learner.adapt_step(values, inner[1], config.advantages, false));
  const auto outer = experiment.sampler->sample(values, tasks);
  auto gradient_of = [&](int first) {
    const auto adapted = offset_chain(learner, inner, first, config.advantages);
    return agents::gradients(learner.meta_loss(adapted, outer, config.advantages), learner.meta_parameters(), {});
  };
  // θ + (φ₁ − θ) rounds in float32 where chain_step's sum is exact: a relative 1e-4.
  EXPECT_LT(relative_difference(trained_gradient, gradient_of(1)), 1e-4);
  EXPECT_GT(relative_difference(trained_gradient, gradient_of(0)), 1e-2) << "the whole chain's gradient is as close";
}

TEST(TruncatedChainTraining, PrompsFirstGradientIsTheOffsetChainsClippedSurrogateGradient) {
  // ProMP's objective on a fixed batch of a chain of three rounds, in double: before
  // its first Adam step every ratio is 1 and every KL at its minimum, so its gradient
  // (θ.grad and α.grad after one epoch) is the clipped surrogate's through the
  // re-adaptation — truncated to the last step, from θ plus the first steps' offset.
  const auto policy = std::make_shared<agents::GaussianMlpPolicy>(
      2, 2, agents::MlpOptions{{6, 6}, agents::Activation::kTanh, -0.5});
  MetaLearner learner(policy, Algorithm::kMetaSgd, 0.1, 3, f64, agents::Estimator::kLvc);
  learner.set_backprop_steps(1);
  torch::manual_seed(2);
  {
    torch::NoGradGuard no_grad;
    for (auto& a : learner.alpha()) a.add_(0.05 * torch::randn_like(a));
  }
  envs::PointNav env(3 * 4, 1);
  agents::Sampler sampler(env, *policy, 3, 4, 5, torch::kCPU, 2);
  Rng rng(4);
  const auto tasks = env.task_distribution().sample(3, envs::Split::kTrain, rng);
  TrainConfig config = metarl::testing::small_point_nav_config("promp");
  config.algo = Algorithm::kMetaSgd;
  config.inner_steps = 3;
  config.backprop_steps = 1;
  promp_options(config).epochs = 1;
  MetaBatch batch;
  {
    ParameterList values = agents::detach(learner.theta());
    for (int j = 0; j < 3; ++j) {
      ParameterList float_values;
      for (const auto& p : values) float_values.push_back(p.to(torch::kFloat32));
      batch.inner.push_back(sampler.sample(float_values, tasks).to(f64));
      values = agents::detach(learner.adapt_step(values, batch.inner.back(), config.advantages, false));
    }
    ParameterList float_values;
    for (const auto& p : values) float_values.push_back(p.to(torch::kFloat32));
    batch.outer = sampler.sample(float_values, tasks).to(f64);
    batch.adapted = values;
  }
  auto gradient_of = [&](int first) {
    const auto adapted = offset_chain(learner, batch.inner, first, config.advantages);
    const auto log_probs = policy->log_prob(batch.outer.observations, batch.outer.actions, adapted);
    const auto old_log_probs =
        policy->log_prob(batch.outer.observations, batch.outer.actions, batch.adapted).detach();
    const auto advantages = agents::compute_advantages(batch.outer, config.advantages);
    const auto loss = clipped_surrogate_loss(log_probs, old_log_probs, advantages, batch.outer.mask,
                                             promp_options(config).clip)
                          .mean();
    return agents::gradients(loss, learner.meta_parameters(), {});
  };
  const auto truncated = gradient_of(2);
  const auto whole = gradient_of(0);
  const auto result = make_promp_step(OuterStepContext{config, learner, torch::kCPU})->step(batch);
  ASSERT_TRUE(result.non_finite.empty()) << result.non_finite;
  ParameterList stepped_gradient;
  for (const auto& p : learner.meta_parameters()) stepped_gradient.push_back(p.grad());
  EXPECT_LT(relative_difference(stepped_gradient, truncated), 1e-9);
  EXPECT_GT(relative_difference(stepped_gradient, whole), 1e-3) << "the whole chain's gradient is as close";
}

TEST(TruncatedChainTraining, EveryOuterStepTrainsAsBeforeWithEveryStepAndOtherwiseWithFewer) {
  for (const char* optimizer : {"adam", "trpo", "promp"}) {
    auto run = [&](int backprop_steps) {
      TrainConfig config = metarl::testing::small_point_nav_config(optimizer);
      config.algo = Algorithm::kMetaSgd;
      config.inner_steps = 2;
      config.backprop_steps = backprop_steps;
      MetaTrainer trainer(config);
      for (int i = 0; i < 2; ++i) {
        const auto metrics = trainer.run_iteration();
        EXPECT_TRUE(std::isfinite(metrics.meta_loss)) << optimizer << ", b = " << backprop_steps;
      }
      return flatten_parameters(agents::detach(trainer.learner().meta_parameters()));
    };
    const auto full = run(0);
    EXPECT_TRUE(torch::equal(run(2), full)) << optimizer << ": backprop_steps = inner_steps is the full gradient";
    const auto truncated = run(1);
    EXPECT_TRUE(torch::isfinite(truncated).all().item<bool>()) << optimizer;
    EXPECT_FALSE(torch::equal(truncated, full)) << optimizer << ": the truncation changed nothing";
  }
}

TEST(TruncatedChainTraining, MoreStepsThanTheChainOrAnAlgoThatDoesNotAdaptAreRefusedNamingTheKey) {
  const auto refusal = [](const TrainConfig& config) -> std::string {
    try {
      MetaTrainer trainer(config);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  TrainConfig config = metarl::testing::small_point_nav_config("adam");
  config.inner_steps = 2;
  config.backprop_steps = 3;
  const std::string message = refusal(config);
  EXPECT_NE(message.find("config key 'backprop_steps': value '3' is invalid with inner_steps 2"), std::string::npos)
      << message;
  EXPECT_NE(message.find("expected 0 (every step) or 1 to 2 (inner_steps)"), std::string::npos) << message;
  config.backprop_steps = 2;
  EXPECT_EQ(refusal(config), "");
  TrainConfig pretrained = metarl::testing::small_point_nav_config("adam");
  pretrained.algo = Algorithm::kPretrained;
  pretrained.backprop_steps = 3;  // past inner_steps too: the algo is what is wrong
  EXPECT_NE(refusal(pretrained).find("algo pretrained"), std::string::npos) << refusal(pretrained);
}

}  // namespace
}  // namespace metarl::meta
