#include "meta/bench/throughput.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agents/autograd.h"
#include "agents/sampler.h"
#include "envs/errors.h"
#include "envs/registry.h"
#include "envs/rng.h"
#include "meta/outer_steps.h"
#include "meta/outer_trpo.h"
#include "meta/parallel/runtime.h"
#include "meta/experiment.h"
#include "meta/trainer.h"

namespace metarl::meta {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

TimingSummary summarize_timings(std::vector<double> seconds) {
  TimingSummary out;
  if (seconds.empty()) return out;
  std::sort(seconds.begin(), seconds.end());
  const size_t n = seconds.size();
  out.median_s = n % 2 ? seconds[n / 2] : 0.5 * (seconds[n / 2 - 1] + seconds[n / 2]);
  out.min_s = seconds.front();
  out.max_s = seconds.back();
  out.repetitions = static_cast<int>(n);
  return out;
}

EnvSteppingResult bench_env_stepping(const std::string& env_name, int batch, int steps, int repetitions, int threads) {
  auto env = envs::EnvRegistry::global().make(env_name, batch, 1);
  const envs::EnvSpec& spec = env->spec();
  Rng rng(2);
  env->set_tasks(env->task_distribution().sample(batch, envs::Split::kTrain, rng));
  constexpr int kActionBatches = 64;
  std::vector<float> actions(static_cast<size_t>(kActionBatches) * batch * spec.action_dim);
  for (size_t i = 0; i < actions.size(); ++i) {
    const int a = static_cast<int>(i % spec.action_dim);
    actions[i] = spec.discrete_actions
                     ? static_cast<float>(std::min(spec.num_actions - 1, static_cast<int>(rng.uniform() * spec.num_actions)))
                     : static_cast<float>(rng.uniform(spec.action_low[a], spec.action_high[a]));
  }
  env->reset();
  const size_t stride = static_cast<size_t>(batch) * spec.action_dim;
  auto run = [&] {
    for (int t = 0; t < steps; ++t) env->step(actions.data() + (t % kActionBatches) * stride);
  };
  auto measure = [&] {
    run();  // warm-up: first touches of every buffer (and the split rule's estimate)
    std::vector<double> timings;
    for (int r = 0; r < repetitions; ++r) {
      const auto start = Clock::now();
      run();
      timings.push_back(seconds_since(start));
    }
    return summarize_timings(timings);
  };
  EnvSteppingResult out;
  out.env = env_name;
  out.batch = batch;
  out.steps = steps;
  out.timing = measure();
  out.steps_per_second = static_cast<double>(batch) * steps / out.timing.median_s;
  if (threads > 1) {
    env->set_step_threads(threads);
    run();  // the first step after this is never split: the rule needs a measurement
    const auto split_before = env->split_steps();
    out.threads = threads;
    out.split_timing = measure();
    out.split_steps_per_second = static_cast<double>(batch) * steps / out.split_timing.median_s;
    out.split_fraction = static_cast<double>(env->split_steps() - split_before) / ((repetitions + 1.0) * steps);
  }
  return out;
}

double estimate_meta_iteration_flops(const TrainConfig& config, int observation_dim, int action_dim, int horizon,
                                     double backtracks) {
  // Σ over layers of in · out: the multiply-adds of one sample's forward pass.
  double multiply_adds = 0;
  int in = observation_dim;
  for (auto width : config.policy.hidden_sizes) {
    multiply_adds += static_cast<double>(in) * static_cast<double>(width);
    in = static_cast<int>(width);
  }
  multiply_adds += static_cast<double>(in) * action_dim;
  const double samples = static_cast<double>(config.meta_batch) * config.rollouts * horizon;
  const double forward = 2.0 * multiply_adds * samples;  // one forward pass over the batch
  const double k = config.inner_steps;
  double passes = (k + 1) + 3 * k;  // sampling (one forward per step), inner steps
  passes += outer_step_entry(config.optimizer).traits.forward_passes(config, backtracks);  // the outer step's own
  return passes * forward;
}

MetaIterationResult bench_meta_iteration(const std::string& name, const TrainConfig& config, int warmup,
                                         int repetitions) {
  MetaTrainer trainer(config);
  configure_threads(config.runtime.threads);
  for (int i = 0; i < warmup; ++i) trainer.run_iteration();
  std::vector<double> timings;
  double backtracks = 0;
  // Stopped on every way out: an iteration that throws leaves no clock running.
  struct PhaseClockRun {
    PhaseClockRun() { start_phase_clock(); }
    ~PhaseClockRun() { stop(); }
    PhaseSeconds stop() {
      if (running) seconds = stop_phase_clock();
      running = false;
      return seconds;
    }
    bool running = true;
    PhaseSeconds seconds{};
  } phase_clock;
  for (int r = 0; r < repetitions; ++r) {
    const auto start = Clock::now();
    const auto metrics = trainer.run_iteration();
    timings.push_back(seconds_since(start));
    // Steps without a line search report no backtracks (NaN): none.
    const double shrinks = metrics.step_metric("backtracks");
    backtracks += std::isnan(shrinks) ? 0.0 : std::max(shrinks, 0.0);
  }
  MetaIterationResult out;
  out.phase_seconds = phase_clock.stop();
  for (auto& seconds : out.phase_seconds) seconds /= repetitions;
  out.name = name;
  out.config = config;
  const auto device = resolve_device(config.runtime.device);
  out.config.runtime.workers = task_groups(config.runtime.workers, config.meta_batch, device);  // as used
  out.timing = summarize_timings(timings);
  const auto& spec = trainer.env().spec();
  // What one sampler call rolls out: a segment of adapt_every steps for online adaptation.
  const int horizon = segment_horizon(config, spec);
  out.env_steps = static_cast<long long>(config.meta_batch) * config.rollouts * horizon * (config.inner_steps + 1);
  out.mean_backtracks = backtracks / repetitions;
  out.flops = estimate_meta_iteration_flops(config, spec.observation_dim, spec.action_dim, horizon,
                                            out.mean_backtracks);
  out.gflops_per_second = out.flops / out.timing.median_s / 1e9;

  // The sampler on its own (the policy's forward in the loop, on the config's device),
  // with the trained θ so episodes look like training's.
  // The experiment's own streams (meta/experiment.h), as training would draw them.
  auto env = make_environment(config, config.meta_batch * config.rollouts, derive_seed(config.seed, kEnvStream));
  const auto policy = make_policy(config, spec);
  auto sampler = make_sampler(config, *env, *policy, config.meta_batch, config.rollouts, device,
                              derive_seed(config.seed, kSamplerStream));
  Rng task_rng(derive_seed(config.seed, envs::split_stream(envs::Split::kTrain)));
  const auto tasks = env->task_distribution().sample(config.meta_batch, envs::Split::kTrain, task_rng);
  const auto theta = agents::detach(trainer.learner().theta());
  sampler->sample(theta, tasks);  // warm-up
  std::vector<double> sampling;
  for (int r = 0; r < std::max(3, repetitions); ++r) {
    const auto start = Clock::now();
    sampler->sample(theta, tasks);
    sampling.push_back(seconds_since(start));
  }
  out.sampling = summarize_timings(sampling);
  out.sampler_steps_per_second = static_cast<double>(config.meta_batch) * config.rollouts * horizon / out.sampling.median_s;
  return out;
}

std::vector<std::string> bench_config_names() { return {"maml-rl-nav", "paper-nav"}; }

TrainConfig bench_config(const std::string& name) {
  TrainConfig config;
  config.env = "point-nav";
  config.meta_batch = 20;
  config.rollouts = 20;
  config.horizon = 100;
  config.optimizer = "trpo";  // TrpoOptions' defaults: max KL 0.01, 10 CG iterations, 15 line-search steps
  config.seed = 1;
  if (name == "maml-rl-nav") {
    config.algo = Algorithm::kMaml;
    config.policy.hidden_sizes = {64, 64};
    config.policy.activation = agents::Activation::kTanh;
    config.estimator = agents::Estimator::kPlain;  // what pytorch-maml-rl differentiates
    return config;
  }
  if (name == "paper-nav") {
    config.algo = Algorithm::kMetaSgd;
    config.policy.hidden_sizes = {100, 100};
    config.policy.activation = agents::Activation::kRelu;
    return config;
  }
  std::string known;
  for (const auto& n : bench_config_names()) known += (known.empty() ? "" : ", ") + n;
  throw UsageError("benchmark configuration '" + name + "' is not one of: " + known);
}

namespace {

std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

std::string timing_fields(const TimingSummary& t) {
  return "\"median_s\": " + number(t.median_s) + ", \"min_s\": " + number(t.min_s) + ", \"max_s\": " +
         number(t.max_s) + ", \"repetitions\": " + std::to_string(t.repetitions);
}

}  // namespace

std::string cpu_description() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  std::string model = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores";
}

std::string gpu_description() {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> models;
  for (const auto& gpu : fs::directory_iterator("/proc/driver/nvidia/gpus", ec)) {
    std::ifstream information(gpu.path() / "information");
    std::string line;
    while (std::getline(information, line)) {
      if (line.rfind("Model:", 0) == 0) {
        const auto first = line.find_first_not_of(" \t", 6);
        if (first != std::string::npos) models.push_back(line.substr(first));
      }
    }
  }
  std::sort(models.begin(), models.end());
  std::string out;
  for (const auto& model : models) out += (out.empty() ? "" : ", ") + model;
  return out;
}

std::string bench_report_json(const BenchReport& report) {
  std::ostringstream out;
  out << "{\"device\": \"" << report.device << "\", \"cpu\": \"" << report.cpu << "\", \"gpu\": \"" << report.gpu
      << "\", \"threads\": " << report.threads;
  out << ", \"blas\": {\"library\": \"" << report.blas.library << "\", \"kernels\": \"" << report.blas.core
      << "\", \"cpu_supports\": \"" << report.blas.supported << "\", \"coretype\": \"" << report.blas.coretype
      << "\", \"fallback\": " << (report.blas.fallback() ? "true" : "false") << "}";
  out << ", \"env_stepping\": {";
  for (size_t i = 0; i < report.env_stepping.size(); ++i) {
    const auto& e = report.env_stepping[i];
    out << (i ? ", " : "") << "\"" << e.env << "\": {\"batch\": " << e.batch << ", \"steps\": " << e.steps
        << ", \"steps_per_second\": " << number(e.steps_per_second) << ", " << timing_fields(e.timing);
    if (e.threads > 1) {
      out << ", \"split\": {\"threads\": " << e.threads << ", \"steps_per_second\": "
          << number(e.split_steps_per_second) << ", \"split_fraction\": " << number(e.split_fraction) << ", "
          << timing_fields(e.split_timing) << "}";
    }
    out << "}";
  }
  out << "}";
  for (const auto& m : report.meta_iterations) {
    const auto& c = m.config;
    std::string hidden;
    for (auto h : c.policy.hidden_sizes) hidden += (hidden.empty() ? "" : ", ") + std::to_string(h);
    out << ", \"" << m.name << "\": {" << timing_fields(m.timing) << ", \"env_steps\": " << m.env_steps
        << ", \"env_steps_per_second\": " << number(m.env_steps / m.timing.median_s) << ", \"algo\": \"" << to_string(c.algo)
        << "\", \"optimizer\": \"" << c.optimizer << "\", \"estimator\": \"" << agents::to_string(c.estimator)
        << "\", \"kernels\": \"" << agents::to_string(c.kernels)
        << "\", \"meta_batch\": " << c.meta_batch << ", \"rollouts\": " << c.rollouts
        << ", \"horizon\": " << c.horizon << ", \"hidden_sizes\": [" << hidden << "], \"activation\": \""
        << agents::to_string(c.policy.activation) << "\", \"cg_iterations\": " << trpo_options(c).cg_iterations << ", \"workers\": " << c.runtime.workers
        << ", \"mean_backtracks\": " << number(m.mean_backtracks) << ", \"gflop\": " << number(m.flops / 1e9)
        << ", \"gflop_per_second\": " << number(m.gflops_per_second) << ", \"sampler\": {"
        << timing_fields(m.sampling) << ", \"env_steps_per_second\": " << number(m.sampler_steps_per_second)
        << "}, \"phases\": {";
    for (size_t p = 0; p < m.phase_seconds.size(); ++p) {
      out << (p ? ", " : "") << "\"" << phase_name(static_cast<Phase>(p)) << "\": " << number(m.phase_seconds[p]);
    }
    out << "}}";
  }
  out << "}";
  return out.str();
}

std::string bench_report_table(const BenchReport& report) {
  std::ostringstream out;
  char line[256];
  if (!report.env_stepping.empty()) {
    out << "environment stepping, random actions: one thread, and split over threads where it pays\n";
    std::snprintf(line, sizeof(line), "  %-12s %8s %16s %12s %12s %8s %16s %8s\n", "env", "batch", "steps/s", "min s",
                  "max s", "threads", "split steps/s", "split");
    out << line;
    for (const auto& e : report.env_stepping) {
      if (e.threads > 1) {
        std::snprintf(line, sizeof(line), "  %-12s %8d %16.4g %12.4g %12.4g %8d %16.4g %7.0f%%\n", e.env.c_str(),
                      e.batch, e.steps_per_second, e.timing.min_s, e.timing.max_s, e.threads,
                      e.split_steps_per_second, 100.0 * e.split_fraction);
      } else {
        std::snprintf(line, sizeof(line), "  %-12s %8d %16.4g %12.4g %12.4g\n", e.env.c_str(), e.batch,
                      e.steps_per_second, e.timing.min_s, e.timing.max_s);
      }
      out << line;
    }
  }
  if (!report.meta_iterations.empty()) {
    out << "meta-iteration on " << report.device << (report.gpu.empty() ? "" : " (" + report.gpu + ")") << ", "
        << report.threads << " torch thread(s); CPU: " << report.cpu << "\n"
        << "  BLAS: " << report.blas.describe() << "\n";
    std::snprintf(line, sizeof(line), "  %-12s %10s %10s %10s %12s %14s %10s %10s %16s\n", "config", "median s",
                  "min s", "max s", "env steps", "env steps/s", "GFLOP", "GFLOP/s", "sampler steps/s");
    out << line;
    for (const auto& m : report.meta_iterations) {
      std::snprintf(line, sizeof(line), "  %-12s %10.4g %10.4g %10.4g %12lld %14.4g %10.4g %10.4g %16.4g\n",
                    m.name.c_str(), m.timing.median_s, m.timing.min_s, m.timing.max_s, m.env_steps,
                    m.env_steps / m.timing.median_s, m.flops / 1e9, m.gflops_per_second, m.sampler_steps_per_second);
      out << line;
    }
    out << "  where an iteration's time went (mean s per iteration over the timed ones):\n";
    for (const auto& m : report.meta_iterations) {
      double total = 0;
      for (double seconds : m.phase_seconds) total += seconds;
      const bool kernels_apply = outer_step_entry(m.config.optimizer).traits.follows_kernels;
      out << "  " << m.name << (kernels_apply ? " (" + agents::to_string(m.config.kernels) + " kernels)" : "") << ":";
      for (size_t p = 0; p < m.phase_seconds.size(); ++p) {
        if (m.phase_seconds[p] <= 0) continue;
        std::snprintf(line, sizeof(line), " %s %.3g (%.0f%%);", phase_name(static_cast<Phase>(p)), m.phase_seconds[p],
                      total > 0 ? 100.0 * m.phase_seconds[p] / total : 0.0);
        out << line;
      }
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace metarl::meta
