#include "meta/eval/rounds_evaluation.h"

#include <optional>
#include <utility>

#include "envs/errors.h"
#include "envs/task_process.h"
#include "envs/version.h"
#include "meta/eval/compared_methods.h"
#include "meta/experiment.h"

namespace metarl::meta {

using agents::ParameterList;

namespace {

// The rounds of one method under one mode, on `sequence` ([K] task batches of every
// sequence). Environment rows and action noise come from the evaluation's seed alone,
// batch by batch as in the step protocol, so round 1 is the same rollout in every mode and
// every mode sees the same random numbers in every round.
RoundsCurve rounds_curve(const ComparedMethod& method, AdaptationMode mode, const envs::BatchedEnv& reference,
                         const std::vector<envs::TaskBatch>& sequence,
                         const std::vector<std::vector<int>>& change_steps, const EvalOptions& options,
                         const torch::Device& device, const Collectives& collectives, const EvalProgress& on_round) {
  const int horizon = effective_horizon(method.config, reference.spec());
  const auto policy = make_policy(method.config, reference.spec());
  const auto tensor_options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  // Adaptation takes the inner gradient's value, which every estimator shares on-policy.
  // Restart's gradient at θ is off-policy (the rollouts are φ_r's): LVC's likelihood
  // ratio per step weights it, truncated at 1 (min(π_θ/π_{φ_r}, 1), V-trace's ρ̄ = 1).
  // Untruncated, a few steps' ratios grow without bound once φ_r is far from θ, and the
  // step went further astray than no step at all (docs/results.md, "Drifting tasks").
  std::optional<double> mean_alpha;  // the α ablation's one step size
  MetaLearner learner = make_method_learner(method, policy, options, tensor_options, &mean_alpha,
                                            mode == AdaptationMode::kRestart ? agents::Estimator::kLvc
                                                                             : agents::Estimator::kPlain);
  const ParameterList theta = agents::detach(learner.theta());
  auto batches = make_task_batches(method, *policy, options, options.protocol.tasks, horizon, theta, device,
                                   collectives);
  const auto& advantages = method.config.advantages;
  const int rounds = static_cast<int>(sequence.size());

  RoundsCurve curve;
  curve.method = method.name;
  curve.mode = to_string(mode);
  curve.name = method.name + " " + curve.mode;
  curve.algorithm = to_string(method.algorithm);
  curve.run = method.run;
  curve.checkpoint_iteration = checkpoint_iteration_of(method);
  curve.checkpoint_checksum = checkpoint_checksum_of(method);
  curve.learned_alpha = learner.learns_alpha() && !mean_alpha && mode != AdaptationMode::kNone;
  for (int round = 0; round < rounds; ++round) {
    const bool adapt_after = round + 1 < rounds && mode != AdaptationMode::kNone;
    if (adapt_after && !learner.learns_alpha()) {
      // Continuous adaptation takes step r + 1 of a chain; restart always the first step from θ.
      torch::NoGradGuard no_grad;
      const int step = mode == AdaptationMode::kContinuous ? round + 1 : 1;
      const std::vector<double>& schedule = step_size_schedule(options, method.algorithm);
      if (!schedule.empty()) {
        for (auto& alpha : learner.alpha()) alpha.fill_(scheduled_step_size(schedule, step, 0.0));
      }
      curve.step_sizes.push_back(learner.alpha().front().item<double>());
    }
    if (adapt_after && mean_alpha) curve.step_sizes.push_back(*mean_alpha);
    std::vector<double> returns;
    returns.reserve(static_cast<size_t>(options.protocol.tasks));
    double ended = 0.0;  // rollouts whose episode ended before this round, all batches
    for (auto& batch : batches) {
      std::vector<double> batch_returns;
      double batch_ended = 0.0;
      if (batch.num_tasks > 0) {
        const envs::TaskBatch tasks = sequence[static_cast<size_t>(round)].slice(batch.first, batch.num_tasks);
        // Online adaptation: rounds after the first continue the same episodes.
        std::vector<int> batch_change_steps;  // empty: the task changes at the segment's start
        if (!change_steps.empty()) {
          const auto& round_steps = change_steps[static_cast<size_t>(round)];
          batch_change_steps.assign(round_steps.begin() + batch.first,
                                    round_steps.begin() + batch.first + batch.num_tasks);
        }
        const auto trajectories = round > 0 && options.adapt_every > 0
                                      ? batch.sampler->continue_episodes(batch.params, tasks, batch_change_steps)
                                      : batch.sampler->sample(batch.params, tasks);
        batch_returns = per_task_mean_returns(trajectories, options.return_discount);
        // A rollout masked from the round's first step had ended in an earlier round.
        batch_ended = (trajectories.mask.select(2, 0) == 0).sum().item<double>();
        if (adapt_after && mode == AdaptationMode::kContinuous) {
          batch.params =
              agents::detach(learner.adapt_step(batch.params, trajectories, advantages, /*create_graph=*/false));
        } else if (adapt_after && mode == AdaptationMode::kRestart) {
          batch.params = restart_adaptation(learner, *policy, theta, batch.params, trajectories, advantages);
        }
      }
      if (collectives.distributed()) {
        batch_returns = all_gather_doubles(collectives, batch_returns, "the per-sequence returns");
        for (double shard_ended : all_gather_doubles(collectives, {batch_ended}, "the ended episodes")) {
          ended += shard_ended;
        }
      } else {
        ended += batch_ended;
      }
      returns.insert(returns.end(), batch_returns.begin(), batch_returns.end());
    }
    double mean = 0.0;
    double ci = 0.0;
    mean_and_ci95(returns, mean, ci);
    curve.mean.push_back(mean);
    curve.ci95.push_back(ci);
    curve.ended_before.push_back(ended / (static_cast<double>(options.protocol.tasks) * options.protocol.rollouts));
    curve.sequence_returns.push_back(std::move(returns));
    if (on_round) on_round(curve.name, round + 1, rounds, mean);
  }
  // Rounds 2..K: where the modes differ.
  mean_and_ci95(later_rounds_means(curve.sequence_returns), curve.later_mean, curve.later_ci95);
  return curve;
}

// The process the sequences follow: the evaluation's, or, when it gives none, the one
// the runs were trained with. A run trained with a process is evaluated on that process
// only (as its task_ranges); runs trained on stationary tasks take any.
std::vector<envs::TaskProcessTerm> recorded_task_process(const std::vector<ComparedMethod>& methods,
                                                         const EvalOptions& options) {
  std::vector<envs::TaskProcessTerm> process = options.task_process;
  const ComparedMethod* first_trained = nullptr;
  for (const auto& method : methods) {
    if (method.config.task_process.empty() || method.mean_alpha) continue;
    const std::string trained = envs::format_task_process(method.config.task_process);
    if (!options.task_process.empty() && method.config.task_process != options.task_process) {
      throw UsageError("run '" + method.run + "' was trained with task_process " + trained +
                       "; the evaluation's is " + envs::format_task_process(options.task_process) +
                       " (evaluate it with its own, or leave task_process out to use it)");
    }
    if (first_trained && method.config.task_process != first_trained->config.task_process) {
      throw UsageError("runs '" + first_trained->run + "' (task_process " +
                       envs::format_task_process(first_trained->config.task_process) + ") and '" + method.run +
                       "' (task_process " + trained + ") were trained on different task processes; only runs of one "
                       "process (or of stationary tasks) can be compared over rounds");
    }
    if (!first_trained) first_trained = &method;
    if (process.empty()) process = method.config.task_process;
  }
  return process;
}

}  // namespace

torch::Tensor truncated_behaviour_log_probs(const torch::Tensor& sampling_log_probs,
                                            const torch::Tensor& theta_log_probs) {
  return at::maximum(sampling_log_probs, theta_log_probs).detach();
}

ParameterList restart_adaptation(const MetaLearner& learner, const agents::Policy& policy, const ParameterList& theta,
                                 const ParameterList& acting, const agents::Trajectories& trajectories,
                                 const agents::AdvantageOptions& advantages) {
  torch::Tensor behaviour;
  {
    torch::NoGradGuard no_grad;
    const auto task_batched = [&](const ParameterList& params) {
      return agents::is_task_batched(params) ? params : agents::expand_to_tasks(params, trajectories.num_tasks());
    };
    behaviour = truncated_behaviour_log_probs(
        policy.log_prob(trajectories.observations, trajectories.actions, task_batched(acting)),
        policy.log_prob(trajectories.observations, trajectories.actions, task_batched(theta)));
  }
  return agents::detach(learner.adapt_step(theta, trajectories, advantages, /*create_graph=*/false, behaviour));
}

RoundsReport evaluate_rounds(const EvalOptions& options, const EvalProgress& on_round, const Collectives& collectives) {
  if (options.rounds < 2) {
    throw UsageError("config key 'rounds': value '" + std::to_string(options.rounds) +
                     "' is invalid for the rounds protocol; expected at least 2 (rounds 1 is the step protocol)");
  }
  PreparedEvaluation prepared = prepare_evaluation(options);
  for (const auto& method : prepared.methods) {
    if (method.family >= 0) {
      throw UsageError("run '" + method.run + "' was trained on one family of the mixture '" + prepared.env_name +
                       "'; the rounds protocol compares runs of one environment (evaluate the family's runs without "
                       "--rounds)");
    }
    TrainConfig rollout_config = method.config;  // what make_task_batches rolls out
    rollout_config.adapt_every = options.adapt_every;
    rollout_config.runtime.env_on_device = options.runtime.env_on_device;
    check_segments_fit(rollout_config, prepared.reference->spec(), options.rounds, "rounds");
  }
  const envs::Split split = options.protocol.split;
  const envs::TaskDistribution& distribution = prepared.reference->task_distribution();
  const envs::TaskProcess process(distribution, recorded_task_process(prepared.methods, options), split);

  // Round 1: the tasks the step protocol draws (the same stream); later rounds from the
  // process's own stream.
  Rng task_rng(derive_seed(options.seed, envs::split_stream(split)));
  const auto first = distribution.sample(options.protocol.tasks, split, task_rng);
  Rng process_rng(derive_seed(options.seed, kEvalTaskProcessStream));
  const auto sequence = process.sequence(first, options.rounds, process_rng);
  // After the sequence, from the same stream: the segment_start evaluation's numbers are
  // unchanged by the option's existence.
  std::vector<std::vector<int>> change_steps;
  if (options.task_change_step != envs::TaskChangeStep::kSegmentStart) {
    if (process.stationary()) {
      throw UsageError("config key 'task_change_step': value '" +
                       enum_name(envs::task_change_step_names(), options.task_change_step) +
                       "' needs a task that moves (task_process is empty, and no run was trained with one); expected "
                       "a task_process, or task_change_step: segment_start");
    }
    change_steps = envs::draw_task_change_steps(options.task_change_step, options.protocol.tasks, options.rounds,
                                                options.adapt_every, process_rng);
  }

  RoundsReport report;
  report.metarl_version = METARL_VERSION;
  report.seed = options.seed;
  report.random_seed = options.random_seed;
  report.env = prepared.env_name;
  report.split = envs::to_string(split);
  report.sequences = options.protocol.tasks;
  report.rollouts = options.protocol.rollouts;
  report.rounds = options.rounds;
  report.return_discount = options.return_discount;
  report.task_process = envs::format_task_process(process.terms());
  report.adapt_every = options.adapt_every;
  report.task_change_step = options.task_change_step;
  report.task_change_steps = change_steps;
  for (const auto& parameter : distribution.parameters()) report.task_parameter_names.push_back(parameter.name);
  for (const auto& round : sequence) {
    std::vector<std::vector<double>> tasks;
    for (int t = 0; t < round.num_tasks; ++t) tasks.emplace_back(round.task(t), round.task(t) + round.num_parameters);
    report.task_parameters.push_back(std::move(tasks));
  }
  for (const auto& method : prepared.methods) {
    for (const auto& [mode, name] : adaptation_mode_names()) {
      (void)name;
      report.curves.push_back(
          rounds_curve(method, mode, *prepared.reference, sequence, change_steps, options, prepared.device,
                       collectives, on_round));
    }
  }
  report.comparisons = compare_rounds(report.curves);
  // Seed groups: each seed was a method above (its modes contiguous, methods in order);
  // per group and mode, the summary across seeds.
  const size_t modes = adaptation_mode_names().size();
  for (const auto& members : prepared.groups) {
    for (size_t m = 0; m < modes; ++m) {
      std::vector<const RoundsCurve*> curves;
      for (size_t s = 0; s < members.group.seeds.size(); ++s) {
        curves.push_back(&report.curves[(members.first + s) * modes + m]);
      }
      const std::string name = curves.front()->algorithm + " " + curves.front()->mode + " (" +
                               shown_run(members.group.dir) + ", " + std::to_string(members.group.seeds.size()) +
                               " seed" + (members.group.seeds.size() == 1 ? "" : "s") + ")";
      report.groups.push_back(summarize_rounds_group(name, members.group.dir, members.group.seeds, curves));
    }
  }
  report.group_comparisons = compare_rounds_groups(report.groups);
  report.warnings = prepared.warnings;
  return report;
}

}  // namespace metarl::meta
