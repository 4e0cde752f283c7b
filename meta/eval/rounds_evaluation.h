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
#include "meta/parallel/collectives.h"

namespace metarl::meta {

// The stream task processes draw their walks and switches from: derive_seed(seed, it).
inline constexpr std::uint64_t kEvalTaskProcessStream = 6;  // 4: task batches, 5: oracles

// The rounds report of options.checkpoints (and the random baseline when asked for).
// Throws UsageError as evaluate() does, and for a task process that does not fit the
// runs' environment (envs::TaskProcess). `on_round(curve, round, rounds, mean_return)`
// after each round's rollouts, round 1-based.
RoundsReport evaluate_rounds(const EvalOptions& options, const EvalProgress& on_round = {},
                             const Collectives& collectives = single_process());

}  // namespace metarl::meta
