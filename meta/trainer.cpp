#include "meta/trainer.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "envs/errors.h"
#include "meta/checkpoint.h"
#include "meta/outer_steps.h"
#include "meta/parallel/blas_kernels.h"
#include "meta/phase_clock.h"

namespace metarl::meta {

using agents::ParameterList;

namespace {

[[noreturn]] void diverged(int iteration, const std::string& what) {
  throw TrainingDiverged("training diverged at iteration " + std::to_string(iteration) + ": " + what +
                         " is not finite (NaN or infinity)");
}

}  // namespace

namespace {

// The config as YAML and this library's own bytes (the build), as one number: the
// processes of a run must agree on both.
std::uint64_t run_fingerprint(TrainConfig config) {
  config.runtime.device.clear();  // each rank has its own GPU (cuda:LOCAL_RANK)
  const std::string yaml = to_yaml(config);
  std::uint64_t hash = fnv1a64(yaml.data(), yaml.size());
  Dl_info library{};
  if (dladdr(reinterpret_cast<const void*>(&run_fingerprint), &library) && library.dli_fname) {
    std::ifstream in(library.dli_fname, std::ios::binary);
    std::vector<char> chunk(1 << 16);
    while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
      hash = fnv1a64(chunk.data(), static_cast<size_t>(in.gcount()), hash);
    }
  }
  return hash;
}

}  // namespace

MetaTrainer::MetaTrainer(TrainConfig config, std::shared_ptr<const Collectives> collectives)
    : collectives_(std::move(collectives)),
      experiment_(std::move(config), *collectives_),
      outer_step_(make_outer_step({experiment_.config, *experiment_.learner, experiment_.device, *collectives_})) {
  // A run that names BLAS kernels runs on them or not at all (the command line started
  // itself on them; a Python process or a test cannot).
  check_blas_kernels(experiment_.config.runtime.blas_kernels, blas_kernels());
  if (collectives_->distributed()) {
    const auto fingerprints = all_gather_words(*collectives_, {run_fingerprint(experiment_.config)},
                                               "the config and build fingerprints");
    for (size_t r = 1; r < fingerprints.size(); ++r) {
      if (fingerprints[r] != fingerprints[0]) {
        throw UsageError("rank " + std::to_string(r) +
                         " was started with another config or another metarl build than rank 0; every process of a "
                         "run needs the same config (flags, --config, --set) and the same build");
      }
    }
  }
}

IterationMetrics MetaTrainer::run_iteration() {
  const auto start = std::chrono::steady_clock::now();
  const TrainConfig& config = experiment_.config;
  MetaLearner& learner = *experiment_.learner;
  agents::Sampler& sampler = *experiment_.sampler;
  IterationMetrics metrics;
  metrics.iteration = iteration_ + 1;

  if (!all_finite(learner.theta())) diverged(metrics.iteration, "theta (the policy's initial parameters)");
  if (!all_finite(learner.alpha())) diverged(metrics.iteration, "alpha (the inner step sizes)");

  // Every process draws the whole batch's tasks and keeps its own.
  const auto all_tasks = experiment_.env->task_distribution().sample(config.meta_batch, envs::Split::kTrain,
                                                                     experiment_.task_rng);
  // Round r's tasks (r = 0: the drawn ones) for the rollouts of adaptation stage r: the
  // same tasks at every stage unless the run has a task process (meta/config.h).
  std::vector<envs::TaskBatch> rounds{all_tasks};
  // Online segments with task_change_step random: [stage][task] the step of stage's
  // segment at which its round's task takes effect (empty: at the segment's start).
  std::vector<std::vector<int>> change_steps;
  if (!experiment_.task_process->stationary()) {
    Rng process_rng(derive_seed(derive_seed(config.seed, kTaskProcessStream), static_cast<std::uint64_t>(iteration_)));
    rounds = experiment_.task_process->sequence(all_tasks, config.inner_steps + 1, process_rng);
    if (config.task_change_step != envs::TaskChangeStep::kSegmentStart) {
      change_steps = envs::draw_task_change_steps(config.task_change_step, config.meta_batch, config.inner_steps + 1,
                                                  config.adapt_every, process_rng);
    }
  }
  const auto local = [&](int stage) {
    const auto& round = rounds[std::min<size_t>(static_cast<size_t>(stage), rounds.size() - 1)];
    return collectives_->distributed() ? round.slice(experiment_.first_task, experiment_.local_tasks) : round;
  };
  const auto local_change_steps = [&](int stage) {
    if (change_steps.empty()) return std::vector<int>{};
    const auto& all = change_steps[static_cast<size_t>(stage)];
    const auto first = all.begin() + experiment_.first_task;
    return std::vector<int>(first, first + experiment_.local_tasks);
  };
  const auto tasks = local(0);
  // The mean episode return over the whole batch.
  auto mean_return = [&](const agents::Trajectories& rollouts, const char* what) {
    const auto returns = rollouts.episode_returns();
    if (!collectives_->distributed()) return returns.mean().item<double>();
    return all_reduce_sum(*collectives_, returns.sum().item<double>(), what) /
           (static_cast<double>(config.meta_batch) * config.rollouts);
  };
  MetaBatch batch;
  batch.iteration = iteration_;
  agents::Trajectories trajectories;
  {
    PhaseScope sampling(Phase::kSampling);
    trajectories = sampler.sample(agents::detach(learner.theta()), tasks);
  }
  metrics.return_before = mean_return(trajectories, "the return before adaptation");
  // Valid steps of every stage's rollouts, this process's; summed over processes below.
  double local_env_steps = trajectories.mask.sum().item<double>();

  // The data of each adaptation step; `trajectories` ends as the outer objective's
  // rollouts (of the adapted policies, or of θ for the pretrained baseline).
  const bool keep_graph = outer_step_->differentiates_adaptation() && !config.first_order;
  ParameterList params = learner.theta();
  for (int step = 0; learner.adapts_in_training() && step < config.inner_steps; ++step) {
    batch.inner.push_back(trajectories);
    {
      PhaseScope inner_step(Phase::kInnerStep);
      params = learner.chain_step(params, step, config.inner_steps, trajectories, config.advantages, keep_graph);
    }
    {
      PhaseScope sampling(Phase::kSampling);
      // Online adaptation (adapt_every): the same episodes' next segment, no reset.
      trajectories = config.adapt_every > 0 ? sampler.continue_episodes(agents::detach(params), local(step + 1),
                                                                                local_change_steps(step + 1))
                                            : sampler.sample(agents::detach(params), local(step + 1));
    }
    local_env_steps += trajectories.mask.sum().item<double>();
    metrics.step_returns.push_back(mean_return(trajectories, "the return after an adaptation step"));
  }
  metrics.return_after = metrics.step_returns.empty() ? mean_return(trajectories, "the return after adaptation")
                                                      : metrics.step_returns.back();
  metrics.iteration_env_steps = static_cast<std::int64_t>(std::llround(
      collectives_->distributed() ? all_reduce_sum(*collectives_, local_env_steps, "the environment steps")
                                  : local_env_steps));

  if (!std::isfinite(metrics.return_before)) diverged(metrics.iteration, "the return before adaptation");
  if (!std::isfinite(metrics.return_after)) diverged(metrics.iteration, "the return after adaptation");

  batch.adapted = std::move(params);
  batch.outer = std::move(trajectories);
  const OuterStepResult step = [&] {
    PhaseScope outer_step(Phase::kOuterStepRest);  // its own phases inside (trpo.cpp, outer_adam.cpp)
    return outer_step_->step(batch);
  }();
  metrics.meta_loss = step.meta_loss;
  for (const auto& column : outer_step_metric_columns()) {
    metrics.step_metrics.push_back({column, step_metric_value(step.diagnostics, column.name, column.absent)});
  }
  if (!step.non_finite.empty()) diverged(metrics.iteration, step.non_finite);
  ++iteration_;

  torch::NoGradGuard no_grad;
  if (learner.learns_alpha()) {
    ParameterList flat;
    for (const auto& a : learner.alpha()) flat.push_back(a.reshape({-1}));
    const auto all = torch::cat(flat);
    metrics.alpha_mean = all.mean().item<double>();
    metrics.alpha_min = all.min().item<double>();
    metrics.alpha_max = all.max().item<double>();
  } else {
    metrics.alpha_mean = metrics.alpha_min = metrics.alpha_max = config.inner_lr;
  }
  metrics.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  env_steps_ += metrics.iteration_env_steps;
  seconds_ += metrics.seconds;
  metrics.env_steps = env_steps_;
  metrics.wall_clock = seconds_;
  return metrics;
}

void MetaTrainer::save_checkpoint(const std::string& path) const {
  const TrainConfig& config = experiment_.config;
  // Every row's stream, in global row order: a resume with any number of processes
  // takes its rows' part.
  const auto env_rng_states =
      all_gather_words(*collectives_, experiment_.env->rng_states(), "the environment rows' random states");
  if (collectives_->rank() != 0) return;
  CheckpointData data;
  data.config_yaml = to_yaml(config);
  data.env = config.env;
  data.algorithm = config.algo;
  data.architecture = experiment_.policy->architecture();
  data.iteration = iteration_;
  data.theta = learner().theta();
  data.alpha = learner().alpha();
  meta::save_checkpoint(path, data, [&](torch::serialize::OutputArchive& archive) {
    torch::serialize::OutputArchive outer_step_archive;
    outer_step_->save(outer_step_archive);
    archive.write("optimizer", outer_step_archive);
    archive.write("sampler_rng", experiment_.sampler->generator().get_state());
    const auto task_state = experiment_.task_rng.state();
    archive.write("task_rng", rng_words_to_tensor({task_state.begin(), task_state.end()}));
    archive.write("env_rngs", rng_words_to_tensor(env_rng_states));
  });
}

void MetaTrainer::restore(const std::string& checkpoint_path) {
  const TrainConfig& config = experiment_.config;
  torch::serialize::InputArchive outer_step_archive;
  torch::Tensor sampler_state;
  torch::Tensor task_state;
  torch::Tensor env_states;
  const CheckpointData data = load_checkpoint(checkpoint_path, [&](torch::serialize::InputArchive& archive) {
    archive.read("optimizer", outer_step_archive);
    archive.read("sampler_rng", sampler_state);
    archive.read("task_rng", task_state);
    archive.read("env_rngs", env_states);
  });
  auto incompatible = [&](const std::string& why) {
    return UsageError("checkpoint '" + checkpoint_path + "' does not belong to this run: " + why);
  };
  if (data.env != config.env) throw incompatible("environment '" + data.env + "', the config says '" + config.env + "'");
  if (data.algorithm != config.algo) {
    throw incompatible("algorithm '" + to_string(data.algorithm) + "', the config says '" + to_string(config.algo) + "'");
  }
  const auto words = rng_tensor_to_words(task_state);
  if (words.size() != 4) throw incompatible("malformed task random state");
  const auto all_env_words = rng_tensor_to_words(env_states);
  if (all_env_words.size() != 4 * static_cast<size_t>(config.meta_batch) * config.rollouts) {
    throw incompatible("environment random states");
  }
  // This process's rows.
  const auto first_word = all_env_words.begin() + 4 * static_cast<std::ptrdiff_t>(experiment_.first_task) * config.rollouts;
  const std::vector<std::uint64_t> env_words(first_word, first_word + 4 * experiment_.env->batch_size());
  // Every check above and in load_parameters runs before any state changes.
  load_parameters(data, checkpoint_path, learner());
  experiment_.env->set_rng_states(env_words);
  try {
    outer_step_->load(outer_step_archive);
    experiment_.sampler->generator().set_state(sampler_state);
  } catch (const c10::Error& e) {
    throw incompatible(std::string("optimiser or sampler state does not fit: ") + e.what_without_backtrace());
  }
  experiment_.task_rng.set_state({words[0], words[1], words[2], words[3]});
  iteration_ = static_cast<int>(data.iteration);
}

}  // namespace metarl::meta
