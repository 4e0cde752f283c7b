#pragma once
// The batched environment base. B copies of one environment step in lockstep, each
// with its own task (one row of task parameters). The base owns what every
// environment shares — observation/reward/flag buffers, elapsed steps, truncation,
// automatic reset, per-row random streams — and a derived environment implements
// only its raw transition (reset_row, step_rows) over struct-of-arrays state.
//
// Conventions (Gymnasium's vocabulary):
//  - terminated: the MDP reached a terminal state; truncated: the time limit
//    (spec().max_episode_steps) was hit. They are independent; both may be true.
//  - Automatic reset happens within step(): a row whose episode ended on this step
//    reports that step's reward and flags, its last observation is copied to
//    final_observations(), and observations() already holds the first observation
//    of its next episode. The row's task never changes on reset.
//  - Seeding: row r draws from its own stream derive_seed(seed, r), so a rollout
//    depends only on the seed, never on the batch being split across threads.
//  - Threads: step_rows works on a row range; with set_step_threads(n) a step whose
//    rows take long enough is split into n contiguous ranges stepped at once. Rows
//    are independent (own state, task and stream), so the numbers do not change.
//  - Actions: [B, action_dim] float32, row-major. Discrete environments take
//    action_dim = 1 and the action index stored as a float.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "envs/rng.h"
#include "envs/row_workers.h"
#include "envs/task_distribution.h"

namespace metarl::envs {

struct EnvSpec {
  std::string name;
  std::string description;
  int observation_dim = 0;
  int action_dim = 0;
  bool discrete_actions = false;
  int num_actions = 0;  // discrete only
  // Continuous: the box the environment clips actions to. Discrete: unused.
  std::vector<float> action_low;
  std::vector<float> action_high;
  // Bounds of each observation component (may be ±infinity).
  std::vector<float> observation_low;
  std::vector<float> observation_high;
  int max_episode_steps = 0;
  // True when reset_row ignores its random stream (point-nav always starts at the
  // origin). The conformance suite checks the declaration both ways.
  bool deterministic_reset = false;

  // A mixture of environment families (envs/mixture_env.h, issue Q): one entry per
  // family, in the order of the task's family column and of the one-hot indicator in
  // the observation's last families.size() components. Empty for one environment.
  struct Family {
    std::string name;
    int observation_dim = 0;
    bool discrete_actions = false;
    int action_dim = 0;   // continuous: the family's own; discrete: 1
    int num_actions = 0;  // discrete only
    int max_episode_steps = 0;
  };
  std::vector<Family> families;

  // Throws std::invalid_argument naming the first inconsistent field.
  void validate() const;
};

class BatchedEnv {
 public:
  // Throws UsageError when batch_size is not positive.
  BatchedEnv(EnvSpec spec, TaskDistribution tasks, int batch_size, std::uint64_t seed);
  virtual ~BatchedEnv() = default;
  BatchedEnv(const BatchedEnv&) = delete;
  BatchedEnv& operator=(const BatchedEnv&) = delete;

  const EnvSpec& spec() const { return spec_; }
  const TaskDistribution& task_distribution() const { return tasks_; }
  // Replaces some task parameters' ranges (a run's task_ranges): what sample() draws
  // from this environment's distribution afterwards. Rows keep their tasks. UsageError
  // naming this environment and the parameter (TaskDistribution::with_ranges).
  void set_task_ranges(const std::vector<TaskRangeOverride>& overrides);
  // A mixture's family weights (TaskDistribution::with_family_weights): each family's
  // share of the tasks sample() draws afterwards. UsageError naming this environment.
  void set_family_weights(const std::vector<double>& weights);
  int batch_size() const { return batch_size_; }

  // Sets the task of every row. `tasks` holds either B rows, or T rows with B a
  // multiple of T, in which case task t goes to rows [t·B/T, (t+1)·B/T) — the
  // T tasks × R rollouts layout of the sampler.
  void set_tasks(const TaskBatch& tasks);
  void set_task(int row, const double* task);
  const double* task(int row) const { return task_values_.data() + static_cast<size_t>(row) * num_task_parameters_; }

  // Restarts the random streams: row r continues from derive_seed(seed, r).
  void seed(std::uint64_t seed);
  // Every row's random-stream state, [B × 4] words, for checkpoints.
  std::vector<std::uint64_t> rng_states() const;
  // Restores rng_states(); throws std::invalid_argument on a size mismatch.
  void set_rng_states(const std::vector<std::uint64_t>& states);
  // Starts a new episode in every row (tasks are kept).
  void reset();
  // Advances every row by one step; see the conventions above.
  void step(const float* actions);

  // Threads that share step_rows over row ranges; 1 (the default) = the calling
  // thread only. The step times itself both ways and splits when that has been
  // measured faster: never while one thread steps the rows in under
  // `min_split_microseconds` (point-nav's 400 rows take ~3 µs), and the slower way is
  // timed again every kReprobeSteps steps since costs drift. The hand-off (a wake-up
  // of sleeping workers) measured ~50–100 µs on the 2-core reference VM, so splitting
  // pays from a few hundred µs per step. min_split_microseconds ≤ 0 splits every step
  // (the conformance check). Throws std::invalid_argument for fewer than 1 thread.
  void set_step_threads(int threads, double min_split_microseconds = kMinSplitStepMicroseconds);
  int step_threads() const;
  // Steps that were split over threads since construction (for tests and benches).
  std::int64_t split_steps() const { return split_steps_; }
  // By default a step is not even tried split below this single-thread time.
  static constexpr double kMinSplitStepMicroseconds = 100.0;
  static constexpr std::int64_t kReprobeSteps = 64;

  // [B, observation_dim] float32; valid until the next step() or reset(). A torch
  // tensor can view it without a copy (torch::from_blob).
  const float* observations() const { return observations_.data(); }
  // [B, observation_dim]: for rows with done(r), the last observation of the
  // episode that ended on the latest step; stale for other rows.
  const float* final_observations() const { return final_observations_.data(); }
  const float* rewards() const { return rewards_.data(); }             // [B]
  const std::uint8_t* terminated() const { return terminated_.data(); }  // [B], 0/1
  const std::uint8_t* truncated() const { return truncated_.data(); }    // [B], 0/1
  const std::int32_t* elapsed_steps() const { return elapsed_steps_.data(); }  // [B]
  bool done(int row) const { return terminated_[row] || truncated_[row]; }

 protected:
  // A mixture steps its families' environments row by row through their own
  // reset_row and step_rows.
  friend class MixtureEnv;

  // Start a new episode in `row`: set its state from `rng` (the row's own stream) and
  // the row's task, and write its observation.
  virtual void reset_row(int row, Rng& rng) = 0;
  // Advance rows [begin, end): update their state, write their observations, rewards
  // and terminated flags. Actions are the whole batch's [B, action_dim] (row r's at
  // actions + r·action_dim). Must not touch truncated or elapsed steps, nor anything
  // shared between rows: ranges may run on different threads at once.
  virtual void step_rows(const float* actions, int begin, int end) = 0;
  // Called after a row's task changed, for environments that cache derived values.
  virtual void task_changed(int /*row*/) {}

  float* observation_row(int row) { return observations_.data() + static_cast<size_t>(row) * spec_.observation_dim; }
  float* reward_buffer() { return rewards_.data(); }
  std::uint8_t* terminated_buffer() { return terminated_.data(); }
  double task_value(int row, int parameter) const {
    return task_values_[static_cast<size_t>(row) * num_task_parameters_ + parameter];
  }
  // A row's own time limit in place of spec().max_episode_steps (a mixture's rows of a
  // family with a shorter limit). Takes effect from the row's next step.
  void set_row_time_limit(int row, int limit);

 private:
  // reset_row behind the guard of an environment's own code (batched_env.cpp), out of
  // line so that step()'s row loop carries no exception region.
  void reset_row_guarded(int row);

  EnvSpec spec_;
  TaskDistribution tasks_;
  int batch_size_;
  int num_task_parameters_;
  bool was_reset_ = false;
  std::vector<Rng> row_rngs_;
  std::vector<double> task_values_;  // [B, P]
  std::vector<float> observations_;
  std::vector<float> final_observations_;
  std::vector<float> rewards_;
  std::vector<std::uint8_t> terminated_;
  std::vector<std::uint8_t> truncated_;
  std::vector<std::int32_t> elapsed_steps_;
  std::vector<std::int32_t> row_time_limits_;  // empty: every row's is spec_.max_episode_steps
  std::unique_ptr<RowWorkers> step_workers_;  // null: one thread
  // Moving averages of step_rows' time over the whole batch (µs) on one thread and
  // split; negative until measured.
  double one_thread_microseconds_ = -1.0;
  double split_microseconds_ = -1.0;
  double min_split_microseconds_ = kMinSplitStepMicroseconds;
  std::int64_t steps_ = 0;
  std::int64_t split_steps_ = 0;
};

}  // namespace metarl::envs
