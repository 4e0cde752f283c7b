#include "meta/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "envs/errors.h"
#include "envs/registry.h"
#include "meta/checkpoint.h"
#include "meta/runtime.h"

namespace metarl::meta {

namespace fs = std::filesystem;
using agents::ParameterList;

namespace {
// Seed streams: each consumer of randomness gets its own, derived from the seed.
constexpr std::uint64_t kPolicyInitStream = 1;
constexpr std::uint64_t kSamplerStream = 2;
constexpr std::uint64_t kEnvStream = 3;
// Rows of one batched environment; beyond this a typo (10^12 tasks) would only
// surface as an allocation failure.
constexpr long long kMaxEnvRows = 10'000'000;

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
  return "iteration,return_before,return_after,meta_loss,alpha_mean,alpha_min,alpha_max,seconds";
}

std::string IterationMetrics::csv_row() const {
  char row[512];
  std::snprintf(row, sizeof(row), "%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.4f", iteration, return_before, return_after,
                meta_loss, alpha_mean, alpha_min, alpha_max, seconds);
  return row;
}

double outer_learning_rate(const TrainConfig& config, int iteration) {
  const double progress = static_cast<double>(iteration) / config.iterations;  // in [0, 1)
  if (config.outer_lr_decay == "linear") return config.outer_lr * (1.0 - progress);
  if (config.outer_lr_decay == "cosine") return config.outer_lr * 0.5 * (1.0 + std::cos(M_PI * progress));
  return config.outer_lr;
}

std::shared_ptr<agents::Policy> make_policy(const TrainConfig& config, const envs::EnvSpec& spec) {
  if (spec.discrete_actions) {
    throw UsageError("environment '" + spec.name + "' has discrete actions; no discrete policy is available yet");
  }
  agents::GaussianMlpPolicy::Options options;
  options.hidden_sizes = config.hidden_sizes;
  options.activation = agents::parse_activation(config.activation);
  options.init_log_std = config.init_log_std;
  return std::make_shared<agents::GaussianMlpPolicy>(spec.observation_dim, spec.action_dim, options);
}

agents::AdvantageOptions advantage_options(const TrainConfig& config) {
  agents::AdvantageOptions options;
  options.gamma = config.gamma;
  options.gae_lambda = config.gae_lambda;
  options.normalize = config.normalize_advantages;
  return options;
}

int effective_horizon(const TrainConfig& config, const envs::EnvSpec& spec) {
  return config.horizon > 0 ? config.horizon : spec.max_episode_steps;
}

MetaTrainer::MetaTrainer(TrainConfig config)
    : config_(std::move(config)), device_(resolve_device(config_.device)), task_rng_(0) {
  const long long rows = static_cast<long long>(config_.meta_batch) * config_.rollouts;
  if (rows > kMaxEnvRows) {
    throw UsageError("meta_batch x rollouts = " + std::to_string(rows) + " environment rows; at most " +
                     std::to_string(kMaxEnvRows) + " fit one batch");
  }
  const Algorithm algorithm = parse_algorithm(config_.algo);
  env_ = envs::EnvRegistry::global().make(config_.env, static_cast<int>(rows), derive_seed(config_.seed, kEnvStream));
  policy_ = make_policy(config_, env_->spec());
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  learner_ = std::make_unique<MetaLearner>(policy_, algorithm, config_.inner_lr,
                                           derive_seed(config_.seed, kPolicyInitStream), options);
  optimizer_ = std::make_unique<torch::optim::Adam>(learner_->meta_parameters(),
                                                    torch::optim::AdamOptions(config_.outer_lr));
  sampler_ = std::make_unique<agents::Sampler>(*env_, *policy_, config_.meta_batch, config_.rollouts,
                                               effective_horizon(config_, env_->spec()), device_,
                                               derive_seed(config_.seed, kSamplerStream));
  advantages_ = advantage_options(config_);
  task_rng_.reseed(derive_seed(config_.seed, envs::split_stream(envs::Split::kTrain)));
}

IterationMetrics MetaTrainer::run_iteration() {
  const auto start = std::chrono::steady_clock::now();
  IterationMetrics metrics;
  metrics.iteration = iteration_ + 1;

  const auto tasks = env_->task_distribution().sample(config_.meta_batch, envs::Split::kTrain, task_rng_);
  auto trajectories = sampler_->sample(agents::detach(learner_->theta()), tasks);
  metrics.return_before = trajectories.episode_returns().mean().item<double>();

  ParameterList params = learner_->theta();
  for (int step = 0; step < config_.inner_steps; ++step) {
    params = learner_->adapt_step(params, trajectories, advantages_, /*create_graph=*/!config_.first_order);
    trajectories = sampler_->sample(agents::detach(params), tasks);
  }
  metrics.return_after = trajectories.episode_returns().mean().item<double>();

  const auto loss = learner_->meta_loss(params, trajectories, advantages_);
  metrics.meta_loss = loss.item<double>();
  if (!std::isfinite(metrics.meta_loss) || !std::isfinite(metrics.return_before) ||
      !std::isfinite(metrics.return_after)) {
    throw std::runtime_error("training diverged at iteration " + std::to_string(metrics.iteration) +
                             ": meta-loss " + std::to_string(metrics.meta_loss) + ", returns " +
                             std::to_string(metrics.return_before) + " / " + std::to_string(metrics.return_after));
  }
  const double learning_rate = outer_learning_rate(config_, iteration_);
  for (auto& group : optimizer_->param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(learning_rate);
  }
  optimizer_->zero_grad();
  loss.backward();
  optimizer_->step();
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
    optimizer_->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  });
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

void run_training(const TrainConfig& config, const TrainRunOptions& options) {
  if (options.out_dir.empty()) throw UsageError("--out: a run directory is required");
  // Everything that can reject the config happens before the run directory exists.
  MetaTrainer trainer(config);
  configure_threads(config.threads);

  const fs::path run_dir(options.out_dir);
  std::error_code ec;
  if (fs::exists(run_dir, ec) && !fs::is_directory(run_dir, ec)) {
    throw UsageError("--out '" + options.out_dir + "' exists and is not a directory");
  }
  for (const char* file : {kCheckpointFile, kMetricsFile}) {
    if (fs::exists(run_dir / file, ec) && !options.force) {
      throw UsageError("--out '" + options.out_dir + "' already holds a run (" + file +
                       "); choose another directory or pass --force to overwrite it");
    }
  }
  fs::create_directories(run_dir, ec);
  if (ec) throw std::runtime_error("cannot create run directory '" + options.out_dir + "': " + ec.message());

  write_file_atomically((run_dir / kConfigFile).string(), to_yaml(config));
  // metrics.csv grows one complete line per iteration, flushed at once, so a crash
  // loses at most the line being written; the checkpoint says how far the run got.
  std::ofstream metrics_file(run_dir / kMetricsFile, std::ios::trunc);
  if (!metrics_file) throw std::runtime_error("cannot write '" + (run_dir / kMetricsFile).string() + "'");
  metrics_file << IterationMetrics::csv_header() << '\n' << std::flush;

  const std::string checkpoint_path = (run_dir / kCheckpointFile).string();
  double total_seconds = 0.0;
  for (int i = 0; i < config.iterations; ++i) {
    const IterationMetrics metrics = trainer.run_iteration();
    total_seconds += metrics.seconds;
    metrics_file << metrics.csv_row() << '\n' << std::flush;
    if (trainer.iterations_done() % config.checkpoint_every == 0 || i + 1 == config.iterations) {
      trainer.save_checkpoint(checkpoint_path);
    }
    if (options.on_iteration) options.on_iteration(metrics);
  }
}

}  // namespace metarl::meta
