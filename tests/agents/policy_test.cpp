// The functional Gaussian and categorical MLPs: agree with torch's own modules, their
// task-batched forwards agree with T separate forwards, and their densities, KL
// divergences and samples with the formulas.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "agents/policy.h"

namespace metarl::agents {
namespace {

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  const torch::TensorOptions f64 = torch::TensorOptions().dtype(torch::kDouble);
  GaussianMlpPolicy policy{3, 2, {{16, 8}, Activation::kRelu, -0.5}};
};

TEST_F(PolicyTest, FunctionalForwardEqualsTheModuleForward) {
  const auto params = policy.initial_parameters(1, f64);
  torch::nn::Sequential module(torch::nn::Linear(3, 16), torch::nn::ReLU(), torch::nn::Linear(16, 8),
                               torch::nn::ReLU(), torch::nn::Linear(8, 2));
  module->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    int index = 0;
    for (auto& p : module->parameters()) p.copy_(params[index++]);  // weight, bias per Linear, in order
  }
  const auto obs = torch::randn({5, 3}, f64);
  EXPECT_TRUE(torch::allclose(policy.mean(obs, params), module->forward(obs), 0.0, 1e-14));
}

TEST_F(PolicyTest, TaskBatchedForwardEqualsSeparateForwards) {
  const int64_t tasks = 4;
  ParameterList per_task[tasks];
  std::vector<ParameterList> columns(policy.parameter_specs().size());
  for (int64_t t = 0; t < tasks; ++t) {
    per_task[t] = policy.initial_parameters(100 + t, f64);
    per_task[t].back() = torch::randn({2}, f64);  // distinct log_std per task too
  }
  ParameterList batched;
  for (size_t i = 0; i < per_task[0].size(); ++i) {
    std::vector<torch::Tensor> slices;
    for (int64_t t = 0; t < tasks; ++t) slices.push_back(per_task[t][i]);
    batched.push_back(torch::stack(slices));
  }
  ASSERT_TRUE(is_task_batched(batched));
  const auto obs = torch::randn({tasks, 6, 7, 3}, f64);  // [T, R, H, obs]
  const auto actions = torch::randn({tasks, 6, 7, 2}, f64);
  const auto mean = policy.mean(obs, batched);
  const auto log_prob = policy.log_prob(obs, actions, batched);
  ASSERT_EQ(mean.sizes(), (std::vector<int64_t>{tasks, 6, 7, 2}));
  ASSERT_EQ(log_prob.sizes(), (std::vector<int64_t>{tasks, 6, 7}));
  for (int64_t t = 0; t < tasks; ++t) {
    EXPECT_TRUE(torch::allclose(mean[t], policy.mean(obs[t], per_task[t]), 0.0, 1e-13)) << "task " << t;
    EXPECT_TRUE(torch::allclose(log_prob[t], policy.log_prob(obs[t], actions[t], per_task[t]), 0.0, 1e-12));
  }
}

TEST_F(PolicyTest, LogProbIsTheDiagonalGaussianDensity) {
  auto params = policy.initial_parameters(2, f64);
  params.back() = torch::tensor({-0.3, 0.4}, f64);
  const auto obs = torch::randn({1, 3}, f64);
  const auto action = torch::tensor({{0.7, -1.1}}, f64);
  const auto mu = policy.mean(obs, params);
  double expected = 0.0;
  const double log_sigma[2] = {-0.3, 0.4};
  for (int i = 0; i < 2; ++i) {
    const double sigma = std::exp(log_sigma[i]);
    const double z = (action[0][i].item<double>() - mu[0][i].item<double>()) / sigma;
    expected += -0.5 * z * z - std::log(sigma) - 0.5 * std::log(2.0 * M_PI);
  }
  EXPECT_NEAR(policy.log_prob(obs, action, params).item<double>(), expected, 1e-12);
}

TEST_F(PolicyTest, KlDivergenceIsZeroForEqualPoliciesAndMatchesTheFormula) {
  const auto params = policy.initial_parameters(3, f64);
  auto shifted = params;
  shifted.back() = params.back() + 0.2;                      // σ_new = σ_old · e^0.2
  shifted[shifted.size() - 2] = params[params.size() - 2] + 0.1;  // μ_new = μ_old + 0.1
  const auto obs = torch::randn({4, 3}, f64);
  EXPECT_TRUE(torch::allclose(policy.kl_divergence(obs, params, params), torch::zeros({4}, f64), 0.0, 1e-14));
  // Per dimension: log(σn/σo) + (σo² + Δμ²)/(2σn²) − ½, with σo = e^−0.5, σn = e^−0.3.
  const double so = std::exp(-0.5);
  const double sn = std::exp(-0.3);
  const double per_dim = 0.2 + (so * so + 0.01) / (2 * sn * sn) - 0.5;
  EXPECT_TRUE(torch::allclose(policy.kl_divergence(obs, params, shifted), torch::full({4}, 2 * per_dim, f64), 0.0,
                              1e-12));
}

TEST_F(PolicyTest, SamplesHaveThePolicysMeanAndStandardDeviation) {
  auto params = policy.initial_parameters(4, torch::TensorOptions().dtype(torch::kFloat32));
  params.back() = torch::tensor({std::log(0.5f), std::log(2.0f)});
  const auto obs = torch::zeros({20000, 3});
  at::Generator generator = at::detail::createCPUGenerator(7);
  const auto actions = policy.sample(obs, params, generator);
  const auto mu = policy.mean(obs, params)[0];
  // 20000 draws: standard error of the mean σ/141, of the std about σ/200.
  EXPECT_NEAR(actions.mean(0)[0].item<double>(), mu[0].item<double>(), 0.02);
  EXPECT_NEAR(actions.mean(0)[1].item<double>(), mu[1].item<double>(), 0.06);
  EXPECT_NEAR(actions.std(0)[0].item<double>(), 0.5, 0.01);
  EXPECT_NEAR(actions.std(0)[1].item<double>(), 2.0, 0.04);
  at::Generator same = at::detail::createCPUGenerator(7);
  EXPECT_TRUE(torch::equal(actions, policy.sample(obs, params, same)));
}

TEST_F(PolicyTest, InitialParametersDependOnTheSeedOnly) {
  const auto a = policy.initial_parameters(9, f64);
  const auto b = policy.initial_parameters(9, f64);
  const auto c = policy.initial_parameters(10, f64);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i]));
  EXPECT_FALSE(torch::equal(a[0], c[0]));
  EXPECT_EQ(policy.parameter_specs().back().name, "log_std");
  EXPECT_DOUBLE_EQ(a.back()[0].item<double>(), -0.5);
}

class CategoricalPolicyTest : public ::testing::Test {
 protected:
  const torch::TensorOptions f64 = torch::TensorOptions().dtype(torch::kDouble);
  CategoricalMlpPolicy policy{4, 3, {{16}, Activation::kTanh, 0.0}};
};

TEST_F(CategoricalPolicyTest, LogProbIsTheLogSoftmaxOfTheModuleLogits) {
  torch::manual_seed(1);
  const auto params = policy.initial_parameters(1, f64);
  torch::nn::Sequential module(torch::nn::Linear(4, 16), torch::nn::Tanh(), torch::nn::Linear(16, 3));
  module->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    int index = 0;
    for (auto& p : module->parameters()) p.copy_(params[index++]);
  }
  const auto obs = torch::randn({5, 4}, f64);
  const auto logits = module->forward(obs);
  const auto actions = torch::tensor({0.0, 2.0, 1.0, 1.0, 0.0}, f64).unsqueeze(-1);  // [5, 1] indices
  const auto log_prob = policy.log_prob(obs, actions, params);
  ASSERT_EQ(log_prob.sizes(), (std::vector<int64_t>{5}));
  EXPECT_EQ(policy.action_dim(), 1);
  for (int64_t i = 0; i < 5; ++i) {
    const auto a = static_cast<int64_t>(actions[i][0].item<double>());
    const double expected = logits[i][a].item<double>() - torch::logsumexp(logits[i], 0).item<double>();
    EXPECT_NEAR(log_prob[i].item<double>(), expected, 1e-13) << "row " << i;
  }
}

TEST_F(CategoricalPolicyTest, TaskBatchedEqualsSeparatePerTaskPolicies) {
  torch::manual_seed(2);
  const int64_t tasks = 3;
  std::vector<ParameterList> per_task;
  for (int64_t t = 0; t < tasks; ++t) per_task.push_back(policy.initial_parameters(20 + t, f64));
  ParameterList batched;
  for (size_t i = 0; i < per_task[0].size(); ++i) {
    std::vector<torch::Tensor> slices;
    for (int64_t t = 0; t < tasks; ++t) slices.push_back(per_task[t][i]);
    batched.push_back(torch::stack(slices));
  }
  const auto obs = torch::randn({tasks, 2, 5, 4}, f64);
  const auto actions = torch::randint(0, 3, {tasks, 2, 5, 1}, f64);
  const auto log_prob = policy.log_prob(obs, actions, batched);
  ASSERT_EQ(log_prob.sizes(), (std::vector<int64_t>{tasks, 2, 5}));
  for (int64_t t = 0; t < tasks; ++t) {
    EXPECT_TRUE(torch::allclose(log_prob[t], policy.log_prob(obs[t], actions[t], per_task[t]), 0.0, 1e-13));
  }
}

TEST_F(CategoricalPolicyTest, KlDivergenceMatchesTheFormula) {
  torch::manual_seed(3);
  const auto old_params = policy.initial_parameters(3, f64);
  const auto new_params = policy.initial_parameters(4, f64);
  const auto obs = torch::randn({6, 4}, f64);
  EXPECT_TRUE(torch::allclose(policy.kl_divergence(obs, old_params, old_params), torch::zeros({6}, f64), 0.0, 1e-14));
  const auto p = torch::softmax(policy.log_probabilities(obs, old_params), -1);
  const auto q = torch::softmax(policy.log_probabilities(obs, new_params), -1);
  const auto kl = policy.kl_divergence(obs, old_params, new_params);
  for (int64_t i = 0; i < 6; ++i) {
    double expected = 0.0;
    for (int64_t a = 0; a < 3; ++a) {
      const double pa = p[i][a].item<double>();
      expected += pa * std::log(pa / q[i][a].item<double>());
    }
    EXPECT_NEAR(kl[i].item<double>(), expected, 1e-13);
    EXPECT_GT(kl[i].item<double>(), 0.0);
  }
}

TEST_F(CategoricalPolicyTest, SampleFrequenciesMatchTheProbabilities) {
  auto params = policy.initial_parameters(5, torch::TensorOptions().dtype(torch::kFloat32));
  // Logits independent of the observation: last bias = log(0.2, 0.5, 0.3).
  params[2].zero_();
  params[3] = torch::tensor({std::log(0.2f), std::log(0.5f), std::log(0.3f)});
  const int64_t draws = 60000;
  const auto obs = torch::randn({draws, 4});
  at::Generator generator = at::detail::createCPUGenerator(11);
  const auto actions = policy.sample(obs, params, generator);
  ASSERT_EQ(actions.sizes(), (std::vector<int64_t>{draws, 1}));
  const double expected[3] = {0.2, 0.5, 0.3};
  for (int a = 0; a < 3; ++a) {
    const double frequency = (actions == static_cast<float>(a)).to(torch::kDouble).mean().item<double>();
    // Binomial standard error √(p(1−p)/n) ≤ 0.0021; allow 5 of them.
    EXPECT_NEAR(frequency, expected[a], 5 * std::sqrt(expected[a] * (1 - expected[a]) / draws)) << "action " << a;
  }
  at::Generator same = at::detail::createCPUGenerator(11);
  EXPECT_TRUE(torch::equal(actions, policy.sample(obs, params, same)));
}

}  // namespace
}  // namespace metarl::agents
