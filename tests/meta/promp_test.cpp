// ProMP's outer step (meta/outer_promp.h), tested like TRPO's: the clipped surrogate
// and its gradient on hand-made ratios (the clip stops the push exactly where PPO's
// does), the KL penalty's gradient against finite differences, the importance-weighted
// inner objective, a step on a fixed batch improving the surrogate, and short training
// runs that resume bit for bit with the step's own state.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "agents/autograd.h"
#include "agents/surrogate.h"
#include "envs/errors.h"
#include "meta/checkpoint.h"
#include "meta/experiment.h"
#include "meta/outer_promp.h"
#include "meta/outer_steps.h"
#include "meta/trainer.h"
#include "tests/support/small_configs.h"
#include "tests/support/test_support.h"

namespace metarl::meta {
namespace {

using agents::ParameterList;

const auto f64 = torch::TensorOptions().dtype(torch::kDouble);

TEST(PrompClippedSurrogate, TheClipStopsThePushWhereTheRatioHasLeftTheRangeInTheAdvantagesFavour) {
  // One task, one rollout, four steps, ε = 0.3 (range [0.7, 1.3]):
  //   r = 1.5, Â = +1: clipped at 1.3 · 1, no gradient (pushing further gains nothing)
  //   r = 1.1, Â = +1: r Â, gradient d(r Â)/d log π = r Â = 1.1
  //   r = 0.5, Â = −1: min(−0.5, −0.7) = −0.7, clipped, no gradient
  //   r = 0.5, Â = +1: min(0.5, 0.7) = 0.5 = r Â: the unclipped side keeps its gradient
  const auto old_log_probs = torch::zeros({1, 1, 4}, f64);
  auto log_probs = torch::log(torch::tensor({1.5, 1.1, 0.5, 0.5}, f64)).view({1, 1, 4}).requires_grad_(true);
  const auto advantages = torch::tensor({1.0, 1.0, -1.0, 1.0}, f64).view({1, 1, 4});
  const auto mask = torch::ones({1, 1, 4}, f64);
  const auto loss = clipped_surrogate_loss(log_probs, old_log_probs, advantages, mask, 0.3);
  ASSERT_EQ(loss.sizes(), (std::vector<int64_t>{1}));
  EXPECT_NEAR(loss.item<double>(), -(1.3 + 1.1 - 0.7 + 0.5) / 4, 1e-12);
  const auto gradient = agents::gradients(loss.sum(), {log_probs}, {}).front().view({4});
  EXPECT_EQ(gradient[0].item<double>(), 0.0);
  EXPECT_NEAR(gradient[1].item<double>(), -1.1 / 4, 1e-12);
  EXPECT_EQ(gradient[2].item<double>(), 0.0);
  EXPECT_NEAR(gradient[3].item<double>(), -0.5 / 4, 1e-12);
  // Masked steps count for nothing, in the value and the gradient.
  const auto half_mask = torch::tensor({1.0, 1.0, 0.0, 0.0}, f64).view({1, 1, 4});
  EXPECT_NEAR(clipped_surrogate_loss(log_probs, old_log_probs, advantages, half_mask, 0.3).item<double>(),
              -(1.3 + 1.1) / 2, 1e-12);
}

TEST(PrompKlPenalty, ItsGradientMatchesFiniteDifferences) {
  // KL(π_old ‖ π_θ) of a Gaussian MLP policy, mean over valid steps per task: the
  // penalty ProMP adds for each inner step, differentiated in θ.
  torch::manual_seed(4);
  agents::MlpOptions options;
  options.hidden_sizes = {5};
  options.activation = agents::Activation::kTanh;
  const agents::GaussianMlpPolicy policy(3, 2, options);
  const ParameterList old_params = policy.initial_parameters(7, f64);
  ParameterList params;
  for (const auto& p : old_params) params.push_back((p + 0.1 * torch::randn(p.sizes(), f64)).requires_grad_(true));
  const auto observations = torch::randn({2, 3, 4, 3}, f64);
  auto mask = torch::ones({2, 3, 4}, f64);
  mask.index_put_({1, torch::indexing::Slice(), 3}, 0.0);  // the second task's episodes end early
  auto penalty = [&](const ParameterList& p) { return task_mean_kl(policy, observations, old_params, p, mask).sum(); };
  const auto analytic = agents::gradients(penalty(params), params, {});
  const double h = 1e-6;
  int checked = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    for (int64_t k = 0; k < params[i].numel(); k += 3) {
      ParameterList plus;
      ParameterList minus;
      for (size_t j = 0; j < params.size(); ++j) {
        plus.push_back(params[j].detach().clone());
        minus.push_back(params[j].detach().clone());
      }
      plus[i].view({-1})[k] += h;
      minus[i].view({-1})[k] -= h;
      const double numeric = (penalty(plus).item<double>() - penalty(minus).item<double>()) / (2 * h);
      EXPECT_NEAR(analytic[i].view({-1})[k].item<double>(), numeric, 1e-6) << "parameter " << i << " entry " << k;
      ++checked;
    }
  }
  EXPECT_GT(checked, 10);
  // Zero at the old policy, positive away from it.
  EXPECT_NEAR(penalty(old_params).item<double>(), 0.0, 1e-12);
  EXPECT_GT(penalty(agents::detach(params)).item<double>(), 0.0);
}

TEST(PrompInnerObjective, TheBehaviourPolicyWeightsLvcByItsLikelihoodRatio) {
  torch::manual_seed(5);
  auto log_probs = (0.1 * torch::randn({2, 3, 5}, f64)).requires_grad_(true);
  const auto advantages = torch::randn({2, 3, 5}, f64);
  const auto mask = torch::ones({2, 3, 5}, f64);
  // The sampling policy is the current one: exactly the on-policy LVC loss and gradient.
  const auto on_policy = agents::inner_objective_loss(log_probs, advantages, mask, agents::Estimator::kLvc);
  const auto same = agents::inner_objective_loss(log_probs, advantages, mask, agents::Estimator::kLvc,
                                                 log_probs.detach());
  EXPECT_TRUE(torch::allclose(on_policy, same, 0.0, 1e-15));
  const auto g_on = agents::gradients(on_policy.sum(), {log_probs}, {}).front();
  const auto g_same = agents::gradients(same.sum(), {log_probs}, {}).front();
  EXPECT_TRUE(torch::allclose(g_on, g_same, 0.0, 1e-15));
  // Another sampling policy: −mean(π/π_b · Â) per task, gradient π/π_b · Â (ProMP's J^LVC).
  const auto behaviour = log_probs.detach() + 0.2 * torch::randn({2, 3, 5}, f64);
  const auto weighted = agents::inner_objective_loss(log_probs, advantages, mask, agents::Estimator::kLvc, behaviour);
  const auto ratio = torch::exp(log_probs.detach() - behaviour);
  EXPECT_TRUE(torch::allclose(weighted, -(ratio * advantages).mean({1, 2}), 0.0, 1e-12));
  const auto g = agents::gradients(weighted.sum(), {log_probs}, {}).front();
  EXPECT_TRUE(torch::allclose(g, -ratio * advantages / 15.0, 0.0, 1e-12));
  EXPECT_THROW(agents::inner_objective_loss(log_probs, advantages, mask, agents::Estimator::kPlain, behaviour),
               std::invalid_argument);
}

TrainConfig small_promp_config() {
  TrainConfig config = metarl::testing::small_point_nav_config("promp");
  config.outer_lr = 1e-3;  // ProMP's own step size
  return config;
}

// The ProMP objective's clipped surrogate part at the learner's current θ, α on a fixed
// batch: what the step minimises, apart from the KL penalty.
double clipped_surrogate_at(const MetaLearner& learner, const TrainConfig& config, const MetaBatch& batch,
                            const ParameterList& old_adapted) {
  torch::NoGradGuard no_grad;
  const auto& policy = learner.policy();
  const auto old_log_probs = policy.log_prob(batch.outer.observations, batch.outer.actions, old_adapted);
  const auto advantages = agents::compute_advantages(batch.outer, config.advantages);
  torch::GradMode::set_enabled(true);
  ParameterList params = learner.theta();
  for (const auto& inner : batch.inner) params = learner.adapt_step(params, inner, config.advantages, false);
  torch::GradMode::set_enabled(false);
  const auto log_probs = policy.log_prob(batch.outer.observations, batch.outer.actions, agents::detach(params));
  return clipped_surrogate_loss(log_probs, old_log_probs, advantages, batch.outer.mask, promp_options(config).clip)
      .mean()
      .item<double>();
}

TEST(PrompStep, ImprovesTheClippedSurrogateOnAFixedBatch) {
  for (const char* algo : {"meta-sgd", "maml", "pretrained"}) {
    auto config = small_promp_config();
    config.algo = parse_algorithm(algo);
    Experiment experiment(config);
    auto step = make_outer_step({experiment.config, *experiment.learner, experiment.device});
    EXPECT_FALSE(step->differentiates_adaptation());
    MetaLearner& learner = *experiment.learner;
    const auto tasks = experiment.env->task_distribution().sample(config.meta_batch, envs::Split::kTrain,
                                                                  experiment.task_rng);
    MetaBatch batch;
    auto trajectories = experiment.sampler->sample(agents::detach(learner.theta()), tasks);
    ParameterList params = learner.theta();
    if (learner.adapts_in_training()) {
      batch.inner.push_back(trajectories);
      params = learner.adapt_step(params, trajectories, config.advantages, false);
      trajectories = experiment.sampler->sample(agents::detach(params), tasks);
    }
    batch.adapted = agents::detach(params);
    batch.outer = trajectories;
    // A copy: for the pretrained baseline the adapted parameters are θ's own storage.
    ParameterList old_adapted;
    for (const auto& p : batch.adapted) old_adapted.push_back(p.detach().clone());
    const double before = clipped_surrogate_at(learner, config, batch, old_adapted);
    ParameterList theta_before;
    for (const auto& p : learner.meta_parameters()) theta_before.push_back(p.detach().clone());

    const OuterStepResult result = step->step(batch);
    ASSERT_TRUE(result.non_finite.empty()) << algo << ": " << result.non_finite;
    // Before the first epoch the ratio is 1 and the KL 0: the loss is −mean Â.
    EXPECT_NEAR(result.meta_loss, before, 1e-6) << algo;
    const double after = clipped_surrogate_at(learner, config, batch, old_adapted);
    EXPECT_LT(after, before) << algo;
    EXPECT_GT(step_metric_value(result.diagnostics, "kl"), 0.0) << algo;  // the adapted policies moved
    EXPECT_EQ(result.diagnostics.size(), 1u) << algo;  // ProMP reports its KL only (no line search)
    const auto now = learner.meta_parameters();
    EXPECT_FALSE(torch::equal(theta_before[0], now[0].detach())) << algo;
    if (learner.learns_alpha()) {
      EXPECT_FALSE(torch::equal(theta_before.back(), now.back().detach())) << algo << ": α was not updated";
    }
  }
}

class PrompTraining : public metarl::testing::ScratchDirTest {};

TEST_F(PrompTraining, ResumesBitForBitWithTheStepsOwnState) {
  auto config = small_promp_config();
  promp_options(config).adaptive_kl = true;
  promp_options(config).target_kl = 100.0;  // every KL is below target / 1.5: the weight halves each iteration
  MetaTrainer straight(config);
  for (int i = 0; i < 4; ++i) {
    const auto metrics = straight.run_iteration();
    ASSERT_TRUE(std::isfinite(metrics.meta_loss));
  }
  MetaTrainer first(config);
  for (int i = 0; i < 2; ++i) first.run_iteration();
  const std::string path = (dir_ / "checkpoint.pt").string();
  first.save_checkpoint(path);
  // The step's state is in the checkpoint: Adam's moments and the halved KL weight.
  torch::Tensor weights;
  load_checkpoint(path, [&](torch::serialize::InputArchive& archive) {
    torch::serialize::InputArchive outer_step;
    archive.read("optimizer", outer_step);
    outer_step.read("promp_kl_weights", weights);
  });
  ASSERT_EQ(weights.numel(), 1);
  EXPECT_DOUBLE_EQ(weights.item<double>(), promp_options(config).kl_penalty / 4);
  MetaTrainer resumed(config);
  resumed.restore(path);
  for (int i = 0; i < 2; ++i) resumed.run_iteration();
  const auto a = straight.learner().meta_parameters();
  const auto b = resumed.learner().meta_parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "meta-parameter " << i;
}

TEST(PrompOptions, AnotherInnerEstimatorIsRefusedNamingTheKey) {
  auto config = small_promp_config();
  config.estimator = agents::Estimator::kDice;
  const std::string message = metarl::testing::usage_error_of([&] { MetaTrainer trainer(config); });
  EXPECT_NE(message.find("estimator 'dice'"), std::string::npos) << message;
  EXPECT_NE(message.find("estimator: lvc"), std::string::npos) << message;
  TrainConfig parsed;
  set_config_value(parsed, "optimizer", "promp");
  set_config_value(parsed, "promp_epochs", "3");
  set_config_value(parsed, "promp_clip", "0.2");
  EXPECT_EQ(parsed.optimizer, "promp");
  EXPECT_EQ(promp_options(parsed).epochs, 3);
  EXPECT_DOUBLE_EQ(promp_options(parsed).clip, 0.2);
  EXPECT_NE(metarl::testing::usage_error_of([&] { set_config_value(parsed, "optimizer", "sgd"); }).find("adam trpo promp"),
            std::string::npos);
}

}  // namespace
}  // namespace metarl::meta
