// `metarl bench`: environment stepping (batch 4096, random actions; one thread, then
// split over the cores) and
// full meta-iterations of named configurations, on this machine and device; a table,
// or one JSON object with --json. Figures belong in docs/benchmarks.md with the
// machine, the date and this command line.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "apps/blas_restart.h"
#include "apps/commands.h"
#include "envs/errors.h"
#include "envs/registry.h"
#include "meta/bench/throughput.h"
#include "meta/parallel/blas_kernels.h"
#include "meta/parallel/runtime.h"

namespace metarl::apps {

namespace {
struct BenchOptions {
  std::vector<std::string> envs;     // empty → every registered environment
  std::vector<std::string> configs;  // empty → every named configuration (unless config_files are given)
  std::vector<std::string> config_files;  // training configs measured as they are, named by their path
  int meta_batch = 0;                // > 0: every configuration's tasks per meta-iteration
  bool env_on_device = false;
  bool skip_envs = false;
  bool skip_meta = false;
  int batch = 4096;
  int steps = 200;
  int env_repetitions = 10;
  int warmup = 2;
  int repetitions = 5;
  std::string device = "cpu";
  int threads = 1;
  int workers = 0;
  int env_threads = 0;
  std::string blas_kernels = "auto";
  std::string kernels;  // "" → each configuration's own (analytic unless a --config file says otherwise)
  bool json = false;
};
}  // namespace

namespace {
std::vector<std::string> kernels_choices() {
  std::vector<std::string> names;
  for (const auto& entry : agents::kernels_names()) names.push_back(entry.second);
  return names;
}
}  // namespace

void add_bench_command(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* command = app.add_subcommand("bench", "Measure environment stepping and meta-iteration time");
  command->add_option("--env", options->envs, "Environments to step (repeatable; default: all registered)");
  command->add_option("--bench-config", options->configs,
                      "Meta-iteration configurations (repeatable): maml-rl-nav, paper-nav (default: both)");
  command->add_option("--config", options->config_files,
                      "A training config (YAML) measured as it is (repeatable), e.g. "
                      "configs/maml-protocol/point-nav-meta-sgd.yaml");
  command->add_option("--meta-batch", options->meta_batch, "Tasks per meta-iteration of every configuration (e.g. 1000)")
      ->check(CLI::Range(1, 1'000'000));
  command->add_flag("--env-on-device", options->env_on_device,
                    "Step point-nav, cartpole and pendulum on the device (their device twins)");
  command->add_flag("--skip-envs", options->skip_envs, "Do not measure environment stepping");
  command->add_flag("--skip-meta", options->skip_meta, "Do not measure meta-iterations");
  command->add_option("--batch", options->batch, "Environment rows for stepping")->check(CLI::Range(1, 10'000'000));
  command->add_option("--steps", options->steps, "Steps per stepping repetition")->check(CLI::Range(1, 1'000'000));
  command->add_option("--env-repetitions", options->env_repetitions, "Stepping repetitions")
      ->check(CLI::Range(1, 100000));
  command->add_option("--warmup", options->warmup, "Meta-iterations before timing")->check(CLI::Range(0, 1000));
  command->add_option("--repetitions", options->repetitions, "Timed meta-iterations")->check(CLI::Range(1, 1000));
  command->add_option("--device", options->device, "cpu, cuda or cuda:N (meta-iterations)");
  command->add_option("--threads", options->threads, "torch intra-op threads (0 = one per core)")
      ->check(CLI::Range(0, 1024));
  command->add_option("--workers", options->workers, "CPU threads sharing the tasks of TRPO's curvature products (0 = one per core)")
      ->check(CLI::Range(0, 1024));
  command->add_option("--env-threads", options->env_threads,
                      "Threads for the split stepping measurement (0 = one per core; 1 = one-thread figure only)")
      ->check(CLI::Range(0, 1024));
  command->add_option("--blas-kernels", options->blas_kernels,
                      "BLAS kernels: auto (the fastest this CPU supports when OpenBLAS did not recognise it), openblas "
                      "(its own choice) or a core by name, for every measurement (a --config file's own is not used); "
                      "compare programs on the same kernels")
      ->check(CLI::IsMember(meta::blas_kernels_choices()));
  command->add_option("--kernels", options->kernels,
                      "How every measured configuration differentiates: analytic (the policies' own passes) or "
                      "autograd (the generic double backward); default: each configuration's own kernels key")
      ->check(CLI::IsMember(kernels_choices()));
  command->add_flag("--json", options->json, "Print one JSON object instead of a table");
  command->callback([options] {
    restart_with_blas_kernels(options->blas_kernels);
    meta::BenchReport report;
    report.device = options->device;
    report.threads = meta::configure_threads(options->threads);
    const auto device = meta::resolve_device(options->device);  // a usage error before any work
    report.cpu = meta::cpu_description();
    report.blas = meta::blas_kernels();
    if (device.is_cuda()) report.gpu = meta::gpu_description();
    std::vector<meta::TrainConfig> configs;
    std::vector<std::string> config_names =
        options->configs.empty() && !options->config_files.empty() ? std::vector<std::string>{} : options->configs;
    if (options->configs.empty() && options->config_files.empty()) config_names = meta::bench_config_names();
    for (const auto& name : config_names) configs.push_back(meta::bench_config(name));
    for (const auto& file : options->config_files) {
      meta::TrainConfig config;
      meta::load_config_file(config, file);
      configs.push_back(config);
      config_names.push_back(file);
    }
    for (auto& config : configs) {
      if (options->meta_batch > 0) config.meta_batch = options->meta_batch;
      config.runtime.env_on_device = config.runtime.env_on_device || options->env_on_device;
    }
    if (!options->skip_envs) {
      const auto env_names = options->envs.empty() ? envs::EnvRegistry::global().names() : options->envs;
      for (const auto& env : env_names) {
        if (!envs::EnvRegistry::global().find(env)) envs::EnvRegistry::global().make(env, 1, 0);  // names the known ones
        if (!options->json) std::cerr << "stepping " << env << " ..." << std::endl;
        report.env_stepping.push_back(
            meta::bench_env_stepping(env, options->batch, options->steps, options->env_repetitions,
                                     meta::threads_or_cores(options->env_threads)));
      }
    }
    if (!options->skip_meta) {
      for (size_t i = 0; i < configs.size(); ++i) {
        configs[i].runtime.device = options->device;
        configs[i].runtime.threads = options->threads;
        configs[i].runtime.workers = options->workers;
        configs[i].runtime.blas_kernels = options->blas_kernels;  // this process's: --blas-kernels decides
        if (!options->kernels.empty()) configs[i].kernels = parse_enum(agents::kernels_names(), "--kernels", options->kernels);
        if (!options->json) std::cerr << "meta-iterations of " << config_names[i] << " ..." << std::endl;
        report.meta_iterations.push_back(
            meta::bench_meta_iteration(config_names[i], configs[i], options->warmup, options->repetitions));
      }
    }
    std::cout << (options->json ? meta::bench_report_json(report) + "\n" : meta::bench_report_table(report))
              << std::flush;
  });
}

}  // namespace metarl::apps
