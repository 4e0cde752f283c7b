// Returns, GAE, normalisation and the linear baseline against plain loops and
// closed forms.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "agents/advantages.h"
#include "agents/baseline.h"
#include "agents/surrogate.h"

namespace metarl::agents {
namespace {

const auto f64 = torch::TensorOptions().dtype(torch::kDouble);

// Episode lengths per row → a prefix mask [T, R, H].
torch::Tensor prefix_mask(const std::vector<std::vector<int>>& lengths, int64_t horizon) {
  auto mask = torch::zeros({static_cast<int64_t>(lengths.size()), static_cast<int64_t>(lengths[0].size()), horizon},
                           f64);
  for (size_t t = 0; t < lengths.size(); ++t) {
    for (size_t r = 0; r < lengths[t].size(); ++r) {
      mask.index_put_({static_cast<int64_t>(t), static_cast<int64_t>(r),
                       torch::indexing::Slice(0, lengths[t][r])}, 1.0);
    }
  }
  return mask;
}

TEST(Advantages, DiscountedReturnsEqualABackwardLoop) {
  torch::manual_seed(1);
  const int64_t horizon = 9;
  const auto mask = prefix_mask({{9, 4}, {1, 7}}, horizon);
  const auto rewards = torch::randn({2, 2, horizon}, f64) * mask;
  const auto returns = discounted_returns(rewards, mask, 0.9);
  for (int64_t t = 0; t < 2; ++t) {
    for (int64_t r = 0; r < 2; ++r) {
      double running = 0.0;
      for (int64_t h = horizon - 1; h >= 0; --h) {
        running = rewards[t][r][h].item<double>() + 0.9 * running;
        const double expected = mask[t][r][h].item<double>() > 0 ? running : 0.0;
        EXPECT_NEAR(returns[t][r][h].item<double>(), expected, 1e-12);
      }
    }
  }
}

TEST(Advantages, GaeEqualsItsRecursionAndReducesToReturnsMinusValuesAtLambdaOne) {
  torch::manual_seed(2);
  const int64_t horizon = 8;
  const auto mask = prefix_mask({{8, 3, 5}}, horizon);
  const auto rewards = torch::randn({1, 3, horizon}, f64) * mask;
  const auto values = torch::randn({1, 3, horizon}, f64) * mask;
  const double gamma = 0.95;
  const double lambda = 0.8;
  const auto gae = generalized_advantages(rewards, values, mask, gamma, lambda);
  for (int64_t r = 0; r < 3; ++r) {
    double running = 0.0;
    for (int64_t h = horizon - 1; h >= 0; --h) {
      if (mask[0][r][h].item<double>() == 0) continue;
      const bool last = h + 1 == horizon || mask[0][r][h + 1].item<double>() == 0;
      const double next_value = last ? 0.0 : values[0][r][h + 1].item<double>();
      const double delta = rewards[0][r][h].item<double>() + gamma * next_value - values[0][r][h].item<double>();
      running = delta + gamma * lambda * (last ? 0.0 : running);
      EXPECT_NEAR(gae[0][r][h].item<double>(), running, 1e-12);
    }
  }
  const auto at_one = generalized_advantages(rewards, values, mask, gamma, 1.0);
  EXPECT_TRUE(torch::allclose(at_one, discounted_returns(rewards, mask, gamma) - values * mask, 0.0, 1e-12));
}

TEST(Advantages, NormalisationGivesZeroMeanAndUnitStdPerTaskOverValidSteps) {
  torch::manual_seed(3);
  const auto mask = prefix_mask({{6, 2}, {4, 6}}, 6);
  const auto advantages = (torch::randn({2, 2, 6}, f64) * 3.0 + 5.0) * mask;
  const auto normalized = normalize_per_task(advantages, mask);
  for (int64_t t = 0; t < 2; ++t) {
    const auto valid = normalized[t].masked_select(mask[t] > 0);
    EXPECT_NEAR(valid.mean().item<double>(), 0.0, 1e-12);
    EXPECT_NEAR(valid.std(/*unbiased=*/false).item<double>(), 1.0, 1e-6);
    EXPECT_EQ(normalized[t].masked_select(mask[t] == 0).abs().sum().item<double>(), 0.0);
  }
}

TEST(LinearFeatureBaseline, RecoversReturnsThatAreLinearInItsFeatures) {
  torch::manual_seed(4);
  Trajectories batch;
  batch.observations = torch::rand({2, 5, 12, 2}, f64) - 0.5;
  batch.actions = torch::zeros({2, 5, 12, 2}, f64);
  batch.mask = prefix_mask({{12, 12, 9, 12, 5}, {12, 3, 12, 12, 12}}, 12);
  batch.rewards = torch::zeros({2, 5, 12}, f64);
  const auto features = LinearFeatureBaseline::features(batch);  // [2, 5, 12, 8]
  ASSERT_EQ(features.size(-1), 8);
  // A different weight vector per task: the fit is per task.
  const auto weights = torch::randn({2, 1, 8, 1}, f64);
  const auto returns = torch::matmul(features, weights).squeeze(-1) * batch.mask;
  const auto values = LinearFeatureBaseline(1e-10).fit_predict(batch, returns);
  EXPECT_TRUE(torch::allclose(values, returns, 0.0, 1e-6));
}

TEST(Surrogate, ReinforceLossIsTheMaskedMeanPerTask) {
  const auto mask = prefix_mask({{2, 1}}, 2);  // valid: (0,0), (0,1), (1,0)
  const auto log_probs = torch::tensor({{{1.0, 2.0}, {3.0, 4.0}}}, f64);
  const auto advantages = torch::tensor({{{0.5, -1.0}, {2.0, 9.0}}}, f64);
  const auto loss = reinforce_loss(log_probs, advantages, mask);
  EXPECT_NEAR(loss[0].item<double>(), -(0.5 - 2.0 + 6.0) / 3.0, 1e-12);
  const auto weighted = importance_weighted_loss(log_probs, log_probs, advantages, mask);
  EXPECT_NEAR(weighted[0].item<double>(), -(0.5 - 1.0 + 2.0) / 3.0, 1e-12);
}

}  // namespace
}  // namespace metarl::agents
