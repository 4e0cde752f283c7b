// `metarl eval RUN_DIR [RUN_DIR ...] [--random]`: the return after 0, 1, …, k
// adaptation steps on fresh tasks, mean and 95% confidence interval, one row per
// method (each run, then the random baseline), all on the same tasks and random
// numbers; a table, or one JSON object with --json. Every evaluation key is also a
// flag and a YAML key (--config, --set, --print-config). The report is also saved
// as RUN_DIR/eval_<split>.json in every run directory, for `metarl plot`.
// With --rounds K ≥ 2 (and a --task-process), the rounds protocol instead
// (meta/eval/rounds_evaluation.h): the return of every round of drifting task sequences
// per method and adaptation mode, saved as RUN_DIR/eval_<split>_rounds.json; with
// --adapt-every m the rounds are m-step segments of one episode (online adaptation),
// saved as RUN_DIR/eval_<split>_rounds_online<m>.json, and with --task-change-step random
// as well the task moves at a random step inside each segment (…_online<m>_change_random.json).

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "apps/blas_restart.h"
#include "apps/commands.h"
#include "apps/config_flags.h"
#include "apps/process_flags.h"
#include "envs/errors.h"
#include "meta/eval/evaluation.h"
#include "meta/eval/oracle.h"
#include "meta/eval/eval_report.h"
#include "meta/eval/rounds_evaluation.h"
#include "meta/run/progress.h"

namespace metarl::apps {

namespace {
struct EvalCommandOptions {
  ConfigFlags<meta::EvalOptions> config{meta::eval_config_schema()};
  bool json = false;
  bool quiet = false;
  bool force = false;    // replace reports the runs already hold
  bool no_save = false;  // print only
  ProcessFlags processes;
};

// Before any rollout: every report this evaluation would keep may be written — the run
// directory takes a file (a read-only one is found now, not after the work), and no
// report of the same split and measure is there already unless --force replaces it.
void check_reports_can_be_saved(const meta::EvalOptions& eval, bool force) {
  for (const auto& run : eval.checkpoints) {
    if (!std::filesystem::is_directory(run)) continue;  // a checkpoint file has no run directory
    const std::string split = envs::to_string(eval.protocol.split);
    const std::string path = eval.rounds > 1 ? meta::rounds_report_path(run, split, eval.return_discount, eval.adapt_every,
                                                                      eval.task_change_step)
                                             : meta::eval_report_path(run, split, eval.return_discount);
    if (std::filesystem::exists(path) && !force) {
      throw UsageError("run '" + run + "' already holds this evaluation's report (" + path +
                       "); pass --force to replace it, or --no-save to print only");
    }
    const std::string probe = (std::filesystem::path(run) / (".write-probe.tmp." + std::to_string(::getpid()))).string();
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw UsageError("run directory '" + run + "' cannot take the report: " + std::strerror(errno) +
                       " (--no-save prints it only)");
    }
    ::close(fd);
    ::unlink(probe.c_str());
  }
}
}  // namespace

void add_eval_command(CLI::App& app) {
  auto options = std::make_shared<EvalCommandOptions>();
  CLI::App* command = app.add_subcommand("eval", "Measure adaptation on fresh tasks: return after 0..k steps");
  options->config.add_to(*command);
  options->config.add_positional(*command, "RUN_DIR", "checkpoint",
                                 "Runs to compare (run directories or checkpoint files), in table order; "
                                 "instead of --checkpoint");
  command->add_flag("--json", options->json, "Print one JSON object instead of a table");
  command->add_flag("-q,--quiet", options->quiet, "No progress lines");
  command->add_flag("--force", options->force, "Replace the report a run already holds for this split and measure");
  command->add_flag("--no-save", options->no_save, "Print the report only; keep nothing in the run directories");
  options->processes.add_to(*command, "Evaluate");
  command->callback([options, command] {
    meta::EvalOptions eval = options->config.effective(*command);
    if (options->config.print_config()) {
      std::cout << options->config.to_yaml(eval);
      return;
    }
    eval.validate();  // a bad option is named before a report that stands in the way
    if (!options->no_save) check_reports_can_be_saved(eval, options->force);
    if (options->processes.launched()) return;
    restart_with_blas_kernels(eval.runtime.blas_kernels);
    const auto collectives = options->processes.join();
    eval.runtime.device = ProcessFlags::device_of_rank(eval.runtime.device);
    // Every rank ends with the whole report; rank 0 prints and keeps it.
    const bool speaks = collectives->rank() == 0;
    meta::ProgressReporter progress("eval", meta::ProgressReporter::Mode::kAuto, options->quiet || !speaks);
    if (eval.rounds > 1) {
      const auto report = meta::evaluate_rounds(
          eval,
          [&](const std::string& curve, int round, int rounds, double mean_return) {
            char status[96];
            std::snprintf(status, sizeof(status), ": round %d/%d: mean return %.2f", round, rounds, mean_return);
            progress.update(curve + status);
          },
          *collectives);
      progress.finish();
      if (!speaks) return;
      for (const auto& warning : report.warnings) std::cerr << "metarl: warning: " << warning << "\n";
      std::cout << (options->json ? meta::rounds_report_json(report) + "\n" : meta::rounds_report_table(report))
                << std::flush;
      for (const auto& run : eval.checkpoints) {
        if (options->no_save) break;
        if (!std::filesystem::is_directory(run)) continue;  // a checkpoint file has no run directory
        meta::save_rounds_report(run, report);
        progress.message("saved " + meta::rounds_report_path(run, report.split, report.return_discount, report.adapt_every,
                                                  report.task_change_step) +
                         " and, per task sequence, " +
                         meta::rounds_task_lines_path(run, report.split, report.return_discount, report.adapt_every,
                                                      report.task_change_step));
      }
      return;
    }
    const auto report = meta::evaluate(
        eval,
        [&](const std::string& method, int step, int steps, double mean_return) {
          char status[96];
          // The oracle reports its training iterations under this name (meta/eval/oracle.h).
          const char* what = method == meta::kOracleProgressName ? "training iteration" : "adaptation step";
          std::snprintf(status, sizeof(status), ": %s %d/%d: mean return %.2f", what, step, steps, mean_return);
          progress.update(method + status);
        },
        *collectives);
    progress.finish();
    if (!speaks) return;
    // Loud even with --json or --quiet: the figures below need them to be read right.
    for (const auto& warning : report.warnings) std::cerr << "metarl: warning: " << warning << "\n";
    std::cout << (options->json ? meta::report_json(report) + "\n" : meta::report_table(report)) << std::flush;
    // Kept beside every run for `metarl plot`, the whole comparison in each: a run's
    // adaptation plot then shows the baselines it was measured against.
    for (const auto& run : eval.checkpoints) {
      if (options->no_save) break;
      if (!std::filesystem::is_directory(run)) continue;  // a checkpoint file has no run directory
      meta::save_eval_report(run, report);
      progress.message("saved " + meta::eval_report_path(run, report) + " and, per task, " +
                       meta::eval_task_lines_path(run, report));
    }
  });
}

}  // namespace metarl::apps
