#include "meta/eval/compared_methods.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "envs/errors.h"
#include "envs/mixture_env.h"
#include "envs/registry.h"
#include "meta/experiment.h"
#include "meta/parallel/blas_kernels.h"
#include "meta/parallel/runtime.h"

namespace metarl::meta {

namespace fs = std::filesystem;
using agents::ParameterList;

namespace {

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
    if (method.family >= 0) continue;  // checked against its family (mark_and_check_family_runs)
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

// Index of the first parameter whose training or held-out range differs between two
// distributions of one environment (the same parameters in the same order); -1 when
// every range is the same.
int first_differing_range(const envs::TaskDistribution& a, const envs::TaskDistribution& b) {
  for (int i = 0; i < a.num_parameters(); ++i) {
    const auto& x = a.parameters()[static_cast<size_t>(i)];
    const auto& y = b.parameters()[static_cast<size_t>(i)];
    if (x.train_low != y.train_low || x.train_high != y.train_high || x.heldout_low != y.heldout_low ||
        x.heldout_high != y.heldout_high) {
      return i;
    }
  }
  return -1;
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
    if (method.family >= 0) continue;  // mark_and_check_family_runs
    const int differing = first_differing_range(first_tasks, own.with_ranges(method.config.task_ranges));
    if (differing >= 0) {
      throw UsageError("runs '" + first.run + "' (task_ranges " +
                       config_values::format_task_ranges(first.config.task_ranges) + ") and '" + method.run +
                       "' (task_ranges " + config_values::format_task_ranges(method.config.task_ranges) +
                       ") were trained on different task distributions (parameter '" +
                       first_tasks.parameters()[static_cast<size_t>(differing)].name +
                       "'); only runs of one distribution can be compared");
    }
  }
}

// Throws UsageError unless every method rolls out for the same horizon: returns
// summed over different horizons are not comparable.
void check_horizons(const std::vector<ComparedMethod>& methods, const envs::EnvSpec& spec) {
  const int horizon = effective_horizon(methods.front().config, spec);
  for (const auto& method : methods) {
    if (method.family >= 0) continue;  // mark_and_check_family_runs
    const int other = effective_horizon(method.config, spec);
    if (other != horizon) {
      throw UsageError("runs '" + methods.front().run + "' (horizon " + std::to_string(horizon) + ") and '" +
                       method.run + "' (horizon " + std::to_string(other) +
                       ") roll out for different horizons; their returns are not comparable");
    }
  }
}

// Marks the runs of one family of the first run's mixture (ComparedMethod::family) and
// checks them: the same task distribution as the mixture's for that family (the mixture
// run's task_ranges routed to it against the family run's own) and episodes of the same
// length (each the smaller of its horizon and the family's time limit), so that their
// returns on the family's tasks compare with the mixture run's. UsageError otherwise, and
// for a run of another environment, naming the mixture's families.
void mark_and_check_family_runs(std::vector<ComparedMethod>& runs) {
  const ComparedMethod& first = runs.front();
  if (!envs::is_mixture_name(first.checkpoint->env)) return;
  const auto mixture_env = make_environment(first.config, 1, 0);
  const envs::TaskDistribution& mixture = mixture_env->task_distribution();
  const auto& families = mixture.family_names();
  for (auto& method : runs) {
    if (method.checkpoint->env == first.checkpoint->env) continue;
    const auto found = std::find(families.begin(), families.end(), method.checkpoint->env);
    if (found == families.end()) {
      std::string names;
      for (const auto& name : families) names += (names.empty() ? "" : ", ") + name;
      throw UsageError("run '" + method.run + "' was trained on environment '" + method.checkpoint->env +
                       "', which is neither the first run's mixture '" + first.checkpoint->env +
                       "' nor one of its families (" + names + "); a single family's run is compared on its "
                       "family's tasks");
    }
    method.family = static_cast<int>(found - families.begin());
    const envs::TaskDistribution& expected = mixture.family_distribution(method.family);
    const auto own_env = make_environment(method.config, 1, 0);
    const envs::TaskDistribution& own = own_env->task_distribution();
    const int differing = first_differing_range(expected, own);
    if (differing >= 0) {
      throw UsageError("run '" + method.run + "' (task_ranges " +
                       config_values::format_task_ranges(method.config.task_ranges) +
                       ") was trained on another distribution of '" + method.checkpoint->env + "' than run '" +
                       first.run + "' (task_ranges " + config_values::format_task_ranges(first.config.task_ranges) +
                       ", parameter '" + own.parameters()[static_cast<size_t>(differing)].name +
                       "'); only runs of one distribution can be compared");
    }
    const int limit = mixture_env->spec().families[static_cast<size_t>(method.family)].max_episode_steps;
    const int mixture_episode = std::min(effective_horizon(first.config, mixture_env->spec()), limit);
    const int family_episode = std::min(effective_horizon(method.config, own_env->spec()), limit);
    if (mixture_episode != family_episode) {
      throw UsageError("runs '" + first.run + "' and '" + method.run + "' roll out episodes of '" +
                       method.checkpoint->env + "' of different lengths (" + std::to_string(mixture_episode) +
                       " and " + std::to_string(family_episode) +
                       " steps: the smaller of each run's horizon and the family's time limit); their returns are "
                       "not comparable");
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

PreparedEvaluation prepare_evaluation(const EvalOptions& options) {
  options.validate();

  // Every run is loaded and checked before the first rollout. A seed group stands for
  // its seeds' runs, each a method of its own, summarised after the rollouts.
  PreparedEvaluation prepared;
  std::vector<ComparedMethod>& methods = prepared.methods;
  std::vector<PreparedEvaluation::GroupMembers>& groups = prepared.groups;
  std::vector<std::string>& mixed_warnings = prepared.warnings;
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
    mark_and_check_family_runs(methods);
    for (const auto& group : groups) {
      if (methods[group.first].family >= 0) {
        throw UsageError("seed group '" + group.group.dir + "' was trained on one family of the first run's mixture; "
                         "give a family's runs one by one (each seed's run directory)");
      }
    }
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
  prepared.reference = make_environment(methods.front().config, 1, 0);
  // A mixture is evaluated on equal shares of the families, whatever weights a run
  // trained with: each family is reported on its own (EvalReport::families).
  if (prepared.reference->task_distribution().is_mixture()) prepared.reference->set_family_weights({});
  const auto& reference = prepared.reference;
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
  prepared.device = resolve_device(options.runtime.device);
  configure_threads(options.runtime.threads);
  const BlasKernels kernels = blas_kernels();
  check_blas_kernels(options.runtime.blas_kernels, kernels);
  // A run trained on named kernels (bit for bit on any machine) and evaluated on others
  // gives numbers that differ in their last digits from the evaluation it asked for.
  std::vector<std::string>& kernel_warnings = prepared.warnings;
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
  prepared.env_name = env_name;
  return prepared;
}

MetaLearner make_method_learner(const ComparedMethod& method, std::shared_ptr<const agents::Policy> policy,
                                const EvalOptions& options, const torch::TensorOptions& tensor_options,
                                std::optional<double>* mean_alpha, agents::Estimator estimator) {
  // The seed matters for the random baseline only: a run's θ and α replace it.
  MetaLearner learner(std::move(policy), method.algorithm, method.config.inner_lr,
                      derive_seed(options.random_seed, kPolicyInitStream), tensor_options, estimator);
  if (method.checkpoint) load_parameters(*method.checkpoint, resolve_checkpoint_path(method.run), learner);
  if (method.mean_alpha) {
    // The α ablation: every entry of α set to α's mean over all of θ's entries.
    torch::NoGradGuard no_grad;
    double sum = 0.0;
    std::int64_t entries = 0;
    for (const auto& alpha : learner.alpha()) {
      sum += alpha.sum().item<double>();
      entries += alpha.numel();
    }
    const double mean = sum / static_cast<double>(entries);
    for (auto& alpha : learner.alpha()) alpha.fill_(mean);
    if (mean_alpha) *mean_alpha = mean;
  }
  return learner;
}

std::vector<TaskBatchState> make_task_batches(const ComparedMethod& method, const agents::Policy& policy,
                                              const EvalOptions& options, int tasks, int horizon,
                                              const ParameterList& start, const torch::Device& device,
                                              const Collectives& collectives) {
  const int batch_size = task_batch_size(options, horizon);
  // Where the environment steps is the evaluation's choice, not the run's.
  TrainConfig rollout_config = method.config;
  rollout_config.runtime.env_on_device = options.runtime.env_on_device;
  // So is online adaptation within an episode (the rounds protocol's adapt_every): the
  // samplers roll out segments of adapt_every steps, or whole episodes when 0.
  rollout_config.adapt_every = options.adapt_every;
  std::vector<TaskBatchState> batches;
  for (int first = 0, b = 0; first < tasks; first += batch_size, ++b) {
    TaskBatchState batch;
    const int batch_tasks = std::min(batch_size, tasks - first);
    // With several processes each takes its share of every batch: the rows and the
    // action noise those tasks have in one process (meta/experiment.h).
    const auto [begin, end] = shard(batch_tasks, collectives.rank(), collectives.world_size());
    batch.first = first + begin;
    batch.num_tasks = end - begin;
    batch.batch_tasks = batch_tasks;
    if (batch.num_tasks > 0) {
      // The experiment's streams (meta/experiment.h), derived from this batch's seed.
      auto rollouts = make_shard_rollouts(rollout_config, policy, {begin, batch.num_tasks, batch_tasks},
                                          options.protocol.rollouts, device, task_batch_seed(options.seed, b));
      batch.env = std::move(rollouts.env);
      batch.sampler = std::move(rollouts.sampler);
      batch.params = agents::detach(start);
    }
    batches.push_back(std::move(batch));  // empty with more processes than this batch has tasks
  }
  return batches;
}

std::int64_t checkpoint_iteration_of(const ComparedMethod& method) {
  return method.checkpoint ? method.checkpoint->iteration : -1;
}

std::string checkpoint_checksum_of(const ComparedMethod& method) {
  if (!method.checkpoint) return "";
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(method.checkpoint->checksum));
  return hex;
}

}  // namespace metarl::meta
