#pragma once
// Adaptation curves: the return of a meta-policy on fresh tasks after 0, 1, …, k
// adaptation steps, mean and 95% confidence interval over tasks. The protocol of
// MAML and Meta-SGD: each step's rollouts both measure the current policy and
// provide the data for the next adaptation step.
//
// Several methods (runs, and the random-initialisation baseline) are compared on
// common random numbers: each gets a freshly built environment, task sample and
// sampler, all seeded from EvalOptions::seed alone, so a method's numbers are the
// same whether it is evaluated alone or beside others, and the differences between
// methods are not sampling noise of different task sets.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agents/trajectories.h"
#include "envs/enum_names.h"
#include "envs/task_distribution.h"
#include "envs/task_process.h"
#include "meta/options.h"
#include "meta/parallel/collectives.h"
#include "meta/schema/config_schema.h"
#include "meta/eval/eval_report.h"

namespace metarl::meta {

// Where each oracle policy starts: kRandom from the random baseline's θ (trained from
// scratch); kFirstRun from the first run's θ (fine-tuned on each task: the reference
// where training from scratch needs far more than the budget, e.g. pendulum).
enum class OracleStart { kRandom, kFirstRun };
const EnumNames<OracleStart>& oracle_start_names();  // random, first_run
std::string to_string(OracleStart start);

struct EvalOptions {
  // Runs to compare, in report order: run directories or checkpoint files from
  // `metarl train`. They must share one environment and one rollout horizon.
  std::vector<std::string> checkpoints;
  // Adds, after the runs, each Meta-SGD run again as "meta-sgd mean alpha": its θ adapting
  // with one scalar step, the mean of its learned α over all of θ's entries (the step-size
  // schedule does not apply). Paired with the run itself, it measures what the
  // per-parameter step buys over a step of the same average size from the same θ.
  bool alpha_ablation = false;
  // A seed group whose members' checkpoints stand at different iterations (a group
  // resume that failed part-way) is refused, naming them; with this set it is averaged
  // all the same, and the report and a warning name each member's iteration.
  bool mixed_iterations = false;
  // Adds the random-initialisation baseline (after the runs): the policy the first
  // run's config builds (architecture, horizon, advantages), or with no run a
  // default TrainConfig (2×100 ReLU) on `env`, with θ = its initial parameters.
  bool random = false;
  // θ of the random baseline is the initialisation a training run with this seed
  // starts from (derive_seed(random_seed, kPolicyInitStream)).
  std::uint64_t random_seed = 1;
  // "" → the runs' environment. Given, every run must have been trained on it; the
  // random baseline without a run needs it.
  std::string env;
  // Inner step sizes of the fixed-α methods (maml, pretrained, random): adaptation
  // step j = 1, 2, … uses entry j−1 and the last entry repeats, e.g. {0.1, 0.05}
  // (MAML's evaluation). Empty → each run's trained inner_lr (random: the first
  // run's inner_lr, or 0.1 without a run). Meta-SGD always adapts with its learned
  // α, which this schedule never touches.
  std::vector<double> step_sizes;
  // The pretrained runs' and the random baseline's own schedules, where they differ from
  // step_sizes' (MAML's evaluation scripts stepped each baseline at its own size);
  // empty → step_sizes.
  std::vector<double> pretrained_step_sizes;
  std::vector<double> random_step_sizes;
  EvaluationProtocol protocol;  // split, tasks, rollouts per task and step, adaptation steps
  // Rounds of a non-stationary task sequence (meta/eval/rounds_evaluation.h): 1 is the
  // step protocol above; K ≥ 2 measures every method over K rounds, one batch of
  // `rollouts` per round and one adaptation step between rounds, each of `tasks`
  // sequences moving by task_process (empty: the same task every round). protocol.steps
  // and the oracle belong to the step protocol and are refused with rounds ≥ 2.
  int rounds = 1;
  std::vector<envs::TaskProcessTerm> task_process;
  // Online adaptation within an episode (rounds ≥ 2), m steps: 0 → every round is whole
  // episodes from a reset. m > 0 → round r is steps (r−1)·m … r·m − 1 of one episode per
  // rollout (agents::Sampler::continue_episodes), the task moving by task_process between
  // segments and the policy adapting after each from its m steps; rounds·m ≤ the runs'
  // horizon. The evaluation's choice, as given: a run trained with adapt_every is
  // evaluated on whole episodes unless this is set.
  int adapt_every = 0;
  // With adapt_every: where in a segment the sequence's next task takes effect
  // (envs::TaskChangeStep; random draws a step per sequence and segment from the
  // task-process stream). The evaluation's choice, as given, like adapt_every.
  envs::TaskChangeStep task_change_step = envs::TaskChangeStep::kSegmentStart;
  std::uint64_t seed = 1000;  // evaluation seed (tasks and rollouts), the same for every method
  // γ of the reported return Σ_t γ^t r_t. 1 is the undiscounted episode return that
  // MAML's result files and docs/results.md report; rllab, which the papers ran on,
  // also logs the return discounted with the training γ (AverageDiscountedReturn).
  // Adaptation itself always uses the run's own γ and advantages.
  double return_discount = 1.0;
  // Tasks rolled out and adapted together; 0 → task_batch_size's automatic choice.
  // Only one batch's rollouts and graph are alive at a time, so this bounds memory.
  int task_batch = 0;
  RuntimeOptions runtime;  // device, env_on_device, threads, blas_kernels
  // The oracle (meta/eval/oracle.h): for each of the first oracle_tasks tasks (0 = none), a
  // policy of the first method's architecture trained on that task alone with Adam at
  // oracle_lr, oracle_iterations steps of oracle_rollouts fresh episodes each.
  int oracle_tasks = 0;
  OracleStart oracle_start = OracleStart::kRandom;
  int oracle_iterations = 200;
  int oracle_rollouts = 20;
  double oracle_lr = 0.01;

  // Throws UsageError naming the option and value, or saying what is missing.
  void validate() const;
};

// The keys of EvalOptions: YAML (`metarl eval --config`), --set and the flags.
const ConfigSchema<EvalOptions>& eval_config_schema();

// `on_step(method, step, steps, mean_return)` after each step's rollouts.
using EvalProgress = std::function<void(const std::string& method, int step, int steps, double mean_return)>;

// Evaluates every run of options.checkpoints, then the random baseline when asked
// for; report.methods keeps that order. Every run is loaded and checked before any
// rollout: throws UsageError for a missing or incompatible checkpoint, runs of
// different environments or horizons, or a run given twice.
// With several processes (meta/parallel/collectives.h) each rolls out its share of every task
// batch — the rows and action noise those tasks have in one process — and every
// process ends with the whole report: the same numbers as one process, up to the
// floating-point order of the policy's arithmetic (none on one machine: bit for bit).
EvalReport evaluate(const EvalOptions& options, const EvalProgress& on_step = {},
                    const Collectives& collectives = single_process());

// What a report gives per task: the mean over its rollouts of Σ_t γ^t r_t from each
// episode's first step ([T] on the CPU); γ = 1 is the plain episode return.
std::vector<double> per_task_mean_returns(const agents::Trajectories& trajectories, double gamma);

// Automatic task batches hold at most this many samples (tasks × rollouts × horizon):
// 300 pendulum tasks × 40 rollouts × 200 steps with a 2×100 policy peaked at 4.2 GB
// resident (2026-11-24), about 1.75 kB per sample; 2500 such tasks in one batch were
// killed for memory on a 23 GB machine.
inline constexpr std::int64_t kSamplesPerTaskBatch = 2'500'000;

// Tasks per batch: options.task_batch when given, else as many as fit
// kSamplesPerTaskBatch at options.rollouts and `horizon` (at least 1); never more
// than options.tasks. The same for every method of a comparison (they share the
// horizon), so methods still see common random numbers.
int task_batch_size(const EvalOptions& options, int horizon);

// The seed batch b draws its environment rows and actions from: `seed` itself for
// b = 0, so an evaluation whose tasks fit one batch is seeded as before batches
// existed, and derive_seed(derive_seed(seed, kTaskBatchStream), b) for b ≥ 1. The
// numbers therefore depend on the batch size once there is more than one batch, as
// they depend on the seed.
inline constexpr std::uint64_t kTaskBatchStream = 4;
std::uint64_t task_batch_seed(std::uint64_t seed, int batch);

// The inner step size of adaptation step `step` (1-based) under `schedule`, or
// `trained` when the schedule is empty.
double scheduled_step_size(const std::vector<double>& schedule, int step, double trained);
// The schedule a method of this algorithm follows: pretrained_step_sizes or
// random_step_sizes where given for its kind, else step_sizes.
const std::vector<double>& step_size_schedule(const EvalOptions& options, Algorithm algorithm);

}  // namespace metarl::meta
