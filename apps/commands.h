#pragma once
// One function per subcommand, each in its own file: it declares the options and
// installs the callback that runs it. Errors propagate to main(), which maps them
// to exit codes (UsageError and CLI parse errors → 2, other failures → 1).

#include <CLI/CLI.hpp>

namespace metarl::apps {

void add_envs_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_check_env_command(CLI::App& app);
void add_bench_command(CLI::App& app);

}  // namespace metarl::apps
