// `metarl eval`: the return after 0, 1, …, k adaptation steps on fresh tasks, mean
// and 95% confidence interval; a table, or one JSON object with --json.

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "apps/commands.h"
#include "meta/evaluation.h"
#include "meta/progress.h"

namespace metarl::apps {

namespace {
struct EvalCommandOptions {
  meta::EvalOptions eval;
  bool json = false;
  bool quiet = false;
};
}  // namespace

void add_eval_command(CLI::App& app) {
  auto options = std::make_shared<EvalCommandOptions>();
  auto& eval = options->eval;
  CLI::App* command = app.add_subcommand("eval", "Measure adaptation on fresh tasks: return after 0..k steps");
  command->add_option("--checkpoint", eval.checkpoint, "Run directory (or checkpoint file) from `metarl train`")
      ->required();
  command->add_option("--split", eval.split, "Tasks to adapt to: train, test (fresh training-range tasks) or heldout")
      ->capture_default_str();
  command->add_option("--tasks", eval.tasks, "Number of tasks")->capture_default_str();
  command->add_option("--rollouts", eval.rollouts, "Rollouts per task and adaptation step")->capture_default_str();
  command->add_option("--steps", eval.steps, "Adaptation steps k (returns after 0..k)")->capture_default_str();
  command->add_option("--seed", eval.seed, "Evaluation seed (tasks and rollouts)")->capture_default_str();
  command->add_option("--device", eval.device, "cpu, cuda or cuda:N")->capture_default_str();
  command->add_option("--threads", eval.threads, "Torch intra-op threads (0 = one per core; 1 is fastest at small sizes)")->capture_default_str();
  command->add_flag("--json", options->json, "Print one JSON object instead of a table");
  command->add_flag("-q,--quiet", options->quiet, "No progress lines");
  command->callback([options] {
    meta::ProgressReporter progress("eval", meta::ProgressReporter::Mode::kAuto, options->quiet);
    const auto report = meta::evaluate(options->eval, [&](int step, int steps, double mean_return) {
      char status[128];
      std::snprintf(status, sizeof(status), "adaptation step %d/%d: mean return %.2f", step, steps, mean_return);
      progress.update(status);
    });
    progress.finish();
    std::cout << (options->json ? meta::report_json(report) + "\n" : meta::report_table(report)) << std::flush;
  });
}

}  // namespace metarl::apps
