#include "meta/evaluation.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "agents/sampler.h"
#include "envs/errors.h"
#include "envs/registry.h"
#include "meta/checkpoint.h"
#include "meta/config.h"
#include "meta/meta_learner.h"
#include "meta/runtime.h"
#include "meta/trainer.h"

namespace metarl::meta {

using agents::ParameterList;

const ConfigSchema<EvalOptions>& eval_config_schema() {
  using E = EvalOptions;
  static const ConfigSchema<EvalOptions> schema(
      "evaluation config",
      {name_key<E>("checkpoint", "run directory (or checkpoint file) from `metarl train`", &E::checkpoint),
       choice_key<E>("split", "tasks to adapt to: train, test (fresh training-range tasks) or heldout", &E::split,
                     {"train", "test", "heldout"}),
       int_key<E>("tasks", "number of tasks", &E::tasks, 1, 100000),
       int_key<E>("rollouts", "rollouts per task and adaptation step", &E::rollouts, 1, 100000),
       int_key<E>("steps", "adaptation steps k (returns after 0..k)", &E::steps, 0, 100),
       seed_key<E>("seed", "evaluation seed (tasks and rollouts)", &E::seed),
       device_key<E>("device", "cpu, cuda or cuda:N", &E::device),
       int_key<E>("threads", "torch intra-op threads (0 = one per core; 1 is fastest at small sizes)", &E::threads, 0,
                  1024)});
  return schema;
}

void EvalOptions::validate() const {
  if (checkpoint.empty()) throw UsageError("--checkpoint (or `checkpoint:` in --config) is required");
  // Every field through its key's parser: the ranges live in the schema alone.
  EvalOptions checked;
  for (const auto& key : eval_config_schema().keys()) key.set(checked, key.get(*this));
  check_environment_rows(tasks, rollouts, "--tasks x --rollouts");
}

void mean_and_ci95(const std::vector<double>& values, double& mean, double& ci95) {
  const double n = static_cast<double>(values.size());
  mean = 0.0;
  for (double v : values) mean += v;
  mean /= n;
  if (values.size() < 2) {
    ci95 = 0.0;
    return;
  }
  double sum_squares = 0.0;
  for (double v : values) sum_squares += (v - mean) * (v - mean);
  ci95 = 1.96 * std::sqrt(sum_squares / (n - 1.0)) / std::sqrt(n);
}

EvalReport evaluate(const EvalOptions& options,
                    const std::function<void(int step, int steps, double mean_return)>& on_step) {
  options.validate();
  const envs::Split split = envs::parse_split(options.split);
  const CheckpointData checkpoint = load_checkpoint(options.checkpoint);

  TrainConfig config;
  try {
    load_config_yaml(config, checkpoint.config_yaml, "checkpoint config");
  } catch (const UsageError& e) {
    throw UsageError("checkpoint '" + options.checkpoint + "' holds a config this metarl cannot read: " + e.what());
  }
  const torch::Device device = resolve_device(options.device);
  configure_threads(options.threads);

  const int rows = options.tasks * options.rollouts;
  auto env = envs::EnvRegistry::global().make(checkpoint.env, rows, derive_seed(options.seed, kEnvStream));
  auto policy = make_policy(config, env->spec());
  const auto tensor_options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  MetaLearner learner(policy, parse_algorithm(checkpoint.algo), config.inner_lr, 0, tensor_options);
  load_parameters(checkpoint, resolve_checkpoint_path(options.checkpoint), learner);

  Rng task_rng(derive_seed(options.seed, envs::split_stream(split)));
  const auto tasks = env->task_distribution().sample(options.tasks, split, task_rng);
  agents::Sampler sampler(*env, *policy, options.tasks, options.rollouts, effective_horizon(config, env->spec()),
                          device, derive_seed(options.seed, kSamplerStream));
  const auto advantages = advantage_options(config);

  MethodCurve curve;
  curve.name = checkpoint.algo;
  ParameterList params = agents::detach(learner.theta());
  for (int step = 0; step <= options.steps; ++step) {
    const auto trajectories = sampler.sample(params, tasks);
    // Per-task mean return over its rollouts: [T].
    const auto per_task = trajectories.episode_returns().mean(1).to(torch::kCPU, torch::kDouble).contiguous();
    std::vector<double> returns(per_task.data_ptr<double>(), per_task.data_ptr<double>() + options.tasks);
    double mean = 0.0;
    double ci = 0.0;
    mean_and_ci95(returns, mean, ci);
    curve.mean.push_back(mean);
    curve.ci95.push_back(ci);
    curve.task_returns.push_back(std::move(returns));
    if (on_step) on_step(step, options.steps, mean);
    if (step < options.steps) {
      params = agents::detach(learner.adapt_step(params, trajectories, advantages, /*create_graph=*/false));
    }
  }

  EvalReport report;
  report.env = checkpoint.env;
  report.split = options.split;
  report.tasks = options.tasks;
  report.rollouts = options.rollouts;
  for (int step = 0; step <= options.steps; ++step) report.steps.push_back(step);
  report.methods.push_back(std::move(curve));
  return report;
}

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";  // JSON has no NaN or infinity
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

template <typename T, typename Format>
std::string json_array(const std::vector<T>& values, Format format) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + format(values[i]);
  return out + "]";
}

}  // namespace

std::string report_json(const EvalReport& report) {
  std::ostringstream out;
  out << "{\"env\": " << json_string(report.env) << ", \"split\": " << json_string(report.split)
      << ", \"tasks\": " << report.tasks << ", \"rollouts\": " << report.rollouts
      << ", \"steps\": " << json_array(report.steps, [](int s) { return std::to_string(s); }) << ", \"methods\": {";
  for (size_t m = 0; m < report.methods.size(); ++m) {
    const auto& method = report.methods[m];
    out << (m ? ", " : "") << json_string(method.name) << ": {\"mean\": " << json_array(method.mean, json_number)
        << ", \"ci95\": " << json_array(method.ci95, json_number) << "}";
  }
  out << "}}";
  return out.str();
}

std::string report_table(const EvalReport& report) {
  std::ostringstream out;
  out << "env " << report.env << ", split " << report.split << ", " << report.tasks << " tasks x " << report.rollouts
      << " rollouts; mean return ± 95% CI after each number of adaptation steps\n";
  char cell[64];
  std::snprintf(cell, sizeof(cell), "%-12s", "method");
  out << cell;
  for (int step : report.steps) {
    std::snprintf(cell, sizeof(cell), " %18s", ("step " + std::to_string(step)).c_str());
    out << cell;
  }
  out << "\n";
  for (const auto& method : report.methods) {
    std::snprintf(cell, sizeof(cell), "%-12s", method.name.c_str());
    out << cell;
    for (size_t i = 0; i < method.mean.size(); ++i) {
      std::snprintf(cell, sizeof(cell), " %9.2f ± %6.2f", method.mean[i], method.ci95[i]);
      out << cell;
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace metarl::meta
