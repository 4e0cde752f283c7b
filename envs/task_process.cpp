#include "envs/task_process.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "envs/errors.h"

namespace metarl::envs {

const EnumNames<TaskProcessKind>& task_process_kind_names() {
  static const EnumNames<TaskProcessKind> names{{TaskProcessKind::kWalk, "walk"},
                                                {TaskProcessKind::kSwitch, "switch"},
                                                {TaskProcessKind::kDrift, "drift"},
                                                {TaskProcessKind::kScale, "scale"}};
  return names;
}

const EnumNames<TaskChangeStep>& task_change_step_names() {
  static const EnumNames<TaskChangeStep> names{{TaskChangeStep::kSegmentStart, "segment_start"},
                                               {TaskChangeStep::kRandom, "random"}};
  return names;
}

std::vector<std::vector<int>> draw_task_change_steps(TaskChangeStep where, int num_tasks, int rounds,
                                                     int segment_steps, Rng& rng) {
  if (num_tasks < 0 || rounds < 0 || segment_steps < 1) {
    throw std::invalid_argument("draw_task_change_steps: num_tasks " + std::to_string(num_tasks) + ", rounds " +
                                std::to_string(rounds) + ", segment_steps " + std::to_string(segment_steps) +
                                "; expected num_tasks, rounds >= 0 and segment_steps >= 1");
  }
  std::vector<std::vector<int>> steps(static_cast<size_t>(rounds), std::vector<int>(static_cast<size_t>(num_tasks), 0));
  if (where == TaskChangeStep::kSegmentStart) return steps;
  for (int round = 1; round < rounds; ++round) {
    for (auto& step : steps[static_cast<size_t>(round)]) {
      // floor(u·m) with u in [0, 1): each of the m steps with probability 1/m.
      step = std::min(segment_steps - 1, static_cast<int>(rng.uniform() * segment_steps));
    }
  }
  return steps;
}

std::string to_string(const TaskProcessTerm& term) {
  return term.parameter + "=" + enum_name(task_process_kind_names(), term.kind) + "(" + shortest_decimal(term.value) +
         ")";
}

std::string format_task_process(const std::vector<TaskProcessTerm>& terms) {
  std::string out = "[";
  for (size_t i = 0; i < terms.size(); ++i) out += (i ? ", " : "") + to_string(terms[i]);
  return out + "]";
}

namespace {

// x reflected into [low, high] (high > low): the walk's step folded back at each end as
// often as it overshoots, so a step larger than the range still lands inside.
double reflect(double x, double low, double high) {
  const double width = high - low;
  double offset = std::fmod(x - low, 2.0 * width);
  if (offset < 0.0) offset += 2.0 * width;
  // low + offset can round one ulp past high (and high − … below low): clamp the ends.
  return std::clamp(offset <= width ? low + offset : high - (offset - width), low, high);
}

// A standard normal draw (Box–Muller on two uniforms; 1 − u keeps the logarithm finite).
double standard_normal(Rng& rng) {
  const double u = 1.0 - rng.uniform();
  const double v = rng.uniform();
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
}

[[noreturn]] void bad_term(const TaskProcessTerm& term, const std::string& expected) {
  throw UsageError("config key 'task_process': '" + to_string(term) + "' is invalid; expected " + expected);
}

}  // namespace

TaskProcess::TaskProcess(const TaskDistribution& distribution, std::vector<TaskProcessTerm> terms, Split split)
    : terms_(std::move(terms)), num_parameters_(distribution.num_parameters()) {
  const bool heldout = split == Split::kHeldOut;
  const std::string range_name = heldout ? "held-out range" : "training range";
  for (size_t i = 0; i < terms_.size(); ++i) {
    const auto& term = terms_[i];
    const int index = distribution.index_of(term.parameter);
    if (index < 0) {
      std::string names;
      for (const auto& parameter : distribution.parameters()) names += (names.empty() ? "" : ", ") + parameter.name;
      bad_term(term, "a task parameter of this environment (" + names + ")");
    }
    if (distribution.is_mixture() && index == 0) {
      bad_term(term, "a task parameter of the families: a row's family holds for its whole episode");
    }
    for (size_t j = 0; j < i; ++j) {
      if (terms_[j].parameter == term.parameter) {
        bad_term(term, "one process per parameter ('" + term.parameter + "' also has " + to_string(terms_[j]) + ")");
      }
    }
    const auto& parameter = distribution.parameters()[static_cast<size_t>(index)];
    Bound bound{index, heldout ? parameter.heldout_low : parameter.train_low,
                heldout ? parameter.heldout_high : parameter.train_high};
    const double width = bound.high - bound.low;
    const std::string range = "[" + shortest_decimal(bound.low) + ", " + shortest_decimal(bound.high) + "]";
    if (!(width > 0.0)) {
      bad_term(term, "a parameter that varies: '" + term.parameter + "' is held fixed at " +
                         shortest_decimal(bound.low) + " in the " + range_name + " (task_ranges)");
    }
    switch (term.kind) {
      case TaskProcessKind::kWalk:
        if (!(term.value > 0.0 && term.value <= width)) {
          bad_term(term, "a step standard deviation in (0, " + shortest_decimal(width) + "], the width of the " +
                             range_name + " of '" + term.parameter + "', " + range);
        }
        break;
      case TaskProcessKind::kSwitch:
        if (!(term.value > 0.0 && term.value <= 1.0)) bad_term(term, "a switch probability per round in (0, 1]");
        break;
      case TaskProcessKind::kDrift:
        if (!(term.value != 0.0 && std::abs(term.value) <= width)) {
          bad_term(term, "a nonzero step per round of at most " + shortest_decimal(width) + " in size, the width of the " +
                             range_name + " of '" + term.parameter + "', " + range);
        }
        break;
      case TaskProcessKind::kScale:
        if (!(term.value > 0.0 && term.value <= 10.0 && term.value != 1.0)) {
          bad_term(term, "a factor per round in (0, 10], not 1");
        }
        break;
    }
    bounds_.push_back(bound);
  }
}

TaskBatch TaskProcess::next(const TaskBatch& current, Rng& rng) const {
  if (current.num_parameters != num_parameters_) {
    throw std::invalid_argument("TaskProcess::next: tasks of " + std::to_string(current.num_parameters) +
                                " parameters, the process's distribution has " + std::to_string(num_parameters_));
  }
  TaskBatch moved = current;
  for (int t = 0; t < moved.num_tasks; ++t) {
    for (size_t i = 0; i < terms_.size(); ++i) {
      const Bound& bound = bounds_[i];
      double& value = moved.values[static_cast<size_t>(t * moved.num_parameters + bound.index)];
      switch (terms_[i].kind) {
        case TaskProcessKind::kWalk:
          value = reflect(value + terms_[i].value * standard_normal(rng), bound.low, bound.high);
          break;
        case TaskProcessKind::kSwitch: {
          // Both draws every round, whether or not it switches: task t's random numbers do
          // not depend on the earlier tasks' switches.
          const bool switches = rng.uniform() < terms_[i].value;
          const double fresh = rng.uniform(bound.low, bound.high);
          if (switches) value = fresh;
          break;
        }
        case TaskProcessKind::kDrift:
          value = std::clamp(value + terms_[i].value, bound.low, bound.high);
          break;
        case TaskProcessKind::kScale:
          value = std::clamp(value * terms_[i].value, bound.low, bound.high);
          break;
      }
    }
  }
  return moved;
}

std::vector<TaskBatch> TaskProcess::sequence(const TaskBatch& first, int rounds, Rng& rng) const {
  if (rounds < 1) throw std::invalid_argument("TaskProcess::sequence: rounds must be at least 1");
  std::vector<TaskBatch> batches{first};
  for (int round = 1; round < rounds; ++round) batches.push_back(next(batches.back(), rng));
  return batches;
}

}  // namespace metarl::envs
