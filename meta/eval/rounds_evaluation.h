#pragma once
// Evaluation over rounds of a non-stationary task sequence (issue P; Al-Shedivat et al.,
// ICLR 2018): each of `tasks` sequences starts from a task of the split and moves by the
// evaluation's task process (envs/task_process.h) from round to round. In every round the
// policy rolls out `rollouts` episodes of that round's task: they measure the round and
// are the only data the next round's policy may adapt from. Each method is measured under
// each AdaptationMode (meta/eval/rounds_report.h): continuous adaptation, restart from θ,
// no adaptation; all on the same task sequences and random numbers, so modes and methods
// are compared sequence by sequence.
//
// With rounds = 1 there is nothing to adapt to: the rounds protocol starts at 2 (the step
// protocol, meta/eval/evaluation.h, is the one-task special case).

#include <cstdint>

#include "meta/eval/evaluation.h"
#include "meta/eval/rounds_report.h"
#include "meta/meta_learner.h"
#include "meta/parallel/collectives.h"

namespace metarl::meta {

// The stream task processes draw their walks and switches from: derive_seed(seed, it).
inline constexpr std::uint64_t kEvalTaskProcessStream = 6;  // 4: task batches, 5: oracles

// Restart's behaviour log-probabilities, [T, R, H]: max(log π_φ, log π_θ) per step, for
// rollouts sampled by φ and a step from θ. In LVC's ratio π_θ/π_behaviour at θ that is
// min(π_θ/π_φ, 1), a constant to the gradient: the truncated importance weight (V-trace's
// ρ̄ = 1), whose step stays bounded when φ has moved far from θ.
torch::Tensor truncated_behaviour_log_probs(const torch::Tensor& sampling_log_probs,
                                            const torch::Tensor& theta_log_probs);

// Restart's adaptation after a round: θ adapted once on `trajectories`, which the policy
// with parameters `acting` (shared or task-batched [T, …]) sampled, LVC's ratio taken
// against truncated_behaviour_log_probs. `learner`'s estimator must be LVC (or DiCE).
agents::ParameterList restart_adaptation(const MetaLearner& learner, const agents::Policy& policy,
                                         const agents::ParameterList& theta, const agents::ParameterList& acting,
                                         const agents::Trajectories& trajectories,
                                         const agents::AdvantageOptions& advantages);

// The rounds report of options.checkpoints (and the random baseline when asked for).
// Throws UsageError as evaluate() does, and for a task process that does not fit the
// runs' environment (envs::TaskProcess). `on_round(curve, round, rounds, mean_return)`
// after each round's rollouts, round 1-based.
RoundsReport evaluate_rounds(const EvalOptions& options, const EvalProgress& on_round = {},
                             const Collectives& collectives = single_process());

}  // namespace metarl::meta
