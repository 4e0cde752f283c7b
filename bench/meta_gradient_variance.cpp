// Spread of the meta-gradient estimators (agents/surrogate.h) at one θ, α.
//
//   build/bench/meta_gradient_variance [CONFIG.yaml] [BATCHES] [RUN_DIR]
//
// at the initial θ, α of CONFIG, or at those of RUN_DIR's checkpoint (trained).
// Draws BATCHES independent meta-batches (the same tasks each time, fresh rollouts)
// and, on each, the meta-gradient in (θ, α) of the plain, DiCE and LVC inner losses.
// The three share every rollout: the estimators change derivatives, never values, so
// the adapted policies and their rollouts are the same. Prints per estimator the
// norm of the mean gradient, the total variance of one batch's estimate
// (E‖g − ḡ‖²), the signal-to-noise ratio ‖ḡ‖² / E‖g − ḡ‖², and the cosine between
// its mean and DiCE's mean (DiCE is unbiased; plain is not: tests/meta/estimator_test.cpp).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "agents/autograd.h"
#include "agents/sampler.h"
#include "bench/tool_main.h"
#include "envs/registry.h"
#include "envs/rng.h"
#include "meta/bench/throughput.h"
#include "meta/checkpoint.h"
#include "meta/config.h"
#include "meta/meta_learner.h"
#include "meta/parallel/runtime.h"
#include "meta/experiment.h"
#include "meta/trpo.h"

using namespace metarl;

int main(int argc, char** argv) {
  return bench::run_tool("meta_gradient_variance", [&] {
    meta::TrainConfig config = meta::bench_config("paper-nav");
    if (argc > 1) meta::load_config_file(config, argv[1]);
    const int batches = argc > 2 ? std::atoi(argv[2]) : 20;
    if (batches < 2) {
      std::fprintf(stderr, "BATCHES '%s': expected an integer of at least 2\n", argv[2]);
      return 2;
    }
    meta::configure_threads(config.runtime.threads);
    // The experiment's streams (meta/experiment.h): the tasks and the first rollouts a
    // training run with this config and seed would draw.
    auto env = meta::make_environment(config, config.meta_batch * config.rollouts,
                                      derive_seed(config.seed, meta::kEnvStream));
    const auto policy = meta::make_policy(config, env->spec());
    auto sampler = meta::make_sampler(config, *env, *policy, config.meta_batch, config.rollouts, torch::kCPU,
                                      derive_seed(config.seed, meta::kSamplerStream));
    Rng task_rng(derive_seed(config.seed, envs::split_stream(envs::Split::kTrain)));
    const auto tasks = env->task_distribution().sample(config.meta_batch, envs::Split::kTrain, task_rng);
    const auto& advantages = config.advantages;

    const std::vector<agents::Estimator> estimators = {agents::Estimator::kPlain, agents::Estimator::kDice,
                                                        agents::Estimator::kLvc};
    std::map<agents::Estimator, std::unique_ptr<meta::MetaLearner>> learners;
    for (auto e : estimators) {
      auto with_estimator = config;
      with_estimator.estimator = e;
      learners[e] = meta::make_learner(with_estimator, policy, torch::kCPU,
                                       derive_seed(config.seed, meta::kPolicyInitStream));
    }
    const std::string run_dir = argc > 3 ? argv[3] : "";
    if (!run_dir.empty()) {
      const auto checkpoint = meta::load_checkpoint(run_dir);
      for (auto e : estimators) meta::load_parameters(checkpoint, run_dir, *learners.at(e));
    }
    std::map<agents::Estimator, std::vector<torch::Tensor>> samples;
    for (int b = 0; b < batches; ++b) {
      const auto& reference = *learners.at(agents::Estimator::kPlain);
      const auto inner = sampler->sample(agents::detach(reference.theta()), tasks);
      const auto adapted = reference.adapt_step(reference.theta(), inner, advantages, /*create_graph=*/false);
      const auto outer = sampler->sample(agents::detach(adapted), tasks);
      for (auto e : estimators) {
        auto& learner = *learners.at(e);
        const auto params = learner.adapt_step(learner.theta(), inner, advantages, /*create_graph=*/true);
        const auto loss = learner.meta_loss(params, outer, advantages);
        const auto gradient = agents::gradients(loss, learner.meta_parameters(), agents::GradOptions{});
        samples[e].push_back(meta::flatten_parameters(gradient).detach());
      }
    }
    auto mean_of = [&](agents::Estimator e) { return torch::stack(samples.at(e)).mean(0); };
    const auto dice_mean = mean_of(agents::Estimator::kDice);
    std::printf("%s, %s, %d tasks x %d rollouts, %d meta-batches at %s (seed %llu)\n", config.env.c_str(),
                meta::to_string(config.algo).c_str(), config.meta_batch, config.rollouts, batches,
                run_dir.empty() ? "the initial theta" : ("the checkpoint of " + run_dir).c_str(),
                static_cast<unsigned long long>(config.seed));
    std::printf("%-8s %14s %16s %10s %18s\n", "estimator", "|mean grad|", "E|g - mean|^2", "SNR", "cos(mean, dice)");
    for (auto e : estimators) {
      const auto stacked = torch::stack(samples.at(e));
      const auto mean = stacked.mean(0);
      // Unbiased total variance of one batch's estimate.
      const double variance = (stacked - mean).square().sum().item<double>() / (batches - 1);
      const double mean_sq = mean.square().sum().item<double>();
      const double cosine = (mean.dot(dice_mean) / (mean.norm() * dice_mean.norm())).item<double>();
      std::printf("%-8s %14.5g %16.5g %10.4g %18.4f\n", agents::to_string(e).c_str(), std::sqrt(mean_sq), variance,
                  mean_sq / variance, cosine);
    }
    return 0;
  });
}
