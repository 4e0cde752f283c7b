#include "envs/task_distribution.h"

#include <algorithm>
#include <cmath>
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
  if (mixture_) {
    // "<family>.<parameter>" goes to the family's own distribution, which checks it.
    std::vector<std::vector<TaskRangeOverride>> per_family(mixture_->names.size());
    for (const auto& range : overrides) {
      const int index = index_of(range.parameter);
      if (index <= 0) {
        std::string names;
        for (size_t i = 1; i < parameters_.size(); ++i) names += (names.empty() ? "" : ", ") + parameters_[i].name;
        throw UsageError("parameter '" + range.parameter + "' is not a task parameter of the families" +
                         (index == 0 ? " (the family column is drawn by the weights)" : "") + "; expected one of: " +
                         names);
      }
      int family = 0;
      while (family + 1 < num_families() && mixture_->offsets[family + 1] <= index) ++family;
      TaskRangeOverride own = range;
      own.parameter = mixture_->components[family].parameters()[index - mixture_->offsets[family]].name;
      per_family[family].push_back(own);
    }
    std::vector<TaskDistribution> components;
    for (int family = 0; family < num_families(); ++family) {
      try {
        components.push_back(mixture_->components[family].with_ranges(per_family[family]));
      } catch (const UsageError& e) {
        throw UsageError("family '" + mixture_->names[family] + "': " + e.what());
      }
    }
    return mixture(mixture_->names, components, mixture_->weights);
  }
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
  if (mixture_) {
    const int family = family_of(task);
    return mixture_->components[family].in_training_range(task + mixture_->offsets[family]);
  }
  for (int i = 0; i < num_parameters(); ++i) {
    if (task[i] < parameters_[i].train_low || task[i] > parameters_[i].train_high) return false;
  }
  return true;
}

bool TaskDistribution::has_heldout() const {
  if (mixture_) {
    // Held-out tasks are the families' own: every family needs some.
    for (const auto& component : mixture_->components) {
      if (!component.has_heldout()) return false;
    }
    return true;
  }
  for (const auto& p : parameters_) {
    if (p.heldout_low < p.train_low || p.heldout_high > p.train_high) return true;
  }
  return false;
}

TaskBatch TaskDistribution::defaults(int n) const {
  if (mixture_) {
    TaskBatch batch{n, num_parameters(), {}};
    const auto counts = family_counts(n);
    for (int family = 0; family < num_families(); ++family) {
      for (int t = 0; t < counts[family]; ++t) {
        batch.values.push_back(family);
        // The family's own default; the other families' columns, which its rows never
        // read, a value inside their training ranges (a default may lie outside, as
        // cartpole's target_weight 0), so that every column of every task is in range.
        for (int other = 0; other < num_families(); ++other) {
          const int begin = mixture_->offsets[other];
          const int end = begin + mixture_->components[other].num_parameters();
          for (int i = begin; i < end; ++i) {
            const TaskParameter& p = parameters_[i];
            batch.values.push_back(other == family ? p.default_value
                                                   : std::clamp(p.default_value, p.train_low, p.train_high));
          }
        }
      }
    }
    return batch;
  }
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
  if (mixture_) {
    TaskBatch batch = defaults(n);
    const auto counts = family_counts(n);
    int first = 0;
    for (int family = 0; family < num_families(); ++family) {
      const TaskDistribution& own = mixture_->components[family];
      TaskBatch block;
      try {
        block = own.sample(counts[family], split, rng);
      } catch (const UsageError& e) {
        throw UsageError("family '" + mixture_->names[family] + "': " + e.what());
      }
      for (int t = 0; t < counts[family]; ++t) {
        std::copy(block.task(t), block.task(t) + own.num_parameters(),
                  batch.values.begin() + static_cast<std::ptrdiff_t>(first + t) * num_parameters() +
                      mixture_->offsets[family]);
      }
      first += counts[family];
    }
    return batch;
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

namespace {

std::vector<double> checked_family_weights(const std::vector<std::string>& families, std::vector<double> weights) {
  std::string names;
  for (const auto& name : families) names += (names.empty() ? "" : ", ") + name;
  if (weights.empty()) weights.assign(families.size(), 1.0);
  if (weights.size() != families.size()) {
    throw UsageError(std::to_string(weights.size()) + " family weights for " + std::to_string(families.size()) +
                     " families (" + names + "); expected one weight per family");
  }
  double total = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i]) || weights[i] < 0.0) {
      throw UsageError("family '" + families[i] + "': weight " + shortest_decimal(weights[i]) +
                       "; expected a finite weight >= 0");
    }
    total += weights[i];
  }
  if (!(total > 0.0)) throw UsageError("every family weight is 0 (" + names + "); expected a positive one");
  return weights;
}

}  // namespace

TaskDistribution TaskDistribution::mixture(const std::vector<std::string>& families,
                                           const std::vector<TaskDistribution>& components,
                                           std::vector<double> weights) {
  if (families.size() < 2 || families.size() != components.size()) {
    throw std::invalid_argument("a mixture needs at least two families, each with its distribution");
  }
  for (size_t i = 0; i < families.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (families[i] == families[j]) {
        throw UsageError("family '" + families[i] + "' is listed twice; expected each family once (weights "
                         "set their shares)");
      }
    }
    if (components[i].is_mixture()) throw UsageError("family '" + families[i] + "' is itself a mixture");
  }
  auto mixture = std::make_shared<Mixture>();
  mixture->names = families;
  mixture->components = components;
  mixture->weights = checked_family_weights(families, std::move(weights));
  std::vector<TaskParameter> parameters;
  const double last = static_cast<double>(families.size() - 1);
  std::string list;
  for (size_t i = 0; i < families.size(); ++i) list += (list.empty() ? "" : ", ") + std::to_string(i) + " " + families[i];
  parameters.push_back({"family", "index", "the environment family: " + list, 0.0, 0.0, last, 0.0, last});
  for (size_t i = 0; i < families.size(); ++i) {
    mixture->offsets.push_back(static_cast<int>(parameters.size()));
    for (TaskParameter p : components[i].parameters()) {
      p.name = families[i] + "." + p.name;
      parameters.push_back(std::move(p));
    }
  }
  TaskDistribution distribution(std::move(parameters));
  distribution.mixture_ = std::move(mixture);
  return distribution;
}

TaskDistribution TaskDistribution::with_family_weights(std::vector<double> weights) const {
  if (!mixture_) throw UsageError("family weights apply to a mixture of environments; this is one environment");
  return mixture(mixture_->names, mixture_->components, std::move(weights));
}

int TaskDistribution::num_families() const { return mixture_ ? static_cast<int>(mixture_->names.size()) : 1; }

const std::vector<std::string>& TaskDistribution::family_names() const {
  static const std::vector<std::string> none;
  return mixture_ ? mixture_->names : none;
}

const std::vector<double>& TaskDistribution::family_weights() const {
  static const std::vector<double> one{1.0};
  return mixture_ ? mixture_->weights : one;
}

const TaskDistribution& TaskDistribution::family_distribution(int family) const {
  return mixture_ ? mixture_->components.at(static_cast<size_t>(family)) : *this;
}

int TaskDistribution::family_offset(int family) const {
  return mixture_ ? mixture_->offsets.at(static_cast<size_t>(family)) : 0;
}

int TaskDistribution::family_of(const double* task) const {
  if (!mixture_) return 0;
  const int family = static_cast<int>(task[0]);
  if (task[0] != family || family < 0 || family >= num_families()) {
    throw std::invalid_argument("task family " + shortest_decimal(task[0]) + " is not one of the " +
                                std::to_string(num_families()) + " families' indices");
  }
  return family;
}

std::vector<int> TaskDistribution::family_counts(int n) const {
  if (!mixture_) return {n};
  const auto& weights = mixture_->weights;
  double total = 0.0;
  for (double w : weights) total += w;
  std::vector<int> counts(weights.size());
  std::vector<double> remainders(weights.size());
  int given = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const double share = n * weights[i] / total;
    counts[i] = static_cast<int>(std::floor(share));
    remainders[i] = weights[i] > 0.0 ? share - counts[i] : -2.0;  // a weight of 0 gets no task
    given += counts[i];
  }
  while (given < n) {
    size_t best = 0;
    for (size_t i = 1; i < weights.size(); ++i) {
      if (remainders[i] > remainders[best]) best = i;
    }
    ++counts[best];
    remainders[best] = -1.0;
    ++given;
  }
  return counts;
}

}  // namespace metarl::envs
