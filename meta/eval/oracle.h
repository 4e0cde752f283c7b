#pragma once
// The oracle of an evaluation (`metarl eval --oracle-tasks K`): for each of the first K
// tasks of the evaluation, a policy trained on that task alone, so that a report can say
// how good a policy can get on the task for a stated budget, and what fraction of the
// gap to it one adaptation step closes (OracleGap::closed, meta/eval/eval_report.h).
//
// Each oracle policy has the first method's architecture, horizon, action space and
// advantage estimate; it starts from the random initialisation (the random baseline's θ,
// EvalOptions::random_seed), or with oracle_start first_run from the first run's θ, and
// takes oracle_iterations Adam steps at oracle_lr on the policy-gradient loss of
// oracle_rollouts fresh episodes of its task (the loss an adaptation step
// differentiates, MetaLearner::inner_loss). Budget per task:
// iterations × rollouts episodes.
//
// All K policies train as one task-batched parameter set [K, …]: task t's loss depends
// only on slice t and Adam is elementwise, so each slice follows the Adam trajectory of
// its task trained alone. With several processes each trains its share of the K tasks.
//
// The trained policies are measured with the evaluation's rollouts and random numbers:
// the same environment rows and action noise as every method's step-0 rollouts of those
// tasks (they lie in the evaluation's first task batch), so oracle − method is paired
// per task like the comparisons between methods.

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "envs/task_distribution.h"
#include "meta/parallel/collectives.h"
#include "meta/config.h"
#include "meta/eval/eval_report.h"
#include "meta/eval/evaluation.h"
#include "meta/meta_learner.h"

namespace metarl::meta {

// The oracle's training rollouts draw from derive_seed(EvalOptions::seed, kOracleStream).
inline constexpr std::uint64_t kOracleStream = 5;

// The method name EvalProgress reports the oracle's training under, about twenty times
// per training ("step" is then the training iteration, "steps" oracle_iterations).
inline constexpr const char* kOracleProgressName = "oracle";

// Trains and measures the oracles of `tasks` (the evaluation's first
// options.oracle_tasks tasks, in order). `config`: the first method's (horizon,
// advantages, action space). `start`: the learner whose θ every oracle starts from and
// whose policy and inner loss it trains with (its α is unused); `start_description`
// says what that θ is ("the random initialisation"). `first_batch_tasks`: the tasks of
// the evaluation's first task batch (task_batch_size), which must hold all of `tasks`.
// Returns everything but the gaps (oracle_gaps). Throws std::runtime_error when an
// oracle's loss stops being finite (a step size too large).
OracleReport train_oracles(const TrainConfig& config, const envs::TaskBatch& tasks, const MetaLearner& start,
                           const std::string& start_description,
                           const EvalOptions& options, int first_batch_tasks, const torch::Device& device,
                           const Collectives& collectives, const EvalProgress& on_iteration = {});

}  // namespace metarl::meta
