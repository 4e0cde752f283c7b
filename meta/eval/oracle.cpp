#include "meta/eval/oracle.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "agents/policy.h"
#include "meta/experiment.h"
#include "meta/meta_learner.h"

namespace metarl::meta {

using agents::ParameterList;

OracleReport train_oracles(const TrainConfig& config, const envs::TaskBatch& tasks, const MetaLearner& start,
                           const std::string& start_description,
                           const EvalOptions& options, int first_batch_tasks, const torch::Device& device,
                           const Collectives& collectives, const EvalProgress& on_iteration) {
  const int oracle_tasks = tasks.num_tasks;
  if (oracle_tasks > first_batch_tasks) {
    throw std::invalid_argument("train_oracles: " + std::to_string(oracle_tasks) + " tasks, but the first task batch " +
                                "holds " + std::to_string(first_batch_tasks));
  }
  OracleReport report;
  report.tasks = oracle_tasks;
  report.iterations = options.oracle_iterations;
  report.rollouts = options.oracle_rollouts;
  report.learning_rate = options.oracle_lr;

  // Where the environment steps is the evaluation's choice, as for the methods.
  TrainConfig rollout_config = config;
  rollout_config.runtime.env_on_device = options.runtime.env_on_device;
  rollout_config.adapt_every = 0;  // the oracle's episodes are whole (step protocol)
  const agents::Policy& policy = start.policy();
  report.start = to_string(options.oracle_start);  // the flag's own vocabulary
  report.start_theta = start_description;

  // This process's share of the tasks; every process takes part in every collective.
  const auto [begin, end] = shard(oracle_tasks, collectives.rank(), collectives.world_size());
  const int local_tasks = end - begin;
  const auto local = tasks.slice(begin, local_tasks);

  // One leaf [local_tasks, …] per parameter: every task starts from the same θ.
  ParameterList params;
  std::vector<std::vector<double>> local_curves(static_cast<size_t>(local_tasks));  // [task][iteration]
  ShardRollouts training;
  std::unique_ptr<torch::optim::Adam> adam;
  if (local_tasks > 0) {
    for (const auto& p : agents::expand_to_tasks(agents::detach(start.theta()), local_tasks)) {
      params.push_back(p.clone().requires_grad_(true));
    }
    training = make_shard_rollouts(rollout_config, policy, {begin, local_tasks, oracle_tasks}, options.oracle_rollouts,
                                   device, derive_seed(options.seed, kOracleStream));
    adam = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(options.oracle_lr));
  }

  for (int iteration = 0; iteration < options.oracle_iterations; ++iteration) {
    double local_sum = 0.0;
    if (local_tasks > 0) {
      const auto trajectories = training.sampler->sample(params, local);
      const auto returns = per_task_mean_returns(trajectories, options.return_discount);
      for (int t = 0; t < local_tasks; ++t) {
        local_curves[static_cast<size_t>(t)].push_back(returns[static_cast<size_t>(t)]);
        local_sum += returns[static_cast<size_t>(t)];
      }
      // Σ_t L_t: slice t of each leaf's gradient is ∇L_t of task t alone.
      const auto loss = start.inner_loss(params, trajectories, config.advantages).sum();
      if (!std::isfinite(loss.item<double>())) {
        throw std::runtime_error("oracle training: the policy-gradient loss is not finite at iteration " +
                                 std::to_string(iteration + 1) + " of " + std::to_string(options.oracle_iterations) +
                                 " (oracle_lr " + std::to_string(options.oracle_lr) + "; a smaller step may help)");
      }
      adam->zero_grad();
      loss.backward();
      adam->step();
    }
    // About twenty progress reports per training, not one per iteration.
    const int report_every = std::max(1, options.oracle_iterations / 20);
    if (on_iteration && ((iteration + 1) % report_every == 0 || iteration + 1 == options.oracle_iterations)) {
      const double sum = all_reduce_sum(collectives, local_sum, "the oracles' training returns");
      on_iteration(kOracleProgressName, iteration + 1, options.oracle_iterations, sum / oracle_tasks);
    }
  }

  // The measurement: the rows and action noise every method's step-0 rollouts of these
  // tasks had (evaluation batch 0, seeded with options.seed itself).
  std::vector<double> local_returns;
  if (local_tasks > 0) {
    const auto measured = make_shard_rollouts(rollout_config, policy, {begin, local_tasks, first_batch_tasks},
                                              options.protocol.rollouts, device, options.seed);
    local_returns = per_task_mean_returns(measured.sampler->sample(agents::detach(params), local), options.return_discount);
  }
  report.task_returns = all_gather_doubles(collectives, local_returns, "the oracles' returns");
  mean_and_ci95(report.task_returns, report.mean, report.ci95);

  // Training curves, task-major, gathered in task order; then averaged per iteration.
  std::vector<double> local_flat;
  for (const auto& curve : local_curves) local_flat.insert(local_flat.end(), curve.begin(), curve.end());
  const auto flat = all_gather_doubles(collectives, local_flat, "the oracles' training curves");
  const size_t iterations = static_cast<size_t>(options.oracle_iterations);
  report.training_curve.assign(iterations, 0.0);
  for (size_t t = 0; t < static_cast<size_t>(oracle_tasks); ++t) {
    for (size_t i = 0; i < iterations; ++i) report.training_curve[i] += flat[t * iterations + i] / oracle_tasks;
  }
  report.training_curve.push_back(report.mean);
  return report;
}

}  // namespace metarl::meta
