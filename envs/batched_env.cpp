#include "envs/batched_env.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "envs/errors.h"

namespace metarl::envs {

void EnvSpec::validate() const {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument("environment spec '" + name + "': " + what);
  };
  if (name.empty()) fail("empty name");
  if (observation_dim <= 0) fail("observation_dim must be positive, got " + std::to_string(observation_dim));
  if (action_dim <= 0) fail("action_dim must be positive, got " + std::to_string(action_dim));
  if (max_episode_steps <= 0) fail("max_episode_steps must be positive, got " + std::to_string(max_episode_steps));
  if (discrete_actions) {
    if (action_dim != 1) fail("discrete environments take action_dim 1, got " + std::to_string(action_dim));
    if (num_actions < 2) fail("num_actions must be at least 2, got " + std::to_string(num_actions));
  } else if (static_cast<int>(action_low.size()) != action_dim ||
             static_cast<int>(action_high.size()) != action_dim) {
    fail("action_low/action_high must have action_dim entries");
  }
  if (!families.empty()) {
    if (families.size() < 2) fail("a mixture needs at least two families");
    int max_steps = 0;
    for (const auto& family : families) {
      if (family.observation_dim <= 0 || family.action_dim <= 0 || family.max_episode_steps <= 0 ||
          (family.discrete_actions && (family.action_dim != 1 || family.num_actions < 2))) {
        fail("family '" + family.name + "' has inconsistent sizes");
      }
      max_steps = std::max(max_steps, family.max_episode_steps);
    }
    if (max_steps != max_episode_steps) fail("max_episode_steps must be the longest family's time limit");
    if (observation_dim <= static_cast<int>(families.size())) fail("observation_dim must hold the family indicator");
  }
  if (static_cast<int>(observation_low.size()) != observation_dim ||
      static_cast<int>(observation_high.size()) != observation_dim) {
    fail("observation_low/observation_high must have observation_dim entries");
  }
}

BatchedEnv::BatchedEnv(EnvSpec spec, TaskDistribution tasks, int batch_size, std::uint64_t seed_value)
    : spec_(std::move(spec)), tasks_(std::move(tasks)), batch_size_(batch_size),
      num_task_parameters_(tasks_.num_parameters()) {
  spec_.validate();
  if (batch_size <= 0) {
    throw UsageError("environment '" + spec_.name + "': batch size must be positive, got " +
                     std::to_string(batch_size));
  }
  const auto rows = static_cast<size_t>(batch_size);
  row_rngs_.resize(rows);
  task_values_ = tasks_.defaults(batch_size).values;
  observations_.assign(rows * spec_.observation_dim, 0.0f);
  final_observations_.assign(rows * spec_.observation_dim, 0.0f);
  rewards_.assign(rows, 0.0f);
  terminated_.assign(rows, 0);
  truncated_.assign(rows, 0);
  elapsed_steps_.assign(rows, 0);
  seed(seed_value);
}

void BatchedEnv::seed(std::uint64_t seed_value) {
  for (int r = 0; r < batch_size_; ++r) row_rngs_[r].reseed(derive_seed(seed_value, static_cast<std::uint64_t>(r)));
}

std::vector<std::uint64_t> BatchedEnv::rng_states() const {
  std::vector<std::uint64_t> states;
  states.reserve(row_rngs_.size() * 4);
  for (const auto& rng : row_rngs_) {
    const auto state = rng.state();
    states.insert(states.end(), state.begin(), state.end());
  }
  return states;
}

void BatchedEnv::set_rng_states(const std::vector<std::uint64_t>& states) {
  if (states.size() != row_rngs_.size() * 4) {
    throw std::invalid_argument("environment '" + spec_.name + "': " + std::to_string(states.size()) +
                                " random-state words for " + std::to_string(row_rngs_.size()) + " rows");
  }
  for (size_t r = 0; r < row_rngs_.size(); ++r) {
    row_rngs_[r].set_state({states[4 * r], states[4 * r + 1], states[4 * r + 2], states[4 * r + 3]});
  }
}

void BatchedEnv::set_task_ranges(const std::vector<TaskRangeOverride>& overrides) {
  try {
    tasks_ = tasks_.with_ranges(overrides);
  } catch (const UsageError& e) {
    throw UsageError("environment '" + spec_.name + "': " + e.what());
  }
}

void BatchedEnv::set_family_weights(const std::vector<double>& weights) {
  try {
    tasks_ = tasks_.with_family_weights(weights);
  } catch (const UsageError& e) {
    throw UsageError("environment '" + spec_.name + "': " + e.what());
  }
}

void BatchedEnv::set_row_time_limit(int row, int limit) {
  if (limit <= 0) throw std::invalid_argument("environment '" + spec_.name + "': a time limit must be positive");
  if (row_time_limits_.empty()) row_time_limits_.assign(static_cast<size_t>(batch_size_), spec_.max_episode_steps);
  row_time_limits_.at(static_cast<size_t>(row)) = limit;
}

void BatchedEnv::set_tasks(const TaskBatch& tasks) {
  if (tasks.num_parameters != num_task_parameters_) {
    throw std::invalid_argument("environment '" + spec_.name + "': tasks have " +
                                std::to_string(tasks.num_parameters) + " parameters, expected " +
                                std::to_string(num_task_parameters_));
  }
  if (tasks.num_tasks <= 0 || batch_size_ % tasks.num_tasks != 0) {
    throw std::invalid_argument("environment '" + spec_.name + "': " + std::to_string(tasks.num_tasks) +
                                " tasks do not divide the batch of " + std::to_string(batch_size_));
  }
  const int rows_per_task = batch_size_ / tasks.num_tasks;
  for (int r = 0; r < batch_size_; ++r) set_task(r, tasks.task(r / rows_per_task));
}

namespace {

// The boundary to an environment's own code (a plug-in's, maybe built by someone
// else): called in a `catch (...)` around it, rethrows a runtime error as an
// EnvironmentError with the same message, any other std::exception as it is, and
// turns anything else — which would pass every handler of metarl and end the process
// with std::terminate — into one that names the environment and what it was doing.
[[noreturn]] void rethrow_from_environment(const std::string& env, const char* what) {
  try {
    throw;
  } catch (const EnvironmentError&) {
    throw;
  } catch (const UsageError&) {
    throw;  // a value the user gave, refused by the environment
  } catch (const Interrupted&) {
    throw;  // the user's Ctrl-C, in a Python environment's code
  } catch (const std::runtime_error& e) {
    // The environment's own failure (a plug-in's, a Python environment's raise): the
    // same message, typed, so that a run says what to fix rather than "run it again".
    throw EnvironmentError(env, e.what());
  } catch (const std::exception&) {
    throw;  // a caller's mistake (std::logic_error) or memory (std::bad_alloc): as it is
  } catch (...) {
    throw EnvironmentError(env, "environment '" + env + "' threw an exception that is not a std::exception in " + what);
  }
}

}  // namespace

void BatchedEnv::set_task(int row, const double* task) {
  std::copy(task, task + num_task_parameters_, task_values_.begin() + static_cast<size_t>(row) * num_task_parameters_);
  task_changed(row);
}

void BatchedEnv::reset() {
  for (int r = 0; r < batch_size_; ++r) {
    elapsed_steps_[r] = 0;
    reset_row_guarded(r);
  }
  std::fill(rewards_.begin(), rewards_.end(), 0.0f);
  std::fill(terminated_.begin(), terminated_.end(), 0);
  std::fill(truncated_.begin(), truncated_.end(), 0);
  was_reset_ = true;
}

void BatchedEnv::set_step_threads(int threads, double min_split_microseconds) {
  if (threads < 1) {
    throw std::invalid_argument("environment '" + spec_.name + "': step threads must be at least 1, got " +
                                std::to_string(threads));
  }
  min_split_microseconds_ = min_split_microseconds;
  if (threads == step_threads()) return;
  step_workers_ = threads > 1 ? std::make_unique<RowWorkers>(threads) : nullptr;
}

int BatchedEnv::step_threads() const { return step_workers_ ? step_workers_->threads() : 1; }

void BatchedEnv::step(const float* actions) {
  if (!was_reset_) throw std::logic_error("environment '" + spec_.name + "': step() before reset()");
  const int threads = step_threads();
  bool split = false;
  if (threads > 1) {
    if (min_split_microseconds_ <= 0.0) {
      split = true;
    } else if (one_thread_microseconds_ >= min_split_microseconds_) {
      if (split_microseconds_ < 0.0) {
        split = true;  // first measurement of the split step
      } else {
        const bool split_is_faster = split_microseconds_ < one_thread_microseconds_;
        split = steps_ % kReprobeSteps == kReprobeSteps - 1 ? !split_is_faster : split_is_faster;
      }
    }
  }
  const auto started = std::chrono::steady_clock::now();
  if (split) {
    const int rows = batch_size_;
    step_workers_->run([&](int part) {
      const int begin = static_cast<int>(static_cast<std::int64_t>(rows) * part / threads);
      const int end = static_cast<int>(static_cast<std::int64_t>(rows) * (part + 1) / threads);
      if (begin >= end) return;
      try {
        step_rows(actions, begin, end);
      } catch (...) {
        rethrow_from_environment(spec_.name, "step_rows");
      }
    });
    ++split_steps_;
  } else {
    try {
      step_rows(actions, 0, batch_size_);
    } catch (...) {
      rethrow_from_environment(spec_.name, "step_rows");
    }
  }
  if (threads > 1) {
    const double microseconds =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count();
    double& average = split ? split_microseconds_ : one_thread_microseconds_;
    average = average < 0.0 ? microseconds : 0.75 * average + 0.25 * microseconds;
  }
  ++steps_;
  // Locals, not members: a byte store to truncated_ may alias anything, so through
  // the members every row would reload spec_ and the vectors' data pointers. Two
  // passes: the time limit for every row (vectorises), then the rows whose episode
  // ended; each row's own outcome is the same as one pass would give.
  const int rows = batch_size_;
  const int obs_dim = spec_.observation_dim;
  const std::int32_t limit = spec_.max_episode_steps;
  std::int32_t* elapsed = elapsed_steps_.data();
  std::uint8_t* truncated = truncated_.data();
  const std::uint8_t* terminated = terminated_.data();
  if (row_time_limits_.empty()) {
    for (int r = 0; r < rows; ++r) {
      ++elapsed[r];
      truncated[r] = elapsed[r] >= limit;
    }
  } else {
    const std::int32_t* limits = row_time_limits_.data();
    for (int r = 0; r < rows; ++r) {
      ++elapsed[r];
      truncated[r] = elapsed[r] >= limits[r];
    }
  }
  for (int r = 0; r < rows; ++r) {
    if (terminated[r] | truncated[r]) {
      const float* last = observations_.data() + static_cast<size_t>(r) * obs_dim;
      std::copy(last, last + obs_dim, final_observations_.begin() + static_cast<size_t>(r) * obs_dim);
      elapsed[r] = 0;
      reset_row_guarded(r);
    }
  }
}

// Out of line (noinline): with a try block in step()'s reset loop, around the loop or
// around each call, point-nav stepped a third slower (metarl bench, 313 M → 213 M
// steps/s on this machine).
[[gnu::noinline]] void BatchedEnv::reset_row_guarded(int row) {
  try {
    reset_row(row, row_rngs_[row]);
  } catch (...) {
    rethrow_from_environment(spec_.name, "reset_row");
  }
}

}  // namespace metarl::envs
