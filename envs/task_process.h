#pragma once
// Task processes: how a task's parameters change from one round to the next, for
// non-stationary task sequences (Al-Shedivat et al., "Continuous Adaptation via
// Meta-Learning in Nonstationary and Competitive Environments", ICLR 2018). A sequence
// T₁, T₂, …, T_K starts from a task of the split and moves each listed parameter by its
// process between rounds; parameters without a process stay as drawn.
//
// Forms, per parameter (values in the parameter's own unit):
//   walk(s)     Gaussian random walk, step standard deviation s per round
//   switch(h)   with probability h per round, a fresh draw from the split's range
//               (piecewise constant with hazard rate h)
//   drift(d)    deterministic: + d per round
//   scale(f)    deterministic: × f per round (e.g. a weakening motor, f = 0.9)
//
// Every process keeps its parameter inside the split's range: the training range for
// train and test, the held-out range for heldout. A walk is reflected at the range's
// ends (so it does not pile up on them); drift and scale are clipped there. Parameters
// are environment-agnostic, so every environment, plug-ins included, gets processes
// through its task layout without code of its own. Torch-free, like the rest of envs/.

#include <string>
#include <vector>

#include "envs/enum_names.h"
#include "envs/rng.h"
#include "envs/task_distribution.h"

namespace metarl::envs {

enum class TaskProcessKind { kWalk, kSwitch, kDrift, kScale };
const EnumNames<TaskProcessKind>& task_process_kind_names();  // walk, switch, drift, scale

// One parameter's process: parameter=kind(value), e.g. goal_x=walk(0.05).
struct TaskProcessTerm {
  std::string parameter;
  TaskProcessKind kind = TaskProcessKind::kWalk;
  double value = 0.0;  // walk: step std (> 0); switch: hazard in (0, 1]; drift: step (≠ 0); scale: factor (> 0, ≠ 1)

  bool operator==(const TaskProcessTerm& other) const {
    return parameter == other.parameter && kind == other.kind && value == other.value;
  }
  bool operator!=(const TaskProcessTerm& other) const { return !(*this == other); }
};

// "goal_x=walk(0.05)"; a list formats as "[goal_x=walk(0.05), mass=scale(0.9)]" ("[]" for none).
std::string to_string(const TaskProcessTerm& term);
std::string format_task_process(const std::vector<TaskProcessTerm>& terms);

class TaskProcess {
 public:
  // Throws UsageError naming the term and what was expected when a parameter is not one
  // of `distribution`'s (listing those), is given twice, is held fixed in the split's
  // range (nothing to move), or its value is outside its form's allowed range: a walk's
  // or drift's step larger than the split's range, a hazard outside (0, 1], a factor
  // outside (0, 10] or equal to 1.
  TaskProcess(const TaskDistribution& distribution, std::vector<TaskProcessTerm> terms, Split split);

  const std::vector<TaskProcessTerm>& terms() const { return terms_; }
  bool stationary() const { return terms_.empty(); }

  // The next round's tasks: every task of `current` moved one round by each term; the
  // other parameters copied. Draws from `rng` only for walk and switch terms, in task
  // order, so the same rng state gives the same sequence.
  TaskBatch next(const TaskBatch& current, Rng& rng) const;
  // `rounds` ≥ 1 batches: first, next(first), next(next(first)), …
  std::vector<TaskBatch> sequence(const TaskBatch& first, int rounds, Rng& rng) const;

 private:
  struct Bound {
    int index = 0;  // the parameter's column in a TaskBatch
    double low = 0.0;
    double high = 0.0;
  };
  std::vector<TaskProcessTerm> terms_;
  std::vector<Bound> bounds_;  // one per term
  int num_parameters_ = 0;
};

// Where inside an online segment (adapt_every: one round is m steps of one episode) the
// next round's task takes effect:
//   segment_start  at the segment's first step: the task moves between segments, and each
//                  adaptation learns from steps of one task
//   random         at a step drawn uniformly from the segment's m steps, per task sequence
//                  (the same step in all of a task's rollouts): the change comes at a time
//                  the learner does not know, and the adaptation after that segment learns
//                  from steps of the old task and of the new one
enum class TaskChangeStep { kSegmentStart, kRandom };
const EnumNames<TaskChangeStep>& task_change_step_names();  // segment_start, random

// For each of `rounds` rounds, each of `num_tasks` sequences' step (0 … segment_steps − 1)
// of the round's segment at which its task takes effect: [rounds][num_tasks]. Round 0 is
// the episode's start (0 throughout); kSegmentStart gives 0 everywhere and draws nothing;
// kRandom draws rounds − 1 rows from `rng`, round by round in task order.
std::vector<std::vector<int>> draw_task_change_steps(TaskChangeStep where, int num_tasks, int rounds,
                                                     int segment_steps, Rng& rng);

}  // namespace metarl::envs
