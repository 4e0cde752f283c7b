#include "meta/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "agents/autograd.h"
#include "agents/surrogate.h"
#include "envs/errors.h"
#include "envs/registry.h"
#include "meta/checkpoint.h"
#include "meta/runtime.h"

namespace metarl::meta {

namespace fs = std::filesystem;
using agents::ParameterList;

namespace {

bool all_finite(const ParameterList& tensors) {
  for (const auto& t : tensors) {
    if (t.defined() && !torch::isfinite(t).all().item<bool>()) return false;
  }
  return true;
}

[[noreturn]] void diverged(int iteration, const std::string& what) {
  throw std::runtime_error("training diverged at iteration " + std::to_string(iteration) + ": " + what +
                           " is not finite (NaN or infinity); the last checkpoint holds the last good state");
}

// Random-number words ↔ int64 tensors (bit-for-bit) for the checkpoint archive.
torch::Tensor words_to_tensor(const std::vector<std::uint64_t>& words) {
  auto tensor = torch::empty({static_cast<int64_t>(words.size())}, torch::kInt64);
  std::memcpy(tensor.data_ptr<int64_t>(), words.data(), words.size() * sizeof(std::uint64_t));
  return tensor;
}

std::vector<std::uint64_t> tensor_to_words(const torch::Tensor& tensor) {
  const auto contiguous = tensor.to(torch::kInt64).contiguous();
  std::vector<std::uint64_t> words(static_cast<size_t>(contiguous.numel()));
  std::memcpy(words.data(), contiguous.data_ptr<int64_t>(), words.size() * sizeof(std::uint64_t));
  return words;
}

std::string format_duration(double seconds) {
  const long long total = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  std::ostringstream out;
  if (total >= 3600) out << total / 3600 << "h" << (total % 3600) / 60 << "m";
  else if (total >= 60) out << total / 60 << "m" << total % 60 << "s";
  else out << total << "s";
  return out.str();
}
}  // namespace

std::string IterationMetrics::csv_header() {
  return "iteration,return_before,return_after,meta_loss,alpha_mean,alpha_min,alpha_max,kl,backtracks,seconds";
}

std::string IterationMetrics::csv_row() const {
  char row[512];
  std::snprintf(row, sizeof(row), "%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%d,%.4f", iteration, return_before,
                return_after, meta_loss, alpha_mean, alpha_min, alpha_max, kl, backtracks, seconds);
  return row;
}

void check_environment_rows(long long tasks, long long rollouts_per_task, const std::string& what) {
  constexpr long long kMaxEnvRows = 10'000'000;
  const long long rows = tasks * rollouts_per_task;
  if (rows > kMaxEnvRows) {
    throw UsageError(what + " = " + std::to_string(rows) + " environment rows; at most " +
                     std::to_string(kMaxEnvRows) + " fit one batch");
  }
}

double outer_learning_rate(const TrainConfig& config, int iteration) {
  const double progress = static_cast<double>(iteration) / config.iterations;  // in [0, 1)
  if (config.outer_lr_decay == "linear") return config.outer_lr * (1.0 - progress);
  if (config.outer_lr_decay == "cosine") return config.outer_lr * 0.5 * (1.0 + std::cos(M_PI * progress));
  return config.outer_lr;
}

std::shared_ptr<agents::Policy> make_policy(const TrainConfig& config, const envs::EnvSpec& spec) {
  agents::MlpOptions options;
  options.hidden_sizes = config.hidden_sizes;
  options.activation = agents::parse_activation(config.activation);
  options.init_log_std = config.init_log_std;
  if (spec.discrete_actions) {
    return std::make_shared<agents::CategoricalMlpPolicy>(spec.observation_dim, spec.num_actions, options);
  }
  return std::make_shared<agents::GaussianMlpPolicy>(spec.observation_dim, spec.action_dim, options);
}

agents::AdvantageOptions advantage_options(const TrainConfig& config) {
  agents::AdvantageOptions options;
  options.gamma = config.gamma;
  options.gae_lambda = config.gae_lambda;
  options.normalize = config.normalize_advantages;
  return options;
}

agents::ActionSpace action_space(const TrainConfig& config, const envs::EnvSpec& spec) {
  const auto space = agents::parse_action_space(config.action_space);
  if (space != agents::ActionSpace::kNormalized) return space;
  const std::string unsupported = agents::normalized_actions_unsupported(spec);
  if (!unsupported.empty()) {
    throw UsageError("action_space 'normalized' needs " + unsupported + " (use action_space: environment)");
  }
  return space;
}

int effective_horizon(const TrainConfig& config, const envs::EnvSpec& spec) {
  return config.horizon > 0 ? config.horizon : spec.max_episode_steps;
}

MetaTrainer::MetaTrainer(TrainConfig config)
    : config_(std::move(config)), device_(resolve_device(config_.device)), task_rng_(0) {
  check_environment_rows(config_.meta_batch, config_.rollouts, "meta_batch x rollouts");
  const int rows = config_.meta_batch * config_.rollouts;
  const Algorithm algorithm = parse_algorithm(config_.algo);
  if (algorithm == Algorithm::kRandom) {
    throw UsageError("algo 'random' is the untrained baseline and needs no training; evaluate it with "
                     "`metarl eval --random`");
  }
  env_ = envs::EnvRegistry::global().make(config_.env, rows, derive_seed(config_.seed, kEnvStream));
  env_->set_step_threads(threads_or_cores(config_.env_threads));
  policy_ = make_policy(config_, env_->spec());
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  learner_ = std::make_unique<MetaLearner>(policy_, algorithm, config_.inner_lr,
                                           derive_seed(config_.seed, kPolicyInitStream), options,
                                           agents::parse_estimator(config_.estimator));
  if (config_.optimizer == "adam") {
    optimizer_ = std::make_unique<torch::optim::Adam>(learner_->meta_parameters(),
                                                      torch::optim::AdamOptions(config_.outer_lr));
  } else if (config_.optimizer != "trpo") {
    throw UsageError("optimizer '" + config_.optimizer + "' is not one of: adam, trpo");
  }
  sampler_ = std::make_unique<agents::Sampler>(*env_, *policy_, config_.meta_batch, config_.rollouts,
                                               effective_horizon(config_, env_->spec()), device_,
                                               derive_seed(config_.seed, kSamplerStream),
                                               action_space(config_, env_->spec()));
  advantages_ = advantage_options(config_);
  task_rng_.reseed(derive_seed(config_.seed, envs::split_stream(envs::Split::kTrain)));
}

IterationMetrics MetaTrainer::run_iteration() {
  const auto start = std::chrono::steady_clock::now();
  IterationMetrics metrics;
  metrics.iteration = iteration_ + 1;

  if (!all_finite(learner_->theta())) diverged(metrics.iteration, "theta (the policy's initial parameters)");
  if (!all_finite(learner_->alpha())) diverged(metrics.iteration, "alpha (the inner step sizes)");

  const auto tasks = env_->task_distribution().sample(config_.meta_batch, envs::Split::kTrain, task_rng_);
  auto trajectories = sampler_->sample(agents::detach(learner_->theta()), tasks);
  metrics.return_before = trajectories.episode_returns().mean().item<double>();

  // The data of each adaptation step; `trajectories` ends as the outer objective's
  // rollouts (of the adapted policies, or of θ for the pretrained baseline).
  std::vector<agents::Trajectories> inner_batches;
  const bool adapts = learner_->adapts_in_training();
  ParameterList params = learner_->theta();
  for (int step = 0; adapts && step < config_.inner_steps; ++step) {
    inner_batches.push_back(trajectories);
    // Adam differentiates this graph; TRPO re-adapts inside its own evaluations.
    params = learner_->adapt_step(params, trajectories, advantages_,
                                  /*create_graph=*/optimizer_ && !config_.first_order);
    trajectories = sampler_->sample(agents::detach(params), tasks);
  }
  metrics.return_after = trajectories.episode_returns().mean().item<double>();

  if (!std::isfinite(metrics.return_before)) diverged(metrics.iteration, "the return before adaptation");
  if (!std::isfinite(metrics.return_after)) diverged(metrics.iteration, "the return after adaptation");

  if (optimizer_) {
    const auto loss = learner_->meta_loss(params, trajectories, advantages_);
    metrics.meta_loss = loss.item<double>();
    if (!std::isfinite(metrics.meta_loss)) diverged(metrics.iteration, "the meta-loss");
    const double learning_rate = outer_learning_rate(config_, iteration_);
    for (auto& group : optimizer_->param_groups()) {
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(learning_rate);
    }
    optimizer_->zero_grad();
    loss.backward();
    ParameterList gradients;
    for (const auto& p : learner_->meta_parameters()) gradients.push_back(p.grad());
    if (!all_finite(gradients)) diverged(metrics.iteration, "the meta-gradient");
    optimizer_->step();
  } else {
    const TrpoStepResult step = trpo_outer_step(inner_batches, params, trajectories);
    metrics.meta_loss = step.loss_before;
    metrics.kl = step.kl;
    metrics.backtracks = step.backtracks;
    if (!std::isfinite(step.loss_before)) diverged(metrics.iteration, "the meta-loss");
    if (!step.finite) diverged(metrics.iteration, "the meta-gradient or the KL curvature");
  }
  ++iteration_;

  torch::NoGradGuard no_grad;
  if (learner_->learns_alpha()) {
    ParameterList flat;
    for (const auto& a : learner_->alpha()) flat.push_back(a.reshape({-1}));
    const auto all = torch::cat(flat);
    metrics.alpha_mean = all.mean().item<double>();
    metrics.alpha_min = all.min().item<double>();
    metrics.alpha_max = all.max().item<double>();
  } else {
    metrics.alpha_mean = metrics.alpha_min = metrics.alpha_max = config_.inner_lr;
  }
  metrics.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return metrics;
}

namespace {

// One group of tasks' share of the KL's Hessian in (θ, α) at the old point: Jᵀ F J
// with J the group's linearised adaptation and F the Hessian in θ' of the group's
// part of the KL, Σ over its steps / (valid steps of all tasks).
class TaskGroupCurvature {
 public:
  TaskGroupCurvature(const MetaLearner& learner, const agents::Policy& policy,
                     const std::vector<agents::Trajectories>& inner_batches,
                     const agents::AdvantageOptions& advantage_options, const ParameterList& old_adapted,
                     const agents::Trajectories& outer, const torch::Tensor& valid_steps)
      : linearized_(learner, inner_batches, advantage_options) {
    for (const auto& p : old_adapted) adapted_variable_.push_back(p.detach().clone().requires_grad_(true));
    const auto kl = (policy.kl_divergence(outer.observations, old_adapted, adapted_variable_) * outer.mask).sum() /
                    valid_steps;
    agents::GradOptions differentiable;
    differentiable.create_graph = true;
    kl_gradient_ = agents::gradients(kl, adapted_variable_, differentiable);
  }

  // Jᵀ F J v, flat in meta_parameters() order (θ's pieces, then α's).
  torch::Tensor product(const ParameterList& v_theta, const ParameterList& v_alpha) const {
    const ParameterList jv = linearized_.forward(v_theta, v_alpha);
    torch::Tensor g_dot_jv;
    for (size_t i = 0; i < jv.size(); ++i) {
      const auto term = (kl_gradient_[i] * jv[i]).sum();
      g_dot_jv = g_dot_jv.defined() ? g_dot_jv + term : term;
    }
    agents::GradOptions keep;
    keep.retain_graph = true;
    const ParameterList fjv = agents::detach(agents::gradients(g_dot_jv, adapted_variable_, keep));
    auto [u_theta, u_alpha] = linearized_.transposed(fjv);
    u_theta.insert(u_theta.end(), u_alpha.begin(), u_alpha.end());
    return flatten_parameters(u_theta);
  }

 private:
  LinearizedAdaptation linearized_;
  ParameterList adapted_variable_;  // θ' of the group's tasks [T_g, …], a leaf at the old values
  ParameterList kl_gradient_;       // ∇θ' KL with its graph (zero at the old point; its derivative is F)
};

}  // namespace

TrpoStepResult MetaTrainer::trpo_outer_step(const std::vector<agents::Trajectories>& inner_batches,
                                            const ParameterList& adapted, const agents::Trajectories& outer) {
  // Everything about the old policy is fixed before the step: its adapted parameters,
  // its log-probabilities of the outer rollouts (the importance weights'
  // denominators) and the advantages.
  // A copy: for the pretrained baseline `adapted` is θ itself, which the step changes in place.
  ParameterList old_adapted;
  for (const auto& p : adapted) old_adapted.push_back(p.detach().clone());
  const auto advantages = agents::compute_advantages(outer, advantages_);
  torch::Tensor old_log_probs;
  {
    torch::NoGradGuard no_grad;
    old_log_probs = policy_->log_prob(outer.observations, outer.actions, old_adapted);
  }
  const auto& mask = outer.mask;
  const auto valid_steps = mask.sum().clamp_min(1.0);

  auto evaluate = [&](bool differentiable) {
    // Re-adapt from the current θ, α on the same inner rollouts: π'_new.
    ParameterList params = learner_->theta();
    for (const auto& batch : inner_batches) {
      params = learner_->adapt_step(params, batch, advantages_, differentiable && !config_.first_order);
    }
    const auto log_probs = policy_->log_prob(outer.observations, outer.actions, params);
    SurrogateAndKl out;
    out.loss = agents::importance_weighted_loss(log_probs, old_log_probs, advantages, mask).mean();
    out.kl = (policy_->kl_divergence(outer.observations, old_adapted, params) * mask).sum() / valid_steps;
    return out;
  };
  TrpoOptions options;
  options.max_kl = config_.max_kl;
  options.cg_iterations = config_.cg_iterations;
  options.cg_damping = config_.cg_damping;
  options.line_search_steps = config_.line_search_steps;
  options.line_search_ratio = config_.line_search_ratio;
  if (inner_batches.empty() || config_.first_order) {
    // No adaptation (pretrained), or a first-order one: ∇(∇KL · v) by autograd is cheap.
    return trpo_step(learner_->meta_parameters(), evaluate, options);
  }
  // The KL's Hessian in (θ, α) as Jᵀ F J (meta_learner.h): two inner-loss Hessian-
  // vector products and one Fisher product per CG iteration, instead of a third-order
  // backward through the adaptation. Tasks are independent in J and F, and the KL is
  // a sum over tasks, so groups of tasks go to separate threads, each with its own
  // graphs; their products are added in group order (deterministic for a given
  // number of workers).
  const int64_t tasks = outer.num_tasks();
  const int groups = task_groups(config_.workers, tasks, device_);
  std::vector<std::unique_ptr<TaskGroupCurvature>> curvature(static_cast<size_t>(groups));
  run_in_parallel(groups, [&](int group) {
    const int64_t begin = tasks * group / groups;
    const int64_t end = tasks * (group + 1) / groups;
    std::vector<agents::Trajectories> group_inner;
    for (const auto& batch : inner_batches) group_inner.push_back(batch.slice_tasks(begin, end));
    ParameterList group_old_adapted;
    for (const auto& p : old_adapted) group_old_adapted.push_back(p.slice(0, begin, end));
    curvature[static_cast<size_t>(group)] = std::make_unique<TaskGroupCurvature>(
        *learner_, *policy_, group_inner, advantages_, group_old_adapted, outer.slice_tasks(begin, end), valid_steps);
  });
  const size_t num_theta = learner_->theta().size();
  auto hessian_product = [&](const torch::Tensor& v) {
    // Split the flat v into θ's and α's shapes (meta_parameters() order).
    ParameterList v_theta;
    ParameterList v_alpha;
    int64_t offset = 0;
    const auto meta_parameters = learner_->meta_parameters();
    for (size_t i = 0; i < meta_parameters.size(); ++i) {
      const int64_t n = meta_parameters[i].numel();
      auto piece = v.slice(0, offset, offset + n).view_as(meta_parameters[i]);
      (i < num_theta ? v_theta : v_alpha).push_back(piece);
      offset += n;
    }
    std::vector<torch::Tensor> products(static_cast<size_t>(groups));
    run_in_parallel(groups, [&](int group) {
      products[static_cast<size_t>(group)] = curvature[static_cast<size_t>(group)]->product(v_theta, v_alpha);
    });
    auto sum = products.front();
    for (size_t g = 1; g < products.size(); ++g) sum = sum + products[g];
    return sum;
  };
  return trpo_step(learner_->meta_parameters(), evaluate, options, hessian_product);
}

void MetaTrainer::save_checkpoint(const std::string& path) const {
  CheckpointData data;
  data.config_yaml = to_yaml(config_);
  data.env = config_.env;
  data.algo = config_.algo;
  data.architecture = policy_->architecture();
  data.iteration = iteration_;
  data.theta = learner_->theta();
  data.alpha = learner_->alpha();
  meta::save_checkpoint(path, data, [&](torch::serialize::OutputArchive& archive) {
    torch::serialize::OutputArchive optimizer_archive;
    if (optimizer_) optimizer_->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
    archive.write("sampler_rng", sampler_->generator().get_state());
    const auto task_state = task_rng_.state();
    archive.write("task_rng", words_to_tensor({task_state.begin(), task_state.end()}));
    archive.write("env_rngs", words_to_tensor(env_->rng_states()));
  });
}

void MetaTrainer::restore(const std::string& checkpoint_path) {
  torch::serialize::InputArchive optimizer_archive;
  torch::Tensor sampler_state;
  torch::Tensor task_state;
  torch::Tensor env_states;
  const CheckpointData data = load_checkpoint(checkpoint_path, [&](torch::serialize::InputArchive& archive) {
    archive.read("optimizer", optimizer_archive);
    archive.read("sampler_rng", sampler_state);
    archive.read("task_rng", task_state);
    archive.read("env_rngs", env_states);
  });
  auto incompatible = [&](const std::string& why) {
    return UsageError("checkpoint '" + checkpoint_path + "' does not belong to this run: " + why);
  };
  if (data.env != config_.env) throw incompatible("environment '" + data.env + "', the config says '" + config_.env + "'");
  if (data.algo != config_.algo) throw incompatible("algorithm '" + data.algo + "', the config says '" + config_.algo + "'");
  const auto words = tensor_to_words(task_state);
  if (words.size() != 4) throw incompatible("malformed task random state");
  const auto env_words = tensor_to_words(env_states);
  if (env_words.size() != 4 * static_cast<size_t>(env_->batch_size())) throw incompatible("environment random states");
  // Every check above and in load_parameters runs before any state changes.
  load_parameters(data, checkpoint_path, *learner_);
  env_->set_rng_states(env_words);
  try {
    if (optimizer_) optimizer_->load(optimizer_archive);
    sampler_->generator().set_state(sampler_state);
  } catch (const c10::Error& e) {
    throw incompatible(std::string("optimiser or sampler state does not fit: ") + e.what_without_backtrace());
  }
  task_rng_.set_state({words[0], words[1], words[2], words[3]});
  iteration_ = static_cast<int>(data.iteration);
}

std::string format_progress(const IterationMetrics& m, int total_iterations, double mean_seconds) {
  char line[512];
  std::snprintf(line, sizeof(line),
                "iter %d/%d | return before %.2f after %.2f | alpha %.4g [%.4g, %.4g] | %.2f s/it | ETA %s",
                m.iteration, total_iterations, m.return_before, m.return_after, m.alpha_mean, m.alpha_min,
                m.alpha_max, mean_seconds,
                format_duration(mean_seconds * (total_iterations - m.iteration)).c_str());
  return line;
}

TrainConfig resumed_config(const std::string& run_dir) {
  const CheckpointData data = load_checkpoint(run_dir);
  TrainConfig config;
  load_config_yaml(config, data.config_yaml, "config of checkpoint '" + resolve_checkpoint_path(run_dir) + "'");
  return config;
}

TrainConfig extended_config(TrainConfig resumed, int iterations) {
  const std::string value = std::to_string(iterations);
  if (iterations < resumed.iterations) {
    throw UsageError("--iterations " + value + ": the run was configured for " + std::to_string(resumed.iterations) +
                     " iterations; a resumed run can only be extended");
  }
  if (resumed.optimizer == "adam" && resumed.outer_lr_decay != "none") {
    throw UsageError("--iterations " + value + ": the run's Adam step size decays over its " +
                     std::to_string(resumed.iterations) + " iterations (outer_lr_decay " + resumed.outer_lr_decay +
                     "), so extending it would change the steps already taken; start a new run instead");
  }
  resumed.iterations = iterations;
  return resumed;
}

namespace {

// metrics.csv of a resumed run: the header and the rows of the iterations the
// checkpoint covers; rows written after it (the work a crash lost) are dropped.
void truncate_metrics(const fs::path& metrics_path, int iterations_kept) {
  std::ifstream in(metrics_path);
  std::string kept = IterationMetrics::csv_header() + "\n";
  std::string line;
  std::getline(in, line);  // header
  int rows = 0;
  while (rows < iterations_kept && std::getline(in, line)) {
    kept += line + "\n";
    ++rows;
  }
  write_file_atomically(metrics_path.string(), kept);
}

// Temporary files of an atomic write that a crash interrupted.
void remove_stale_temporaries(const fs::path& run_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) fs::remove(entry.path(), ec);
  }
}

}  // namespace

void run_training(const TrainConfig& config, const TrainRunOptions& options) {
  if (options.out_dir.empty()) throw UsageError("--out: a run directory is required");
  // Everything that can reject the config happens before the run directory is touched.
  MetaTrainer trainer(config);
  configure_threads(config.threads);

  const fs::path run_dir(options.out_dir);
  const fs::path metrics_path = run_dir / kMetricsFile;
  const std::string checkpoint_path = (run_dir / kCheckpointFile).string();
  std::error_code ec;
  if (options.resume) {
    trainer.restore(checkpoint_path);
    remove_stale_temporaries(run_dir);
    truncate_metrics(metrics_path, trainer.iterations_done());
    // The same config, or one extended by extended_config: config.yaml says what the run does.
    write_file_atomically((run_dir / kConfigFile).string(), to_yaml(config));
  } else {
    if (fs::exists(run_dir, ec) && !fs::is_directory(run_dir, ec)) {
      throw UsageError("--out '" + options.out_dir + "' exists and is not a directory");
    }
    for (const char* file : {kCheckpointFile, kMetricsFile}) {
      if (fs::exists(run_dir / file, ec) && !options.force) {
        throw UsageError("--out '" + options.out_dir + "' already holds a run (" + file +
                         "); resume it with --resume, choose another directory, or pass --force to overwrite it");
      }
    }
    fs::create_directories(run_dir, ec);
    if (ec) throw std::runtime_error("cannot create run directory '" + options.out_dir + "': " + ec.message());
    write_file_atomically((run_dir / kConfigFile).string(), to_yaml(config));
    write_file_atomically(metrics_path.string(), IterationMetrics::csv_header() + "\n");
  }

  // metrics.csv grows one complete line per iteration, flushed at once (one write),
  // so a crash loses at most the line being written; the checkpoint says how far
  // the run got, and a resume drops the rows after it.
  std::ofstream metrics_file(metrics_path, std::ios::app);
  if (!metrics_file) throw std::runtime_error("cannot write '" + metrics_path.string() + "'");
  while (trainer.iterations_done() < config.iterations) {
    const IterationMetrics metrics = trainer.run_iteration();
    metrics_file << metrics.csv_row() + "\n" << std::flush;
    const bool last = trainer.iterations_done() == config.iterations;
    const int stop_signal = options.stop_requested ? options.stop_requested() : 0;
    const bool checkpointed = trainer.iterations_done() % config.checkpoint_every == 0 || last || stop_signal != 0;
    if (checkpointed) trainer.save_checkpoint(checkpoint_path);
    if (options.on_iteration) options.on_iteration(metrics, trainer);
    if (stop_signal != 0 && !last) {
      throw Interrupted(stop_signal, "stopped by signal " + std::to_string(stop_signal) + " after iteration " +
                                         std::to_string(trainer.iterations_done()) + "; checkpoint saved, resume with "
                                         "`metarl train --resume " + options.out_dir + "`");
    }
  }
}

}  // namespace metarl::meta
