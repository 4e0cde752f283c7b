// Issue N: the analytic kernels (agents/policy_kernels.h) against autograd, the
// reference, and against finite differences, for both shipped heads, both
// activations and every estimator.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <tuple>

#include "agents/autograd.h"
#include "agents/policy.h"
#include "agents/surrogate.h"

namespace metarl::agents {
namespace {

constexpr int64_t kTasks = 3, kRollouts = 4, kHorizon = 5, kObservation = 3;

struct Problem {
  std::shared_ptr<Policy> policy;
  ParameterList params;     // task-batched leaves [T, …], requires grad
  ParameterList direction;  // a random v of the same shapes
  torch::Tensor observations, actions, advantages, mask;  // [T, R, H, …]
};

// A random problem in `dtype`: parameters away from the initialisation (so ReLU's
// kinks and tanh's curvature both matter), padding after some episodes' ends.
Problem make_problem(bool categorical, Activation activation, torch::Dtype dtype, uint64_t seed) {
  torch::manual_seed(seed);
  MlpOptions options;
  options.hidden_sizes = {8, 6};
  options.activation = activation;
  Problem p;
  const int actions = categorical ? 3 : 2;
  if (categorical) {
    p.policy = std::make_shared<CategoricalMlpPolicy>(kObservation, actions, options);
  } else {
    p.policy = std::make_shared<GaussianMlpPolicy>(kObservation, actions, options);
  }
  const auto tensor_options = torch::TensorOptions().dtype(dtype);
  for (const auto& spec : p.policy->parameter_specs()) {
    std::vector<int64_t> shape{kTasks};
    shape.insert(shape.end(), spec.shape.begin(), spec.shape.end());
    p.params.push_back((0.7 * torch::randn(shape, tensor_options)).requires_grad_(true));
    p.direction.push_back(torch::randn(shape, tensor_options));
  }
  p.observations = torch::randn({kTasks, kRollouts, kHorizon, kObservation}, tensor_options);
  if (categorical) {
    p.actions = torch::randint(0, actions, {kTasks, kRollouts, kHorizon, 1}, tensor_options);
  } else {
    p.actions = torch::randn({kTasks, kRollouts, kHorizon, actions}, tensor_options);
  }
  p.advantages = torch::randn({kTasks, kRollouts, kHorizon}, tensor_options);
  p.mask = torch::ones({kTasks, kRollouts, kHorizon}, tensor_options);
  p.mask.index_put_({0, 1, torch::indexing::Slice(3)}, 0.0);  // episodes that ended early
  p.mask.index_put_({2, 3, torch::indexing::Slice(1)}, 0.0);
  p.advantages = p.advantages * p.mask;
  return p;
}

double relative_difference(const ParameterList& a, const ParameterList& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double scale = std::max(b[i].abs().max().item<double>(), 1e-12);
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>() / scale);
  }
  return worst;
}

torch::Tensor autograd_inner_loss(const Problem& p, const ParameterList& params, Estimator estimator) {
  const auto log_probs = p.policy->log_prob(p.observations, p.actions, params);
  return inner_objective_loss(log_probs, p.advantages, p.mask, estimator).sum();
}

using Case = std::tuple<bool, Activation, Estimator>;

class PolicyKernels : public ::testing::TestWithParam<Case> {};

TEST_P(PolicyKernels, InnerGradientAndHessianProductEqualAutograd) {
  const auto [categorical, activation, estimator] = GetParam();
  const Problem p = make_problem(categorical, activation, torch::kDouble, 11);
  const auto kernels = p.policy->linearize(p.observations, p.actions, detach(p.params));
  ASSERT_NE(kernels, nullptr);

  const auto log_probs = p.policy->log_prob(p.observations, p.actions, p.params).reshape({kTasks, -1});
  EXPECT_LT((kernels->log_probs() - log_probs).abs().max().item<double>(), 1e-12);

  GradOptions differentiable;
  differentiable.create_graph = true;
  const auto gradient = gradients(autograd_inner_loss(p, p.params, estimator), p.params, differentiable);
  const auto analytic_gradient = inner_loss_gradient(*kernels, p.advantages, p.mask);
  EXPECT_LT(relative_difference(analytic_gradient, detach(gradient)), 1e-12);

  const auto product = gradient_dot_derivative(gradient, p.params, p.direction);
  const auto analytic_product = InnerLossHessian(*kernels, p.advantages, p.mask, estimator).product(p.direction);
  EXPECT_LT(relative_difference(analytic_product, product), 1e-10);
}

// The two heads and two activations, where the estimator plays no part.
using Head = std::tuple<bool, Activation>;
class PolicyHeadKernels : public ::testing::TestWithParam<Head> {};

TEST_P(PolicyHeadKernels, HessianProductEqualsFiniteDifferenceOfTheGradient) {
  // H v ≈ (∇L(θ + εv) − ∇L(θ − εv)) / 2ε for plain, whose Hessian is the loss's own:
  // dice's and lvc's boxes are re-centred wherever they are evaluated, so their
  // Hessians are no finite difference of a gradient (autograd checks them above).
  const auto [categorical, activation] = GetParam();
  const Estimator estimator = Estimator::kPlain;
  const Problem p = make_problem(categorical, activation, torch::kDouble, 12);
  const double epsilon = 1e-6;
  auto moved = [&](double sign) {
    ParameterList q;
    for (size_t i = 0; i < p.params.size(); ++i) q.push_back((p.params[i] + sign * epsilon * p.direction[i]).detach());
    return inner_loss_gradient(*p.policy->linearize(p.observations, p.actions, q), p.advantages, p.mask);
  };
  const auto plus = moved(1.0), minus = moved(-1.0);
  ParameterList difference;
  for (size_t i = 0; i < plus.size(); ++i) difference.push_back((plus[i] - minus[i]) / (2 * epsilon));
  const auto kernels = p.policy->linearize(p.observations, p.actions, detach(p.params));
  const auto product = InnerLossHessian(*kernels, p.advantages, p.mask, estimator).product(p.direction);
  EXPECT_LT(relative_difference(product, difference), 1e-6);
}

TEST_P(PolicyHeadKernels, KlHessianProductEqualsAutogradAndFiniteDifferences) {
  const auto [categorical, activation] = GetParam();
  const Problem p = make_problem(categorical, activation, torch::kDouble, 13);
  const auto old_params = detach(p.params);
  const auto weights = p.mask.reshape({kTasks, -1}) / p.mask.sum();
  auto kl = [&](const ParameterList& params) {
    return (p.policy->kl_divergence(p.observations, old_params, params) * p.mask).sum() / p.mask.sum();
  };
  GradOptions differentiable;
  differentiable.create_graph = true;
  const auto kl_gradient = gradients(kl(p.params), p.params, differentiable);
  const auto product = gradient_dot_derivative(kl_gradient, p.params, p.direction);
  const auto kernels = p.policy->linearize(p.observations, {}, old_params);
  const auto analytic = kernels->kl_hessian_product(p.direction, weights);
  EXPECT_LT(relative_difference(analytic, product), 1e-10);

  // Second differences of the KL along v: vᵀHv ≈ (KL(θ+εv) − 2 KL(θ) + KL(θ−εv)) / ε².
  const double epsilon = 1e-4;
  auto along = [&](double t) {
    ParameterList q;
    for (size_t i = 0; i < old_params.size(); ++i) q.push_back(old_params[i] + t * p.direction[i]);
    return kl(q).item<double>();
  };
  const double second_difference = (along(epsilon) - 2 * along(0.0) + along(-epsilon)) / (epsilon * epsilon);
  double curvature = 0;
  for (size_t i = 0; i < analytic.size(); ++i) curvature += (analytic[i] * p.direction[i]).sum().item<double>();
  EXPECT_NEAR(curvature, second_difference, 1e-5 * std::abs(second_difference));
}

TEST_P(PolicyKernels, Float32AgreesWithAutogradToFloatTolerance) {
  const auto [categorical, activation, estimator] = GetParam();
  const Problem p = make_problem(categorical, activation, torch::kFloat32, 14);
  const auto kernels = p.policy->linearize(p.observations, p.actions, detach(p.params));
  GradOptions differentiable;
  differentiable.create_graph = true;
  const auto gradient = gradients(autograd_inner_loss(p, p.params, estimator), p.params, differentiable);
  EXPECT_LT(relative_difference(inner_loss_gradient(*kernels, p.advantages, p.mask), detach(gradient)), 1e-5);
  const auto product = gradient_dot_derivative(gradient, p.params, p.direction);
  EXPECT_LT(relative_difference(InnerLossHessian(*kernels, p.advantages, p.mask, estimator).product(p.direction), product),
            1e-5);
}

TEST_P(PolicyKernels, CudaComputesTheCpuProducts) {
  // The same tensor formulas on a GPU (issue N): float32 there against float32 here.
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const auto [categorical, activation, estimator] = GetParam();
  const Problem p = make_problem(categorical, activation, torch::kFloat32, 15);
  const torch::Device cuda(torch::kCUDA);
  auto on = [&](const ParameterList& list) {
    ParameterList out;
    for (const auto& t : list) out.push_back(t.detach().to(cuda));
    return out;
  };
  auto on_cpu = [](const ParameterList& list) {
    ParameterList out;
    for (const auto& t : list) out.push_back(t.to(torch::kCPU));
    return out;
  };
  const auto cpu = p.policy->linearize(p.observations, p.actions, detach(p.params));
  const auto gpu = p.policy->linearize(p.observations.to(cuda), p.actions.to(cuda), on(p.params));
  const auto weights = p.mask.reshape({kTasks, -1}) / p.mask.sum();
  EXPECT_LT(relative_difference(on_cpu(inner_loss_gradient(*gpu, p.advantages.to(cuda), p.mask.to(cuda))),
                                inner_loss_gradient(*cpu, p.advantages, p.mask)),
            1e-4);
  EXPECT_LT(relative_difference(
                on_cpu(InnerLossHessian(*gpu, p.advantages.to(cuda), p.mask.to(cuda), estimator).product(on(p.direction))),
                InnerLossHessian(*cpu, p.advantages, p.mask, estimator).product(p.direction)),
            1e-4);
  EXPECT_LT(relative_difference(on_cpu(gpu->kl_hessian_product(on(p.direction), weights.to(cuda))),
                                cpu->kl_hessian_product(p.direction, weights)),
            1e-4);
}

INSTANTIATE_TEST_SUITE_P(
    HeadsActivationsEstimators, PolicyKernels,
    ::testing::Combine(::testing::Bool(), ::testing::Values(Activation::kTanh, Activation::kRelu),
                       ::testing::Values(Estimator::kPlain, Estimator::kLvc, Estimator::kDice)),
    [](const ::testing::TestParamInfo<Case>& case_info) {
      return std::string(std::get<0>(case_info.param) ? "categorical_" : "gaussian_") +
             to_string(std::get<1>(case_info.param)) + "_" + to_string(std::get<2>(case_info.param));
    });
INSTANTIATE_TEST_SUITE_P(HeadsActivations, PolicyHeadKernels,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Values(Activation::kTanh, Activation::kRelu)),
                         [](const ::testing::TestParamInfo<Head>& head_info) {
                           return std::string(std::get<0>(head_info.param) ? "categorical_" : "gaussian_") +
                                  to_string(std::get<1>(head_info.param));
                         });

}  // namespace
}  // namespace metarl::agents
