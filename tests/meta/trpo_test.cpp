// TRPO's pieces: conjugate gradient, the step on a problem with a known answer, the
// linearised adaptation that gives the KL's Hessian as Jᵀ F J (checked against
// autograd through adapt_step and against finite differences), and short training
// runs with TRPO and the pretrained baseline.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <memory>

#include "agents/autograd.h"
#include "agents/sampler.h"
#include "envs/errors.h"
#include "envs/point_nav.h"
#include "meta/meta_learner.h"
#include "meta/trainer.h"
#include "meta/outer_trpo.h"
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

TEST(ConjugateGradient, SolvesASymmetricPositiveDefiniteSystem) {
  torch::manual_seed(1);
  const auto m = torch::randn({12, 12}, f64);
  const auto a = m.matmul(m.t()) + 0.5 * torch::eye(12, f64);
  const auto b = torch::randn({12}, f64);
  const auto x = conjugate_gradient([&](const torch::Tensor& v) { return a.matmul(v); }, b, 40);
  // It stops once the squared residual is below 1e-10, as pytorch-maml-rl's does.
  EXPECT_TRUE(torch::allclose(a.matmul(x), b, 0.0, 1e-4));
}

TEST(TrpoStep, TakesTheNaturalGradientStepToTheTrustRegionBoundary) {
  // loss(x) = gᵀx, KL(x) = ½ (x − x₀)ᵀ A (x − x₀): the step is −√(2δ / gᵀA⁻¹g) A⁻¹g,
  // whose KL is exactly δ; the strict line-search test then takes 0.8 of it.
  torch::manual_seed(2);
  const auto m = torch::randn({4, 4}, f64);
  const auto a = m.matmul(m.t()) + torch::eye(4, f64);
  const auto g = torch::randn({4}, f64);
  const auto x0 = torch::randn({4}, f64);
  auto x = x0.clone().requires_grad_(true);
  auto evaluate = [&](bool) {
    const auto delta = x - x0;
    return SurrogateAndKl{g.dot(x), 0.5 * delta.dot(a.matmul(delta))};
  };
  TrpoOptions options;
  options.max_kl = 0.02;
  options.cg_iterations = 20;
  options.cg_damping = 0.0;
  const auto result = trpo_step({x}, evaluate, options);
  ASSERT_EQ(result.backtracks, 1);
  const auto natural = at::linalg_solve(a, g, /*left=*/true);
  const auto expected = x0 - 0.8 * std::sqrt(2 * 0.02 / g.dot(natural).item<double>()) * natural;
  EXPECT_TRUE(torch::allclose(x.detach(), expected, 0.0, 1e-9));
  EXPECT_NEAR(result.kl, 0.64 * 0.02, 1e-9);
  EXPECT_LT(result.loss_after, result.loss_before);
}

TEST(TrpoStep, KeepsTheOldParametersWhenNoStepImproves) {
  // A loss that rises along every direction the step could take: x·x at x = 0.
  auto x = torch::zeros({3}, f64).requires_grad_(true);
  auto evaluate = [&](bool) { return SurrogateAndKl{x.dot(x) + x.sum(), 0.5 * x.dot(x)}; };
  TrpoOptions options;
  options.max_kl = 100.0;  // a huge region: every full step overshoots the minimum of x·x + Σx
  options.line_search_steps = 2;
  options.line_search_ratio = 0.9;
  const auto result = trpo_step({x}, evaluate, options);
  EXPECT_EQ(result.backtracks, -1);
  EXPECT_TRUE(torch::equal(x.detach(), torch::zeros({3}, f64)));
}

class LinearizedAdaptationTest : public ::testing::TestWithParam<agents::Estimator> {
 protected:
  static constexpr int kTasks = 3;
  static constexpr int kRollouts = 4;
  static constexpr int kHorizon = 5;

  void SetUp() override {
    torch::manual_seed(0);
    policy_ = std::make_shared<agents::GaussianMlpPolicy>(2, 2, agents::MlpOptions{{6, 6}, agents::Activation::kTanh, -0.5});
    learner_ = std::make_unique<MetaLearner>(policy_, Algorithm::kMetaSgd, 0.1, 3, f64, GetParam());
    {
      torch::NoGradGuard no_grad;
      for (auto& a : learner_->alpha()) a.add_(0.05 * torch::randn_like(a));
    }
    envs::PointNav env(kTasks * kRollouts, 1);
    agents::Sampler sampler(env, *policy_, kTasks, kRollouts, kHorizon, torch::kCPU, 2);
    Rng rng(4);
    const auto tasks = env.task_distribution().sample(kTasks, envs::Split::kTrain, rng);
    ParameterList float_params;
    for (const auto& p : learner_->theta()) float_params.push_back(p.detach().to(torch::kFloat32));
    batches_ = {sampler.sample(float_params, tasks).to(f64), sampler.sample(float_params, tasks).to(f64)};
  }

  // θ' through `steps` inner steps, differentiable in θ and α.
  ParameterList adapt(int steps, bool create_graph) const {
    ParameterList params = learner_->theta();
    for (int j = 0; j < steps; ++j) params = learner_->adapt_step(params, batches_[j], options_, create_graph);
    return params;
  }

  std::shared_ptr<agents::GaussianMlpPolicy> policy_;
  std::unique_ptr<MetaLearner> learner_;
  std::vector<Trajectories> batches_;
  agents::AdvantageOptions options_;
};

TEST_P(LinearizedAdaptationTest, TransposedProductEqualsAutogradThroughAdaptStep) {
  for (int steps : {1, 2}) {
    const LinearizedAdaptation linearized(*learner_, {batches_.begin(), batches_.begin() + steps}, options_);
    const auto adapted = adapt(steps, /*create_graph=*/true);
    for (size_t i = 0; i < adapted.size(); ++i) {
      EXPECT_TRUE(torch::allclose(adapted[i], linearized.adapted()[i], 0.0, 1e-12));
    }
    const auto u = random_like(adapted);
    const auto reference = agents::gradients(dot_graph(adapted, u), learner_->meta_parameters(), {});
    const auto [u_theta, u_alpha] = linearized.transposed(u);
    const size_t n = learner_->theta().size();
    for (size_t i = 0; i < n; ++i) {
      EXPECT_TRUE(torch::allclose(u_theta[i], reference[i], 1e-9, 1e-11)) << steps << " steps, theta " << i;
      EXPECT_TRUE(torch::allclose(u_alpha[i], reference[n + i], 1e-9, 1e-11)) << steps << " steps, alpha " << i;
    }
  }
}

TEST_P(LinearizedAdaptationTest, ForwardIsTheAdjointOfTransposed) {
  const LinearizedAdaptation linearized(*learner_, {batches_[0], batches_[1]}, options_);
  const auto v_theta = random_like(learner_->theta());
  const auto v_alpha = random_like(learner_->alpha());
  const auto u = random_like(linearized.adapted());
  const auto jv = linearized.forward(v_theta, v_alpha);
  const auto [u_theta, u_alpha] = linearized.transposed(u);
  const double left = dot(jv, u);
  const double right = dot(v_theta, u_theta) + dot(v_alpha, u_alpha);
  EXPECT_NEAR(left, right, 1e-10 * std::max(1.0, std::abs(left)));
}

TEST_P(LinearizedAdaptationTest, AnalyticKernelsGiveAutogradsProducts) {
  // The fixture's learner uses the analytic kernels (the default); a twin with the
  // same θ and α differentiates by autograd's double backward.
  ASSERT_EQ(learner_->kernels(), agents::Kernels::kAnalytic);
  MetaLearner reference(policy_, Algorithm::kMetaSgd, 0.1, 3, f64, GetParam(), agents::Kernels::kAutograd);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < reference.theta().size(); ++i) {
      reference.theta()[i].copy_(learner_->theta()[i]);
      reference.alpha()[i].copy_(learner_->alpha()[i]);
    }
  }
  const LinearizedAdaptation analytic(*learner_, {batches_[0], batches_[1]}, options_);
  const LinearizedAdaptation autograd(reference, {batches_[0], batches_[1]}, options_);
  const auto v_theta = random_like(learner_->theta());
  const auto v_alpha = random_like(learner_->alpha());
  const auto u = random_like(analytic.adapted());
  const auto jv = analytic.forward(v_theta, v_alpha);
  const auto jv_reference = autograd.forward(v_theta, v_alpha);
  const auto [u_theta, u_alpha] = analytic.transposed(u);
  const auto [u_theta_reference, u_alpha_reference] = autograd.transposed(u);
  for (size_t i = 0; i < jv.size(); ++i) {
    EXPECT_TRUE(torch::allclose(analytic.adapted()[i], autograd.adapted()[i], 1e-12, 1e-13)) << i;
    EXPECT_TRUE(torch::allclose(jv[i], jv_reference[i], 1e-10, 1e-12)) << i;
    EXPECT_TRUE(torch::allclose(u_theta[i], u_theta_reference[i], 1e-10, 1e-12)) << i;
    EXPECT_TRUE(torch::allclose(u_alpha[i], u_alpha_reference[i], 1e-10, 1e-12)) << i;
  }
}

TEST_P(LinearizedAdaptationTest, OneTrpoStepWithAnalyticKernelsIsAutogradsStep) {
  // In double, at MAML's damping: the whole step (meta-gradient, CG on the curvature
  // products, line search) of a Meta-SGD learner with the analytic kernels against its
  // autograd twin. Outer rollouts: the second batch.
  MetaLearner reference(policy_, Algorithm::kMetaSgd, 0.1, 3, f64, GetParam(), agents::Kernels::kAutograd);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < reference.theta().size(); ++i) {
      reference.theta()[i].copy_(learner_->theta()[i]);
      reference.alpha()[i].copy_(learner_->alpha()[i]);
    }
  }
  const auto theta = flatten_parameters(agents::detach(learner_->meta_parameters())).clone();
  MetaBatch batch;
  batch.inner = {batches_[0]};
  batch.adapted = agents::detach(adapt(1, /*create_graph=*/false));
  batch.outer = batches_[1];
  for (int workers : {1, 2}) {  // 2: the analytic evaluations and gradient by task group
    TrainConfig config = metarl::testing::small_point_nav_config("trpo");
    config.algo = Algorithm::kMetaSgd;
    config.estimator = GetParam();
    config.runtime.workers = workers;
    for (MetaLearner* learner : {learner_.get(), &reference}) {
      torch::NoGradGuard no_grad;
      const auto parameters = learner->meta_parameters();
      int64_t offset = 0;
      for (const auto& p : parameters) {
        p.copy_(theta.slice(0, offset, offset + p.numel()).view_as(p));
        offset += p.numel();
      }
    }
    auto analytic_step = make_trpo_step(OuterStepContext{config, *learner_, torch::kCPU});
    auto autograd_step = make_trpo_step(OuterStepContext{config, reference, torch::kCPU});
    const auto a = analytic_step->step(batch);
    const auto b = autograd_step->step(batch);
    EXPECT_NEAR(a.meta_loss, b.meta_loss, 1e-12 * std::max(1.0, std::abs(b.meta_loss))) << workers << " workers";
    const auto x = flatten_parameters(agents::detach(learner_->meta_parameters())) - theta;
    const auto y = flatten_parameters(agents::detach(reference.meta_parameters())) - theta;
    ASSERT_GT(y.norm().item<double>(), 0.0) << "the reference step was rejected";
    // The gradient and each product agree to 1e-9 and better (above); CG at MAML's
    // damping 1e-5 amplifies double rounding to 1e-6–3e-6 of the step here.
    EXPECT_LT((x - y).norm().item<double>(), 1e-5 * y.norm().item<double>()) << workers << " workers";
  }
}

TEST_P(LinearizedAdaptationTest, SurrogateGradientIsTheTransposedPolicyGradient) {
  // What TRPO's analytic gradient computes (outer_trpo.cpp): at the old point every
  // importance weight is 1, so ∇ of the surrogate's task mean in (θ, α) is
  // Jᵀ (−Σ ŵ ∇ log π) / T. Against autograd through adapt_step, scale included (a
  // TRPO step itself cannot see the gradient's scale: the trust region rescales it).
  const auto& outer = batches_[1];
  const auto adapted = adapt(1, /*create_graph=*/true);
  const auto advantages = agents::compute_advantages(outer, options_);
  torch::Tensor old_log_probs;
  {
    torch::NoGradGuard no_grad;
    old_log_probs = policy_->log_prob(outer.observations, outer.actions, adapted);
  }
  const auto surrogate =
      agents::importance_weighted_loss(policy_->log_prob(outer.observations, outer.actions, adapted), old_log_probs,
                                       advantages, outer.mask)
          .mean();
  const auto reference = agents::gradients(surrogate, learner_->meta_parameters(), {});
  const LinearizedAdaptation linearized(*learner_, {batches_[0]}, options_);
  const auto at_adapted = policy_->linearize(outer.observations, outer.actions, linearized.adapted());
  auto u = agents::inner_loss_gradient(*at_adapted, advantages, outer.mask);
  for (auto& piece : u) piece.div_(kTasks);
  const auto [u_theta, u_alpha] = linearized.transposed(u);
  const size_t n = learner_->theta().size();
  for (size_t i = 0; i < n; ++i) {
    EXPECT_TRUE(torch::allclose(u_theta[i], reference[i], 1e-9, 1e-12)) << "theta " << i;
    EXPECT_TRUE(torch::allclose(u_alpha[i], reference[n + i], 1e-9, 1e-12)) << "alpha " << i;
  }
}

// The adapted parameters' values do not depend on the estimator, only their
// derivatives do; finite differences see the plain (pathwise) Jacobian.
using PlainLinearizedAdaptationTest = LinearizedAdaptationTest;

TEST_P(PlainLinearizedAdaptationTest, ForwardMatchesFiniteDifferencesOfTheAdaptation) {
  const LinearizedAdaptation linearized(*learner_, {batches_[0]}, options_);
  const auto v_theta = random_like(learner_->theta());
  const auto v_alpha = random_like(learner_->alpha());
  const auto jv = linearized.forward(v_theta, v_alpha);
  const double epsilon = 1e-6;
  auto shifted = [&](double sign) {
    torch::NoGradGuard no_grad;
    const auto params = learner_->meta_parameters();
    const size_t n = learner_->theta().size();
    for (size_t i = 0; i < params.size(); ++i) params[i].add_(sign * epsilon * (i < n ? v_theta[i] : v_alpha[i - n]));
    return params;
  };
  shifted(+1.0);
  const auto plus = agents::detach(adapt(1, false));
  shifted(-2.0);
  const auto minus = agents::detach(adapt(1, false));
  shifted(+1.0);
  for (size_t i = 0; i < jv.size(); ++i) {
    const auto numeric = (plus[i] - minus[i]) / (2 * epsilon);
    EXPECT_TRUE(torch::allclose(jv[i], numeric, 1e-5, 1e-7)) << "parameter " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Estimators, LinearizedAdaptationTest,
                         ::testing::Values(agents::Estimator::kPlain, agents::Estimator::kDice, agents::Estimator::kLvc),
                         [](const auto& test_info) { return agents::to_string(test_info.param); });
INSTANTIATE_TEST_SUITE_P(Plain, PlainLinearizedAdaptationTest, ::testing::Values(agents::Estimator::kPlain),
                         [](const auto& test_info) { return agents::to_string(test_info.param); });

TrainConfig small_trpo_config() {
  TrainConfig config = metarl::testing::small_point_nav_config("trpo");
  trpo_options(config).max_kl = 0.01;
  return config;
}

TEST(TrpoTraining, EveryAcceptedStepStaysInTheTrustRegion) {
  for (const char* algo : {"meta-sgd", "maml", "pretrained"}) {
    auto config = small_trpo_config();
    config.algo = parse_algorithm(algo);
    MetaTrainer trainer(config);
    ParameterList before;
    for (const auto& p : trainer.learner().meta_parameters()) before.push_back(p.detach().clone());
    int accepted = 0;
    for (int i = 0; i < 4; ++i) {
      const auto metrics = trainer.run_iteration();
      ASSERT_TRUE(std::isfinite(metrics.meta_loss)) << algo;
      if (metrics.step_metric("backtracks") >= 0) {
        ++accepted;
        EXPECT_GT(metrics.step_metric("kl"), 0.0) << algo;
        EXPECT_LT(metrics.step_metric("kl"), trpo_options(config).max_kl) << algo;
      }
      if (config.algo == Algorithm::kPretrained) {
        EXPECT_EQ(metrics.return_after, metrics.return_before);
      }
    }
    EXPECT_GT(accepted, 0) << algo;
    const auto after = trainer.learner().meta_parameters();
    EXPECT_FALSE(torch::equal(before[0], after[0].detach())) << algo;
  }
}

TEST(TrpoTraining, SplittingTheTasksOverWorkersTakesTheSameStep) {
  // The curvature products are sums over tasks; 3 workers take 2 of the 6 tasks
  // each. Only the order of float additions differs from one worker.
  auto config = small_trpo_config();
  config.algo = Algorithm::kMetaSgd;
  config.runtime.workers = 1;
  MetaTrainer serial(config);
  config.runtime.workers = 3;
  MetaTrainer parallel(config);
  ParameterList before;
  for (const auto& p : serial.learner().meta_parameters()) before.push_back(p.detach().clone());
  const auto a = serial.run_iteration();
  const auto b = parallel.run_iteration();
  EXPECT_EQ(a.return_before, b.return_before);
  EXPECT_EQ(a.step_metric("backtracks"), b.step_metric("backtracks"));
  EXPECT_NEAR(a.step_metric("kl"), b.step_metric("kl"), 1e-6);
  // CG in float32 amplifies rounding along weakly curved directions, so the steps
  // agree to a relative 1e-3 rather than bit for bit.
  const auto before_flat = flatten_parameters(before);
  const auto serial_step = flatten_parameters(agents::detach(serial.learner().meta_parameters())) - before_flat;
  const auto parallel_step = flatten_parameters(agents::detach(parallel.learner().meta_parameters())) - before_flat;
  EXPECT_GT(serial_step.norm().item<double>(), 0.0);
  EXPECT_LT((parallel_step - serial_step).norm().item<double>(), 1e-3 * serial_step.norm().item<double>());
}

TEST(TrpoTraining, AnalyticKernelsTrainAsAutogradDoesToFloatRounding) {
  // The numbers contract of issue N: a float32 run with the analytic kernels follows
  // the autograd run over its first iterations, for a Gaussian and a categorical
  // head, Meta-SGD and MAML, two inner steps, every estimator. With MAML's damping
  // (1e-5) CG amplifies float rounding along weakly curved directions: changing only
  // the workers (the order of additions) moves the first step's KL by 0.1–3% here.
  // Damping 0.1 keeps the solve well conditioned, so what is left is the kernels' own
  // rounding (measured: 2e-5 relative in the first step's KL, up to 3e-4 in the second,
  // 4e-4 in the parameters after two; the workers test allows 1e-3). From the third
  // step on, rollouts sampled by policies 1e-4 apart and dice's variance let the runs
  // drift apart as any rounding change does (0.5% in a KL at the third): that is what
  // re-measuring the protocols' results checks (docs/benchmarks.md).
  struct Case {
    const char* env;
    Algorithm algo;
    agents::Estimator estimator;
  };
  for (const Case& c : {Case{"point-nav", Algorithm::kMetaSgd, agents::Estimator::kLvc},
                        Case{"point-nav", Algorithm::kMaml, agents::Estimator::kDice},
                        Case{"cartpole", Algorithm::kMetaSgd, agents::Estimator::kPlain},
                        Case{"cartpole", Algorithm::kMaml, agents::Estimator::kLvc}}) {
    auto config = small_trpo_config();
    config.env = c.env;
    config.algo = c.algo;
    config.estimator = c.estimator;
    config.inner_steps = 2;
    trpo_options(config).cg_damping = 0.1;
    config.kernels = agents::Kernels::kAnalytic;
    MetaTrainer analytic(config);
    config.kernels = agents::Kernels::kAutograd;
    MetaTrainer autograd(config);
    const std::string label = std::string(c.env) + " " + to_string(c.algo) + " " + agents::to_string(c.estimator);
    for (int i = 0; i < 2; ++i) {
      const auto a = analytic.run_iteration();
      const auto b = autograd.run_iteration();
      if (i == 0) EXPECT_EQ(a.return_before, b.return_before) << label;  // the same rollouts
      EXPECT_NEAR(a.return_before, b.return_before, 1e-4 * std::abs(b.return_before)) << label << ", iteration " << i;
      EXPECT_NEAR(a.meta_loss, b.meta_loss, 1e-4 * std::max(1.0, std::abs(b.meta_loss))) << label << ", iteration " << i;
      EXPECT_EQ(a.step_metric("backtracks"), b.step_metric("backtracks")) << label << ", iteration " << i;
      EXPECT_NEAR(a.step_metric("kl"), b.step_metric("kl"), 1e-3 * b.step_metric("kl")) << label << ", iteration " << i;
    }
    const auto x = flatten_parameters(agents::detach(analytic.learner().meta_parameters()));
    const auto y = flatten_parameters(agents::detach(autograd.learner().meta_parameters()));
    EXPECT_LT((x - y).norm().item<double>(), 1e-3 * y.norm().item<double>()) << label;
  }
}

TEST(TrpoTraining, PretrainedWithAdamTrainsOnePolicyAndRandomNeedsNoTraining) {
  auto config = small_trpo_config();
  config.algo = Algorithm::kPretrained;
  config.optimizer = "adam";
  MetaTrainer trainer(config);
  EXPECT_FALSE(trainer.learner().learns_alpha());
  const auto metrics = trainer.run_iteration();
  EXPECT_EQ(metrics.return_after, metrics.return_before);
  config.algo = Algorithm::kRandom;
  EXPECT_THROW(MetaTrainer{config}, UsageError);
}

}  // namespace
}  // namespace metarl::meta
