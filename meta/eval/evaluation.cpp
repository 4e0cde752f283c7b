#include "meta/eval/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "agents/advantages.h"
#include "agents/sampler.h"
#include "envs/errors.h"
#include "envs/registry.h"
#include "envs/version.h"
#include "meta/checkpoint.h"
#include "meta/config.h"
#include "meta/meta_learner.h"
#include "meta/eval/compared_methods.h"
#include "meta/eval/oracle.h"
#include "meta/parallel/blas_kernels.h"
#include "meta/parallel/runtime.h"
#include "meta/eval/group_statistics.h"
#include "meta/run/seed_group.h"
#include "meta/experiment.h"

namespace metarl::meta {

namespace fs = std::filesystem;
using agents::ParameterList;

namespace {

using config_values::bad_value;

// "a,b" or "[a, b]" → {"a", "b"}; "" or "[]" → {}. YAML lists reach a key
// comma-joined (config_detail::for_each_yaml_entry), so items cannot hold commas.
std::vector<std::string> split_list(const std::string& value) {
  std::string text = config_detail::trim(value);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  std::vector<std::string> items;
  if (config_detail::trim(text).empty()) return items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) items.push_back(config_detail::trim(item));
  if (text.back() == ',') items.emplace_back();  // getline drops a trailing empty item
  return items;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

// One key for one or several runs. A second key (`checkpoints`) for the same field
// was rejected: --print-config would write the runs twice.
ConfigKey<EvalOptions> checkpoints_key() {
  const std::string name = "checkpoint";
  return {name,
          "run directories (or checkpoint files) to compare: one, or a list [runs/a, runs/b]; on the command line "
          "also RUN_DIR arguments",
          false,
          [name](EvalOptions& options, const std::string& value) {
            auto runs = split_list(value);
            for (const auto& run : runs) {
              if (run.empty()) bad_value(name, value, "run directories separated by commas, e.g. runs/a,runs/b");
            }
            options.checkpoints = std::move(runs);
          },
          // One run prints as a plain path, as before lists were accepted.
          [](const EvalOptions& options) {
            return options.checkpoints.size() == 1 ? options.checkpoints.front() : join_list(options.checkpoints);
          }, "LIST"};
}

// A schedule of inner step sizes (one per adaptation step, the last repeating) held in
// `schedule` of EvalOptions, under the key `name`.
ConfigKey<EvalOptions> step_sizes_key(const std::string& name, const std::string& help,
                                      std::vector<double> EvalOptions::*schedule) {
  return {name, help, false,
          [name, schedule](EvalOptions& options, const std::string& value) {
            std::vector<double> sizes;
            const auto items = split_list(value);
            for (size_t i = 0; i < items.size(); ++i) {
              const std::string expected = "step sizes in (0, 1000], e.g. 0.1,0.05 ([] for each run's trained "
                                           "inner_lr); entry " + std::to_string(i + 1) + " is '" +
                                           quoted_value(items[i], 40) + "'";
              double size = 0.0;
              try {
                size = config_values::parse_real(name, items[i], 0.0, 1e3);
              } catch (const UsageError&) {
                bad_value(name, value, expected);
              }
              if (!(size > 0.0)) bad_value(name, value, expected);
              sizes.push_back(size);
            }
            options.*schedule = std::move(sizes);
          },
          [schedule](const EvalOptions& options) {
            std::vector<std::string> items;
            for (double size : options.*schedule) items.push_back(config_values::format_real(size));
            return join_list(items);
          }, "LIST"};
}

}  // namespace

const EnumNames<OracleStart>& oracle_start_names() {
  static const EnumNames<OracleStart> names{{OracleStart::kRandom, "random"}, {OracleStart::kFirstRun, "first_run"}};
  return names;
}

std::string to_string(OracleStart start) { return enum_name(oracle_start_names(), start); }

const ConfigSchema<EvalOptions>& eval_config_schema() {
  using E = EvalOptions;
  static const ConfigSchema<EvalOptions> schema(
      "evaluation config",
      {checkpoints_key(),
       bool_key<E>("alpha_ablation",
                   "also evaluate every meta-sgd run with one scalar step, the mean of its learned alpha ('meta-sgd "
                   "mean alpha'): the same theta adapting as MAML would, so the paired difference says what the "
                   "per-parameter step buys",
                   &E::alpha_ablation),
       bool_key<E>("mixed_iterations",
                   "average a seed group whose seeds' checkpoints stand at different iterations (refused "
                   "otherwise); the report and a warning name each seed's iteration",
                   &E::mixed_iterations),
       bool_key<E>("random", "add the random-initialisation baseline (the first run's architecture, or 2x100 relu "
                             "on --env without a run)",
                   &E::random),
       seed_key<E>("random_seed", "seed of the random baseline's parameters (those a training run with this seed "
                                  "starts from)",
                   &E::random_seed),
       // Optional, so not a name_key (which refuses ""): empty means the runs' environment.
       {"env", "environment; empty = the runs' own (then checked against it); required by random without a run",
        false, [](E& options, const std::string& value) { options.env = config_detail::trim(value); },
        [](const E& options) { return options.env; }},
       step_sizes_key("step_sizes",
                      "inner step size per adaptation step for maml, pretrained and random, e.g. 0.1,0.05 (step j "
                      "uses entry j, the last repeats); empty = each run's trained inner_lr; meta-sgd always uses "
                      "its learned alpha",
                      &EvalOptions::step_sizes),
       step_sizes_key("pretrained_step_sizes",
                      "the pretrained runs' own step-size schedule instead of step_sizes' (MAML's evaluation: "
                      "0.02 on halfcheetah-vel), e.g. 0.02; empty = step_sizes",
                      &EvalOptions::pretrained_step_sizes),
       step_sizes_key("random_step_sizes",
                      "the random baseline's own step-size schedule instead of step_sizes' (MAML's evaluation: 0.1 "
                      "on halfcheetah-vel, 1.0 on forward/backward), e.g. 1.0; empty = step_sizes",
                      &EvalOptions::random_step_sizes),
       enum_key<E>("split", "tasks to adapt to: train, test (fresh training-range tasks) or heldout",
                   field(&E::protocol, &EvaluationProtocol::split),
                   envs::split_names()),
       int_key<E>("tasks", "number of tasks", field(&E::protocol, &EvaluationProtocol::tasks), 1, 100000),
       int_key<E>("rollouts", "rollouts per task and adaptation step",
                  field(&E::protocol, &EvaluationProtocol::rollouts), 1, 100000),
       int_key<E>("steps", "adaptation steps k (returns after 0..k)",
                  field(&E::protocol, &EvaluationProtocol::steps), 0, 100),
       seed_key<E>("seed", "evaluation seed (tasks and rollouts; the same for every method)", &E::seed),
       int_key<E>("rounds",
                  "rounds of a non-stationary task sequence: 1 = the step protocol (returns after 0..steps "
                  "adaptation steps on one task); K >= 2 = the return of every round for each method adapting "
                  "continuously, restarting from theta, and not at all, one adaptation step between rounds",
                  &E::rounds, 1, 1000),
       task_process_key<E>(
           "how each sequence's task moves between rounds (with rounds >= 2): NAME=walk(STD), "
           "NAME=switch(PROBABILITY), NAME=drift(STEP) or NAME=scale(FACTOR) per task parameter (`metarl envs` lists "
           "them), kept inside the split's range; empty = the same task every round; a run trained with a process "
           "is evaluated on it",
           &E::task_process),
       int_key<E>("adapt_every",
                  "online adaptation within an episode (with rounds >= 2): round r is steps (r-1)*m..r*m-1 of one "
                  "episode, adapting after each from its m steps, the task moving between segments or inside them "
                  "(task_change_step) (0 = every round is whole episodes from a reset)",
                  &E::adapt_every, 0, 100000),
       enum_key<E>("task_change_step",
                   "with adapt_every, where in a segment the task moves: segment_start (between segments) or random "
                   "(at a step drawn uniformly from the segment's m steps, per sequence and segment)",
                   &E::task_change_step, envs::task_change_step_names()),
       real_key<E>("return_discount",
                   "gamma of the reported return sum_t gamma^t r_t (1 = undiscounted episode return; adaptation "
                   "always uses the run's own gamma)",
                   &E::return_discount, 0.0, 1.0),
       int_key<E>("task_batch",
                  "tasks rolled out together, which bounds memory (0 = as many as fit 2.5 M samples: "
                  "tasks x rollouts x horizon); the numbers depend on it once tasks exceed one batch",
                  &E::task_batch, 0, 100000),
       device_key<E>("device", "cpu, cuda or cuda:N", field(&E::runtime, &RuntimeOptions::device)),
       bool_key<E>("env_on_device",
                   "step the environment's device twin where the policy runs (point-nav, cartpole, pendulum): the "
                   "same numbers, without a host round trip per step on a GPU",
                   field(&E::runtime, &RuntimeOptions::env_on_device)),
       int_key<E>("threads", "torch intra-op threads (0 = one per core; 1 is fastest at small sizes)",
                  field(&E::runtime, &RuntimeOptions::threads), 0, 1024),
       choice_key<E>("blas_kernels",
                     "BLAS kernels: auto (the fastest this CPU supports when OpenBLAS did not recognise it), "
                     "openblas (its own choice) or a core by name (haswell: the same products on every AVX2 CPU; a "
                     "run trained with one is best evaluated with it too)",
                     field(&E::runtime, &RuntimeOptions::blas_kernels), blas_kernels_choices()),
       int_key<E>("oracle_tasks",
                  "train an oracle for each of the first N tasks: a policy (the first run's architecture) trained on "
                  "that task alone; the report gives each method's gap to it and the fraction one step closes (0 = "
                  "none; at most --tasks)",
                  &E::oracle_tasks, 0, 100000),
       enum_key<E>("oracle_start",
                   "where each oracle policy starts: random (the random baseline's theta, trained from scratch) "
                   "or first_run (the first run's theta, fine-tuned on its task)",
                   &E::oracle_start, oracle_start_names()),
       int_key<E>("oracle_iterations", "Adam steps of each oracle policy, each on oracle_rollouts fresh episodes",
                  &E::oracle_iterations, 0, 1000000),
       int_key<E>("oracle_rollouts", "episodes of its task per oracle training step", &E::oracle_rollouts, 1, 100000),
       real_key<E>("oracle_lr", "Adam step size of the oracle policies", &E::oracle_lr, 1e-8, 10.0)});
  return schema;
}

void EvalOptions::validate() const {
  if (checkpoints.empty() && !random) {
    throw UsageError("nothing to evaluate: give RUN_DIR arguments (or --checkpoint, `checkpoint:` in --config), "
                     "and/or --random");
  }
  if (checkpoints.empty() && env.empty()) {
    throw UsageError("--random without a run needs --env NAME (`env:` in --config): the environment of the random "
                     "policy, which then has the default architecture (2x100 relu)");
  }
  // Every field through its key's parser: the ranges live in the schema alone.
  EvalOptions checked;
  for (const auto& key : eval_config_schema().keys()) key.set(checked, key.get(*this));
  check_environment_rows(protocol.tasks, protocol.rollouts, "--tasks x --rollouts");
  if (oracle_tasks > protocol.tasks) {
    throw UsageError("config key 'oracle_tasks': value '" + std::to_string(oracle_tasks) +
                     "' is invalid; expected at most tasks (" + std::to_string(protocol.tasks) +
                     "): the oracles are trained on the evaluation's first tasks");
  }
  check_environment_rows(oracle_tasks, oracle_rollouts, "--oracle-tasks x --oracle-rollouts");
  if (rounds == 1 && !task_process.empty()) {
    throw UsageError("config key 'task_process': value '" + config_values::format_task_process(task_process) +
                     "' needs rounds of at least 2 (--rounds K): a process moves the task between rounds");
  }
  if (rounds == 1 && adapt_every > 0) {
    throw UsageError("config key 'adapt_every': value '" + std::to_string(adapt_every) +
                     "' needs rounds of at least 2 (--rounds K): round r is the episode's r-th segment of " +
                     std::to_string(adapt_every) + " steps");
  }
  if (task_change_step != envs::TaskChangeStep::kSegmentStart && adapt_every == 0) {
    throw UsageError("config key 'task_change_step': value '" +
                     enum_name(envs::task_change_step_names(), task_change_step) +
                     "' needs online segments (adapt_every m > 0 with rounds >= 2): the task changes at a step inside "
                     "a segment; expected adapt_every > 0, or task_change_step: segment_start");
  }
  const EvaluationProtocol step_protocol;
  if (rounds > 1 && protocol.steps != step_protocol.steps) {
    throw UsageError("config key 'steps': value '" + std::to_string(protocol.steps) +
                     "' does not apply with rounds " + std::to_string(rounds) +
                     " (one adaptation step between consecutive rounds); leave steps out");
  }
  if (rounds > 1 && oracle_tasks > 0) {
    throw UsageError("config key 'oracle_tasks': value '" + std::to_string(oracle_tasks) +
                     "' does not apply with rounds " + std::to_string(rounds) +
                     " (the oracle belongs to the step protocol); leave it out");
  }
}

std::vector<double> per_task_mean_returns(const agents::Trajectories& trajectories, double gamma) {
  // Σ_t γ^t r_t of each episode from its first step, [T, R]: γ = 1 is the plain sum
  // (rllab's AverageReturn), γ < 1 its AverageDiscountedReturn.
  const auto episode_returns =
      gamma == 1.0 ? trajectories.episode_returns()
                   : agents::discounted_returns(trajectories.rewards, trajectories.mask, gamma).select(-1, 0);
  const auto per_task = episode_returns.mean(1).to(torch::kCPU, torch::kDouble).contiguous();
  return std::vector<double>(per_task.data_ptr<double>(), per_task.data_ptr<double>() + per_task.numel());
}

int task_batch_size(const EvalOptions& options, int horizon) {
  std::int64_t size = options.task_batch;
  if (size <= 0) {
    const std::int64_t per_task = static_cast<std::int64_t>(options.protocol.rollouts) * std::max(horizon, 1);
    size = std::max<std::int64_t>(1, kSamplesPerTaskBatch / per_task);
  }
  return static_cast<int>(std::min<std::int64_t>(size, options.protocol.tasks));
}

std::uint64_t task_batch_seed(std::uint64_t seed, int batch) {
  return batch == 0 ? seed : derive_seed(derive_seed(seed, kTaskBatchStream), static_cast<std::uint64_t>(batch));
}

const std::vector<double>& step_size_schedule(const EvalOptions& options, Algorithm algorithm) {
  if (algorithm == Algorithm::kPretrained && !options.pretrained_step_sizes.empty()) {
    return options.pretrained_step_sizes;
  }
  if (algorithm == Algorithm::kRandom && !options.random_step_sizes.empty()) return options.random_step_sizes;
  return options.step_sizes;
}

double scheduled_step_size(const std::vector<double>& schedule, int step, double trained) {
  if (schedule.empty()) return trained;
  const size_t index = static_cast<size_t>(std::max(step, 1) - 1);
  return schedule[std::min(index, schedule.size() - 1)];
}


namespace {

// The adaptation curve of one method. Everything random (environment rows, tasks,
// actions) is built here from options.seed alone: common random numbers across
// methods, and the same numbers whether a method is evaluated alone or with others.
// Tasks are rolled out in batches of task_batch_size(...) so that memory stays bounded
// however many tasks are asked for; batch 0 is seeded exactly as an evaluation of its
// tasks alone, batch b ≥ 1 from task_batch_seed(seed, b).
// `reference` is a one-row instance of the method's environment: its spec. `all_tasks`
// are the tasks to evaluate on, in order (the evaluation's, or a family run's share).
MethodCurve adaptation_curve(const ComparedMethod& method, const envs::BatchedEnv& reference, const EvalOptions& options,
                             const envs::TaskBatch& all_tasks, const torch::Device& device,
                             const Collectives& collectives, const EvalProgress& on_step) {
  const int horizon = effective_horizon(method.config, reference.spec());
  auto policy = make_policy(method.config, reference.spec());
  const auto tensor_options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  // The plain estimator: adaptation takes the gradient's value, which every estimator shares.
  std::optional<double> mean_alpha;
  MetaLearner learner = make_method_learner(method, policy, options, tensor_options, &mean_alpha);
  auto batches = make_task_batches(method, *policy, options, all_tasks.num_tasks, horizon,
                                   agents::detach(learner.theta()), device, collectives);
  // Each method adapts with the advantage estimate it was trained with.
  const auto& advantages = method.config.advantages;

  MethodCurve curve;
  curve.name = method.name;
  curve.algorithm = to_string(method.algorithm);
  curve.run = method.run;
  curve.checkpoint_iteration = checkpoint_iteration_of(method);
  curve.checkpoint_checksum = checkpoint_checksum_of(method);
  for (int step = 0; step <= options.protocol.steps; ++step) {
    const bool adapt_after = step < options.protocol.steps;
    // A fixed α (0-dim) follows the schedule; Meta-SGD's learned α stays as trained.
    if (adapt_after && !learner.learns_alpha()) {
      torch::NoGradGuard no_grad;
      const std::vector<double>& schedule = step_size_schedule(options, method.algorithm);
      if (!schedule.empty()) {
        for (auto& alpha : learner.alpha()) alpha.fill_(scheduled_step_size(schedule, step + 1, 0.0));
      }
      curve.step_sizes.push_back(learner.alpha().front().item<double>());  // the step size step + 1 takes
    }
    if (adapt_after && mean_alpha) curve.step_sizes.push_back(*mean_alpha);
    std::vector<double> returns;
    returns.reserve(static_cast<size_t>(all_tasks.num_tasks));
    for (auto& batch : batches) {
      std::vector<double> batch_returns;
      if (batch.num_tasks > 0) {
        // This step's rollouts measure it and are the data of the next adaptation step;
        // one batch's rollouts (and their graph) are alive at a time.
        const auto trajectories = batch.sampler->sample(batch.params, all_tasks.slice(batch.first, batch.num_tasks));
        batch_returns = per_task_mean_returns(trajectories, options.return_discount);
        if (adapt_after) {
          batch.params =
              agents::detach(learner.adapt_step(batch.params, trajectories, advantages, /*create_graph=*/false));
        }
      }
      if (collectives.distributed()) batch_returns = all_gather_doubles(collectives, batch_returns, "the per-task returns");
      returns.insert(returns.end(), batch_returns.begin(), batch_returns.end());
    }
    double mean = 0.0;
    double ci = 0.0;
    mean_and_ci95(returns, mean, ci);
    curve.mean.push_back(mean);
    curve.ci95.push_back(ci);
    const PairedDifference gain = paired_difference(returns, step == 0 ? returns : curve.task_returns.front());
    curve.gain_mean.push_back(gain.mean);
    curve.gain_ci95.push_back(gain.ci95);
    curve.task_returns.push_back(std::move(returns));
    if (on_step) on_step(curve.name, step, options.protocol.steps, mean);
  }
  return curve;
}

}  // namespace

EvalReport evaluate(const EvalOptions& options, const EvalProgress& on_step, const Collectives& collectives) {
  if (options.rounds > 1) {
    throw std::invalid_argument("evaluate: rounds " + std::to_string(options.rounds) +
                                " is the rounds protocol (evaluate_rounds, meta/eval/rounds_evaluation.h)");
  }
  // Every run is loaded and checked before the first rollout. A seed group stands for
  // its seeds' runs, each a method of its own, summarised after the rollouts.
  const PreparedEvaluation prepared = prepare_evaluation(options);
  const envs::Split split = options.protocol.split;
  const std::vector<ComparedMethod>& methods = prepared.methods;
  const auto& reference = prepared.reference;
  const torch::Device& device = prepared.device;
  const int first_batch_tasks = task_batch_size(options, effective_horizon(methods.front().config, reference->spec()));

  EvalReport report;
  report.env = prepared.env_name;
  report.split = envs::to_string(options.protocol.split);
  report.tasks = options.protocol.tasks;
  report.rollouts = options.protocol.rollouts;
  report.return_discount = options.return_discount;
  report.metarl_version = METARL_VERSION;
  report.seed = options.seed;
  report.random_seed = options.random_seed;
  for (int step = 0; step <= options.protocol.steps; ++step) report.steps.push_back(step);
  // Every method's tasks, from one stream in order: batch 0's tasks are the first tasks
  // an evaluation of fewer tasks would draw.
  Rng task_rng(derive_seed(options.seed, envs::split_stream(split)));
  const auto tasks = reference->task_distribution().sample(options.protocol.tasks, split, task_rng);
  for (const auto& parameter : reference->task_distribution().parameters()) {
    report.task_parameter_names.push_back(parameter.name);
  }
  for (int t = 0; t < tasks.num_tasks; ++t) {
    report.task_parameters.emplace_back(tasks.task(t), tasks.task(t) + tasks.num_parameters);
  }
  std::vector<std::pair<int, MethodCurve>> family_runs;
  for (const auto& method : methods) {
    if (method.family < 0) {
      report.methods.push_back(adaptation_curve(method, *reference, options, tasks, device, collectives, on_step));
      continue;
    }
    // A run of one family: that family's tasks, in order, as its own environment's.
    const envs::TaskDistribution& mixture = reference->task_distribution();
    const auto family_env = make_environment(method.config, 1, 0);
    const int parameters = family_env->task_distribution().num_parameters();
    envs::TaskBatch own{0, parameters, {}};
    for (int t = 0; t < tasks.num_tasks; ++t) {
      if (mixture.family_of(tasks.task(t)) != method.family) continue;
      const double* first = tasks.task(t) + mixture.family_offset(method.family);
      own.values.insert(own.values.end(), first, first + parameters);
      ++own.num_tasks;
    }
    if (own.num_tasks == 0) continue;  // no task of its family among so few
    family_runs.emplace_back(method.family,
                             adaptation_curve(method, *family_env, options, own, device, collectives, on_step));
  }
  report.comparisons = compare_methods(report.methods);
  if (reference->task_distribution().is_mixture()) {
    report.families = family_reports(report.methods, report.task_parameters,
                                     reference->task_distribution().family_names(), family_runs);
  }
  if (options.oracle_tasks > 0) {
    // θ the oracles start from: the random baseline's, or the first run's.
    const ComparedMethod& first = methods.front();
    MetaLearner start(make_policy(first.config, reference->spec()), first.algorithm, first.config.inner_lr,
                      derive_seed(options.random_seed, kPolicyInitStream),
                      torch::TensorOptions().dtype(torch::kFloat32).device(device));
    std::string start_description = "the random initialisation";
    if (options.oracle_start == OracleStart::kFirstRun) {
      load_parameters(*first.checkpoint, resolve_checkpoint_path(first.run), start);
      start_description = "theta of " + first.name;
    }
    report.oracle = train_oracles(first.config, tasks.slice(0, options.oracle_tasks), start, start_description,
                                  options, first_batch_tasks, device, collectives, on_step);
    report.oracle.gaps = oracle_gaps(report.oracle, report.methods);
  }
  for (const auto& members : prepared.groups) {
    // Index in report.methods: the family runs before the group are not there.
    const auto first = static_cast<std::ptrdiff_t>(
        members.first - static_cast<size_t>(std::count_if(methods.begin(), methods.begin() + members.first,
                                                          [](const ComparedMethod& m) { return m.family >= 0; })));
    const std::vector<MethodCurve> curves(
        report.methods.begin() + first,
        report.methods.begin() + first + static_cast<std::ptrdiff_t>(members.group.seeds.size()));
    const std::string name = curves.front().algorithm + " (" + shown_run(members.group.dir) + ", " +
                             std::to_string(members.group.seeds.size()) + " seed" +
                             (members.group.seeds.size() == 1 ? "" : "s") + ")";
    report.groups.push_back(summarize_group(name, members.group.dir, members.group.seeds, curves));
  }
  report.group_comparisons = compare_groups(report.groups);
  report.warnings = prepared.warnings;
  return report;
}

}  // namespace metarl::meta
