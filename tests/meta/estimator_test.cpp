// The meta-gradient estimators against a closed form.
//
// Problem: a one-step bandit. The policy is a ~ N(b, σ²), σ = e^s (a Gaussian MLP
// with no hidden layer and observation 0, so μ = b), the reward r(a) = −(a − g)². The
// expected return and its derivatives are polynomials:
//   J(b, s) = −((b − g)² + e^{2s}),  ∇_b J = −2(b − g),  ∇_s J = −2e^{2s},
//   ∇²J = diag(−2, −4e^{2s}).
// One exact policy-gradient step with Meta-SGD's step sizes (the inner loss is −J):
//   b' = b − 2α_b (b − g),   s' = s − 2α_s e^{2s},
//   J(b', s') = −((1 − 2α_b)² (b − g)² + e^{2s'}).
// The meta-loss is −J(b', s'), so with d = b − g its exact gradient is
//   ∂/∂b   =  2 (1 − 2α_b)² d
//   ∂/∂s   =  2 e^{2s'} (1 − 4α_s e^{2s})
//   ∂/∂α_b = −4 (1 − 2α_b) d²
//   ∂/∂α_s = −4 e^{2s'} e^{2s}
// (MAML's formulation, ProMP §4 "formulation I": the inner step as the exact
// gradient step that the sampled one estimates.)
//
// What the estimators compute: θ' = θ − α ⊙ ĝ from N sampled actions, the outer
// REINFORCE gradient on N fresh actions of θ', and the chain rule through ĝ. The
// outer factor is unbiased for ∇J(θ') given θ', so the estimate is unbiased when
// E[∂θ'/∂θ] = I + α ⊙ ∇²J, i.e. when the inner loss's Hessian estimates ∇²J:
//   dice/lvc (identical for one step): (1/N) Σ r (∇log π ∇log πᵀ + ∇²log π), whose
//            expectation is ∇²J (the score-function identity, differentiated twice);
//   plain:    (1/N) Σ r ∇²log π, expectation diag(−(d² + σ²)/σ², −2(d² + 3σ²)):
//            the wrong curvature, with the wrong sign.
// What is left for dice is second order in 1/N (the covariance of ĝ with its own
// Hessian estimate, ≈ 2α²(8d³/σ² + 44d)/N ≈ 1e-3 here, and the curvature of e^{2s'}),
// far below the statistical tolerance of this test.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <memory>

#include "agents/policy.h"
#include "meta/meta_learner.h"

namespace metarl::meta {
namespace {

using agents::ParameterList;
using agents::Trajectories;

const auto f64 = torch::TensorOptions().dtype(torch::kDouble);

constexpr double kGoal = 0.5;
constexpr double kMean = 1.5;      // b: d = b − g = 1
constexpr double kLogStd = 0.0;    // s: σ = 1
constexpr double kAlphaMean = 0.1;
constexpr double kAlphaLogStd = 0.05;

struct MetaGradient {
  double b, s, alpha_b, alpha_s;
};

MetaGradient exact_meta_gradient() {
  const double d = kMean - kGoal;
  const double var = std::exp(2 * kLogStd);
  const double s_adapted = kLogStd - 2 * kAlphaLogStd * var;
  const double var_adapted = std::exp(2 * s_adapted);
  return {2 * (1 - 2 * kAlphaMean) * (1 - 2 * kAlphaMean) * d, 2 * var_adapted * (1 - 4 * kAlphaLogStd * var),
          -4 * (1 - 2 * kAlphaMean) * d * d, -4 * var_adapted * var};
}

class BanditEstimator {
 public:
  explicit BanditEstimator(agents::Estimator estimator)
      : policy_(std::make_shared<agents::GaussianMlpPolicy>(1, 1, agents::MlpOptions{{}, agents::Activation::kTanh, 0.0})),
        learner_(policy_, Algorithm::kMetaSgd, kAlphaMean, 0, f64, estimator),
        generator_(at::detail::createCPUGenerator(7)) {
    torch::NoGradGuard no_grad;
    auto& theta = learner_.theta();  // [W [1, 1], b [1], log_std [1]]
    theta[0].zero_();
    theta[1].fill_(kMean);
    theta[2].fill_(kLogStd);
    auto& alpha = learner_.alpha();
    alpha[1].fill_(kAlphaMean);
    alpha[2].fill_(kAlphaLogStd);
    options_.gamma = 1.0;
    options_.normalize = false;
    options_.use_baseline = false;  // plain REINFORCE: the closed form has no baseline
  }

  // The meta-gradient averaged over `tasks` independent copies of the bandit, each
  // adapting on `samples` actions and evaluated on `samples` fresh ones.
  MetaGradient estimate(int64_t tasks, int64_t samples) {
    const auto pre = rollouts(learner_.theta(), tasks, samples);
    const auto adapted = learner_.adapt_step(learner_.theta(), pre, options_, /*create_graph=*/true);
    const auto post = rollouts(adapted, tasks, samples);
    const auto loss = learner_.meta_loss(adapted, post, options_);
    const auto params = learner_.meta_parameters();  // θ = [W, b, s], α = [α_W, α_b, α_s]
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    loss.backward();
    return {params[1].grad().item<double>(), params[2].grad().item<double>(), params[4].grad().item<double>(),
            params[5].grad().item<double>()};
  }

 private:
  // One-step episodes [T, N, 1]: observation 0, action from the (per-task) policy.
  Trajectories rollouts(const ParameterList& params, int64_t tasks, int64_t samples) {
    torch::NoGradGuard no_grad;
    Trajectories out;
    out.observations = torch::zeros({tasks, samples, 1, 1}, f64);
    out.actions = policy_->sample(out.observations, agents::detach(params), generator_).to(torch::kDouble);
    out.rewards = -(out.actions.squeeze(-1) - kGoal).square();
    out.mask = torch::ones({tasks, samples, 1}, f64);
    return out;
  }

  std::shared_ptr<agents::GaussianMlpPolicy> policy_;
  MetaLearner learner_;
  agents::AdvantageOptions options_;
  at::Generator generator_;
};

// Mean and standard error over `batches` independent estimates.
struct Summary {
  MetaGradient mean{}, standard_error{};
};

Summary summarize(agents::Estimator estimator, int batches, int64_t tasks, int64_t samples) {
  BanditEstimator bandit(estimator);
  std::vector<MetaGradient> draws;
  for (int i = 0; i < batches; ++i) draws.push_back(bandit.estimate(tasks, samples));
  Summary out;
  auto field = [&](double MetaGradient::*member, double& mean, double& se) {
    double sum = 0, sum_squares = 0;
    for (const auto& d : draws) sum += d.*member;
    mean = sum / batches;
    for (const auto& d : draws) sum_squares += (d.*member - mean) * (d.*member - mean);
    se = std::sqrt(sum_squares / (batches - 1) / batches);
  };
  field(&MetaGradient::b, out.mean.b, out.standard_error.b);
  field(&MetaGradient::s, out.mean.s, out.standard_error.s);
  field(&MetaGradient::alpha_b, out.mean.alpha_b, out.standard_error.alpha_b);
  field(&MetaGradient::alpha_s, out.mean.alpha_s, out.standard_error.alpha_s);
  return out;
}

constexpr int kBatches = 30;
constexpr int64_t kTasks = 50;
constexpr int64_t kSamples = 1000;

// |estimate − exact| within 4 standard errors (plus the O(1/N) remainder, 0.005).
void expect_unbiased(const Summary& summary, const MetaGradient& exact) {
  EXPECT_NEAR(summary.mean.b, exact.b, 4 * summary.standard_error.b + 5e-3) << "d/db";
  EXPECT_NEAR(summary.mean.s, exact.s, 4 * summary.standard_error.s + 5e-3) << "d/ds";
  EXPECT_NEAR(summary.mean.alpha_b, exact.alpha_b, 4 * summary.standard_error.alpha_b + 5e-3) << "d/dalpha_b";
  EXPECT_NEAR(summary.mean.alpha_s, exact.alpha_s, 4 * summary.standard_error.alpha_s + 5e-3) << "d/dalpha_s";
}

TEST(Estimator, DiceMetaGradientMatchesTheClosedForm) {
  const auto summary = summarize(agents::Estimator::kDice, kBatches, kTasks, kSamples);
  expect_unbiased(summary, exact_meta_gradient());
  // The test has power: its tolerance is far tighter than plain's error below.
  EXPECT_LT(summary.standard_error.b, 0.02);
  EXPECT_LT(summary.standard_error.s, 0.05);
}

TEST(Estimator, LvcEqualsDiceOnOneStepEpisodes) {
  expect_unbiased(summarize(agents::Estimator::kLvc, kBatches, kTasks, kSamples), exact_meta_gradient());
}

TEST(Estimator, PlainMetaGradientHasTheWrongCurvature) {
  // Expected plain estimate: the outer factor (2(b' − g), 2e^{2s'}) times
  // I − α ⊙ E[Ĥ_plain], with E[Ĥ_plain] = [[−(d² + σ²)/σ², −4d], [−4d, −2(d² + 3σ²)]]
  // (the exact Hessian is diag(2, 4σ²): plain even invents a b–s coupling):
  //   d/db ≈ 2(1 − 2α_b) d · (1 + α_b (d² + σ²)/σ²) + 2e^{2s'} · 4α_s d
  //   d/ds ≈ 2e^{2s'} · (1 + 2α_s (d² + 3σ²)) + 2(1 − 2α_b) d · 4α_b d
  const auto summary = summarize(agents::Estimator::kPlain, kBatches, kTasks, kSamples);
  const auto exact = exact_meta_gradient();
  const double d = kMean - kGoal;
  const double var = std::exp(2 * kLogStd);
  const double s_adapted = kLogStd - 2 * kAlphaLogStd * var;
  const double outer_b = 2 * (1 - 2 * kAlphaMean) * d;
  const double outer_s = 2 * std::exp(2 * s_adapted);
  const double plain_b = outer_b * (1 + kAlphaMean * (d * d + var) / var) + outer_s * 4 * kAlphaLogStd * d;
  const double plain_s = outer_s * (1 + 2 * kAlphaLogStd * (d * d + 3 * var)) + outer_b * 4 * kAlphaMean * d;
  EXPECT_NEAR(summary.mean.b, plain_b, 4 * summary.standard_error.b + 5e-3);
  EXPECT_NEAR(summary.mean.s, plain_s, 4 * summary.standard_error.s + 5e-3);
  // ... and far from the truth: 2.28 against 1.28 in b, 3.17 against 1.45 in s.
  EXPECT_GT(std::abs(summary.mean.b - exact.b), 20 * summary.standard_error.b);
  EXPECT_GT(std::abs(summary.mean.s - exact.s), 20 * summary.standard_error.s);
  // The α-gradients involve no second derivative of the inner loss: plain gets them right.
  EXPECT_NEAR(summary.mean.alpha_b, exact.alpha_b, 4 * summary.standard_error.alpha_b + 5e-3);
  EXPECT_NEAR(summary.mean.alpha_s, exact.alpha_s, 4 * summary.standard_error.alpha_s + 5e-3);
}

}  // namespace
}  // namespace metarl::meta
