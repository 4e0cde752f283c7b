#pragma once
// The methods of an evaluation and what every protocol does with them before and at its
// first rollout: loading runs and seed groups, the checks that they can be compared, their
// names, and one method's learner and task batches. The step protocol
// (meta/eval/evaluation.h) and the rounds protocol (meta/eval/rounds_evaluation.h) share
// them, so both refuse the same things with the same words.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agents/policy.h"
#include "agents/sampler.h"
#include "envs/batched_env.h"
#include "meta/checkpoint.h"
#include "meta/config.h"
#include "meta/eval/evaluation.h"
#include "meta/meta_learner.h"
#include "meta/parallel/collectives.h"
#include "meta/run/seed_group.h"

namespace metarl::meta {

// One method of a comparison: where its θ and α come from and how it adapts.
struct ComparedMethod {
  std::string run;  // as given; "" for the random baseline
  std::string name;
  Algorithm algorithm = Algorithm::kRandom;
  // Builds the policy and gives the horizon, the advantage options and the trained
  // inner_lr (the random baseline borrows the first run's, or the defaults).
  TrainConfig config;
  std::optional<CheckpointData> checkpoint;  // θ and α; none for the random baseline
  // The α ablation of a Meta-SGD run (EvalOptions::alpha_ablation): its θ, adapting with
  // one scalar step, the mean of its learned α over all of θ's entries.
  bool mean_alpha = false;
  // A run of one family of the first run's mixture (issue Q): that family's index in the
  // mixture. It is evaluated on the evaluation's tasks of its family only, in its own
  // environment, and reported in that family's section (EvalReport::families). -1: a
  // method of the whole evaluation.
  int family = -1;
};

// Everything an evaluation settles before its first rollout.
struct PreparedEvaluation {
  // Runs (a seed group's seeds in its place, each a method), then the α ablations, then
  // the random baseline; named (name_methods).
  std::vector<ComparedMethod> methods;
  struct GroupMembers {
    SeedGroup group;
    size_t first = 0;  // index of its first seed in `methods`
  };
  std::vector<GroupMembers> groups;
  std::string env_name;
  // One row: the spec and task distribution every method's batches are built from.
  std::unique_ptr<envs::BatchedEnv> reference;
  torch::Device device = torch::kCPU;
  // A group averaged over mixed iterations, runs trained on other BLAS kernels.
  std::vector<std::string> warnings;
};

// Validates `options`, loads and checks every run (throws UsageError for a missing or
// incompatible checkpoint, runs of different environments, distributions or horizons, a
// run given twice, a seed group at mixed iterations without mixed_iterations), resolves
// the device and BLAS kernels, and names the methods. When the first run was trained on
// a mixture of families, a later run of one of its families is a family run
// (ComparedMethod::family): its distribution must be the mixture's for that family and
// its episodes as long as the mixture's rows of that family.
PreparedEvaluation prepare_evaluation(const EvalOptions& options);

// A method's learner: the policy's θ (the random baseline's initialisation, or the run's)
// and α, the α ablation's mean applied. `mean_alpha` gets that mean for an ablation.
MetaLearner make_method_learner(const ComparedMethod& method, std::shared_ptr<const agents::Policy> policy,
                                const EvalOptions& options, const torch::TensorOptions& tensor_options,
                                std::optional<double>* mean_alpha = nullptr,
                                agents::Estimator estimator = agents::Estimator::kPlain);

// One batch of tasks rolled out together: its environment rows, its sampler and the
// parameters its tasks have adapted to so far (shared θ at first, then [T, …]).
struct TaskBatchState {
  std::unique_ptr<envs::BatchedEnv> env;
  std::unique_ptr<agents::Sampler> sampler;
  int first = 0;          // index of this process's first task in the evaluation's tasks
  int num_tasks = 0;      // this process's share of the batch
  int batch_tasks = 0;    // the whole batch's tasks
  agents::ParameterList params;
};

// The evaluation's `tasks` tasks in batches of task_batch_size(options, horizon), each
// process taking its share of every batch (the rows and action noise those tasks have in
// one process); batch 0 seeded exactly as an evaluation of its tasks alone, batch b ≥ 1
// from task_batch_seed(options.seed, b). Every batch's params start at `start`.
std::vector<TaskBatchState> make_task_batches(const ComparedMethod& method, const agents::Policy& policy,
                                              const EvalOptions& options, int tasks, int horizon,
                                              const agents::ParameterList& start, const torch::Device& device,
                                              const Collectives& collectives);

// The checkpoint's provenance in a report: its iteration and checksum (16 hex digits),
// or -1 and "" without one.
std::int64_t checkpoint_iteration_of(const ComparedMethod& method);
std::string checkpoint_checksum_of(const ComparedMethod& method);

}  // namespace metarl::meta
