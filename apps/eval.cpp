// `metarl eval`: the return after 0, 1, …, k adaptation steps on fresh tasks, mean
// and 95% confidence interval; a table, or one JSON object with --json.

#include <iostream>
#include <memory>
#include <string>

#include "apps/commands.h"
#include "meta/evaluation.h"

namespace metarl::apps {

namespace {
struct EvalCommandOptions {
  meta::EvalOptions eval;
  bool json = false;
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
  command->callback([options] {
    const auto report = meta::evaluate(options->eval);
    std::cout << (options->json ? meta::report_json(report) + "\n" : meta::report_table(report)) << std::flush;
  });
}

}  // namespace metarl::apps
