#include "envs/task_distribution.h"

#include <cstdlib>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "envs/errors.h"

namespace metarl::envs {

const EnumNames<Split>& split_names() {
  static const EnumNames<Split> names{{Split::kTrain, "train"}, {Split::kTest, "test"}, {Split::kHeldOut, "heldout"}};
  return names;
}

std::string to_string(Split split) { return enum_name(split_names(), split); }

Split parse_split(const std::string& name) { return parse_enum(split_names(), "split", name); }

std::uint64_t split_stream(Split split) {
  // Arbitrary distinct constants; changing them changes every evaluation's tasks.
  switch (split) {
    case Split::kTrain: return 0x7472'6169'6E00ULL;
    case Split::kTest: return 0x7465'7374'0000ULL;
    case Split::kHeldOut: return 0x6865'6C64'6F75ULL;
  }
  return 0;
}

TaskDistribution::TaskDistribution(std::vector<TaskParameter> parameters)
    : parameters_(std::move(parameters)) {
  for (const auto& p : parameters_) {
    if (!(p.train_low <= p.train_high)) {
      throw std::invalid_argument("task parameter '" + p.name + "': empty training range");
    }
    if (!(p.heldout_low <= p.train_low && p.train_high <= p.heldout_high)) {
      throw std::invalid_argument("task parameter '" + p.name +
                                  "': held-out range must contain the training range");
    }
  }
}

int TaskDistribution::index_of(const std::string& name) const {
  for (int i = 0; i < num_parameters(); ++i) {
    if (parameters_[i].name == name) return i;
  }
  return -1;
}

std::string shortest_decimal(double value) {
  for (int precision = 1;; ++precision) {
    std::ostringstream text;
    text.precision(precision);
    text << value;
    if (precision >= std::numeric_limits<double>::max_digits10 || std::strtod(text.str().c_str(), nullptr) == value) {
      return text.str();
    }
  }
}

TaskDistribution TaskDistribution::with_ranges(const std::vector<TaskRangeOverride>& overrides) const {
  std::vector<TaskParameter> parameters = parameters_;
  std::vector<bool> overridden(parameters.size(), false);
  for (const auto& range : overrides) {
    const int index = index_of(range.parameter);
    if (index < 0) {
      std::string names;
      for (const auto& p : parameters_) names += (names.empty() ? "" : ", ") + p.name;
      throw UsageError("parameter '" + range.parameter + "' is not a task parameter; expected one of: " + names);
    }
    if (overridden[index]) throw UsageError("parameter '" + range.parameter + "' is given twice");
    overridden[index] = true;
    TaskParameter& p = parameters[index];
    const auto interval = [](double low, double high) {
      return '[' + shortest_decimal(low) + ", " + shortest_decimal(high) + ']';
    };
    if (!(range.train_low <= range.train_high) || !(range.heldout_low <= range.train_low) ||
        !(range.train_high <= range.heldout_high)) {
      throw UsageError("parameter '" + range.parameter + "': training range " +
                       interval(range.train_low, range.train_high) + " and held-out range " +
                       interval(range.heldout_low, range.heldout_high) +
                       " are invalid; expected low <= high and the held-out range containing the training range");
    }
    if (range.heldout_low < p.heldout_low || range.heldout_high > p.heldout_high) {
      throw UsageError("parameter '" + range.parameter + "': range " + interval(range.heldout_low, range.heldout_high) +
                       " leaves the environment's held-out range " + interval(p.heldout_low, p.heldout_high) +
                       "; expected ranges within it (the tasks the environment was written for)");
    }
    p.train_low = range.train_low;
    p.train_high = range.train_high;
    p.heldout_low = range.heldout_low;
    p.heldout_high = range.heldout_high;
  }
  TaskDistribution narrowed(std::move(parameters));
  // Held-out tasks are drawn from the held-out box until one lies outside the training
  // box: with a held-out box barely wider than the training box that takes millions of
  // draws (sample() gives up after 100000).
  if (narrowed.has_heldout()) {
    double inside = 1.0;  // the share of held-out draws that land in the training box
    for (const auto& p : narrowed.parameters()) {
      const double heldout_width = p.heldout_high - p.heldout_low;
      if (heldout_width > 0.0) inside *= (p.train_high - p.train_low) / heldout_width;
    }
    if (1.0 - inside < 1e-3) {
      throw UsageError("the held-out ranges are so close to the training ranges that " +
                       shortest_decimal(100.0 * (1.0 - inside)) +
                       "% of the held-out box lies outside the training box; expected at least 0.1% (wider held-out "
                       "ranges, or none)");
    }
  }
  return narrowed;
}

bool TaskDistribution::in_training_range(const double* task) const {
  for (int i = 0; i < num_parameters(); ++i) {
    if (task[i] < parameters_[i].train_low || task[i] > parameters_[i].train_high) return false;
  }
  return true;
}

bool TaskDistribution::has_heldout() const {
  for (const auto& p : parameters_) {
    if (p.heldout_low < p.train_low || p.heldout_high > p.train_high) return true;
  }
  return false;
}

TaskBatch TaskDistribution::defaults(int n) const {
  TaskBatch batch{n, num_parameters(), {}};
  batch.values.reserve(static_cast<size_t>(n) * parameters_.size());
  for (int t = 0; t < n; ++t) {
    for (const auto& p : parameters_) batch.values.push_back(p.default_value);
  }
  return batch;
}

TaskBatch TaskDistribution::sample(int n, Split split, Rng& rng) const {
  if (n < 0) throw std::invalid_argument("cannot sample a negative number of tasks");
  if (split == Split::kHeldOut && !has_heldout()) {
    throw UsageError("this environment has no held-out tasks: every held-out range equals its training range");
  }
  TaskBatch batch{n, num_parameters(), std::vector<double>(static_cast<size_t>(n) * parameters_.size())};
  for (int t = 0; t < n; ++t) {
    double* task = batch.values.data() + static_cast<size_t>(t) * parameters_.size();
    if (split != Split::kHeldOut) {
      for (int i = 0; i < num_parameters(); ++i) {
        task[i] = rng.uniform(parameters_[i].train_low, parameters_[i].train_high);
      }
      continue;
    }
    // Rejection sampling: the acceptance rate is 1 − vol(train box)/vol(held-out box),
    // about 0.49 for point-nav; the cap only guards against degenerate boxes.
    constexpr int kMaxAttempts = 100000;
    int attempt = 0;
    do {
      if (++attempt > kMaxAttempts) {
        throw std::runtime_error("held-out task sampling: no task outside the training ranges after " +
                                 std::to_string(kMaxAttempts) + " draws");
      }
      for (int i = 0; i < num_parameters(); ++i) {
        task[i] = rng.uniform(parameters_[i].heldout_low, parameters_[i].heldout_high);
      }
    } while (in_training_range(task));
  }
  return batch;
}

}  // namespace metarl::envs
