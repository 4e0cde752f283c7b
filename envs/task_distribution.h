#pragma once
// Task distributions: a task is a vector of named physical parameters (goal
// position, masses, ...). Each parameter has a training range and a wider
// held-out range. Three splits:
//   train    what training samples: uniform over the training ranges;
//   test     fresh tasks from the same training distribution, drawn by the caller
//            from a separate seed stream (the papers' evaluation protocol);
//   heldout  extrapolation: uniform over the held-out box, rejecting every task that
//            lies inside the training box, so each held-out task has at least one
//            parameter outside its training range and no training run ever sees it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "envs/enum_names.h"
#include "envs/rng.h"

namespace metarl::envs {

enum class Split { kTrain, kTest, kHeldOut };
const EnumNames<Split>& split_names();  // train, test, heldout

std::string to_string(Split split);
// Parses "train", "test" or "heldout"; throws UsageError naming the value otherwise.
Split parse_split(const std::string& name);
// A stream tag for derive_seed(): the test split never reuses the train stream.
std::uint64_t split_stream(Split split);

struct TaskParameter {
  std::string name;         // e.g. "goal_x"
  std::string unit;         // e.g. "m"
  std::string description;  // what it changes in the problem
  double default_value = 0.0;
  double train_low = 0.0;  // training range, inclusive
  double train_high = 0.0;
  double heldout_low = 0.0;  // held-out box; contains the training range
  double heldout_high = 0.0;
};

// The shortest decimal that reads back to exactly `value` (0.2, not 0.2000…01): range
// ends in messages must tell 3.14159265 from π. meta::format_real builds on it.
std::string shortest_decimal(double value);

// One task parameter's ranges as a run sets them (a training config's task_ranges), in
// place of the environment's own. A parameter held fixed at v has all four ends v.
struct TaskRangeOverride {
  std::string parameter;
  double train_low = 0.0;
  double train_high = 0.0;
  double heldout_low = 0.0;
  double heldout_high = 0.0;
};

// n tasks × P parameters, row-major.
struct TaskBatch {
  int num_tasks = 0;
  int num_parameters = 0;
  std::vector<double> values;  // [num_tasks, num_parameters]

  const double* task(int index) const { return values.data() + index * num_parameters; }
  double at(int index, int parameter) const { return values[index * num_parameters + parameter]; }
  // Tasks [first, first + count).
  TaskBatch slice(int first, int count) const {
    const auto begin = values.begin() + static_cast<std::ptrdiff_t>(first) * num_parameters;
    return {count, num_parameters,
            std::vector<double>(begin, begin + static_cast<std::ptrdiff_t>(count) * num_parameters)};
  }
};

class TaskDistribution {
 public:
  // Throws std::invalid_argument when a range is empty or a held-out range does not
  // contain its training range.
  explicit TaskDistribution(std::vector<TaskParameter> parameters);

  // A mixture of environment families (issue Q) as one distribution. A task is
  // [family, the parameters of family 0, of family 1, ...]: column 0 is the family's
  // index, and each family's parameters follow under "<family>.<parameter>" (the
  // other families' columns, which the task's rows never read, hold their defaults
  // clamped into their training ranges). sample(n) gives each family a fixed
  // share of the n tasks (largest remainders of n · weight / Σ weights, ties to the
  // earlier family) in contiguous blocks, family 0 first, so a meta-batch's rows of
  // one family are contiguous and every batch holds the families in the same
  // proportion; within a block the family's own distribution draws, its own held-out
  // rule included. UsageError naming the family for an empty one, a name given twice,
  // or weights of the wrong count, negative, not finite or all zero.
  static TaskDistribution mixture(const std::vector<std::string>& families,
                                  const std::vector<TaskDistribution>& components,
                                  std::vector<double> weights = {});
  bool is_mixture() const { return mixture_ != nullptr; }
  // 1 for one environment; else the mixture's families, in column-0 order (the names
  // are empty, the weights {1}, for one environment).
  int num_families() const;
  const std::vector<std::string>& family_names() const;
  const std::vector<double>& family_weights() const;
  // The family's own distribution (this one for no mixture).
  const TaskDistribution& family_distribution(int family) const;
  // The column of the family's first parameter in a task.
  int family_offset(int family) const;
  // The family of a task: its column 0 for a mixture, 0 otherwise.
  int family_of(const double* task) const;
  // How many of n tasks each family gets (see mixture()).
  std::vector<int> family_counts(int n) const;
  // This mixture with other weights (same rules as mixture()).
  TaskDistribution with_family_weights(std::vector<double> weights) const;

  const std::vector<TaskParameter>& parameters() const { return parameters_; }
  int num_parameters() const { return static_cast<int>(parameters_.size()); }
  // Index of a parameter by name, or -1.
  int index_of(const std::string& name) const;
  // This distribution with `overrides` in place of their parameters' ranges; the other
  // parameters and every default stay. UsageError naming the parameter when it is not
  // one of this distribution's, is given twice, has an empty range, a held-out range
  // that does not contain its training range, or a range outside this distribution's
  // held-out range: the tasks the environment's dynamics were written and checked for.
  TaskDistribution with_ranges(const std::vector<TaskRangeOverride>& overrides) const;

  // Draws n tasks of a split. `train` and `test` sample the same distribution (the
  // caller gives `test` its own stream); `heldout` as described above.
  TaskBatch sample(int n, Split split, Rng& rng) const;
  // n copies of the default task; for a mixture, each family's default task in the
  // family's share of the n.
  TaskBatch defaults(int n) const;

  bool in_training_range(const double* task) const;
  // False when the held-out box equals the training box (no held-out tasks exist).
  bool has_heldout() const;

 private:
  struct Mixture {
    std::vector<std::string> names;
    std::vector<TaskDistribution> components;
    std::vector<int> offsets;  // column of each family's first parameter
    std::vector<double> weights;
  };

  std::vector<TaskParameter> parameters_;
  std::shared_ptr<const Mixture> mixture_;  // null: one environment's distribution
};

}  // namespace metarl::envs
