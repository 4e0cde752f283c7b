// The policy over a mixture of families (agents/mixed_head_policy.h): each row's
// density is its own family's head's (a Gaussian over its own action components, a
// softmax over its own actions), gradients and KL divergences of one family's rows never
// reach another family's head, gradients agree with finite differences, the
// task-batched layout with the shared one, and samples follow each row's head.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "agents/autograd.h"
#include "agents/mixed_head_policy.h"

namespace metarl::agents {
namespace {

using Family = envs::EnvSpec::Family;

// Three families: a discrete one with 2 actions (observation 3), a discrete one with 3
// actions (observation 2), a continuous one with 2 action components (observation 4).
// D = 4, K = 3, C = 2, M = 3: observations [7], actions [3], trunk output [5].
const std::vector<Family> kFamilies{{"two-actions", 3, true, 1, 2, 50},
                                    {"three-actions", 2, true, 1, 3, 50},
                                    {"plane", 4, false, 2, 0, 50}};
constexpr int kObservationDim = 7;

class MixedHeadPolicyTest : public ::testing::Test {
 protected:
  const torch::TensorOptions f64 = torch::TensorOptions().dtype(torch::kDouble);
  MixedHeadMlpPolicy policy{kObservationDim, kFamilies, {{8}, Activation::kTanh, -0.3}};

  // n rows of each family in turn: padded observations and the one-hot.
  torch::Tensor observations(int rows_per_family, std::uint64_t seed) const {
    torch::manual_seed(seed);
    auto obs = torch::zeros({3 * rows_per_family, kObservationDim}, f64);
    for (int f = 0; f < 3; ++f) {
      auto block = obs.narrow(0, f * rows_per_family, rows_per_family);
      block.narrow(1, 0, kFamilies[f].observation_dim).copy_(torch::randn({rows_per_family, kFamilies[f].observation_dim}, f64));
      block.select(1, 4 + f).fill_(1.0);
    }
    return obs;
  }
  ParameterList parameters() const {
    auto params = policy.initial_parameters(7, f64);
    params.back() = torch::tensor({-0.2, 0.4}, f64);
    for (auto& p : params) p.requires_grad_(true);
    return params;
  }
};

TEST_F(MixedHeadPolicyTest, EachRowsDensityIsItsOwnFamilysHead) {
  const auto params = parameters();
  const auto obs = observations(2, 1);
  auto actions = torch::zeros({6, 3}, f64);
  actions[0][2] = 1;  // two-actions: action 1
  actions[1][2] = 0;
  actions[2][2] = 2;  // three-actions: action 2
  actions[3][2] = 1;
  actions.narrow(0, 4, 2).narrow(1, 0, 2).copy_(torch::tensor({{0.3, -0.7}, {1.1, 0.2}}, f64));
  const auto log_prob = policy.log_prob(obs, actions, params);
  // The trunk by hand: tanh layer, then [mean (2), logits (3)].
  const auto hidden = torch::tanh(torch::matmul(obs, params[0].t()) + params[1]);
  const auto output = torch::matmul(hidden, params[2].t()) + params[3];
  for (int r = 0; r < 4; ++r) {
    const int actions_of_family = r < 2 ? 2 : 3;
    const auto logits = output[r].narrow(0, 2, actions_of_family);
    const auto expected = torch::log_softmax(logits, 0)[actions[r][2].item<int64_t>()];
    EXPECT_NEAR(log_prob[r].item<double>(), expected.item<double>(), 1e-12) << "row " << r;
  }
  for (int r = 4; r < 6; ++r) {
    double expected = 0.0;
    for (int d = 0; d < 2; ++d) {
      const double sigma = std::exp(params.back()[d].item<double>());
      const double z = (actions[r][d].item<double>() - output[r][d].item<double>()) / sigma;
      expected += -0.5 * z * z - std::log(sigma) - 0.5 * std::log(2.0 * M_PI);
    }
    EXPECT_NEAR(log_prob[r].item<double>(), expected, 1e-12) << "row " << r;
  }
}

TEST_F(MixedHeadPolicyTest, OneFamilysRowsNeverReachAnotherFamilysHead) {
  const auto params = parameters();
  const auto obs = observations(2, 2);
  at::Generator generator = at::detail::createCPUGenerator(3);
  const auto actions = policy.act(obs, params, policy.draw_noise({6}, generator));
  const auto log_prob = policy.log_prob(obs, actions.to(torch::kDouble), params);
  GradOptions keep;
  keep.retain_graph = true;
  // The discrete rows: no gradient into log σ nor into the mean's output rows.
  auto grads = gradients(log_prob.narrow(0, 0, 4).sum(), params, keep);
  EXPECT_EQ(grads.back().abs().max().item<double>(), 0.0);
  EXPECT_EQ(grads[2].narrow(0, 0, 2).abs().max().item<double>(), 0.0);  // last layer, mean rows
  // The two-action family's rows never touch the third logit.
  grads = gradients(log_prob.narrow(0, 0, 2).sum(), params, keep);
  EXPECT_EQ(grads[2][4].abs().max().item<double>(), 0.0);
  // The continuous rows: no gradient into the logits' output rows.
  grads = gradients(log_prob.narrow(0, 4, 2).sum(), params, keep);
  EXPECT_EQ(grads[2].narrow(0, 2, 3).abs().max().item<double>(), 0.0);
  EXPECT_GT(grads.back().abs().max().item<double>(), 0.0);
}

TEST_F(MixedHeadPolicyTest, GradientsOfLogProbAndKlAgreeWithFiniteDifferences) {
  const auto params = parameters();
  const auto obs = observations(3, 4);
  torch::manual_seed(5);
  auto actions = torch::randn({9, 3}, f64);
  actions.narrow(1, 2, 1).copy_(torch::tensor({0, 1, 1, 2, 0, 1, 0, 0, 0}, f64).unsqueeze(1));
  ParameterList other;
  for (const auto& p : params) other.push_back((p.detach() + 0.1 * torch::randn_like(p)).requires_grad_(false));
  const auto objective = [&](const ParameterList& at) {
    const auto weights = torch::linspace(0.5, 1.5, 9, f64);
    return (policy.log_prob(obs, actions, at) * weights).sum() + policy.kl_divergence(obs, other, at).sum();
  };
  const auto grads = gradients(objective(params), params, {});
  const double h = 1e-6;
  for (size_t i = 0; i < params.size(); ++i) {
    const auto flat = params[i].detach().reshape(-1);
    for (int64_t j = 0; j < flat.numel(); j += 3) {
      auto shifted = [&](double delta) {
        ParameterList at;
        for (const auto& p : params) at.push_back(p.detach().clone());
        at[i].view(-1)[j] += delta;
        return objective(at).item<double>();
      };
      const double numeric = (shifted(h) - shifted(-h)) / (2 * h);
      EXPECT_NEAR(grads[i].reshape(-1)[j].item<double>(), numeric, 1e-6) << "parameter " << i << " entry " << j;
    }
  }
  // KL(π ‖ π) = 0 row by row.
  EXPECT_LT(policy.kl_divergence(obs, params, params).abs().max().item<double>(), 1e-12);
}

TEST_F(MixedHeadPolicyTest, TaskBatchedLayoutEqualsTheSharedOne) {
  const auto params = parameters();
  const auto obs = observations(2, 6);
  auto actions = torch::zeros({6, 3}, f64);
  actions.narrow(1, 2, 1).copy_(torch::tensor({1, 0, 2, 1, 0, 0}, f64).unsqueeze(1));
  actions.narrow(0, 4, 2).narrow(1, 0, 2).copy_(torch::randn({2, 2}, f64));
  const auto shared = policy.log_prob(obs, actions, params);
  const auto batched = policy.log_prob(obs.unsqueeze(0).expand({2, 6, 7}), actions.unsqueeze(0).expand({2, 6, 3}),
                                       expand_to_tasks(params, 2));
  EXPECT_TRUE(torch::allclose(batched[1], shared, 0.0, 1e-12));
}

TEST_F(MixedHeadPolicyTest, SamplesFollowEachRowsHead) {
  const auto params = parameters();
  const int n = 20000;
  auto obs = torch::zeros({3, kObservationDim}, f64);
  obs[0][4] = 1;
  obs[1][5] = 1;
  obs[2][6] = 1;
  obs = obs.repeat({n, 1});
  at::Generator generator = at::detail::createCPUGenerator(11);
  const auto actions = policy.act(obs, params, policy.draw_noise({3 * n}, generator));
  const auto hidden = torch::tanh(torch::matmul(obs.narrow(0, 0, 3), params[0].t()) + params[1]);
  const auto output = torch::matmul(hidden, params[2].t()) + params[3];
  for (int f = 0; f < 2; ++f) {
    const int count = f == 0 ? 2 : 3;
    const auto p = torch::softmax(output[f].narrow(0, 2, count), 0);
    const auto index = actions.narrow(1, 2, 1).reshape({n, 3}).select(1, f);
    EXPECT_EQ(actions.narrow(1, 0, 2).reshape({n, 3, 2}).select(1, f).abs().max().item<float>(), 0.0f);
    EXPECT_LE(index.max().item<float>(), count - 1);  // never an action of a larger family
    for (int a = 0; a < count; ++a) {
      const double frequency = (index == a).to(torch::kDouble).mean().item<double>();
      EXPECT_NEAR(frequency, p[a].item<double>(), 0.015) << "family " << f << " action " << a;
    }
  }
  const auto plane = actions.narrow(0, 0, 3 * n).reshape({n, 3, 3}).select(1, 2);
  EXPECT_EQ(plane.select(1, 2).abs().max().item<float>(), 0.0f);  // no index on a continuous row
  for (int d = 0; d < 2; ++d) {
    const auto component = plane.select(1, d).to(torch::kDouble);
    EXPECT_NEAR(component.mean().item<double>(), output[2][d].item<double>(), 0.03);
    EXPECT_NEAR(component.std().item<double>(), std::exp(params.back()[d].item<double>()), 0.03);
  }
}

TEST_F(MixedHeadPolicyTest, AllContinuousFamiliesHaveNoCategoricalHead) {
  // pendulum-like (1 action) and point-nav-like (2 actions): no logits, no index column.
  const std::vector<Family> continuous{{"one", 3, false, 1, 0, 20}, {"two", 2, false, 2, 0, 20}};
  MixedHeadMlpPolicy both{5, continuous, {{8}, Activation::kTanh, 0.0}};
  EXPECT_EQ(both.action_dim(), 2);
  EXPECT_EQ(both.parameter_specs().back().shape, (std::vector<int64_t>{2}));  // log σ
  auto params = both.initial_parameters(5, f64);
  params.back() = torch::tensor({0.2, -0.4}, f64);
  auto obs = torch::zeros({2, 5}, f64);
  obs[0][0] = 0.5;
  obs[0][3] = 1;  // family "one"
  obs[1][1] = -0.3;
  obs[1][4] = 1;  // family "two"
  const auto actions = torch::tensor({{0.7, 0.0}, {-0.2, 0.9}}, f64);
  const auto log_prob = both.log_prob(obs, actions, params);
  const auto hidden = torch::tanh(torch::matmul(obs, params[0].t()) + params[1]);
  const auto mean = torch::matmul(hidden, params[2].t()) + params[3];
  const auto density = [&](int row, int d) {
    const double sigma = std::exp(params.back()[d].item<double>());
    const double z = (actions[row][d].item<double>() - mean[row][d].item<double>()) / sigma;
    return -0.5 * z * z - std::log(sigma) - 0.5 * std::log(2.0 * M_PI);
  };
  EXPECT_NEAR(log_prob[0].item<double>(), density(0, 0), 1e-12);  // its one component only
  EXPECT_NEAR(log_prob[1].item<double>(), density(1, 0) + density(1, 1), 1e-12);
  at::Generator generator = at::detail::createCPUGenerator(2);
  const auto sampled = both.act(obs, params, both.draw_noise({2}, generator));
  EXPECT_EQ(sampled.sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(sampled[0][1].item<float>(), 0.0f);  // the component family "one" lacks
}

TEST_F(MixedHeadPolicyTest, AnUnobservedFamilyLeavesTheTrunkBlindToIt) {
  MixedHeadMlpPolicy blind{kObservationDim, kFamilies, {{8}, Activation::kTanh, 0.0, false}};
  EXPECT_EQ(blind.parameter_specs().front().shape, (std::vector<int64_t>{8, 4}));
  EXPECT_EQ(policy.parameter_specs().front().shape, (std::vector<int64_t>{8, 7}));
  EXPECT_NE(blind.architecture(), policy.architecture());
  // The two discrete families' rows with the same padded observation and action 0:
  // blind, only the mask of the third logit tells them apart.
  const auto params = blind.initial_parameters(3, f64);
  auto obs = torch::zeros({2, kObservationDim}, f64);
  obs[0][4] = 1;
  obs[1][5] = 1;
  const auto actions = torch::zeros({2, 3}, f64);
  const auto hidden = torch::tanh(params[1]);  // zero observation
  const auto logits = torch::matmul(params[2], hidden) + params[3];
  const auto log_prob = blind.log_prob(obs, actions, params);
  EXPECT_NEAR(log_prob[0].item<double>(), torch::log_softmax(logits.narrow(0, 2, 2), 0)[0].item<double>(), 1e-12);
  EXPECT_NEAR(log_prob[1].item<double>(), torch::log_softmax(logits.narrow(0, 2, 3), 0)[0].item<double>(), 1e-12);
}

}  // namespace
}  // namespace metarl::agents
