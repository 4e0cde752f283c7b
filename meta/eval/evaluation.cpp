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

// One method of a comparison: where its θ and α come from and how it adapts.
struct ComparedMethod {
  std::string run;  // as given; "" for the random baseline
  std::string name;
  Algorithm algorithm = Algorithm::kRandom;
  // Builds the policy and gives the horizon, the advantage options and the trained
  // inner_lr (the random baseline borrows the first run's, or the defaults).
  TrainConfig config;
  std::optional<CheckpointData> checkpoint;  // θ and α; none for the random baseline
  // The α ablation of a Meta-SGD run (EvalOptions::alpha_ablation): its θ, adapting with
  // one scalar step, the mean of its learned α over all of θ's entries.
  bool mean_alpha = false;
};

ComparedMethod load_run(const std::string& run) {
  ComparedMethod method;
  method.run = run;
  method.checkpoint = load_checkpoint(run);
  try {
    load_config_yaml(method.config, method.checkpoint->config_yaml, "checkpoint config");
    method.algorithm = method.checkpoint->algorithm;
  } catch (const UsageError& e) {
    throw UsageError("checkpoint '" + run + "' holds a config this metarl cannot read: " + e.what());
  }
  return method;
}

// Throws UsageError unless the runs are distinct and share one environment (the
// one options.env names, if any).
void check_runs_comparable(const std::vector<ComparedMethod>& runs, const EvalOptions& options) {
  std::map<std::string, std::string> seen;  // checkpoint file, canonical → run as given
  for (const auto& method : runs) {
    std::error_code ec;
    fs::path file = fs::weakly_canonical(resolve_checkpoint_path(method.run), ec);
    if (ec) file = fs::path(resolve_checkpoint_path(method.run)).lexically_normal();
    const auto [previous, inserted] = seen.emplace(file.string(), method.run);
    if (!inserted) {
      throw UsageError("run '" + method.run + "' is given twice (also as '" + previous->second +
                       "'); each run is one method of the comparison");
    }
  }
  const auto& first = runs.front();
  for (const auto& method : runs) {
    if (!options.env.empty() && method.checkpoint->env != options.env) {
      throw UsageError("run '" + method.run + "' was trained on environment '" + method.checkpoint->env +
                       "', but --env (`env:`) is '" + options.env + "'");
    }
    if (method.checkpoint->env != first.checkpoint->env) {
      throw UsageError("runs '" + first.run + "' (environment '" + first.checkpoint->env + "') and '" + method.run +
                       "' (environment '" + method.checkpoint->env +
                       "') were trained on different environments; only runs of one environment can be compared");
    }
  }
}

// Throws UsageError unless every run's task distribution (its environment's, with the
// run's task_ranges) is the first run's: the tasks are drawn from one distribution for
// every method. Compared as resolved ranges, so the same ranges listed in another order
// or equal to the environment's own are the same distribution.
void check_task_distributions_match(const std::vector<ComparedMethod>& runs) {
  const auto& first = runs.front();
  const envs::TaskDistribution own = envs::EnvRegistry::global().make(first.checkpoint->env, 1, 0)->task_distribution();
  const envs::TaskDistribution first_tasks = own.with_ranges(first.config.task_ranges);
  for (const auto& method : runs) {
    const envs::TaskDistribution tasks = own.with_ranges(method.config.task_ranges);
    for (int i = 0; i < own.num_parameters(); ++i) {
      const auto& a = first_tasks.parameters()[i];
      const auto& b = tasks.parameters()[i];
      if (a.train_low != b.train_low || a.train_high != b.train_high || a.heldout_low != b.heldout_low ||
          a.heldout_high != b.heldout_high) {
        throw UsageError("runs '" + first.run + "' (task_ranges " +
                         config_values::format_task_ranges(first.config.task_ranges) + ") and '" + method.run +
                         "' (task_ranges " + config_values::format_task_ranges(method.config.task_ranges) +
                         ") were trained on different task distributions (parameter '" + a.name +
                         "'); only runs of one distribution can be compared");
      }
    }
  }
}

// Throws UsageError unless every method rolls out for the same horizon: returns
// summed over different horizons are not comparable.
void check_horizons(const std::vector<ComparedMethod>& methods, const envs::EnvSpec& spec) {
  const int horizon = effective_horizon(methods.front().config, spec);
  for (const auto& method : methods) {
    const int other = effective_horizon(method.config, spec);
    if (other != horizon) {
      throw UsageError("runs '" + methods.front().run + "' (horizon " + std::to_string(horizon) + ") and '" +
                       method.run + "' (horizon " + std::to_string(other) +
                       ") roll out for different horizons; their returns are not comparable");
    }
  }
}

// The algorithm, and where two methods share one, the run as given (or the random
// baseline's seed), so that every name in the report is unique.
void name_methods(std::vector<ComparedMethod>& methods, std::uint64_t random_seed) {
  std::map<std::string, int> count;
  const auto base_name = [](const ComparedMethod& method) {
    return to_string(method.algorithm) + (method.mean_alpha ? " mean alpha" : "");
  };
  for (const auto& method : methods) ++count[base_name(method)];
  for (auto& method : methods) {
    method.name = base_name(method);
    if (count[method.name] > 1) {
      method.name += " (" + (method.run.empty() ? "random_seed " + std::to_string(random_seed) : shown_run(method.run)) +
                     ")";
    }
  }
}

// One batch of tasks rolled out together: its environment rows, its sampler and the
// parameters its tasks have adapted to so far (shared θ at step 0, then [T, …]).
struct TaskBatchState {
  std::unique_ptr<envs::BatchedEnv> env;
  std::unique_ptr<agents::Sampler> sampler;
  envs::TaskBatch tasks;  // this process's share of the batch
  int batch_tasks = 0;    // the whole batch's tasks
  ParameterList params;
};

// The adaptation curve of one method. Everything random (environment rows, tasks,
// actions) is built here from options.seed alone: common random numbers across
// methods, and the same numbers whether a method is evaluated alone or with others.
// Tasks are rolled out in batches of task_batch_size(...) so that memory stays bounded
// however many tasks are asked for; batch 0 is seeded exactly as an evaluation of its
// tasks alone, batch b ≥ 1 from task_batch_seed(seed, b).
// `reference` is a one-row instance of the environment: its spec and task distribution.
MethodCurve adaptation_curve(const ComparedMethod& method, const envs::BatchedEnv& reference, const EvalOptions& options,
                             envs::Split split, const torch::Device& device, const Collectives& collectives,
                             const EvalProgress& on_step) {
  const int horizon = effective_horizon(method.config, reference.spec());
  auto policy = make_policy(method.config, reference.spec());
  const auto tensor_options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  // The seed matters for the random baseline only: a run's θ and α replace it. The
  // plain estimator: adaptation takes the gradient's value, which every estimator shares.
  MetaLearner learner(policy, method.algorithm, method.config.inner_lr,
                      derive_seed(options.random_seed, kPolicyInitStream), tensor_options);
  if (method.checkpoint) load_parameters(*method.checkpoint, resolve_checkpoint_path(method.run), learner);
  // The α ablation: every entry of α set to α's mean over all of θ's entries.
  std::optional<double> mean_alpha;
  if (method.mean_alpha) {
    torch::NoGradGuard no_grad;
    double sum = 0.0;
    std::int64_t entries = 0;
    for (const auto& alpha : learner.alpha()) {
      sum += alpha.sum().item<double>();
      entries += alpha.numel();
    }
    mean_alpha = sum / static_cast<double>(entries);
    for (auto& alpha : learner.alpha()) alpha.fill_(*mean_alpha);
  }

  // All tasks from one stream, in order: batch 0's tasks are the first tasks an
  // evaluation of fewer tasks would draw.
  Rng task_rng(derive_seed(options.seed, envs::split_stream(split)));
  const auto all_tasks = reference.task_distribution().sample(options.protocol.tasks, split, task_rng);
  const int batch_size = task_batch_size(options, horizon);
  // Where the environment steps is the evaluation's choice, not the run's.
  TrainConfig rollout_config = method.config;
  rollout_config.runtime.env_on_device = options.runtime.env_on_device;
  std::vector<TaskBatchState> batches;
  for (int first = 0, b = 0; first < options.protocol.tasks; first += batch_size, ++b) {
    TaskBatchState batch;
    const int batch_tasks = std::min(batch_size, options.protocol.tasks - first);
    // With several processes each takes its share of every batch: the rows and the
    // action noise those tasks have in one process (meta/experiment.h).
    const auto [begin, end] = shard(batch_tasks, collectives.rank(), collectives.world_size());
    batch.tasks = all_tasks.slice(first + begin, end - begin);
    batch.batch_tasks = batch_tasks;
    if (batch.tasks.num_tasks == 0) {
      batches.push_back(std::move(batch));  // more processes than this batch has tasks
      continue;
    }
    // The experiment's streams (meta/experiment.h), derived from this batch's seed.
    auto rollouts = make_shard_rollouts(rollout_config, *policy, {begin, batch.tasks.num_tasks, batch_tasks},
                                        options.protocol.rollouts, device, task_batch_seed(options.seed, b));
    batch.env = std::move(rollouts.env);
    batch.sampler = std::move(rollouts.sampler);
    batch.params = agents::detach(learner.theta());
    batches.push_back(std::move(batch));
  }
  // Each method adapts with the advantage estimate it was trained with.
  const auto& advantages = method.config.advantages;

  MethodCurve curve;
  curve.name = method.name;
  curve.algorithm = to_string(method.algorithm);
  curve.run = method.run;
  if (method.checkpoint) {
    curve.checkpoint_iteration = method.checkpoint->iteration;
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(method.checkpoint->checksum));
    curve.checkpoint_checksum = hex;
  }
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
    returns.reserve(static_cast<size_t>(options.protocol.tasks));
    for (auto& batch : batches) {
      std::vector<double> batch_returns;
      if (batch.tasks.num_tasks > 0) {
        // This step's rollouts measure it and are the data of the next adaptation step;
        // one batch's rollouts (and their graph) are alive at a time.
        const auto trajectories = batch.sampler->sample(batch.params, batch.tasks);
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

namespace {

// "" when the group's members (methods[first], … in seed order) all stand at one
// iteration; otherwise a sentence naming each seed's iteration and the group's config.
std::string mixed_iterations_of(const SeedGroup& group, const std::vector<ComparedMethod>& methods, size_t first) {
  bool mixed = false;
  std::string each;
  for (size_t i = 0; i < group.seeds.size(); ++i) {
    const std::int64_t iteration = methods[first + i].checkpoint->iteration;
    mixed = mixed || iteration != methods[first].checkpoint->iteration;
    each += (i == 0 ? "" : ", ") + std::string("seed ") + std::to_string(group.seeds[i]) + " at " +
            std::to_string(iteration);
  }
  if (!mixed) return "";
  std::string configured;
  std::error_code ec;
  if (std::filesystem::exists(seed_group_config_path(group.dir), ec)) {
    try {
      TrainConfig config;
      load_config_file(config, seed_group_config_path(group.dir));
      configured = "; the group's config.yaml says iterations: " + std::to_string(config.iterations);
    } catch (const std::exception&) {
      // The members' checkpoints are what is evaluated; the group's config only informs.
    }
  }
  return "seed group '" + group.dir + "': its seeds' checkpoints stand at different iterations (" + each + ")" +
         configured;
}

}  // namespace

EvalReport evaluate(const EvalOptions& options, const EvalProgress& on_step, const Collectives& collectives) {
  options.validate();
  const envs::Split split = options.protocol.split;

  // Every run is loaded and checked before the first rollout. A seed group stands for
  // its seeds' runs, each a method of its own, summarised after the rollouts.
  std::vector<ComparedMethod> methods;
  struct GroupMembers {
    SeedGroup group;
    size_t first = 0;  // index of its first seed in `methods`
  };
  std::vector<GroupMembers> groups;
  std::vector<std::string> mixed_warnings;
  for (const auto& run : options.checkpoints) {
    if (auto group = read_seed_group(run)) {
      groups.push_back({*group, methods.size()});
      for (const auto& member : group->runs()) {
        if (!std::filesystem::exists(std::filesystem::path(member) / kCheckpointFile)) {
          throw UsageError("seed group '" + run + "': '" + member + "' holds no checkpoint yet (train or resume the "
                           "group first: metarl train --resume " + run + ")");
        }
        methods.push_back(load_run(member));
      }
      const std::string mixed = mixed_iterations_of(*group, methods, groups.back().first);
      if (!mixed.empty() && !options.mixed_iterations) {
        throw UsageError(mixed + "; resume the group so that every seed finishes (metarl train --resume " + run +
                         "), or pass --mixed-iterations to average them all the same");
      }
      if (!mixed.empty()) mixed_warnings.push_back(mixed + "; averaged all the same (--mixed-iterations)");
      continue;
    }
    methods.push_back(load_run(run));
  }
  if (!methods.empty()) {
    check_runs_comparable(methods, options);
    check_task_distributions_match(methods);
  }
  const std::string env_name = methods.empty() ? options.env : methods.front().checkpoint->env;
  if (options.alpha_ablation &&
      std::none_of(methods.begin(), methods.end(), [](const ComparedMethod& m) { return m.algorithm == Algorithm::kMetaSgd; })) {
    std::string algorithms;
    for (const auto& m : methods) algorithms += (algorithms.empty() ? "" : ", ") + m.run + " (" + to_string(m.algorithm) + ")";
    throw UsageError("config key 'alpha_ablation' (--alpha-ablation): no Meta-SGD run to ablate among " +
                     (algorithms.empty() ? std::string("the runs (there are none)") : algorithms) +
                     "; it replaces a Meta-SGD run's learned alpha by its mean");
  }
  if (options.alpha_ablation) {
    // After every run (a seed group's members stay contiguous), before the random baseline.
    const size_t runs = methods.size();
    for (size_t m = 0; m < runs; ++m) {
      if (methods[m].algorithm != Algorithm::kMetaSgd) continue;
      ComparedMethod ablation = methods[m];
      ablation.mean_alpha = true;
      methods.push_back(std::move(ablation));
    }
  }
  if (options.random) {
    ComparedMethod random;
    if (methods.empty()) {
      random.config.env = env_name;  // otherwise TrainConfig's defaults: 2x100 relu, inner_lr 0.1
    } else {
      random.config = methods.front().config;
    }
    methods.push_back(std::move(random));
  }
  // One row: the spec and task distribution every method's batches are built from.
  // The random baseline alone has the environment's distribution; with runs, theirs.
  const auto reference = make_environment(methods.front().config, 1, 0);
  check_horizons(methods, reference->spec());
  // A batch holds whole tasks: one task's rollouts must fit the sample budget.
  const std::int64_t task_samples =
      static_cast<std::int64_t>(options.protocol.rollouts) * effective_horizon(methods.front().config, reference->spec());
  if (task_samples > kSamplesPerTaskBatch) {
    throw UsageError("--rollouts " + std::to_string(options.protocol.rollouts) + " x horizon " +
                     std::to_string(task_samples / options.protocol.rollouts) + " = " + std::to_string(task_samples) +
                     " samples of one task exceed what one batch may hold (" + std::to_string(kSamplesPerTaskBatch) +
                     ", about 4 GB with a 2x100 policy); evaluate with fewer rollouts per task (more tasks instead)");
  }
  // The oracles' measurement shares the methods' first task batch (meta/eval/oracle.h).
  const int first_batch_tasks = task_batch_size(options, effective_horizon(methods.front().config, reference->spec()));
  if (options.oracle_tasks > first_batch_tasks) {
    throw UsageError("config key 'oracle_tasks': value '" + std::to_string(options.oracle_tasks) +
                     "' is invalid; expected at most the evaluation's first task batch (" +
                     std::to_string(first_batch_tasks) +
                     " tasks at these rollouts and horizon, or --task-batch): the oracles are measured on its "
                     "random numbers");
  }
  if (options.oracle_tasks > 0 && options.oracle_start == OracleStart::kFirstRun && !methods.front().checkpoint) {
    throw UsageError("config key 'oracle_start': value 'first_run' is invalid without a run (the random baseline "
                     "alone); expected random, or a RUN_DIR to start from");
  }
  check_environment_at_start(env_name);
  name_methods(methods, options.random_seed);
  const torch::Device device = resolve_device(options.runtime.device);
  configure_threads(options.runtime.threads);
  const BlasKernels kernels = blas_kernels();
  check_blas_kernels(options.runtime.blas_kernels, kernels);
  // A run trained on named kernels (bit for bit on any machine) and evaluated on others
  // gives numbers that differ in their last digits from the evaluation it asked for.
  std::vector<std::string> kernel_warnings;
  for (const auto& method : methods) {
    const std::string& trained = method.config.runtime.blas_kernels;
    if (!method.checkpoint || method.mean_alpha || trained == "auto" || trained == "openblas" || kernels.core.empty()) {
      continue;
    }
    if (same_core(kernels.core, trained)) continue;
    kernel_warnings.push_back(method.name + " was trained with blas_kernels " + trained + "; this evaluation runs " +
                              kernels.core + "'s kernels, so its numbers differ in the last digits from an "
                              "evaluation on " + trained + "'s (--blas-kernels " + trained + ")");
  }

  EvalReport report;
  report.env = env_name;
  report.split = envs::to_string(options.protocol.split);
  report.tasks = options.protocol.tasks;
  report.rollouts = options.protocol.rollouts;
  report.return_discount = options.return_discount;
  report.metarl_version = METARL_VERSION;
  report.seed = options.seed;
  report.random_seed = options.random_seed;
  for (int step = 0; step <= options.protocol.steps; ++step) report.steps.push_back(step);
  // The tasks adaptation_curve draws for every method (the same stream).
  Rng task_rng(derive_seed(options.seed, envs::split_stream(split)));
  const auto tasks = reference->task_distribution().sample(options.protocol.tasks, split, task_rng);
  for (const auto& parameter : reference->task_distribution().parameters()) {
    report.task_parameter_names.push_back(parameter.name);
  }
  for (int t = 0; t < tasks.num_tasks; ++t) {
    report.task_parameters.emplace_back(tasks.task(t), tasks.task(t) + tasks.num_parameters);
  }
  for (const auto& method : methods) {
    report.methods.push_back(adaptation_curve(method, *reference, options, split, device, collectives, on_step));
  }
  report.comparisons = compare_methods(report.methods);
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
  for (const auto& members : groups) {
    const std::vector<MethodCurve> curves(report.methods.begin() + static_cast<std::ptrdiff_t>(members.first),
                                          report.methods.begin() +
                                              static_cast<std::ptrdiff_t>(members.first + members.group.seeds.size()));
    const std::string name = curves.front().algorithm + " (" + shown_run(members.group.dir) + ", " +
                             std::to_string(members.group.seeds.size()) + " seed" +
                             (members.group.seeds.size() == 1 ? "" : "s") + ")";
    report.groups.push_back(summarize_group(name, members.group.dir, members.group.seeds, curves));
  }
  report.group_comparisons = compare_groups(report.groups);
  report.warnings = mixed_warnings;
  report.warnings.insert(report.warnings.end(), kernel_warnings.begin(), kernel_warnings.end());
  return report;
}

}  // namespace metarl::meta
